"""`auditor` end to end with a Linux `[[pop3_server]]`: an export folder and an SSH fetch.

The commands run as cron would run them (a subprocess of the installed entry point) against a
history store in a temporary folder: check --once, history, report, diff, trace.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from linuxlab import EXPORT_SCRIPT, STOCK_MASTER, export_host, free_port, lab, lab_dir, postfix_config, write

MAIN = """\
compatibility_level = 3.6
mydestination = localhost
mynetworks = 127.0.0.0/8
relayhost = [ex16.contoso.com]:25
smtp_tls_security_level = may
smtpd_sasl_type = dovecot
smtpd_sasl_path = private/auth
virtual_mailbox_domains = pop.contoso.com
virtual_mailbox_maps = hash:{pf}/vmailbox
"""
DOVECOT = """\
protocols = pop3
ssl = yes
disable_plaintext_auth = no
passdb {{
  driver = ldap
  args = {dc}/dovecot-ldap.conf.ext
}}
"""


def _config(folder: Path, body: str) -> Path:
    path = folder / "auditor.toml"
    path.write_text('[store]\nurl = "sqlite:///history.db"\n\n' + body, encoding="utf-8")
    return path


@pytest.fixture
def lnx01(tmp_path: Path) -> Path:
    """An export folder (Postfix and Dovecot) of a host with an open cleartext POP3 login."""
    folder = export_host(
        tmp_path / "hosts",
        "LNX01",
        main=MAIN,
        master=STOCK_MASTER,
        tables={"vmailbox": "bob@pop.contoso.com x\n"},
        dovecot=DOVECOT,
        dovecot_files={"dovecot-ldap.conf.ext": "uris = ldaps://dc1.contoso.com\nauth_bind = yes\n"},
    )
    target = tmp_path / "lnx01"
    shutil.move(folder, target)
    return target


def _findings(run: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(f["check"], f["subject"]): f for f in run["findings"]}


def test_check_once_reads_a_linux_export_folder(auditor: Any, tmp_path: Path, lnx01: Path) -> None:
    _config(tmp_path, '[[pop3_server]]\nname = "LNX01"\naddresses = ["10.0.0.25"]\nexport = "lnx01"\n')
    done = auditor("check", "--once", "--format", "json", cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    run = json.loads(done.stdout)
    (source,) = run["snapshot"]["sources"]
    assert (source["name"], source["kind"], source["complete"]) == ("pop3:LNX01", "linux-export", True)
    assert source["exported_at"].endswith("Z") and "stale" not in source
    findings = _findings(run)
    assert findings["COEX-203", "LNX01"]["status"] == "fail"
    assert "disable_plaintext_auth = no" in findings["COEX-203", "LNX01"]["message"]
    assert findings["COEX-705", "LNX01"]["severity"] == "medium"
    kinds = {ref["kind"] for ref in findings["COEX-203", "LNX01"]["evidence"]}
    assert kinds == {"postfix_host", "dovecot_host"}
    statuses = {c["id"]: c["status"] for c in run["checks"]}
    assert statuses["COEX-503"] == statuses["COEX-901"] == statuses["COEX-201"] == "pass"
    assert statuses["COEX-301"] == "skipped"  # no Exchange configuration in this config


def test_a_stale_export_shows_in_history_and_the_drift_report(
    auditor: Any, tmp_path: Path, lnx01: Path
) -> None:
    info = lnx01 / "EXPORT-INFO.txt"
    text = info.read_text(encoding="utf-8")
    stamp = next(line for line in text.splitlines() if line.startswith("exported_at"))
    info.write_text(text.replace(stamp, "exported_at = 2026-01-05T06:00:00Z"), encoding="utf-8")
    _config(tmp_path, '[[pop3_server]]\nname = "LNX01"\nexport = "lnx01"\nmax_age = "2d"\n')
    done = auditor("check", "--once", cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    assert "Stale exports" in done.stdout and "older than max_age 2d" in done.stdout
    history = auditor("history", cwd=tmp_path)
    assert "stale export: pop3:LNX01: exported 2026-01-05T06:00:00Z" in history.stdout
    entries = json.loads(auditor("history", "--format", "json", cwd=tmp_path).stdout)["snapshots"]
    assert entries[0]["complete"] is True
    assert entries[0]["stale"][0].startswith("pop3:LNX01: exported 2026-01-05T06:00:00Z")
    report = json.loads(auditor("report", "--format", "json", cwd=tmp_path).stdout)
    (source,) = report["collection"]["snapshots"][0]["sources"]
    assert source["exported_at"] == "2026-01-05T06:00:00Z" and "older than max_age 2d" in source["stale"]
    text_report = auditor("report", "--format", "text", cwd=tmp_path).stdout
    assert "stale in 1 run: exported 2026-01-05T06:00:00Z" in text_report


def test_a_folder_with_windows_and_linux_files_is_exit_2_and_no_complete_snapshot(
    auditor: Any, tmp_path: Path, lnx01: Path
) -> None:
    (lnx01 / "MetaBase.xml").write_text("<configuration/>", encoding="utf-8")
    _config(tmp_path, '[[pop3_server]]\nname = "LNX01"\nexport = "lnx01"\n')
    done = auditor("check", "--once", cwd=tmp_path)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1
    assert str(lnx01) in lines[0] and "several kinds of host" in lines[0] and "MetaBase.xml" in lines[0]
    entries = json.loads(auditor("history", "--format", "json", cwd=tmp_path).stdout)["snapshots"]
    assert [e["complete"] for e in entries] == [False]


@pytest.mark.parametrize(
    ("damage", "where"),
    [
        ("postconf-M.txt", "postconf-M.txt:2"),
        ("doveconf-n.txt", "doveconf-n.txt:2"),
    ],
)
def test_a_damaged_file_is_exit_2_naming_file_and_line(
    auditor: Any, tmp_path: Path, lnx01: Path, damage: str, where: str
) -> None:
    text = {
        "postconf-M.txt": "smtp inet n - y - - smtpd\ngarbage\n",
        "doveconf-n.txt": "ssl = yes\npassdb {\n",
    }
    (lnx01 / damage).write_text(text[damage], encoding="utf-8")
    _config(tmp_path, '[[pop3_server]]\nname = "LNX01"\nexport = "lnx01"\n')
    done = auditor("check", "--once", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and f"{lnx01}/{where}" in done.stderr
    entries = json.loads(auditor("history", "--format", "json", cwd=tmp_path).stdout)["snapshots"]
    assert [e["complete"] for e in entries] == [False]


# -- over SSH ------------------------------------------------------------------------------------


@pytest.fixture
def remote() -> Iterator[tuple[Path, int, Path]]:
    """A loopback sshd whose key runs the export of a throwaway Postfix: (sshd folder, port, main.cf folder)."""
    folder = lab_dir("sshd-cli")
    postfix = postfix_config(folder / "postfix", MAIN.format(pf=folder / "postfix"), STOCK_MASTER)
    write(folder / "postfix", "vmailbox", "bob@pop.contoso.com x\n")
    subprocess.run(["postmap", f"hash:{folder / 'postfix' / 'vmailbox'}"], check=True)
    port = free_port()
    command = f"sh {EXPORT_SCRIPT} -t -c {postfix} -d {folder}/no-dovecot.conf"
    lab("sshd.sh", "start", str(folder / "sshd"), str(port), command)
    try:
        yield folder / "sshd", port, postfix
    finally:
        lab("sshd.sh", "stop", str(folder / "sshd"))
        shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.slow
def test_check_over_ssh_then_diff_shows_the_main_cf_edit(
    auditor: Any, tmp_path: Path, remote: tuple[Path, int, Path]
) -> None:
    sshd, port, postfix = remote
    user = subprocess.run(["id", "-un"], capture_output=True, text=True, check=True).stdout.strip()
    _config(
        tmp_path,
        f'[[pop3_server]]\nname = "LNX01"\naddresses = ["127.0.0.1"]\nssh = "ssh://{user}@127.0.0.1:{port}"\n'
        f'known_hosts = "{sshd / "known_hosts"}"\nssh_key = "{sshd / "client_ed25519"}"\n',
    )
    first = auditor("check", "--once", "--format", "json", cwd=tmp_path)
    assert first.returncode in (0, 1), first.stderr
    assert json.loads(first.stdout)["snapshot"]["sources"][0]["kind"] == "linux-ssh"
    main = (postfix / "main.cf").read_text(encoding="utf-8")
    write(postfix, "main.cf", main.replace("[ex16.contoso.com]:25", "contoso.com"))
    second = auditor("check", "--once", cwd=tmp_path)
    assert second.returncode in (0, 1), second.stderr
    diff = json.loads(auditor("diff", "--format", "json", cwd=tmp_path).stdout)
    changed = {(c["kind"], c["key"]): c["attributes"] for c in diff["objects"]["changed"]}
    assert set(changed) == {("postfix_host", "postfix:lnx01")}
    assert changed["postfix_host", "postfix:lnx01"]["relayhost"] == {
        "before": "[ex16.contoso.com]:25",
        "after": "contoso.com",
    }
    traced = auditor("trace", "someone@example.org", "--from", "LNX01", cwd=tmp_path)
    assert traced.returncode == 0, traced.stderr
    assert "LNX01" in traced.stdout and "MX lookup of contoso.com" in traced.stdout
