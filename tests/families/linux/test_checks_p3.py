"""COEX-301, COEX-302, COEX-303 (routing, `trace`) and COEX-305 with Linux hosts on the POP3 side.

The Linux hosts are exported by the real postconf / postmap (and `doveadm user '*'` of a running
Dovecot); Exchange is a small organization built with auditor.testing (policies, an InternalRelay
accepted domain, connectors, mailbox and mail-enabled users). Names say what each object is for:
`pass-*` / `fail-*` / `error-*` domains and addresses are the subjects the checks judge.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from linuxlab import STOCK_MASTER, export_host, records_of

from auditor.checks.p3_domains import pop3_domain_not_authoritative as coex_301
from auditor.checks.p3_domains import pop3_domain_not_in_exchange as coex_302
from auditor.checks.p3_domains import routing_terminates as coex_303
from auditor.checks.p3_domains import shared_domains_end_at_the_host as coex_305
from auditor.model import Snapshot
from auditor.records import ObjectRecord
from auditor.registry import SkipCheck
from auditor.routing import trace
from auditor.testing import (
    accepted_domain,
    connector,
    exchange_server,
    outcome,
    policy,
    pop3_server,
    run,
    snapshot,
    user,
)

BASE = "compatibility_level = 3.6\nmydestination = localhost\nmynetworks = 127.0.0.0/8\nrelayhost = [10.0.0.10]\n"
INTERNAL_RELAY = 2


def _host(root: Path, name: str, address: str, main: str, **kwargs: object) -> list[ObjectRecord]:
    folder = export_host(root, name, main=main, master=STOCK_MASTER, **kwargs)  # type: ignore[arg-type]
    return records_of(folder, name, addresses=(address,))


# -- COEX-303 and trace ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def routed(tmp_path_factory: pytest.TempPathFactory, users_dovecot: Path) -> Snapshot:
    root = tmp_path_factory.mktemp("f303")
    lnx01 = _host(
        root,
        "LNX01",
        "10.0.0.25",
        BASE + "virtual_mailbox_domains = pop.contoso.com\nvirtual_mailbox_maps = hash:{pf}/vmailbox\n"
        "virtual_transport = lmtp:unix:private/dovecot-lmtp\n"
        "relay_domains = pass-relay.example\nrelay_recipient_maps = hash:{pf}/relay_recipients\n",
        tables={"vmailbox": "pass-bob@pop.contoso.com x\n", "relay_recipients": "x@pass-relay.example OK\n"},
        dovecot_conf=users_dovecot,
    )
    lnx02 = _host(
        root,
        "LNX02",
        "10.0.0.26",
        BASE + "relay_domains = fail-loop.example\nvirtual_alias_maps = hash:{pf}/virtual\n",
        tables={"virtual": "fail-carol@contoso.com fail-carol@elsewhere.example\n"},
    )
    lnx03 = _host(
        root,
        "LNX03",
        "10.0.0.27",
        BASE + "relay_domains = error-ldap-relay.example\nrelay_recipient_maps = ldap:{pf}/ldap-relay.cf\n",
        tables={"ldap-relay.cf": "server_host = ldaps://dc1.contoso.com\nquery_filter = (mail=%s)\n"},
    )
    return snapshot(
        exchange_server("EX01", "ex01.contoso.com", "10.0.0.10"),
        policy("Default", "SMTP:@contoso.com"),
        accepted_domain("pop.contoso.com", INTERNAL_RELAY),
        connector("To LNX01", "SMTP:pop.contoso.com;1", smart_host="[10.0.0.25]"),
        connector("To LNX02", "SMTP:fail-loop.example;1", smart_host="[10.0.0.26]"),
        user("Alice", proxies=["SMTP:pass-alice@contoso.com"], mailbox=True),
        user("Carol", proxies=["SMTP:fail-carol@contoso.com"], mailbox=True),
        user(
            "Bob",
            proxies=["SMTP:pass-bob@contoso.com", "smtp:pass-bob@pop.contoso.com"],
            target="SMTP:pass-bob@pop.contoso.com",
            sam="pass-bob",
        ),
        *lnx01,
        *lnx02,
        *lnx03,
    )


def test_303_exact_sets(routed: Snapshot) -> None:
    passed, failed, errors = outcome(coex_303, routed)
    assert passed == {
        "contoso.com",
        "pop.contoso.com",
        "pass-relay.example",
        "pass-bob@pop.contoso.com",
        "pass-alice@contoso.com",
    }
    assert failed == {"fail-loop.example", "fail-carol@contoso.com"}
    assert errors == {"error-ldap-relay.example"}


def test_303_messages_show_the_path_and_the_postfix_rule(routed: Snapshot) -> None:
    by_subject = {f.subject: f for f in run(coex_303, routed)}
    loop = by_subject["fail-loop.example"]
    assert "EX01 → LNX02 → EX01" in loop.message
    assert "postfix_host" in {ref.kind for ref in loop.evidence}
    assert "relay_recipient_maps: ldap:" in by_subject["error-ldap-relay.example"].message
    carol = by_subject["fail-carol@contoso.com"].message
    assert "LNX02 → EX01 → outside" in carol and "expected delivery to Exchange (EX01)" in carol
    assert "postfix_map" in {ref.kind for ref in by_subject["fail-carol@contoso.com"].evidence}
    assert "LNX01" in by_subject["pass-bob@pop.contoso.com"].message


def test_trace_follows_postfix_hop_by_hop(routed: Snapshot) -> None:
    found = trace(routed, "pass-bob@contoso.com")
    assert (found.path(), found.outcome) == ("EX01 → LNX01", "delivered")
    assert "virtual_mailbox_domains" in found.final.rule
    from_host = trace(routed, "pass-alice@contoso.com", start="LNX02")
    assert (from_host.path(), from_host.outcome) == ("LNX02 → EX01", "delivered")
    assert "relayhost = [10.0.0.10]" in from_host.hops[0].rule
    error = trace(routed, "someone@error-ldap-relay.example", start="LNX03")
    assert error.outcome == "error"
    assert "LNX03" in error.render() and "review by hand" in error.render()


# -- COEX-301, COEX-302, COEX-305 --------------------------------------------------------------

HOSTED = "virtual_mailbox_domains = {domains}\nvirtual_mailbox_maps = hash:{{pf}}/vmailbox\nvirtual_alias_domains =\n"
SHARED = {
    "pass-terminal.example": "10.0.1.1",
    "fail-catch-all.example": "10.0.1.2",
    "fail-transport.example": "10.0.1.3",
    "fail-unvalidated-relay.example": "10.0.1.4",
    "fail-luser-relay.example": "10.0.1.5",
    "error-ldap-aliases.example": "10.0.1.6",
}


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Snapshot:
    root = tmp_path_factory.mktemp("f305")
    vmailbox = {"vmailbox": "bob@pass-terminal.example x\n"}
    hosts = [
        _host(
            root,
            "LNX-A",
            "10.0.1.1",
            BASE + HOSTED.format(domains="pass-terminal.example separate.example authoritative.example"),
            tables=vmailbox,
        ),
        _host(
            root,
            "LNX-B",
            "10.0.1.2",
            BASE
            + HOSTED.format(domains="fail-catch-all.example")
            + "virtual_alias_maps = hash:{pf}/virtual\n",
            tables={**vmailbox, "virtual": "@fail-catch-all.example postmaster@contoso.com\n"},
        ),
        _host(
            root,
            "LNX-C",
            "10.0.1.3",
            BASE + HOSTED.format(domains="fail-transport.example") + "transport_maps = hash:{pf}/transport\n",
            tables={**vmailbox, "transport": "fail-transport.example smtp:[10.0.0.10]\n"},
        ),
        _host(root, "LNX-D", "10.0.1.4", BASE + "relay_domains = fail-unvalidated-relay.example\n"),
        _host(
            root,
            "LNX-E",
            "10.0.1.5",
            BASE.replace("mydestination = localhost", "mydestination = localhost, fail-luser-relay.example")
            + "local_recipient_maps =\nluser_relay = catchall@contoso.com\n",
        ),
        _host(
            root,
            "LNX-F",
            "10.0.1.6",
            BASE
            + HOSTED.format(domains="error-ldap-aliases.example")
            + "virtual_alias_maps = ldap:{pf}/ldap-aliases.cf\n",
            tables={**vmailbox, "ldap-aliases.cf": "server_host = ldaps://dc1.contoso.com\n"},
        ),
    ]
    exchange = [
        exchange_server("EX01", "ex01.contoso.com", "10.0.0.10"),
        policy("Default", "SMTP:@contoso.com", "smtp:@authoritative.example"),
        *(accepted_domain(domain, INTERNAL_RELAY) for domain in SHARED),
        *(
            connector(f"To {domain}", f"SMTP:{domain};1", smart_host=f"[{address}]")
            for domain, address in SHARED.items()
        ),
    ]
    return snapshot(*exchange, *(record for host in hosts for record in host))


def test_301_302_on_linux_domains(shared: Snapshot) -> None:
    hosted = {
        "pass-terminal.example",
        "separate.example",
        "fail-catch-all.example",
        "fail-transport.example",
        "fail-luser-relay.example",
        "error-ldap-aliases.example",
    }
    assert outcome(coex_301, shared) == (hosted, {"authoritative.example"}, set())
    assert outcome(coex_302, shared) == (
        {"separate.example"},
        (hosted - {"separate.example"}) | {"authoritative.example"},
        set(),
    )
    by_subject = {f.subject: f.message for f in run(coex_302, shared)}
    assert (
        "InternalRelay accepted domain: the sanctioned shared-namespace setup"
        in by_subject["pass-terminal.example"]
    )
    assert "InternalRelay" not in by_subject["authoritative.example"]


def test_305_exact_sets(shared: Snapshot) -> None:
    passed, failed, errors = outcome(coex_305, shared)
    assert passed == {"pass-terminal.example", "authoritative.example"}
    assert failed == {
        "fail-catch-all.example",
        "fail-transport.example",
        "fail-unvalidated-relay.example",
        "fail-luser-relay.example",
    }
    assert errors == {"error-ldap-aliases.example"}


def test_305_messages_name_the_main_cf_rule(shared: Snapshot) -> None:
    by_subject = {f.subject: f for f in run(coex_305, shared)}
    assert (
        "catch-all @fail-catch-all.example -> postmaster@contoso.com"
        in by_subject["fail-catch-all.example"].message
    )
    assert "transport_maps" in by_subject["fail-transport.example"].message
    unvalidated = by_subject["fail-unvalidated-relay.example"].message
    assert "relay_recipient_maps is empty" in unvalidated and "EX01 → LNX-D → EX01" in unvalidated
    assert "luser_relay = catchall@contoso.com" in by_subject["fail-luser-relay.example"].message
    assert "ldap-aliases.cf" in by_subject["error-ldap-aliases.example"].message
    evidence = {ref.kind for ref in by_subject["fail-catch-all.example"].evidence}
    assert {"accepted_domain", "postfix_host", "postfix_map"} <= evidence


def test_305_skips_without_a_host_that_describes_unknown_recipients() -> None:
    with pytest.raises(SkipCheck, match="unknown recipients"):
        list(coex_305.run(snapshot(policy("Default", "SMTP:@contoso.com"), pop3_server("POP01"))))
