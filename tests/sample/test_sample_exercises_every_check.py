"""The bundled sample organization exercises every check: a passing and a failing subject each.

The snapshot is built the way `auditor check --once --sample` builds it (the bundled config, its
sources, its Exchange host names), then every discovered check runs on it. The table below is the
design of the sample (auditor/sample/README.md): for each check the exact set of failing subjects
and some passing subjects that must stay passing. A check added to the catalogue without a row here
fails `test_every_discovered_check_has_a_row`, so the sample keeps up with the catalogue.
"""

from __future__ import annotations

import re
from datetime import date

import pytest

from auditor.config import AuditorConfig, load_config
from auditor.engine import Waiver, run_checks
from auditor.model import Snapshot
from auditor.records import ObjectRecord
from auditor.registry import CheckSpec, Finding, SkipCheck, Status, discover_checks
from auditor.run import build_snapshot, build_sources
from auditor.sample import sample_config_path

DOMAIN = "DC=contoso,DC=com"
EX01 = (
    "CN=SMTP,CN=Protocols,CN=EX01,CN=Servers,CN=First Administrative Group,CN=Administrative Groups,"
    "CN=Contoso,CN=Microsoft Exchange,CN=Services,CN=Configuration,DC=contoso,DC=com"
)
VS1, VS2, VS3 = f"CN=1,{EX01}", f"CN=2,{EX01}", f"CN=3,{EX01}"
ORG = "CN=Contoso,CN=Microsoft Exchange,CN=Services,CN=Configuration,DC=contoso,DC=com"


def staff(cn: str) -> str:
    return f"CN={cn},OU=Staff,{DOMAIN}"


def pop3(cn: str) -> str:
    return f"CN={cn},OU=POP3,{DOMAIN}"


def group(cn: str) -> str:
    return f"CN={cn},CN=Users,{DOMAIN}"


def partner(cn: str) -> str:
    return f"CN={cn},OU=Contacts,{DOMAIN}"


# check id -> (exact failing subjects, passing subjects the design relies on)
EXPECTED: dict[str, tuple[set[str], set[str]]] = {
    "COEX-101": (
        {staff("Oliver Stone"), staff("Rita Vogel"), staff("Wes Ortiz")},
        {
            staff("Alice Adams"),
            staff("Frank Fox"),
            staff("Tina Brooks"),
            f"CN=Conference Room A,OU=Resources,{DOMAIN}",
        },
    ),
    "COEX-201": ({"POP02"}, {"POP01"}),
    "COEX-202": (
        {"dave@pop.contoso.com", "erin@pop.contoso.com", "henry@pop.contoso.com", "scanner@fabrikam.com"},
        {"bob@pop.contoso.com", "carol@pop.contoso.com", "tina@pop.contoso.com", "ola@fabrikam.com"},
    ),
    "COEX-301": ({"sales.contoso.com"}, {"pop.contoso.com", "fabrikam.com"}),
    "COEX-302": ({"sales.contoso.com", "fabrikam.com"}, {"pop.contoso.com"}),
    "COEX-303": (
        {"legacy.contoso.com", "sven@sales.contoso.com", "maria@sales.contoso.com"},
        {
            "contoso.com",
            "pop.contoso.com",
            "fabrikam.com",
            "sales.contoso.com",
            "bob@pop.contoso.com",
            "gina@pop.contoso.com",
            "ola@fabrikam.com",
        },
    ),
    "COEX-304": ({"sales.contoso.com"}, {"contoso.com", "fabrikam.com"}),
    "COEX-401": (
        {
            "carol@pop.contoso.com",
            "dave@pop.contoso.com",
            "erin@pop.contoso.com",
            "henry@pop.contoso.com",
            "tina@pop.contoso.com",
            "scanner@fabrikam.com",
        },
        {"bob@pop.contoso.com", "ola@fabrikam.com", "soren@fabrikam.com", "sven@sales.contoso.com"},
    ),
    "COEX-402": ({pop3("Gina Gray")}, {pop3("Bob Brown"), pop3("Sven Berg"), pop3("Ola Nordmann")}),
    "COEX-403": ({pop3("Help Desk"), pop3("Sam Reed")}, {pop3("Bob Brown"), pop3("Gina Gray")}),
    "COEX-404": (
        {pop3("Dave Dunn"), pop3("Sven Berg"), pop3("Maria Rossi"), partner("Kim Akers (Adatum)")},
        {pop3("Bob Brown"), pop3("Erin Evans"), partner("Nancy Anderson (Northwind)")},
    ),
    "COEX-501": ({VS2}, {VS1}),
    "COEX-502": ({"POP02"}, {"POP01"}),
    "COEX-601": ({"sales.contoso.com"}, {"pop.contoso.com", "fabrikam.com"}),
    "COEX-701": ({"POP02"}, {"POP01"}),
    # POP02's address is on no decodable list, but VS3's list is damaged: it cannot be told (error).
    "COEX-702": (set(), {"POP01"}),
    "COEX-901": ({VS2, "POP02"}, {VS1, "POP01"}),
    "COEX-902": (
        {"anna.lee@contoso.com", "sales@contoso.com"},
        {
            "alice@contoso.com",
            "bob@contoso.com",
            "nancy@northwindtraders.com",
            "sales.team@contoso.com",
            "everyone.sales@contoso.com",
            "support.inbox@contoso.com",
            "allstaff@contoso.com",
        },
    ),
    # Exchange 2003 is out of support (info only); the organization holds one generation.
    "COEX-904": ({f"CN=EX01,CN=Servers,CN=First Administrative Group,CN=Administrative Groups,{ORG}"}, {ORG}),
    "COEX-903": (
        {staff("Frank Fox"), staff("Laura Martin"), group("IT Support")},
        {
            staff("Alice Adams"),
            pop3("Erin Evans"),
            group("Sales Team"),
            group("Everyone in Sales"),
            f"CN=Support Inbox,CN=Microsoft Exchange System Objects,{DOMAIN}",
        },
    ),
}
# check id -> the exact subjects that are `error` (input that needs a human), not fail.
EXPECTED_ERRORS: dict[str, set[str]] = {"COEX-901": {VS3}, "COEX-702": {"POP02"}}
# Checks of Exchange 2007+ objects this 2003 organization does not have: they skip (saying why)
# here, and the modern sample exercises them (tests/sample/test_modern_sample.py).
EXPECTED_SKIPPED: dict[str, str] = {
    # What only a Linux POP3 host describes (its Dovecot, its LDAP connections, its unknown
    # recipients, TLS before AUTH, the TLS of its hop to Exchange): auditor/sample_modern/ has one.
    "COEX-203": "accepts cleartext passwords",
    "COEX-204": "connections to the directory",
    "COEX-305": "what it does with unknown recipients",
    "COEX-503": "authentication before TLS",
    "COEX-705": "no send connector to a POP3 host",
}
# 2007+ checks whose data was read (the Configuration partition) but finds nothing to judge in a
# 2003-only organization: no accepted domain, no receive connector, a 2003 server left. They pass
# (checks.md: "a check whose data is there but which finds nothing to judge passes").
NOTHING_TO_JUDGE = ("COEX-405", "COEX-602", "COEX-703", "COEX-704")


@pytest.fixture(scope="module")
def config() -> AuditorConfig:
    return load_config(sample_config_path())


@pytest.fixture(scope="module")
def snap(config: AuditorConfig) -> Snapshot:
    """The snapshot `auditor check --once --sample` checks (run.run_pass, minus the store)."""
    sources = build_sources(config)
    records = [record for source in sources for record in source.collect()]
    assert all(source.info.complete for source in sources)
    snap = build_snapshot(config, records, [source.info for source in sources])
    snap.as_of = date(2026, 12, 1)  # what `check --once` sets: support dates are judged at it
    return snap


@pytest.fixture(scope="module")
def specs() -> dict[str, CheckSpec]:
    return {spec.id: spec for spec in discover_checks()}


def _findings(spec: CheckSpec, snap: Snapshot) -> list[Finding]:
    try:
        return list(spec.run(snap))
    except SkipCheck:
        assert spec.id in EXPECTED_SKIPPED, f"{spec.id} skipped on the sample"
        return []


def test_every_discovered_check_has_a_row(specs: dict[str, CheckSpec]) -> None:
    assert set(specs) == set(EXPECTED) | set(EXPECTED_SKIPPED) | set(NOTHING_TO_JUDGE)
    assert not set(EXPECTED) & set(EXPECTED_SKIPPED)


@pytest.mark.parametrize("check_id", NOTHING_TO_JUDGE)
def test_2007_checks_pass_with_nothing_to_judge_on_this_2003_organization(
    check_id: str, snap: Snapshot, specs: dict[str, CheckSpec]
) -> None:
    assert _findings(specs[check_id], snap) == []


@pytest.mark.parametrize("check_id", sorted(EXPECTED_SKIPPED))
def test_2007_checks_skip_on_this_2003_organization(
    check_id: str, snap: Snapshot, specs: dict[str, CheckSpec]
) -> None:
    with pytest.raises(SkipCheck, match=re.escape(EXPECTED_SKIPPED[check_id])):
        list(specs[check_id].run(snap))


def test_sample_is_dozens_of_recipients_one_exchange_server_two_pop3_servers(snap: Snapshot) -> None:
    assert 40 <= len(snap.recipients) <= 80
    kinds = {r.kind.value for r in snap.recipients}
    assert kinds == {"user", "contact", "group", "dynamic_group", "public_folder"}
    assert not [r for r in snap.recipients if r.name == "Domain Helpers"], (
        "a group without mail is no recipient"
    )
    assert [server.name for server in snap.exchange_servers] == ["EX01"]
    assert sorted(server.name for server in snap.pop3_servers) == ["POP01", "POP02"]
    assert snap.pop3_domains_by_server == {
        "POP01": frozenset({"pop.contoso.com"}),
        "POP02": frozenset({"sales.contoso.com", "fabrikam.com"}),
    }
    assert snap.exchange_domains == {"contoso.com": True, "fabrikam.com": False, "sales.contoso.com": True}


@pytest.mark.parametrize("check_id", sorted(EXPECTED))
def test_check_fails_exactly_the_designed_subjects_and_passes_others(
    check_id: str, snap: Snapshot, specs: dict[str, CheckSpec]
) -> None:
    failing, passing = EXPECTED[check_id]
    findings = _findings(specs[check_id], snap)
    assert {f.subject for f in findings if f.status is Status.FAIL} == failing
    assert {f.subject for f in findings if f.status is Status.ERROR} == EXPECTED_ERRORS.get(check_id, set())
    passed = {f.subject for f in findings if f.status is Status.PASS}
    assert passing <= passed
    assert not passed & failing


def test_sample_waivers_turn_exactly_their_findings_into_waived(
    config: AuditorConfig, snap: Snapshot, specs: dict[str, CheckSpec]
) -> None:
    waivers = [Waiver(w.check, w.subject, w.reason, w.expires) for w in config.checks.waiver]
    outcome = run_checks(snap, list(specs.values()), waivers=waivers, today=date(2026, 12, 1))
    waived = {(f.check, f.subject) for f in outcome.findings if f.status is Status.WAIVED}
    assert waived == {("COEX-403", pop3("Help Desk")), ("COEX-302", "fabrikam.com")}
    failing = {(f.check, f.subject) for f in outcome.findings if f.status is Status.FAIL}
    designed = {(check_id, subject) for check_id, (subjects, _) in EXPECTED.items() for subject in subjects}
    assert failing == designed - waived
    errors = {(f.check, f.subject) for f in outcome.findings if f.status is Status.ERROR}
    assert errors == {
        (check_id, subject) for check_id, subjects in EXPECTED_ERRORS.items() for subject in subjects
    }
    assert {result.id: result.status for result in outcome.checks} == {
        **{check_id: Status.ERROR if check_id in EXPECTED_ERRORS else Status.FAIL for check_id in EXPECTED},
        **dict.fromkeys(EXPECTED_SKIPPED, Status.SKIPPED),
        **dict.fromkeys(NOTHING_TO_JUDGE, Status.PASS),
    }


def test_every_verdict_names_the_stored_objects_it_depends_on(
    snap: Snapshot, specs: dict[str, CheckSpec], config: AuditorConfig
) -> None:
    """Evidence (contract: "Findings: evidence and cause") on every finding, passing ones included:
    the drift report recomputes an earlier verdict to tell which change broke it."""
    known = {(r.kind, r.key) for r in _sample_records(config)}
    for spec in specs.values():
        if spec.id in EXPECTED_SKIPPED:
            continue
        for finding in _findings(spec, snap):
            assert finding.evidence, f"{spec.id} {finding.subject}: no evidence"
            assert {(ref.kind, ref.key) for ref in finding.evidence} <= known, f"{spec.id} {finding.subject}"


def _sample_records(config: AuditorConfig) -> list[ObjectRecord]:
    return [record for source in build_sources(config) for record in source.collect()]


def test_evidence_follows_the_contract_examples(snap: Snapshot, specs: dict[str, CheckSpec]) -> None:
    by_subject = {f.subject: f for f in _findings(specs["COEX-902"], snap)}
    assert {ref.dn for ref in by_subject["anna.lee@contoso.com"].evidence} == {
        staff("Anna Lee"),
        staff("Frank Fox"),
    }
    [sales] = [f for f in _findings(specs["COEX-601"], snap) if f.subject == "sales.contoso.com"]
    kinds = [ref.kind for ref in sales.evidence]
    assert "pop3_server" in kinds and "smtp_connector" in kinds
    [loop] = [f for f in _findings(specs["COEX-303"], snap) if f.subject == "legacy.contoso.com"]
    assert {"smtp_connector", "pop3_server"} <= {ref.kind for ref in loop.evidence}
