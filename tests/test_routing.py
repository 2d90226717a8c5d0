"""The routing model (auditor.routing): the source document's two scenarios, a loop, a bounce, trace output."""

from __future__ import annotations

import pytest

from auditor.model import Snapshot
from auditor.records import ObjectKind, ObjectRecord
from auditor.routing import Trace, UnknownSystemError, choose_connector, systems, trace
from auditor.testing import (
    connector,
    exchange_server,
    mailbox_store,
    policy,
    pop3_domain,
    pop3_mailbox,
    pop3_server,
    recipient,
    snapshot,
    user,
)


def shared_domain(*extra: ObjectRecord) -> Snapshot:
    """Scenario 1: everyone is @contoso.com; POP3 users live @pop.contoso.com on POP01 (targetAddress)."""
    return snapshot(
        exchange_server("EX01", "10.0.0.10", "ex01.contoso.com"),
        mailbox_store("EX01"),
        policy(
            "Default",
            "SMTP:@contoso.com",
            "smtp:@pop.contoso.com",
            non_authoritative=["smtp:@pop.contoso.com"],
        ),
        connector("To POP01", "SMTP:pop.contoso.com;1", smart_host="[10.0.0.25]"),
        connector("Internet", "SMTP:*;1"),
        pop3_server("POP01", fqdn="pop01.contoso.com", addresses=["10.0.0.25"], SmartHost="ex01.contoso.com"),
        pop3_domain("POP01", "pop.contoso.com", source="metabase", route_action=32),
        pop3_mailbox("POP01", "bob@pop.contoso.com"),
        user("alice", mailbox=True, proxies=["SMTP:alice@contoso.com"]),
        user(
            "bob",
            target="SMTP:bob@pop.contoso.com",
            proxies=["SMTP:bob@contoso.com", "smtp:bob@pop.contoso.com"],
        ),
        *extra,
    )


def test_shared_domain_exchange_user_is_delivered_in_exchange() -> None:
    found = trace(shared_domain(), "alice@contoso.com")
    assert (found.outcome, found.path()) == ("delivered", "EX01")


def test_shared_domain_pop3_user_is_redirected_to_the_pop3_server() -> None:
    found = trace(shared_domain(), "bob@contoso.com")
    assert found.outcome == "delivered"
    assert found.path() == "EX01 → POP01"
    assert [(h.system, h.address) for h in found.hops] == [
        ("EX01", "bob@contoso.com"),
        ("EX01", "bob@pop.contoso.com"),
        ("POP01", "bob@pop.contoso.com"),
    ]


def test_shared_domain_unknown_recipients_terminate() -> None:
    snap = shared_domain()
    assert trace(snap, "nobody@contoso.com").outcome == "ndr"
    from_pop = trace(snap, "nobody@contoso.com", start="pop01")
    assert (from_pop.outcome, from_pop.path()) == ("ndr", "POP01 → EX01")
    unknown_pop = trace(snap, "nobody@pop.contoso.com")
    assert (unknown_pop.outcome, unknown_pop.path()) == ("ndr", "EX01 → POP01")


def test_mail_from_a_pop3_user_to_the_internet_leaves_through_exchange() -> None:
    found = trace(shared_domain(), "someone@fabrikam.example", start="POP01")
    assert (found.outcome, found.path()) == ("outside", "POP01 → EX01 → outside")


def test_separate_domains() -> None:
    """Scenario 2: Exchange users @contoso.com, POP3 users @fabrikam.com hosted by POP01."""
    snap = snapshot(
        exchange_server("EX01", "10.0.0.10"),
        policy("Default", "SMTP:@contoso.com"),
        connector("To POP01", "SMTP:fabrikam.com;1", smart_host="pop01.fabrikam.com"),
        pop3_server("POP01", fqdn="pop01.fabrikam.com", addresses=["10.0.0.25"], SmartHost="[10.0.0.10]"),
        pop3_domain("POP01", "fabrikam.com"),
        pop3_mailbox("POP01", "carol@fabrikam.com"),
        user("alice", mailbox=True, proxies=["SMTP:alice@contoso.com"]),
        user("carol", target="SMTP:carol@fabrikam.com", proxies=["SMTP:carol@fabrikam.com"]),
    )
    assert trace(snap, "carol@fabrikam.com").path() == "EX01 → POP01"
    assert trace(snap, "carol@fabrikam.com").outcome == "delivered"
    assert trace(snap, "alice@contoso.com", start="POP01").path() == "POP01 → EX01"
    assert trace(snap, "ghost@fabrikam.com", start="POP01").outcome == "ndr"
    assert trace(snap, "x@elsewhere.example").outcome == "outside"  # no connector at all


def test_connector_for_an_exchange_domain_to_the_pop3_server_loops() -> None:
    snap = snapshot(
        exchange_server("EX01", "10.0.0.10"),
        policy("Default", "SMTP:@contoso.com", non_authoritative=["smtp:@contoso.com"]),
        connector("Share contoso with POP01", "SMTP:contoso.com;1", smart_host="pop01.contoso.com"),
        pop3_server("POP01", fqdn="pop01.contoso.com", SmartHost="[10.0.0.10]"),
        pop3_domain("POP01", "pop.contoso.com"),
    )
    found = trace(snap, "ghost@contoso.com")
    assert found.outcome == "loop"
    assert found.path() == "EX01 → POP01 → EX01"
    assert "second time" in found.final.rule


def test_target_address_back_into_exchange_is_a_categorizer_loop() -> None:
    snap = snapshot(
        exchange_server("EX01"),
        policy("Default", "SMTP:@contoso.com"),
        user("dave", target="SMTP:dave@contoso.com", proxies=["SMTP:dave@contoso.com"]),
    )
    found = trace(snap, "dave@contoso.com")
    assert found.outcome == "loop"
    assert "5.4.6" in found.final.rule


def test_undeliverable_pop3_user() -> None:
    """Erin is mail-enabled, but POP01 has no mailbox for her: the POP3 server bounces the message."""
    snap = shared_domain(
        user("erin", target="SMTP:erin@pop.contoso.com", proxies=["SMTP:erin@contoso.com"]),
    )
    found = trace(snap, "erin@contoso.com")
    assert (found.outcome, found.path()) == ("ndr", "EX01 → POP01")
    assert "no mailbox" in found.final.rule


def test_connector_choice_prefers_exact_then_longest_wildcard_then_cost_then_dn() -> None:
    snap = snapshot(
        connector("Any", "SMTP:*;1"),
        connector("Parent", "SMTP:*.contoso.com;1"),
        connector("Child", "SMTP:*.pop.contoso.com;5"),
        connector("B exact", "SMTP:pop.contoso.com;3"),
        connector("A exact", "SMTP:pop.contoso.com;3"),
        connector("Cheap", "SMTP:mail.contoso.com;2", "SMTP:other.example;1"),
        connector("Dear", "SMTP:mail.contoso.com;4"),
    )

    def chosen(domain: str) -> str:
        found = choose_connector(snap, domain)
        assert found is not None
        return found[0].name

    assert chosen("pop.contoso.com") == "A exact"
    assert chosen("x.pop.contoso.com") == "Child"
    assert chosen("x.contoso.com") == "Parent"
    assert chosen("fabrikam.example") == "Any"
    assert chosen("MAIL.contoso.com.") == "Cheap"


def test_systems_and_start_names() -> None:
    snap = shared_domain()
    assert systems(snap) == ["EX01", "POP01", "outside"]
    assert trace(snap, "bob@contoso.com", start="EX01").start == "EX01"
    with pytest.raises(UnknownSystemError, match="POP09"):
        trace(snap, "bob@contoso.com", start="POP09")


def test_several_exchange_servers_are_one_system_named_after_the_organization() -> None:
    snap = snapshot(exchange_server("EX01"), exchange_server("EX02"), policy("Default", "SMTP:@contoso.com"))
    assert systems(snap) == ["Contoso", "outside"]
    assert trace(snap, "nobody@contoso.com").path() == "Contoso"


def test_render_shows_every_hop_with_its_rule() -> None:
    found: Trace = trace(shared_domain(), "bob@contoso.com")
    text = found.render()
    lines = text.splitlines()
    assert lines[0] == "bob@contoso.com entering at EX01: delivered"
    assert lines[-1] == "path: EX01 → POP01"
    assert "1. EX01   bob@contoso.com" in text
    assert "redirected to bob@pop.contoso.com" in text
    assert (
        "connector 'To POP01' (address space pop.contoso.com, cost 1) forwards to smart host [10.0.0.25] = POP01"
        in text
    )
    assert "3. POP01  bob@pop.contoso.com" in text
    assert "bob a mailbox: delivered" in text


@pytest.mark.parametrize(
    ("kind", "rule"),
    [
        (
            ObjectKind.GROUP,
            "is a proxy address of group CN=Team,OU=Mail,DC=contoso,DC=com: delivered by expansion",
        ),
        (
            ObjectKind.DYNAMIC_GROUP,
            "is a proxy address of query-based distribution group CN=Team,OU=Mail,DC=contoso,DC=com: "
            "delivered by expansion",
        ),
        (
            ObjectKind.PUBLIC_FOLDER,
            "is a proxy address of public folder CN=Team,OU=Mail,DC=contoso,DC=com: delivered",
        ),
    ],
)
def test_an_address_of_a_group_or_public_folder_is_delivered_inside_exchange(
    kind: ObjectKind, rule: str
) -> None:
    snap = shared_domain(recipient(kind, "Team", "SMTP:team@contoso.com"))
    found = trace(snap, "team@contoso.com")
    assert (found.outcome, found.path()) == ("delivered", "EX01")
    assert found.final.rule == f"team@contoso.com {rule}"
