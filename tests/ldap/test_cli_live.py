"""`auditor check --once` against the live lab directory over LDAPS, end to end.

The same organization read live and read from an `auditor export-ldif` of the same server must
give the same JSON findings; a directory that stops answering is exit 2, one line, and no
complete snapshot.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

LAB_PASSWORD = "Lab-Adm1n-Passw0rd"  # tests/ldap/conftest.py ADMIN_PASSWORD
SAMPLE = Path(str(resources.files("auditor.sample")))
POP3 = """
[[exchange_server]]
name = "EX01"
fqdn = "ex01.contoso.com"
addresses = ["10.0.0.10"]

[[pop3_server]]
name = "POP01"
fqdn = "pop01.contoso.com"
addresses = ["10.0.0.25"]
export = "pop01"

[[pop3_server]]
name = "POP02"
fqdn = "pop02.contoso.com"
addresses = ["10.0.0.26"]
export = "pop02"
"""

pytestmark = pytest.mark.samba
ENV = {"AUDITOR_TEST_BIND_PASSWORD": LAB_PASSWORD}


def live_config(folder: Path, lab: Any, extra: str = "") -> Path:
    path = folder / "live.toml"
    path.write_text(
        f"""organization = "Contoso"
[store]
url = "sqlite:///live.db"
[directory]
url = "ldaps://127.0.0.1:636"
bind_dn = "{lab.settings.bind_dn}"
password_env = "AUDITOR_TEST_BIND_PASSWORD"
ca_file = "{lab.folder / "tls" / "ca.pem"}"
page_size = 200
{extra}
{POP3}""",
        encoding="utf-8",
    )
    return path


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    for name in ("pop01", "pop02"):
        shutil.copytree(SAMPLE / name, tmp_path / name)
    return tmp_path


def findings(stdout: str) -> set[tuple[str, str, str, str]]:
    document = json.loads(stdout)
    assert document["snapshot"]["complete"] is True
    return {(f["check"], f["subject"], f["status"], f["message"]) for f in document["findings"]}


def test_live_ldaps_check_gives_the_same_findings_as_the_ldif_export_of_the_same_server(
    auditor: Any, samba_lab: Any, workdir: Path
) -> None:
    samba_lab.ensure_running()
    config = live_config(workdir, samba_lab)
    live = auditor("check", "--once", "-c", str(config), "--format", "json", cwd=workdir, env=ENV)
    assert live.returncode == 1, live.stderr
    exported = auditor(
        "export-ldif",
        "-c",
        str(config),
        "--domain-out",
        "domain.ldf",
        "--configuration-out",
        "config.ldf",
        cwd=workdir,
        env=ENV,
    )
    assert exported.returncode == 0, exported.stderr
    offline_config = workdir / "offline.toml"
    offline_config.write_text(
        f'organization = "Contoso"\n[store]\nurl = "sqlite:///offline.db"\n'
        f'[directory]\nldif = ["domain.ldf", "config.ldf"]\n{POP3}',
        encoding="utf-8",
    )
    offline = auditor("check", "--once", "-c", str(offline_config), "--format", "json", cwd=workdir, env=ENV)
    assert offline.returncode == 1, offline.stderr
    live_findings, offline_findings = findings(live.stdout), findings(offline.stdout)
    assert live_findings == offline_findings
    # The sample organization's deliberate mistakes are found live too.
    assert ("COEX-301", "sales.contoso.com") in {(c, s) for c, s, _, _ in live_findings}


def test_a_directory_that_stops_answering_is_exit_2_and_no_complete_snapshot(
    auditor: Any, samba_lab: Any, workdir: Path
) -> None:
    samba_lab.ensure_running()
    config = live_config(workdir, samba_lab, extra="timeout = 2\nretries = 0")
    assert auditor("check", "--once", "-c", str(config), cwd=workdir, env=ENV).returncode == 1
    os.killpg(samba_lab.pid, signal.SIGSTOP)
    try:
        done = auditor("check", "--once", "-c", str(config), cwd=workdir, env=ENV)
    finally:
        os.killpg(samba_lab.pid, signal.SIGCONT)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "127.0.0.1:636" in lines[0]
    assert LAB_PASSWORD not in done.stderr
    history = auditor("history", "-c", str(config), "--format", "json", cwd=workdir, env=ENV)
    snapshots = json.loads(history.stdout)["snapshots"]
    assert [s["complete"] for s in snapshots] == [False, True]
    assert snapshots[0]["objects"] == 0
