"""The bundled modern sample (Exchange 2016 / SE): up to date, every new check both ways, the CLI.

Its files are what tools/make_sample_modern.py writes (descriptors packed by Samba's encoder, so
this needs python3-samba, installed by deploy/lab/install-test-deps.sh); every check added for
Exchange 2007+ has passing and failing subjects in it; `--sample modern` audits it and plain
`--sample` still audits Contoso.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

from make_sample_modern import sample_files

from auditor.config import load_config
from auditor.engine import run_checks
from auditor.registry import Status, discover_checks
from auditor.run import build_snapshot, build_sources
from auditor.sample_modern import sample_config_path

SAMPLE = sample_config_path().parent
NEW_CHECKS = ("COEX-405", "COEX-602", "COEX-703", "COEX-704", "COEX-705", "COEX-904")


def test_the_committed_files_are_what_the_generator_writes() -> None:
    for relative, data in sample_files().items():
        assert (SAMPLE / relative).read_bytes() == data, f"{relative} is stale: run `make sample-data`"


def _outcome() -> Any:
    config = load_config(sample_config_path())
    records, infos = [], []
    for source in build_sources(config):
        records += list(source.collect())
        infos.append(source.info)
    snap = build_snapshot(config, records, infos)
    return snap, run_checks(snap, discover_checks(), today=date(2026, 12, 6))


def test_every_new_check_has_passing_and_failing_subjects() -> None:
    _, outcome = _outcome()
    by_id = {c.id: c for c in outcome.checks}
    for check_id in NEW_CHECKS:
        result = by_id[check_id]
        assert result.passed >= 1, f"{check_id} passes nothing in the modern sample"
        assert result.failed + result.errors >= 1, f"{check_id} fails nothing in the modern sample"


def test_the_done_when_fixtures_of_the_sample() -> None:
    snap, outcome = _outcome()
    found = {(f.check, f.subject.split(",")[0]): f for f in outcome.findings}
    # a shared domain that is Authoritative: COEX-301 and a loop (COEX-303)
    assert found[("COEX-301", "fabrikam.example")].status is Status.FAIL
    assert "loop" in found[("COEX-303", "dave@fabrikam.example")].message
    # anonymous relay open to 10.0.0.0/8: COEX-703 critical and COEX-901
    app = found[("COEX-703", "CN=App Relay")]
    assert app.status is Status.FAIL and app.severity.value == "critical"
    assert found[("COEX-901", "CN=App Relay")].status is Status.FAIL
    # ExternalAuthoritative over the POP3 host's address: COEX-704
    assert found[("COEX-704", "CN=Legacy Trusted")].status is Status.FAIL
    # a descriptor cut short: error, never a pass
    assert found[("COEX-703", "CN=Broken Import")].status is Status.ERROR
    assert found[("COEX-901", "CN=Broken Import")].status is Status.ERROR
    # an Everyone grant is counted and said so; a deny ACE cancels a grant (no finding: a pass)
    assert "Everyone" in found[("COEX-703", "CN=Scanner Relay")].message
    assert ("COEX-703", "CN=Partner Inbound") not in found
    # InternalRelay with only the catch-all connector
    assert found[("COEX-602", "northwind.example")].status is Status.FAIL
    assert snap.modern_routing


def test_cli_sample_modern_and_trace(auditor: Any, tmp_path: Path) -> None:
    done = auditor(
        "check", "--once", "--sample", "modern", "--format", "json", "--fail-on", "critical", cwd=tmp_path
    )
    assert done.returncode == 1, done.stderr
    document = json.loads(done.stdout)
    assert (tmp_path / "auditor-sample-modern.db").exists()
    assert not (tmp_path / "auditor-sample.db").exists()
    statuses = {(f["check"], f["subject"].split(",")[0]): f["status"] for f in document["findings"]}
    assert statuses[("COEX-703", "CN=Broken Import")] == "error"
    info = [f for f in document["findings"] if f["check"] == "COEX-904"]
    assert info and all(f["severity"] == "info" for f in info)
    traced = auditor("trace", "bob@contoso.com", "--sample", "modern", cwd=tmp_path)
    assert traced.returncode == 0, traced.stderr
    assert "accepted domain (pop.contoso.com, InternalRelay): recipient lookup" in traced.stdout
    assert "send connector 'To POP01'" in traced.stdout
    assert "delivered" in traced.stdout.splitlines()[0]
    contoso = auditor("check", "--once", "--sample", "--format", "json", cwd=tmp_path)
    assert contoso.returncode == 1
    assert json.loads(contoso.stdout)["snapshot"]["sources"][0]["objects"] > 0
    assert (tmp_path / "auditor-sample.db").exists()


def test_904_is_info_and_never_changes_the_exit_code(auditor: Any, tmp_path: Path) -> None:
    config = tmp_path / "auditor.toml"
    text = sample_config_path().read_text(encoding="utf-8")
    config.write_text(
        text.replace(
            'ldif = ["modern-domain.ldf", "modern-configuration.ldf"]',
            f'ldif = ["{SAMPLE / "modern-configuration.ldf"}"]',
        ).replace('export = "pop01"', f'export = "{SAMPLE / "pop01"}"')
        + '\n[store]\nurl = "sqlite:///h.db"\n',
        encoding="utf-8",
    )
    disabled = [c.id for c in discover_checks() if c.id != "COEX-904"]
    config.write_text(
        config.read_text(encoding="utf-8").replace(
            "[checks]", f"[checks]\ndisabled = {json.dumps(disabled)}"
        ),
        encoding="utf-8",
    )
    done = auditor("check", "--once", "-c", str(config), "--format", "json", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert any(
        f["check"] == "COEX-904" and f["status"] == "fail" for f in json.loads(done.stdout)["findings"]
    )
