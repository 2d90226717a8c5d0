"""The SSH fetch against a real sshd on loopback (own host key, own client key, own authorized_keys).

Two ways the host may run the export: the script sent on standard input (`sh -s -- -t`, nothing
installed on the host), or a forced command pinned in authorized_keys (here with -c / -d pointing
at throwaway configurations, so the test never depends on this machine's /etc/postfix).
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from linuxlab import EXPORT_SCRIPT, free_port, lab, lab_dir, postfix_config, write

from auditor.errors import CollectorError
from auditor.families.linux.source import LinuxExportSource
from auditor.families.linux.ssh import SshTarget, fetch_export

pytestmark = pytest.mark.slow


@dataclass
class Sshd:
    folder: Path
    port: int
    postfix: Path

    def target(self, **kwargs: Any) -> SshTarget:
        options: dict[str, Any] = {
            "destination": f"{subprocess.run(['id', '-un'], capture_output=True, text=True).stdout.strip()}@127.0.0.1",
            "known_hosts": self.folder / "known_hosts",
            "identity": self.folder / "client_ed25519",
            "port": self.port,
            "timeout": 60.0,
        }
        options.update(kwargs)
        return SshTarget(**options)


@pytest.fixture
def sshd() -> Iterator[Sshd]:
    """sshd whose key runs the export of a throwaway Postfix configuration (forced command)."""
    folder = lab_dir("sshd")
    postfix = postfix_config(
        folder / "postfix", "compatibility_level = 3.6\nrelayhost = [ex16.contoso.com]\n"
    )
    command = f"sh {EXPORT_SCRIPT} -t -c {postfix} -d {folder}/no-dovecot.conf"
    port = free_port()
    lab("sshd.sh", "start", str(folder / "sshd"), str(port), command)
    try:
        yield Sshd(folder / "sshd", port, postfix)
    finally:
        lab("sshd.sh", "stop", str(folder / "sshd"))
        shutil.rmtree(folder, ignore_errors=True)


def test_a_fetch_unpacks_a_fresh_export(tmp_path: Path, sshd: Sshd) -> None:
    seconds = fetch_export(sshd.target(), tmp_path / "export")
    names = sorted(p.name for p in (tmp_path / "export").iterdir())
    assert {"postconf-x.txt", "postconf-M.txt", "EXPORT-INFO.txt"} <= set(names)
    assert "relayhost = [ex16.contoso.com]" in (tmp_path / "export" / "postconf-n.txt").read_text(
        encoding="utf-8"
    )
    assert seconds < 60


def test_each_pass_sees_the_remote_edit(sshd: Sshd) -> None:
    source = LinuxExportSource(name="LNX01", ssh=sshd.target())
    first = {r.key: r for r in source.collect()}
    main = (sshd.postfix / "main.cf").read_text(encoding="utf-8")
    write(sshd.postfix, "main.cf", main.replace("[ex16.contoso.com]", "[ex19.contoso.com]"))
    second = {r.key: r for r in source.collect()}
    assert first["postfix:lnx01"].first("relayhost") == "[ex16.contoso.com]"
    assert second["postfix:lnx01"].first("relayhost") == "[ex19.contoso.com]"
    assert source.info.complete and source.info.kind == "linux-ssh"


def test_a_changed_host_key_is_refused_never_accepted(tmp_path: Path, sshd: Sshd) -> None:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "other")], check=True)
    other = (tmp_path / "other.pub").read_text(encoding="utf-8").split()
    known = tmp_path / "known_hosts"
    known.write_text(f"[127.0.0.1]:{sshd.port} {other[0]} {other[1]}\n", encoding="utf-8")
    with pytest.raises(CollectorError) as caught:
        fetch_export(sshd.target(known_hosts=known), tmp_path / "export")
    assert "host key verification failed" in str(caught.value)
    assert "\n" not in str(caught.value)
    assert known.read_text(encoding="utf-8").count("\n") == 1
    assert not (tmp_path / "export").exists()


def test_an_unknown_host_key_is_refused(tmp_path: Path, sshd: Sshd) -> None:
    empty = tmp_path / "known_hosts"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(CollectorError, match="host key verification failed"):
        fetch_export(sshd.target(known_hosts=empty), tmp_path / "export")
    assert empty.read_text(encoding="utf-8") == ""


def test_a_key_the_host_does_not_know_is_one_clear_error(tmp_path: Path, sshd: Sshd) -> None:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "stranger")], check=True
    )
    with pytest.raises(CollectorError) as caught:
        fetch_export(sshd.target(identity=tmp_path / "stranger"), tmp_path / "export")
    assert "the export failed" in str(caught.value)
    assert "Permission denied" in str(caught.value)


def test_the_script_sent_on_standard_input(tmp_path: Path) -> None:
    folder = lab_dir("sshd-stdin")
    port = free_port()
    lab("sshd.sh", "start", str(folder), str(port))
    try:
        target = SshTarget(
            destination=f"{subprocess.run(['id', '-un'], capture_output=True, text=True).stdout.strip()}@127.0.0.1",
            known_hosts=folder / "known_hosts",
            identity=folder / "client_ed25519",
            port=port,
            timeout=60.0,
        )
        fetch_export(target, tmp_path / "export")
        info = (tmp_path / "export" / "EXPORT-INFO.txt").read_text(encoding="utf-8")
        assert "exported_at = " in info
    finally:
        lab("sshd.sh", "stop", str(folder))
        shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.parametrize("kind", ["symlink", "parent", "absolute", "device"])
def test_an_unsafe_tar_entry_is_refused(tmp_path: Path, kind: str) -> None:
    import io
    import tarfile

    from auditor.families.linux.ssh import _unpack

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        member = tarfile.TarInfo(
            {"parent": "../evil.txt", "absolute": "/tmp/evil.txt"}.get(kind, "postconf-x.txt")
        )
        if kind == "symlink":
            member.type, member.linkname = tarfile.SYMTYPE, "/etc/shadow"
        elif kind == "device":
            member.type = tarfile.CHRTYPE
        archive.addfile(member, io.BytesIO(b""))
    with pytest.raises(CollectorError, match="unsafe entry"):
        _unpack("host", buffer.getvalue(), tmp_path / "export")
    assert not (tmp_path / "export").exists()
    with pytest.raises(CollectorError, match="not a tar stream"):
        _unpack("host", b"this is not tar" * 100, tmp_path / "export2")


def test_two_ssh_passes_stored_then_diffed_show_the_main_cf_edit(tmp_path: Path, sshd: Sshd) -> None:
    """The history store and the differ (not the CLI: run.py wires the family in phase 2) on SSH passes."""
    from datetime import UTC, datetime, timedelta

    from auditor.diff import diff_snapshots
    from auditor.store import HistoryStore

    store = HistoryStore(f"sqlite:///{tmp_path / 'history.db'}")
    source = LinuxExportSource(name="LNX01", ssh=sshd.target(), addresses=["127.0.0.1"])
    taken = datetime(2026, 12, 6, 7, 0, tzinfo=UTC)
    store.save_snapshot(list(source.collect()), [source.info], taken)
    main = (sshd.postfix / "main.cf").read_text(encoding="utf-8")
    write(sshd.postfix, "main.cf", main.replace("[ex16.contoso.com]", "contoso.com"))
    store.save_snapshot(list(source.collect()), [source.info], taken + timedelta(hours=4))
    diff = diff_snapshots(store).to_json()
    changed = {(c["kind"], c["key"]): c["attributes"] for c in diff["objects"]["changed"]}
    assert set(changed) == {("postfix_host", "postfix:lnx01")}
    assert changed["postfix_host", "postfix:lnx01"]["relayhost"] == {
        "before": "[ex16.contoso.com]",
        "after": "contoso.com",
    }
    assert diff["objects"]["added"] == diff["objects"]["removed"] == []
