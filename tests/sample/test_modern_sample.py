"""The bundled modern sample: Exchange 2016 / SE with its POP3 hosts, LNX01 and LNX02 (Linux) and
POP01 (Windows). Up to date with its generators, exact failing sets per check, the CLI.

Its directory and POP01's export are what tools/make_sample_modern.py writes (descriptors packed
by Samba's encoder, so this needs python3-samba); the Linux hosts' folders are what
tools/make_linux_sample.py writes with the real Postfix and Dovecot (tests/sample/
test_linux_sample.py); both are installed by deploy/lab/install-test-deps.sh. The table below is
the design of the sample (auditor/sample_modern/README.md): for each check the exact set of
failing subjects and the passing subjects the design relies on. Every check added for Exchange
2007+ (issue 10) and for the Linux host (issue 11) passes and fails in it; with the Contoso
sample beside it, every check of the catalogue does.
"""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from make_sample_modern import POP01, sample_files

from auditor.config import load_config
from auditor.engine import run_checks
from auditor.model import Snapshot
from auditor.registry import CheckSpec, Finding, SkipCheck, Status, discover_checks
from auditor.run import build_snapshot, build_sources
from auditor.sample import sample_config_path as contoso_config_path
from auditor.sample_modern import sample_config_path

SAMPLE = sample_config_path().parent
README = Path(__file__).resolve().parents[2] / "README.md"
# Issue 10 (Exchange 2007+) and issue 11 (the Linux host): the checks they added.
NEW_CHECKS = (
    "COEX-203",
    "COEX-204",
    "COEX-305",
    "COEX-405",
    "COEX-503",
    "COEX-602",
    "COEX-703",
    "COEX-704",
    "COEX-705",
    "COEX-904",
)
_CONFIGURATION = "CN=Configuration,DC=contoso,DC=com"
ORG = f"CN=Contoso,CN=Microsoft Exchange,CN=Services,{_CONFIGURATION}"
AG = f"CN=Exchange Administrative Group (FYDIBOHF23SPDLT),CN=Administrative Groups,{ORG}"
RECEIVE = f"CN=SMTP Receive Connectors,CN=Protocols,CN=EX16,CN=Servers,{AG}"
SEND = f"CN=Connections,CN=Exchange Routing Group (DWBGZMFD01QNBJR),CN=Routing Groups,{AG}"


def receive(name: str) -> str:
    return f"CN={name},{RECEIVE}"


def send(name: str) -> str:
    return f"CN={name},{SEND}"


def staff(cn: str) -> str:
    return f"CN={cn},OU=Staff,DC=contoso,DC=com"


def pop(cn: str) -> str:
    return f"CN={cn},OU=POP,DC=contoso,DC=com"


# check id -> (exact failing subjects, passing subjects the design relies on)
EXPECTED: dict[str, tuple[set[str], set[str]]] = {
    "COEX-101": ({staff("Oscar Orphan")}, {staff("Alice Adams")}),
    "COEX-201": ({"LNX02"}, {"LNX01", "POP01"}),
    "COEX-202": ({"erin@pop.contoso.com"}, {"bob@pop.contoso.com", "nancy@northwindtraders.com"}),
    "COEX-203": ({"LNX02"}, {"LNX01"}),
    "COEX-204": ({"LNX02"}, {"LNX01"}),
    "COEX-301": (
        {"fabrikam.example", "sales.contoso.com"},
        {"pop.contoso.com", "northwindtraders.com", "legacy.contoso.com", "lists.contoso.com"},
    ),
    "COEX-302": (
        {"fabrikam.example", "sales.contoso.com", "pop.contoso.com", "northwindtraders.com"},
        {"legacy.contoso.com", "lists.contoso.com"},
    ),
    "COEX-303": (
        {
            "dave@fabrikam.example",  # categorizer loop
            "carol@pop.contoso.com",  # no primary address to send to
            "nancy@northwindtraders.com",  # LNX01's catch-all sends her mail back to Exchange
            "partners.contoso.com",  # Exchange -> LNX02 -> Exchange
            "alice@contoso.com",  # from LNX02: the bare relayhost's MX, not Exchange
            "oscar@contoso.com",
        },
        {
            "contoso.com",
            "pop.contoso.com",
            "northwindtraders.com",
            "sales.contoso.com",
            "legacy.contoso.com",
            "bob@pop.contoso.com",
            "announce@lists.contoso.com",
        },
    ),
    "COEX-304": (set(), {"contoso.com", "pop.contoso.com"}),  # one policy: nothing contradicts
    "COEX-305": ({"northwindtraders.com"}, {"pop.contoso.com", "sales.contoso.com"}),
    "COEX-401": ({"erin@pop.contoso.com"}, {"bob@pop.contoso.com", "nancy@northwindtraders.com"}),
    "COEX-402": ({pop("Carol Clark")}, {pop("Bob Brown"), pop("Nancy Davolio")}),
    "COEX-403": ({pop("Carol Clark")}, {pop("Bob Brown"), pop("Nancy Davolio")}),
    "COEX-404": ({pop("Dave Dunn")}, {pop("Bob Brown"), pop("Nancy Davolio"), staff("Gina Green")}),
    "COEX-405": ({pop("Carol Clark")}, {pop("Bob Brown"), pop("Nancy Davolio")}),
    "COEX-501": (set(), {ORG}),
    "COEX-502": ({"LNX02"}, {"LNX01", "POP01"}),
    "COEX-503": ({"LNX02:smtp/inet", "LNX02:2525/inet"}, {"LNX01:smtp/inet", "LNX01:submission/inet"}),
    "COEX-601": (
        {"lists.contoso.com", "sales.contoso.com", "legacy.contoso.com"},
        {"pop.contoso.com", "northwindtraders.com", "fabrikam.example"},
    ),
    "COEX-602": ({"northwind.example"}, {"pop.contoso.com", "northwindtraders.com", "partner.example"}),
    "COEX-701": ({"LNX02"}, {"LNX01", "POP01"}),
    "COEX-702": ({"LNX02"}, {"LNX01", "POP01"}),
    "COEX-703": (
        {receive("App Relay"), receive("Scanner Relay"), receive("Legacy Trusted")},
        {receive("Relay from LNX01"), receive("Relay from POP01"), receive("Partner Inbound")},
    ),
    "COEX-704": ({receive("Legacy Trusted")}, {receive("Relay from LNX01"), receive("Relay from POP01")}),
    "COEX-705": (
        {send("To POP01 Fabrikam"), "LNX02"},
        {send("To LNX01"), send("To LNX02"), send("Lists"), "LNX01"},
    ),
    "COEX-901": (
        {receive("App Relay"), "LNX02:2525/inet"},
        {receive("Relay from LNX01"), "LNX01:smtp/inet", "LNX01:submission/inet", "LNX02:smtp/inet", "POP01"},
    ),
    "COEX-902": (set(), {"alice@contoso.com", "postmaster@contoso.com", "nancy@contoso.com"}),
    "COEX-903": (set(), {staff("Alice Adams"), pop("Nancy Davolio")}),
    "COEX-904": ({f"CN=EX16,CN=Servers,{AG}", ORG}, {f"CN=SE01,CN=Servers,{AG}"}),
}
# check id -> the exact subjects that are `error` (input that needs a human), not fail.
EXPECTED_ERRORS: dict[str, set[str]] = {
    "COEX-703": {receive("Broken Import")},
    "COEX-901": {receive("Broken Import")},
}


def _snapshot(config_path: Path) -> Snapshot:
    """The snapshot `auditor check --once -c config_path` checks (run.run_pass, minus the store)."""
    config = load_config(config_path)
    sources = build_sources(config)
    records = [record for source in sources for record in source.collect()]
    assert all(source.info.complete for source in sources)
    snap = build_snapshot(config, records, [source.info for source in sources])
    snap.as_of = date(2026, 12, 1)  # what `check --once` sets: support dates are judged at it
    return snap


@pytest.fixture(scope="module")
def snap() -> Snapshot:
    return _snapshot(sample_config_path())


@pytest.fixture(scope="module")
def specs() -> dict[str, CheckSpec]:
    return {spec.id: spec for spec in discover_checks()}


def test_the_committed_files_are_what_the_generator_writes() -> None:
    files = sample_files()
    for relative, data in files.items():
        assert (SAMPLE / relative).read_bytes() == data, f"{relative} is stale: run `make sample-data`"
    pop01 = {p.relative_to(SAMPLE).as_posix() for p in (SAMPLE / POP01.folder).iterdir() if p.is_file()}
    assert pop01 == {name for name in files if name.startswith(f"{POP01.folder}/")}, "run `make sample-data`"


def test_every_discovered_check_has_a_row(specs: dict[str, CheckSpec]) -> None:
    assert set(specs) == set(EXPECTED)


def test_the_organization_is_exchange_2016_and_se_with_two_linux_hosts_and_a_windows_one(
    snap: Snapshot,
) -> None:
    assert snap.modern_routing
    assert sorted(server.name for server in snap.exchange_servers) == ["EX16", "SE01"]
    assert snap.pop3_domains_by_server == {
        "LNX01": frozenset({"pop.contoso.com", "northwindtraders.com"}),
        "LNX02": frozenset({"sales.contoso.com", "legacy.contoso.com"}),
        "POP01": frozenset({"fabrikam.example", "lists.contoso.com"}),
    }


@pytest.mark.parametrize("check_id", sorted(EXPECTED))
def test_check_fails_exactly_the_designed_subjects_and_passes_others(
    check_id: str, snap: Snapshot, specs: dict[str, CheckSpec]
) -> None:
    failing, passing = EXPECTED[check_id]
    findings = list(specs[check_id].run(snap))  # no check skips on the modern sample
    assert {f.subject for f in findings if f.status is Status.FAIL} == failing
    assert {f.subject for f in findings if f.status is Status.ERROR} == EXPECTED_ERRORS.get(check_id, set())
    passed = {f.subject for f in findings if f.status is Status.PASS}
    assert passing <= passed
    assert not passed & failing


def test_every_new_check_has_passing_and_failing_subjects(snap: Snapshot) -> None:
    outcome = run_checks(snap, discover_checks(), today=date(2026, 12, 6))
    by_id = {c.id: c for c in outcome.checks}
    for check_id in NEW_CHECKS:
        result = by_id[check_id]
        assert result.passed >= 1, f"{check_id} passes nothing in the modern sample"
        assert result.failed >= 1, f"{check_id} fails nothing in the modern sample"


def _verdicts(spec: CheckSpec, snap: Snapshot) -> list[Finding]:
    try:
        return list(spec.run(snap))
    except SkipCheck:
        return []


def test_every_check_passes_and_fails_across_the_two_bundled_samples(
    snap: Snapshot, specs: dict[str, CheckSpec]
) -> None:
    """The 2003-only checks skip or have nothing to judge in one sample (saying so: tests/sample/
    test_sample_exercises_every_check.py), the 2007+ and Linux ones in the other; together the two
    samples show every check both ways, with a plain `fail`, not only an `error`."""
    contoso = _snapshot(contoso_config_path())
    for check_id, spec in specs.items():
        statuses = {f.status for sample in (contoso, snap) for f in _verdicts(spec, sample)}
        assert Status.PASS in statuses, f"{check_id} passes nothing in the bundled samples"
        assert Status.FAIL in statuses, f"{check_id} fails nothing in the bundled samples"


def test_the_exchange_linux_relationship(snap: Snapshot, specs: dict[str, CheckSpec]) -> None:
    """LNX01 is joined as the coexistence rules ask: Exchange sends it the shared namespace by a
    send connector with RequireTLS, a receive connector takes its relay anonymously, its relayhost
    is EX16 with TLS required; its one mistake is the catch-all of COEX-305."""
    found = {(spec.id, f.subject): f for spec in specs.values() for f in spec.run(snap)}
    assert "'Relay from LNX01' on EX16" in found[("COEX-702", "LNX01")].message
    assert "= Exchange server EX16" in found[("COEX-701", "LNX01")].message
    assert found[("COEX-705", send("To LNX01"))].status is Status.PASS
    assert "'To LNX01'" in found[("COEX-602", "pop.contoso.com")].message
    assert "sanctioned shared-namespace setup" in found[("COEX-302", "northwindtraders.com")].message
    assert "catch-all @northwindtraders.com" in found[("COEX-305", "northwindtraders.com")].message
    assert "Contoso → LNX01 → Contoso" in found[("COEX-303", "nancy@northwindtraders.com")].message
    # the Windows host beside it, on 2007+ Exchange: its relay taken by its own receive connector
    assert "'Relay from POP01' on EX16" in found[("COEX-702", "POP01")].message


def test_the_done_when_fixtures_of_the_sample(snap: Snapshot, specs: dict[str, CheckSpec]) -> None:
    outcome = run_checks(snap, list(specs.values()), today=date(2026, 12, 6))
    found = {(f.check, f.subject.split(",")[0]): f for f in outcome.findings}
    assert "loop" in found[("COEX-303", "dave@fabrikam.example")].message
    app = found[("COEX-703", "CN=App Relay")]
    assert app.status is Status.FAIL and app.severity.value == "critical"
    assert "Everyone" in found[("COEX-703", "CN=Scanner Relay")].message
    assert found[("COEX-703", "CN=Legacy Trusted")].severity.value == "high"
    assert found[("COEX-705", "LNX02")].severity.value == "high"  # logs in without TLS
    assert found[("COEX-705", "CN=To POP01 Fabrikam")].severity.value == "medium"
    # a deny ACE cancels Partner Inbound's grant: a pass, saying so
    [partner] = [f for f in specs["COEX-703"].run(snap) if f.subject == receive("Partner Inbound")]
    assert partner.status is Status.PASS and "cancelled" in partner.message


def test_cli_sample_modern_and_trace(auditor: Any, tmp_path: Path) -> None:
    done = auditor(
        "check", "--once", "--sample", "modern", "--format", "json", "--fail-on", "critical", cwd=tmp_path
    )
    assert done.returncode == 1, done.stderr
    document = json.loads(done.stdout)
    assert (tmp_path / "auditor-sample-modern.db").exists()
    assert not (tmp_path / "auditor-sample.db").exists()
    sources = {s["name"] for s in document["snapshot"]["sources"]}
    assert sources == {"directory", "pop3:LNX01", "pop3:LNX02", "pop3:POP01"}
    statuses = {(f["check"], f["subject"].split(",")[0]): f["status"] for f in document["findings"]}
    assert statuses[("COEX-703", "CN=Broken Import")] == "error"
    info = [f for f in document["findings"] if f["check"] == "COEX-904"]
    assert info and all(f["severity"] == "info" for f in info)
    traced = auditor("trace", "bob@contoso.com", "--sample", "modern", cwd=tmp_path)
    assert traced.returncode == 0, traced.stderr
    assert "accepted domain (pop.contoso.com, InternalRelay): recipient lookup" in traced.stdout
    assert "send connector 'To LNX01'" in traced.stdout
    assert "virtual_mailbox_domains; virtual_transport: delivered on this host" in traced.stdout
    assert "delivered" in traced.stdout.splitlines()[0]
    back = auditor("trace", "alice@contoso.com", "--from", "LNX01", "--sample", "modern", cwd=tmp_path)
    assert back.returncode == 0, back.stderr
    assert "relayhost = [ex16.contoso.com]:25" in back.stdout
    assert back.stdout.rstrip().endswith("path: LNX01 → Contoso")
    contoso = auditor("check", "--once", "--sample", "--format", "json", cwd=tmp_path)
    assert contoso.returncode == 1
    assert json.loads(contoso.stdout)["snapshot"]["sources"][0]["objects"] > 0
    assert (tmp_path / "auditor-sample.db").exists()


def test_904_is_info_and_never_changes_the_exit_code(auditor: Any, tmp_path: Path) -> None:
    text = sample_config_path().read_text(encoding="utf-8")
    text = text.replace(
        'ldif = ["modern-domain.ldf", "modern-configuration.ldf"]',
        f'ldif = ["{SAMPLE / "modern-configuration.ldf"}"]',
    )
    for folder in ("lnx01", "lnx02", "pop01"):
        text = text.replace(f'export = "{folder}"', f'export = "{SAMPLE / folder}"')
    disabled = [c.id for c in discover_checks() if c.id != "COEX-904"]
    text = text.replace("[checks]", f"[checks]\ndisabled = {json.dumps(disabled)}")
    config = tmp_path / "auditor.toml"
    config.write_text(text + '\n[store]\nurl = "sqlite:///h.db"\n', encoding="utf-8")
    done = auditor("check", "--once", "-c", str(config), "--format", "json", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert any(
        f["check"] == "COEX-904" and f["status"] == "fail" for f in json.loads(done.stdout)["findings"]
    )


def _readme_block() -> str:
    section = README.read_text(encoding="utf-8").split("<!-- modern-sample-output:start -->", 1)[1]
    return section.split("```text\n", 1)[1].split("```", 1)[0]


def test_readme_shows_the_modern_samples_findings(auditor: Any, tmp_path: Path) -> None:
    done = auditor("check", "--once", "--sample", "modern", cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    time = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC")
    assert time.sub("TIME", done.stdout) == time.sub("TIME", _readme_block())
