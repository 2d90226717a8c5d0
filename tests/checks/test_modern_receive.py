"""Receive connectors on Exchange 2007+: COEX-501, COEX-702, COEX-703, COEX-704 and COEX-901.

Descriptors are packed from SDDL by Samba (tests/checks/modern_fixtures.py); a subject's name says
what it must give (`pass-*`, `fail-*`, `error-*`).
"""

from __future__ import annotations

import pytest
from modern_fixtures import sd

from auditor.checks.p5_client_auth import exchange_vs_allows_authenticated_relay as coex_501
from auditor.checks.p7_smart_host import anonymous_relay_only_for_known_hosts as coex_703
from auditor.checks.p7_smart_host import pop3_hosts_not_externally_secured as coex_704
from auditor.checks.p7_smart_host import pop3_server_may_relay_on_exchange as coex_702
from auditor.checks.p9_hygiene import no_open_relay as coex_901
from auditor.model import Field, SmtpService, Snapshot, SystemRole
from auditor.records import ObjectRecord
from auditor.registry import Severity, SkipCheck, Status
from auditor.testing import MODERN_AG, modern_server, outcome, pop3_server, receive_connector, run, snapshot

ALL_V4 = "0.0.0.0-255.255.255.255"


def rc(name: str, server: str = "EX16") -> str:
    return f"CN={name},CN=SMTP Receive Connectors,CN=Protocols,CN={server},CN=Servers,{MODERN_AG}"


def names(subjects: set[str]) -> set[str]:
    return {s.split(",", 1)[0][3:] for s in subjects}


def connectors() -> list[ObjectRecord]:
    return [
        receive_connector("pass-relay-lnx01", descriptor=sd("anonymous-relay"), ranges=["10.0.0.25"]),
        receive_connector("fail-wide", descriptor=sd("anonymous-relay"), ranges=["10.0.0.0/8"]),
        receive_connector("fail-narrow", descriptor=sd("anonymous-relay"), ranges=["10.0.1.0/24"]),
        receive_connector("pass-allowlisted", descriptor=sd("anonymous-relay"), ranges=["10.0.5.10"]),
        receive_connector("pass-deny-cancels", descriptor=sd("deny-cancels"), ranges=[ALL_V4]),
        receive_connector("fail-everyone", descriptor=sd("everyone-relay"), ranges=["192.168.0.0/16"]),
        receive_connector("fail-trusted", descriptor=sd("externally-secured"), ranges=[ALL_V4], auth=33),
        receive_connector(
            "pass-ess-no-extauth", descriptor=sd("externally-secured"), ranges=[ALL_V4], auth=1
        ),
        receive_connector("error-cut-short", descriptor=sd("cut-short"), ranges=[ALL_V4]),
        receive_connector("error-out-of-order", descriptor=sd("out-of-order"), ranges=[ALL_V4]),
        receive_connector("error-not-read", descriptor=None, ranges=[ALL_V4]),
        receive_connector(
            "pass-client-frontend",
            descriptor=sd("authenticated-relay"),
            bindings=["0.0.0.0:587", "[::]:587"],
            ranges=[ALL_V4, "::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"],
            auth=15,
        ),
        receive_connector("pass-disabled", descriptor=sd("anonymous-relay"), ranges=[ALL_V4], enabled=False),
    ]


def org(*extra: ObjectRecord) -> Snapshot:
    snap = snapshot(
        modern_server("EX16", "ex16.contoso.com"),
        pop3_server("LNX01", fqdn="lnx01.contoso.com", addresses=["10.0.0.25"], files=[]),
        *connectors(),
        *extra,
    )
    snap.configured_exchange_hosts = {"ex16": frozenset({"10.0.0.16"})}
    snap.relay_allowlist = ("10.0.5.10/32",)
    return snap


def test_703_exact_sets_and_grades() -> None:
    snap = org()
    passed, failed, errors = outcome(coex_703, snap)
    assert names(failed) == {"fail-wide", "fail-narrow", "fail-everyone", "fail-trusted"}
    assert names(errors) == {"error-cut-short", "error-out-of-order", "error-not-read"}
    assert names(passed) == {
        "pass-relay-lnx01",
        "pass-allowlisted",
        "pass-deny-cancels",
        "pass-ess-no-extauth",
        "pass-client-frontend",
        "pass-disabled",
    }
    by_name = {f.subject.split(",", 1)[0][3:]: f for f in run(coex_703, snap)}
    # Critical (the check's severity) when a range is wider than /16, high otherwise.
    assert by_name["fail-wide"].severity is None
    assert by_name["fail-trusted"].severity is None
    assert by_name["fail-narrow"].severity is Severity.HIGH
    assert by_name["fail-everyone"].severity is Severity.HIGH
    assert "Everyone" in by_name["fail-everyone"].message
    assert "cancelled" in by_name["pass-deny-cancels"].message
    assert "cut short" in by_name["error-cut-short"].message or "needs" in by_name["error-cut-short"].message
    assert "canonical" in by_name["error-out-of-order"].message
    assert by_name["fail-wide"].evidence[0].kind == "receive_connector"


def test_703_skips_without_any_descriptor_and_704_without_pop3_addresses() -> None:
    snap = snapshot(modern_server("EX16"), receive_connector("no-sd", descriptor=None))
    with pytest.raises(SkipCheck, match="nTSecurityDescriptor"):
        run(coex_703, snap)
    with pytest.raises(SkipCheck, match="no POP3 server"):
        run(coex_704, snap)
    assert run(coex_703, snapshot(modern_server("EX16"))) == [], "no receive connector: nothing to judge"


def test_704_external_authoritative_over_a_pop3_host_address() -> None:
    passed, failed, errors = outcome(coex_704, org())
    assert names(failed) == {"fail-trusted"}
    assert not errors
    assert "pass-ess-no-extauth" in names(passed)
    assert len(passed) == len(connectors()) - 1


def test_901_open_receive_connectors() -> None:
    passed, failed, errors = outcome(coex_901, org())
    assert names(failed) == {"fail-wide", "fail-trusted"}
    assert names(errors) == {"error-cut-short", "error-out-of-order", "error-not-read"}
    assert {"pass-relay-lnx01", "fail-narrow", "fail-everyone", "pass-disabled"} <= names(passed)


def test_501_one_submission_connector_is_enough() -> None:
    snap = org()
    findings = run(coex_501, snap)
    assert [f.status for f in findings] == [Status.PASS]
    assert findings[0].subject == snap.exchange_organization_dn
    assert "pass-client-frontend" in findings[0].message
    # Without it, no connector lets authenticated users relay; with an undecodable one, error.
    plain = snapshot(
        modern_server("EX16"),
        receive_connector("anon", descriptor=sd("anonymous-relay"), ranges=["10.0.0.25"]),
    )
    assert [f.status for f in run(coex_501, plain)] == [Status.FAIL]
    broken = snapshot(modern_server("EX16"), receive_connector("x", descriptor=sd("cut-short"), auth=15))
    assert [f.status for f in run(coex_501, broken)] == [Status.ERROR]
    basic_in_clear = snapshot(
        modern_server("EX16"), receive_connector("basic", descriptor=sd("authenticated-relay"), auth=4)
    )
    failed = run(coex_501, basic_in_clear)
    assert [f.status for f in failed] == [Status.FAIL]
    assert "neither Integrated nor Basic after TLS" in failed[0].message


def test_702_the_connector_taking_the_connection_decides() -> None:
    snap = snapshot(
        modern_server("EX16"),
        pop3_server("pass-lnx01", addresses=["10.0.0.25"], files=[]),
        pop3_server("fail-lnx02", addresses=["10.0.0.26"], files=[]),
        pop3_server("error-lnx03", addresses=["10.0.0.27"], files=[]),
        pop3_server("error-lnx04", addresses=["10.0.0.28"], files=[]),
        # most specific range wins: the /32 grants although the /8 denies by lacking the right
        receive_connector("relay", descriptor=sd("anonymous-relay"), ranges=["10.0.0.25"]),
        receive_connector("default", descriptor=sd("submit-only"), ranges=["10.0.0.0/8"]),
        receive_connector("tie-a", descriptor=sd("anonymous-relay"), ranges=["10.0.0.27"]),
        receive_connector("tie-b", descriptor=sd("anonymous-relay"), ranges=["10.0.0.27"]),
        receive_connector("broken", descriptor=sd("cut-short"), ranges=["10.0.0.28"]),
        receive_connector(
            "other-port", descriptor=sd("anonymous-relay"), ranges=["10.0.0.26"], bindings=["0.0.0.0:587"]
        ),
    )
    passed, failed, errors = outcome(coex_702, snap)
    assert (passed, failed, errors) == ({"pass-lnx01"}, {"fail-lnx02"}, {"error-lnx03", "error-lnx04"})
    message = {f.subject: f.message for f in run(coex_702, snap)}
    assert "'relay'" in message["pass-lnx01"]
    assert "equally specific" in message["error-lnx03"]


def test_702_a_host_that_logs_in_needs_a_connector_granting_authenticated_users_relay() -> None:
    """checks.md COEX-702: the connector taking the connection on the smart host's port grants
    anonymous relay, or the host authenticates (Postfix `smtp_sasl_auth_enable` with a password for
    the relayhost) to a connector with relay(C, {Authenticated Users})."""
    snap = snapshot(
        modern_server("EX16", "ex16.contoso.com"),
        pop3_server("pass-logs-in", addresses=["10.0.0.30"], files=[]),
        pop3_server("fail-anonymous", addresses=["10.0.0.31"], files=[]),
        receive_connector(
            "submission",
            descriptor=sd("authenticated-relay"),
            ranges=["10.0.0.30-10.0.0.31"],
            bindings=["0.0.0.0:587"],
            auth=15,
        ),
    )
    for host in snap.pop3_servers:
        logs_in = host.name == "pass-logs-in"
        host.outbound = SmtpService(
            role=SystemRole.POP3_HOST,
            system=host.name,
            subject=f"{host.name}:smtp client",
            name="smtp client",
            ref=host.ref,
            client_auth=Field.absent(False),
            relay_for_authenticated=Field.absent(False),
            relay=Field.absent(),
            smart_host=Field.present("[ex16.contoso.com]:587", source="relayhost"),
            smart_host_always=Field.present(True, source="relayhost"),
            smart_host_port=587,
            smart_host_auth=Field.present(
                logs_in, source="smtp_sasl_auth_enable", note=f"logs in: {logs_in}"
            ),
        )
    passed, failed, errors = outcome(coex_702, snap)
    assert (passed, failed, errors) == ({"pass-logs-in"}, {"fail-anonymous"}, set())
    message = {f.subject: f.message for f in run(coex_702, snap)}
    assert "lets authenticated clients relay" in message["pass-logs-in"]
    assert "'submission'" in message["fail-anonymous"]
