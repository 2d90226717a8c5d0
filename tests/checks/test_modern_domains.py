"""Accepted domains, send connectors, recipients and servers on Exchange 2007+.

COEX-101, COEX-301, COEX-302, COEX-303, COEX-401, COEX-402, COEX-405, COEX-601, COEX-602,
COEX-705 and COEX-904, and the issue's "Done when"
fixtures: a shared Authoritative domain (COEX-301 + a routing loop), an InternalRelay domain
without a specific send connector (COEX-602 + COEX-601 + the Unreachable queue), mixed forests.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from auditor.checks.p1_exchange_users import mailbox_users_are_complete as coex_101
from auditor.checks.p3_domains import pop3_domain_not_authoritative as coex_301
from auditor.checks.p3_domains import pop3_domain_not_in_exchange as coex_302
from auditor.checks.p3_domains import routing_terminates as coex_303
from auditor.checks.p4_mail_enabled import pop3_mailboxes_are_mail_enabled as coex_401
from auditor.checks.p4_mail_enabled import pop3_users_provisioned_by_exchange as coex_405
from auditor.checks.p4_mail_enabled import pop3_users_reply_address_accepted as coex_402
from auditor.checks.p6_connectors import connector_routes_pop3_domain as coex_601
from auditor.checks.p6_connectors import relay_domains_have_send_connectors as coex_602
from auditor.checks.p7_smart_host import exchange_pop3_hop_encrypted as coex_705
from auditor.checks.p9_hygiene import exchange_versions_supported as coex_904
from auditor.model import Snapshot
from auditor.records import ObjectRecord
from auditor.registry import Severity, SkipCheck, Status
from auditor.routing import LOOP, UNREACHABLE, trace
from auditor.testing import (
    MODERN_AG,
    accepted_domain,
    connector,
    database_dn,
    dn_of,
    exchange_server,
    mailbox_database,
    modern_server,
    outcome,
    policy,
    pop3_domain,
    pop3_mailbox,
    pop3_server,
    receive_connector,
    run,
    send_connector,
    snapshot,
    user,
    virtual_server,
)

LEGACY_DN = "/o=Contoso/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients/cn="


def mailbox(
    cn: str, address: str, *, db: str = "DB01", rtd: str | None = "1", **extra: str | None
) -> ObjectRecord:
    values: dict[str, str | None] = {
        "msExchRecipientTypeDetails": rtd,
        "msExchVersion": "88218628259840",
        "legacyExchangeDN": LEGACY_DN + cn,
    }
    values.update(extra)
    return user(cn, proxies=[f"SMTP:{address}"], home_mdb=database_dn(db), **values)


def mail_user(
    cn: str, primary: str, target: str, *, rtd: str | None = "128", **extra: str | None
) -> ObjectRecord:
    values: dict[str, str | None] = {"msExchRecipientTypeDetails": rtd, "legacyExchangeDN": LEGACY_DN + cn}
    values.update(extra)
    return user(cn, proxies=[f"SMTP:{primary}", f"smtp:{target}"], target=f"SMTP:{target}", **values)


def domains_org(*extra: ObjectRecord) -> Snapshot:
    return snapshot(
        modern_server("EX16", "ex16.contoso.com"),
        mailbox_database("DB01"),
        accepted_domain("contoso.com", 0),
        accepted_domain("pass-ir.example", 2),  # InternalRelay, own connector to LNX01
        accepted_domain("fail-ir-nocon.example", 2),  # InternalRelay, nothing but `*`
        accepted_domain("fail-er-dns.example", 1),  # ExternalRelay, DNS routing
        accepted_domain("pass-er.example", 1),
        accepted_domain("*.wild.example", 0, cn="All Wild"),  # Authoritative over wild.example + subdomains
        accepted_domain("sub.example", 0 | 65536),  # match-subdomains flag
        accepted_domain("error-undefined.example", 3),
        accepted_domain("pass-parent.example", 2),  # taken by `*.pass-parent.example` (2007+: parent too)
        send_connector("Internet", "SMTP:*;1"),
        send_connector(
            "To LNX01",
            "SMTP:pass-ir.example;1",
            "SMTP:pop.contoso.com;1",
            smart_host="[10.0.0.25]",
            outbound_flags=4,
        ),
        send_connector(
            "Parent", "SMTP:*.pass-parent.example;1", smart_host="lnx01.contoso.com", outbound_flags=4
        ),
        send_connector("Partner", "SMTP:pass-er.example;1", smart_host="mx.partner.example"),
        send_connector("Partner DNS", "SMTP:fail-er-dns.example;1"),
        send_connector("Disabled", "SMTP:fail-ir-nocon.example;1", smart_host="[10.0.0.25]", enabled=False),
        pop3_server("LNX01", fqdn="lnx01.contoso.com", addresses=["10.0.0.25"], files=["winpop-list.txt"]),
        *extra,
    )


def test_accepted_domain_terms() -> None:
    snap = domains_org()
    assert snap.is_authoritative("wild.example") and snap.is_authoritative("a.b.wild.example")
    assert snap.is_authoritative("sub.example") and snap.is_authoritative("x.sub.example")
    assert not snap.is_authoritative("pass-ir.example")
    assert snap.is_internal_relay("pass-ir.example") and snap.is_accepted_for_recipients("pass-ir.example")
    assert not snap.is_accepted_for_recipients("pass-er.example")
    assert snap.is_exchange_domain("pass-er.example") and not snap.is_exchange_domain("other.example")
    found = snap.accepted_domain_for("x.wild.example")
    assert found is not None and found.domain == "*.wild.example"


def test_602_exact_sets() -> None:
    passed, failed, errors = outcome(coex_602, domains_org())
    assert passed == {"pass-ir.example", "pass-er.example", "pass-parent.example"}
    assert failed == {"fail-ir-nocon.example", "fail-er-dns.example"}
    assert errors == {"error-undefined.example"}


def test_602_passes_with_nothing_to_judge_without_accepted_domains() -> None:
    assert run(coex_602, snapshot(modern_server("EX16"))) == []


def test_602_skips_without_the_configuration_partition() -> None:
    with pytest.raises(SkipCheck, match="Configuration partition"):
        run(coex_602, snapshot(modern_server("EX16"), configuration=False))


def test_shared_authoritative_domain_fails_301_and_loops() -> None:
    """Done when: a shared domain that is Authoritative -> COEX-301 + a routing loop."""
    snap = snapshot(
        modern_server("EX16", "ex16.contoso.com"),
        accepted_domain("contoso.com", 0),
        accepted_domain("*.pop.contoso.com", 0, cn="POP wildcard"),
        send_connector("Internet", "SMTP:*;1"),
        send_connector("To LNX01", "SMTP:pop.contoso.com;1", smart_host="[10.0.0.25]", outbound_flags=4),
        pop3_server(
            "LNX01",
            addresses=["10.0.0.25"],
            files=["winpop-list.txt", "MetaBase.xml"],
            SmartHost="[ex16.contoso.com]",
        ),
        pop3_domain("LNX01", "pop.contoso.com"),
        pop3_mailbox("LNX01", "bob@pop.contoso.com"),
        mail_user("Bob", "bob@contoso.com", "bob@pop.contoso.com"),
    )
    passed, failed, _ = outcome(coex_301, snap)
    assert failed == {"pop.contoso.com"} and not passed
    message = run(coex_301, snap)[0].message
    assert "covering subdomains" in message
    found = trace(snap, "bob@contoso.com")
    assert found.outcome == LOOP
    assert "accepted domain" in found.hops[0].rule
    _, failed_303, _ = outcome(coex_303, snap)
    assert "bob@pop.contoso.com" in failed_303


def test_internal_relay_without_specific_connector_is_602_601_and_unreachable() -> None:
    """Done when: InternalRelay without a specific send connector -> COEX-602 + COEX-601 + Unreachable."""
    snap = snapshot(
        modern_server("EX16"),
        accepted_domain("contoso.com", 0),
        accepted_domain("pop.contoso.com", 2),
        send_connector("Partner", "SMTP:partner.example;1", smart_host="mx.partner.example"),
        pop3_server("LNX01", addresses=["10.0.0.25"], files=["winpop-list.txt"]),
        pop3_domain("LNX01", "pop.contoso.com"),
    )
    assert outcome(coex_602, snap)[1] == {"pop.contoso.com"}
    assert outcome(coex_601, snap)[1] == {"pop.contoso.com"}
    found = trace(snap, "nobody@pop.contoso.com")
    assert found.outcome == UNREACHABLE
    assert "Unreachable queue" in found.final.rule
    assert "InternalRelay" in found.final.rule
    # Unreachable is neither a loop nor delivered: COEX-303 does not call it a loop.
    assert "pop.contoso.com" in outcome(coex_303, snap)[0]


def test_601_on_2007_send_connectors() -> None:
    snap = snapshot(
        modern_server("EX16"),
        modern_server("EDGE01", roles=64),
        send_connector("Internet", "SMTP:*;1"),
        send_connector("To LNX01", "SMTP:pass.example;1", smart_host="[10.0.0.25]"),
        send_connector("Wild", "SMTP:*.pass-parent.example;5", smart_host="lnx01.contoso.com"),
        send_connector("Nowhere", "SMTP:fail-gone.example;1", smart_host="[10.0.0.25]", sources=["EX99"]),
        send_connector("Edge", "SMTP:fail-edge.example;1", smart_host="[10.0.0.25]", sources=["EDGE01"]),
        send_connector("Off", "SMTP:fail-disabled.example;1", smart_host="[10.0.0.25]", enabled=False),
        pop3_server("LNX01", fqdn="lnx01.contoso.com", addresses=["10.0.0.25"], files=["winpop-list.txt"]),
        *(
            pop3_domain("LNX01", d)
            for d in (
                "pass.example",
                "pass-parent.example",
                "fail-gone.example",
                "fail-edge.example",
                "fail-disabled.example",
            )
        ),
    )
    passed, failed, _ = outcome(coex_601, snap)
    assert passed == {"pass.example", "pass-parent.example"}
    assert failed == {"fail-gone.example", "fail-edge.example", "fail-disabled.example"}


def test_101_401_402_405_on_typed_recipients() -> None:
    snap = snapshot(
        modern_server("EX16"),
        mailbox_database("DB01"),
        accepted_domain("contoso.com", 0),
        accepted_domain("pop.contoso.com", 2),
        pop3_server("LNX01", addresses=["10.0.0.25"], files=["winpop-list.txt"]),
        pop3_domain("LNX01", "pop.contoso.com"),
        mailbox("pass-alice", "alice@contoso.com"),
        mailbox("pass-room", "room@contoso.com", rtd="16"),
        mailbox("pass-ir-primary", "ira@pop.contoso.com"),  # InternalRelay is in ACC_ex
        mailbox("fail-nodb", "nodb@contoso.com", db="DB99"),
        user(
            "remote",
            proxies=["SMTP:remote@contoso.com"],
            target="SMTP:remote@contoso.mail.onmicrosoft.com",
            msExchRecipientTypeDetails="2147483648",
        ),
        mail_user("pass-bob", "bob@contoso.com", "bob@pop.contoso.com"),
        mail_user(
            "fail-carol",
            "carol@contoso.com",
            "carol@pop.contoso.com",
            rtd=None,
            legacyExchangeDN=None,
            proxyAddresses=None,
        ),
        mailbox("fail-dave-mbx", "dave@contoso.com", targetAddress="SMTP:dave@pop.contoso.com"),
        user(
            "remote-eve",
            proxies=["SMTP:eve@contoso.com"],
            target="SMTP:eve@pop.contoso.com",
            msExchRecipientTypeDetails="2147483648",
        ),
        pop3_mailbox("LNX01", "bob@pop.contoso.com"),
        pop3_mailbox("LNX01", "dave@pop.contoso.com"),
        pop3_mailbox("LNX01", "eve@pop.contoso.com"),
    )
    passed, failed, _ = outcome(coex_101, snap)
    assert {s.split(",")[0][3:] for s in passed} == {
        "pass-alice",
        "pass-room",
        "pass-ir-primary",
        "fail-dave-mbx",
    }
    assert {s.split(",")[0][3:] for s in failed} == {"fail-nodb"}
    passed, failed, _ = outcome(coex_401, snap)
    assert passed == {"bob@pop.contoso.com"}
    assert failed == {"dave@pop.contoso.com", "eve@pop.contoso.com"}
    messages = {f.subject: f.message for f in run(coex_401, snap)}
    assert "RemoteUserMailbox (2147483648), not a mail user" in messages["eve@pop.contoso.com"]
    passed, failed, _ = outcome(coex_402, snap)
    assert {s.split(",")[0][3:] for s in passed} == {"pass-bob", "remote-eve"}
    assert {s.split(",")[0][3:] for s in failed} == {"fail-carol"}
    passed, failed, _ = outcome(coex_405, snap)
    assert passed == {dn_of("pass-bob"), dn_of("remote-eve")} and failed == {dn_of("fail-carol")}


def test_405_has_nothing_to_judge_while_a_2003_server_is_left() -> None:
    snap = snapshot(
        exchange_server("EX01"),
        modern_server("EX16"),
        pop3_server("LNX01", files=["winpop-list.txt"]),
        pop3_domain("LNX01", "pop.contoso.com"),
        mail_user("bob", "bob@contoso.com", "bob@pop.contoso.com", rtd=None),
    )
    # the legacy builder writes no version attributes: say what serialNumber would have said
    snap.exchange_servers[0] = replace(snap.exchange_servers[0], generation="2003")
    assert run(coex_405, snap) == []


def test_705_send_connectors_to_pop3_hosts() -> None:
    snap = snapshot(
        modern_server("EX16"),
        pop3_server("LNX01", fqdn="lnx01.contoso.com", addresses=["10.0.0.25"], files=[]),
        send_connector("pass-tls", "SMTP:a.example;1", smart_host="[10.0.0.25]", outbound_flags=4),
        send_connector("fail-no-tls", "SMTP:b.example;1", smart_host="lnx01.contoso.com", outbound_flags=0),
        send_connector("fail-ignore", "SMTP:c.example;1", smart_host="[10.0.0.25]", outbound_flags=0x800004),
        send_connector("error-flags", "SMTP:d.example;1", smart_host="[10.0.0.25]", outbound_flags="lots"),
        send_connector("internet", "SMTP:*;1"),  # not to a POP3 host: no subject
        send_connector("off", "SMTP:e.example;1", smart_host="[10.0.0.25]", enabled=False),
    )
    passed, failed, errors = outcome(coex_705, snap)
    short = (
        {s.split(",")[0][3:] for s in passed},
        {s.split(",")[0][3:] for s in failed},
        {s.split(",")[0][3:] for s in errors},
    )
    assert short == ({"pass-tls"}, {"fail-no-tls", "fail-ignore"}, {"error-flags"})
    assert {f.severity for f in run(coex_705, snap) if f.status is not Status.PASS} == {Severity.MEDIUM}
    with pytest.raises(SkipCheck):
        run(coex_705, snapshot(modern_server("EX16"), send_connector("internet", "SMTP:*;1")))


def test_904_versions_support_and_generations() -> None:
    snap = snapshot(
        exchange_server("EX01"),  # 2003, no version attributes at all: error
        modern_server("pass-se", serial="Version 15.2 (Build 32562.017)"),
        modern_server("fail-2016"),  # 2016 CU23 from serialNumber
        modern_server(
            "fail-2019-vn", serial=None, version_number=str(0x70008000 | 15 << 22 | 2 << 16 | 1544)
        ),
        modern_server("error-garbled", serial="Exchange 2019", version_number="x"),
        virtual_server("EX01"),
    )
    snap.as_of = date(2026, 1, 15)
    findings = {f.subject.split(",")[0][3:]: f for f in run(coex_904, snap)}
    assert findings["pass-se"].status is Status.PASS
    assert findings["fail-2016"].status is Status.FAIL and "2025-10-14" in findings["fail-2016"].message
    assert (
        findings["fail-2019-vn"].status is Status.FAIL and "versionNumber" in findings["fail-2019-vn"].message
    )
    assert findings["error-garbled"].status is Status.ERROR
    assert findings["EX01"].status is Status.ERROR
    organization = findings["Contoso"]
    assert organization.status is Status.FAIL
    assert "two generations" in organization.message and "leftovers" in organization.message
    snap.as_of = date(2025, 10, 13)
    before = {f.subject.split(",")[0][3:]: f.status for f in run(coex_904, snap)}
    assert before["fail-2016"] is Status.PASS
    assert coex_904.severity is Severity.INFO


def test_904_lists_the_generations_by_name_whatever_order_they_were_read_in() -> None:
    """A live read returns objects in the directory's order, an LDIF in the file's: the message
    of one organization must not depend on which."""
    records = [
        modern_server("SE01", serial="Version 15.2 (Build 32562.017)"),
        modern_server("EX16"),
        send_connector("To POP01", "SMTP:pop.contoso.com;1"),
        send_connector("Internet", "SMTP:*;1"),
        receive_connector("Relay from POP01"),
        receive_connector("App Relay"),
        connector("Old Partner", "SMTP:oldpartner.example;1"),
    ]
    messages = []
    for order in (records, records[::-1]):
        snap = snapshot(*order)
        snap.as_of = date(2026, 1, 15)
        (organization,) = [f for f in run(coex_904, snap) if f.subject.startswith("CN=Contoso,")]
        messages.append(organization.message)
    assert messages[0] == messages[1]
    assert messages[0].startswith(
        "two generations: 2003-era SMTP connector 'Old Partner'; 2007+ server EX16 (2016), server SE01 (SE), "
        "send connector 'Internet', send connector 'To POP01', "
        "receive connector 'App Relay', receive connector 'Relay from POP01'"
    )


def test_302_says_internal_relay_is_the_sanctioned_setup() -> None:
    snap = domains_org(pop3_domain("LNX01", "pass-ir.example"))
    findings = run(coex_302, snap)
    assert [f.status for f in findings] == [Status.FAIL]
    assert "sanctioned shared-namespace" in findings[0].message


def test_mixed_forest_union_and_modern_routing() -> None:
    """A 2003 -> 2016 forest: a 2003 policy's authoritative domain stays in A_ex (the union),
    and 2007+ routing decides for the whole organization."""
    snap = snapshot(
        exchange_server("EX01"),
        modern_server("EX16"),
        policy("Default", "SMTP:@contoso.com", "smtp:@legacy.example"),
        accepted_domain("contoso.com", 0),
        accepted_domain("pop.contoso.com", 2),
        send_connector("To LNX01", "SMTP:pop.contoso.com;1", smart_host="[10.0.0.25]"),
        pop3_server("LNX01", addresses=["10.0.0.25"], files=["winpop-list.txt"]),
        pop3_domain("LNX01", "pop.contoso.com"),
    )
    assert snap.modern_routing
    assert snap.is_authoritative("legacy.example") and snap.is_authoritative("contoso.com")
    assert trace(snap, "x@legacy.example").outcome == "ndr"
    assert trace(snap, "x@nowhere.example").outcome == UNREACHABLE
    assert trace(snap, "x@pop.contoso.com", "exchange").outcome == "ndr"  # delivered to LNX01, unknown there
    assert MODERN_AG in snap.exchange_servers[1].dn
