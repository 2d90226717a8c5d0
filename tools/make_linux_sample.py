"""Writes the Linux hosts of the modern sample (auditor/sample_modern/lnx01, lnx02): real exports.

Run `.venv/bin/python tools/make_linux_sample.py` (or `make sample-data`). Like tools/make_sample.py
it is a development tool, not installed. For each host under tools/linux-sample/ it runs the real
programs, exactly as an administrator would on the host: `postmap` on the tables,
then deploy/linux/export-linux.sh (`postconf -x/-n/-M/-P -x`, `postmap -s`, `doveconf -n`, the 2.3
args files with `dnpass` redacted). The configurations name their files as on the host
(`/etc/postfix/...`, `/etc/dovecot/...`); the programs run on a temporary copy, and the copy's
path is written back as the host's in every file and file name. `doveadm user '*'` comes from a
throwaway Dovecot (deploy/lab/dovecot.sh) whose userdb lists the host's `users` file: the
sample's own userdb is LDAP, which cannot run here.

Deterministic: the export time and host name in EXPORT-INFO.txt, `process_id` in postconf-x.txt
and the machine lines of doveconf's header (`# OS:`, `# Hostname:`) are set to fixed values; the
rest is what the programs print. A re-run changes nothing unless a configuration, this file or
the installed Postfix / Dovecot changed (`mail_version`, doveconf's version line:
tests/sample/test_linux_sample.py compares everything else byte for byte).

The Exchange side the hosts work with (EX16 as their relayhost, the send connectors to them, the
receive connector taking LNX01's relay, the InternalRelay accepted domains they share, their POP3
users' mail users) is written by tools/make_sample_modern.py; `auditor check --once --sample
modern` audits them together.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
import textwrap
from pathlib import Path

__all__ = ["HOSTS", "MODERN_FOLDER", "linux_sample_files", "main", "write_linux_sample"]

REPO = Path(__file__).resolve().parents[1]
MODERN_FOLDER = REPO / "auditor" / "sample_modern"
CONFIGS = Path(__file__).resolve().parent / "linux-sample"
EXPORT_SCRIPT = REPO / "deploy" / "linux" / "export-linux.sh"
DOVECOT_LAB = REPO / "deploy" / "lab" / "dovecot.sh"

HOSTS = {"lnx01": "lnx01.contoso.com", "lnx02": "lnx02.contoso.com"}
EXPORTED_AT = "2026-12-01T06:00:00Z"
OS_LINE = "# OS: Linux 6.1.0-28-amd64 x86_64 Debian 12.8 ext4"
PROCESS_ID = "4242"
ON_HOST = {"postfix": "/etc/postfix", "dovecot": "/etc/dovecot"}
_HASH_TABLES = ("vmailbox", "virtual", "transport", "sasl_passwd")


def _map_name(text: str) -> str:
    """What export-linux.sh makes of a path in a map file name (`tr -c 'A-Za-z0-9_.@+,=-' '_'`)."""
    return re.sub(r"[^A-Za-z0-9_.@+,=-]", "_", text)


def _copy_configuration(host: str, root: Path) -> dict[str, str]:
    """The host's files under root/postfix and root/dovecot, host paths pointed at the copy.

    Returns the replacements that turn the copy's paths back into the host's.
    """
    back: dict[str, str] = {}
    for part, on_host in ON_HOST.items():
        source, target = CONFIGS / host / part, root / part
        target.mkdir(parents=True)
        back[str(target)] = on_host
        back[_map_name(str(target))] = _map_name(on_host)
        for path in sorted(source.iterdir()):
            text = path.read_text(encoding="utf-8")
            for name, folder in ON_HOST.items():
                text = text.replace(folder, str(root / name))
            (target / path.name).write_text(text, encoding="utf-8")
    (root / "dovecot" / "private").mkdir()
    return back


def _build_tables(postfix: Path) -> None:
    for name in _HASH_TABLES:
        if (postfix / name).exists():
            subprocess.run(["postmap", f"hash:{postfix / name}"], check=True, capture_output=True)


def _doveadm_users(names: list[str], root: Path) -> bytes:
    """`doveadm user '*'` of a throwaway Dovecot whose passwd-file userdb holds `names`."""
    folder = root / "userdb"
    folder.mkdir()
    folder.chmod(0o755)
    (folder / "users").write_text("".join(f"{name}:{{PLAIN}}x:1000:1000::/nonexistent::\n" for name in names))
    (folder / "users").chmod(0o644)
    conf = folder / "dovecot.conf"
    conf.write_text(
        textwrap.dedent(
            f"""\
            base_dir = {folder}/run
            state_dir = {folder}/state
            log_path = {folder}/dovecot.log
            protocols =
            passdb {{
              driver = passwd-file
              args = scheme=PLAIN username_format=%u {folder}/users
            }}
            userdb {{
              driver = passwd-file
              args = username_format=%u {folder}/users
            }}
            """
        ),
        encoding="utf-8",
    )
    subprocess.run(["sh", str(DOVECOT_LAB), "start", str(conf)], check=True, capture_output=True)
    try:
        listed = subprocess.run(["doveadm", "-c", str(conf), "user", "*"], check=True, capture_output=True)
    finally:
        subprocess.run(["sh", str(DOVECOT_LAB), "stop", str(conf)], check=True, capture_output=True)
    return listed.stdout


def _fixed(name: str, text: str, host: str) -> str:
    """The machine- and moment-dependent lines set to the sample's fixed values."""
    if name == "EXPORT-INFO.txt":
        text = re.sub(r"(?m)^exported_at = .*$", f"exported_at = {EXPORTED_AT}", text)
        return re.sub(r"(?m)^host = .*$", f"host = {HOSTS[host]}", text)
    if name == "postconf-x.txt":
        return re.sub(r"(?m)^process_id = .*$", f"process_id = {PROCESS_ID}", text)
    if name == "doveconf-n.txt":
        text = re.sub(r"(?m)^# OS: .*$", OS_LINE, text)
        return re.sub(r"(?m)^# Hostname: .*$", f"# Hostname: {HOSTS[host]}", text)
    return text


def export_host(host: str) -> dict[str, bytes]:
    """The export folder of one sample host, by path relative to it."""
    with tempfile.TemporaryDirectory(prefix="auditor-linux-sample-") as temp:
        root = Path(temp)
        root.chmod(0o755)
        back = _copy_configuration(host, root)
        _build_tables(root / "postfix")
        out = root / "export"
        subprocess.run(
            [
                "sh",
                str(EXPORT_SCRIPT),
                "-c",
                str(root / "postfix"),
                "-d",
                str(root / "dovecot" / "dovecot.conf"),
                "-o",
                str(out),
            ],
            check=True,
            capture_output=True,
        )
        users = CONFIGS / host / "users"
        if users.exists():
            names = users.read_text(encoding="utf-8").split()
            (out / "doveadm-users.txt").write_bytes(_doveadm_users(names, root))
        files: dict[str, bytes] = {}
        for path in sorted(p for p in out.rglob("*") if p.is_file()):
            relative = path.relative_to(out).as_posix()
            text = path.read_text(encoding="utf-8")
            for copied, on_host in sorted(back.items(), key=lambda item: -len(item[0])):
                text = text.replace(copied, on_host)
                relative = relative.replace(copied, on_host)
            files[relative] = _fixed(path.name, text, host).encode("utf-8")
        return files


def linux_sample_files() -> dict[str, bytes]:
    """Every generated file of the Linux hosts, by path relative to auditor/sample_modern/."""
    files: dict[str, bytes] = {}
    for host in HOSTS:
        files.update({f"{host}/{name}": data for name, data in export_host(host).items()})
    return files


def write_linux_sample(folder: Path = MODERN_FOLDER) -> tuple[list[Path], list[Path]]:
    """Write the files (a file the hosts' folders no longer get is removed); (written, removed)."""
    files = linux_sample_files()
    changed: list[Path] = []
    removed: list[Path] = []
    for host in HOSTS:
        stale = {p for p in (folder / host).rglob("*") if p.is_file()} if (folder / host).exists() else set()
        for path in sorted(stale - {folder / name for name in files}):
            path.unlink()
            removed.append(path)
    for relative, data in files.items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_bytes() != data:
            path.write_bytes(data)
            changed.append(path)
    for host in HOSTS:
        for empty in sorted((folder / host).rglob("*"), reverse=True):
            if empty.is_dir() and not any(empty.iterdir()):
                shutil.rmtree(empty)
    return changed, removed


def main() -> None:
    written, removed = write_linux_sample()
    for path in written:
        print(f"wrote {path}")
    for path in removed:
        print(f"removed {path}")


if __name__ == "__main__":
    main()
