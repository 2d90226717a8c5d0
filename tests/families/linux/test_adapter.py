"""The Linux family's adapter: what a host's records become in the model, from stored history too."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from linuxlab import STOCK_MASTER, export_host, records_of

from auditor.families import discover_families
from auditor.families.linux import FAMILY, LinuxRouting, host_from_records
from auditor.families.linux.route import route_address
from auditor.families.linux.routing import decision_of
from auditor.model import Capability, Snapshot
from auditor.records import ObjectRecord, SourceInfo
from auditor.registry import SkipCheck, discover_checks
from auditor.store import HistoryStore

MAIN = """\
compatibility_level = 3.6
mydestination = localhost
mynetworks = 127.0.0.0/8
relayhost = [ex16.contoso.com]:587
smtp_tls_security_level = may
smtp_sasl_auth_enable = yes
smtp_sasl_password_maps = hash:{pf}/sasl_passwd
smtpd_sasl_type = dovecot
virtual_mailbox_domains = pop.contoso.com
virtual_mailbox_maps = hash:{pf}/vmailbox
virtual_alias_maps = hash:{pf}/virtual
relay_domains = partners.example
"""
TABLES = {
    "sasl_passwd": "[ex16.contoso.com]:587 relay:secret\n",
    "vmailbox": "bob@pop.contoso.com x\n",
    "virtual": "carol@contoso.com carol@elsewhere.example\n",
}
DOVECOT = "protocols = pop3\nssl = required\npassdb {{\n  driver = pam\n}}\n"


@pytest.fixture(scope="module")
def records(tmp_path_factory: pytest.TempPathFactory) -> list[ObjectRecord]:
    root = tmp_path_factory.mktemp("adapter")
    folder = export_host(root, "LNX01", main=MAIN, master=STOCK_MASTER, tables=TABLES, dovecot=DOVECOT)
    return records_of(folder, "LNX01", fqdn="lnx01.contoso.com")


def _snap(records: list[ObjectRecord]) -> Snapshot:
    return Snapshot.from_records(records, [SourceInfo(name="pop3:LNX01", kind="linux-export", complete=True)])


def test_the_family_is_installed_through_its_entry_point() -> None:
    assert FAMILY in discover_families()
    assert FAMILY.reads == (("pop3_server", "postfix-dovecot"),)


def test_a_host_in_the_model(records: list[ObjectRecord]) -> None:
    snap = _snap(records)
    (host,) = snap.pop3_servers
    assert (host.name, host.family, host.fqdn, host.addresses) == (
        "LNX01",
        "linux",
        "lnx01.contoso.com",
        ("10.0.0.25",),
    )
    assert host.capabilities == {Capability.SMTP_SETTINGS, Capability.AUTH, Capability.DOMAINS}
    assert [s.subject for s in host.smtp_services] == ["LNX01:smtp/inet", "LNX01:submission/inet"]
    assert {s.subject for s in snap.smtp_services} == {"LNX01:smtp/inet", "LNX01:submission/inet"}
    outbound = host.outbound
    assert outbound is not None and outbound not in host.smtp_services
    assert (outbound.smart_host.value, outbound.smart_host_port) == ("[ex16.contoso.com]", 587)
    assert outbound.smart_host_auth is not None and outbound.smart_host_auth.value is True
    assert outbound.smart_host_tls_required is not None and outbound.smart_host_tls_required.value is False
    domains = {(d.domain, d.hosted, d.relayed) for d in snap.pop3_domains}
    assert domains == {("pop.contoso.com", True, False), ("partners.example", False, True)}
    [partners] = [d for d in snap.pop3_domains if d.relayed]
    assert partners.unknown_recipients is not None
    assert [r.next_host for r in partners.unknown_recipients] == ["[ex16.contoso.com]"]
    assert host.mailbox_service is not None
    assert [b.ad_backed for b in host.mailbox_service.backends] == [None]  # pam: review by hand
    assert host.directory_connections == ()


def test_history_reread_gives_the_same_verdicts(tmp_path: Path, records: list[ObjectRecord]) -> None:
    """Raw records are what the store keeps: a snapshot loaded back is judged exactly alike."""
    store = HistoryStore(f"sqlite:///{tmp_path / 'history.db'}")
    info = store.save_snapshot(
        records,
        [SourceInfo(name="pop3:LNX01", kind="linux-export", complete=True)],
        datetime(2026, 12, 6, tzinfo=UTC),
    )
    loaded = store.load_records(info.id)
    fresh, stored = _snap(records), _snap(list(loaded))
    for spec in discover_checks():
        try:
            first = [(f.subject, f.status, f.message) for f in spec.run(fresh)]
        except SkipCheck as skip:  # the same skip must happen on the stored snapshot
            with pytest.raises(SkipCheck, match=re.escape(str(skip))):
                list(spec.run(stored))
            continue
        assert [(f.subject, f.status, f.message) for f in spec.run(stored)] == first, spec.id


def test_routing_remembers_a_domain_only_where_the_local_part_cannot_matter(
    records: list[ObjectRecord],
) -> None:
    linux = host_from_records(records, "LNX01")
    routing = LinuxRouting(linux, {})
    snap = _snap(records)
    (host,) = snap.pop3_servers
    addresses = [
        "alice@contoso.com",
        "carol@contoso.com",  # a user@domain alias: contoso.com is never remembered
        "dave@contoso.com",
        "x@example.org",
        "y@example.org",
        "bob@pop.contoso.com",
        "nobody@pop.contoso.com",
        "a@partners.example",
    ]
    for address in [*addresses, *reversed(addresses)]:
        assert routing.decide(host, address) == decision_of(route_address(linux, address)), address
    assert "contoso.com" not in routing._by_domain and "example.org" in routing._by_domain
