"""route_address: where the Linux host sends one address (research §3.5), on real exports."""

from __future__ import annotations

from pathlib import Path

import pytest
from linuxlab import linux_host

from auditor.families.linux.host import LinuxHost
from auditor.families.linux.route import route_address

MAIN = """\
compatibility_level = 3.6
myhostname = lnx01.contoso.com
mydomain = contoso.com
mydestination = localhost
local_recipient_maps =
relayhost = [ex16.contoso.com]:25
virtual_mailbox_domains = pop.contoso.com
virtual_mailbox_maps = hash:{pf}/vmailbox
virtual_transport = lmtp:unix:private/dovecot-lmtp
virtual_alias_domains = alias.contoso.com
virtual_alias_maps = hash:{pf}/virtual
relay_domains = relay.contoso.com
transport_maps = hash:{pf}/transport
"""
TABLES = {
    "vmailbox": "bob@pop.contoso.com ok\ncarol@pop.contoso.com ok\n",
    "virtual": (
        "info@alias.contoso.com bob@pop.contoso.com\n"
        "team@pop.contoso.com bob@pop.contoso.com, carol@pop.contoso.com, dave@fabrikam.com\n"
        "@shared.contoso.com exchange-catchall@contoso.com\n"
    ),
    "transport": "relay.contoso.com smtp:[ex16.contoso.com]:2525\n.parked.contoso.com error:parked\n",
}


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> LinuxHost:
    return linux_host(tmp_path_factory.mktemp("route"), MAIN, tables=TABLES)


def test_a_mailbox_of_a_virtual_mailbox_domain_is_delivered(host: LinuxHost) -> None:
    outcome = route_address(host, "bob@pop.contoso.com")
    assert (outcome.kind, outcome.rule, outcome.transport) == ("delivered", "virtual_transport", "lmtp")
    assert outcome.steps[0] == "pop.contoso.com is in virtual_mailbox_domains"


def test_an_unknown_user_of_a_hosted_domain_bounces(host: LinuxHost) -> None:
    outcome = route_address(host, "nobody@pop.contoso.com")
    assert (outcome.kind, outcome.rule) == ("bounce", "user unknown in virtual mailbox table")


def test_an_alias_is_followed_then_delivered(host: LinuxHost) -> None:
    outcome = route_address(host, "info@alias.contoso.com")
    assert outcome.kind == "delivered"
    assert outcome.steps[0].endswith("info@alias.contoso.com -> bob@pop.contoso.com")


def test_an_unaliased_address_of_an_alias_domain_bounces(host: LinuxHost) -> None:
    assert route_address(host, "x@alias.contoso.com").kind == "bounce"


def test_a_catch_all_sends_every_user_of_the_domain_elsewhere(host: LinuxHost) -> None:
    outcome = route_address(host, "anyone@shared.contoso.com")
    assert outcome.kind == "nexthop"
    assert outcome.nexthop is not None
    assert outcome.nexthop.text == "[ex16.contoso.com]:25"
    assert outcome.steps[0].startswith("virtual_alias_maps")
    assert outcome.steps[0].endswith("anyone@shared.contoso.com -> exchange-catchall@contoso.com")


def test_an_alias_to_several_addresses_routes_each(host: LinuxHost) -> None:
    outcome = route_address(host, "team@pop.contoso.com")
    assert outcome.kind == "expanded"
    assert [(b.address, b.kind) for b in outcome.branches] == [
        ("bob@pop.contoso.com", "delivered"),
        ("carol@pop.contoso.com", "delivered"),
        ("dave@fabrikam.com", "nexthop"),
    ]


def test_a_relay_domain_follows_its_transport_entry(host: LinuxHost) -> None:
    outcome = route_address(host, "x@relay.contoso.com")
    assert outcome.kind == "nexthop"
    assert outcome.nexthop is not None
    assert (outcome.nexthop.host, outcome.nexthop.port, outcome.nexthop.mx_lookup) == (
        "ex16.contoso.com",
        2525,
        False,
    )
    assert "transport_maps" in outcome.rule


def test_a_parent_domain_entry_covers_subdomains(host: LinuxHost) -> None:
    outcome = route_address(host, "x@a.parked.contoso.com")
    assert (outcome.kind, outcome.transport) == ("bounce", "error")


def test_remote_mail_goes_to_the_relayhost(host: LinuxHost) -> None:
    outcome = route_address(host, "someone@example.org")
    assert outcome.kind == "nexthop"
    assert outcome.nexthop is not None
    assert outcome.nexthop.text == "[ex16.contoso.com]:25"
    assert "example.org is in no address class" in outcome.steps


def test_without_relayhost_remote_mail_goes_to_the_domains_mx(tmp_path: Path) -> None:
    host = linux_host(tmp_path, "compatibility_level = 3.6\nmydestination = localhost\n")
    outcome = route_address(host, "someone@example.org")
    assert outcome.nexthop is not None
    assert (outcome.nexthop.host, outcome.nexthop.mx_lookup) == ("example.org", True)


@pytest.mark.parametrize(
    ("extra", "tables", "why"),
    [
        (
            "virtual_alias_maps = ldap:{pf}/aliases.cf\n",
            {"aliases.cf": "server_host = ldaps://dc1\n"},
            "ldap",
        ),
        (
            "sender_dependent_relayhost_maps = hash:{pf}/sdr\n",
            {"sdr": "@x.com [a]\n"},
            "depends on the sender",
        ),
        (
            "mydestination = localhost, local.contoso.com\nlocal_recipient_maps = proxy:unix:passwd.byname\n",
            {},
            "local_recipient_maps",
        ),
    ],
)
def test_a_step_needing_unexported_content_is_an_error(
    tmp_path: Path, extra: str, tables: dict[str, str], why: str
) -> None:
    host = linux_host(
        tmp_path, "compatibility_level = 3.6\nmydestination = localhost\n" + extra, tables=tables
    )
    address = "u@local.contoso.com" if "local_recipient" in extra else "u@example.org"
    outcome = route_address(host, address)
    assert outcome.kind == "error"
    assert why in outcome.rule


def test_a_local_domain_with_an_exported_recipient_table(tmp_path: Path) -> None:
    host = linux_host(
        tmp_path,
        "compatibility_level = 3.6\nmydestination = localhost, local.contoso.com\n"
        "local_recipient_maps = hash:{pf}/local\n",
        tables={"local": "bob x\n"},
    )
    assert route_address(host, "bob@local.contoso.com").kind == "delivered"
    assert route_address(host, "eve@local.contoso.com").kind == "bounce"


def test_no_postfix_export_is_an_error(tmp_path: Path) -> None:
    host = linux_host(tmp_path, "compatibility_level = 3.6\n")
    host.postfix = None
    assert route_address(host, "a@b.c").kind == "error"
