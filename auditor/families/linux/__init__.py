"""The Linux POP3 host family (Postfix + Dovecot): collection, parsing, pure evaluation, adapter.

`FAMILY` is what the entry point `linux` (group `auditor.families`) names: the six record kinds,
the adapter onto the model (adapter.py), the `[[pop3_server]] kind = "postfix-dovecot"` sources
(export folder or SSH) and the marker files that tell a Linux export folder from a Windows one.

    export folder / SSH ──> LinuxExportSource ──> raw ObjectRecords (postfix_host, postfix_service,
          │                 (source.py, ssh.py)     postfix_map, dovecot_host, dovecot_passdb,
          │                                         dovecot_userdb; raw.py)
          └─> read_linux_export (export.py, strict parsers) ─> LinuxHost (host.py) <─ host_from_records
                                                                  │
    evaluation, pure functions of a LinuxHost (what the model adapter calls):
      relay_report / simulate_relay (relay.py)          open relay per smtpd service
      hosted_domains / relay_domains / mailboxes        D_pop(S), relay_domains, POP3 addresses
      relayhost_use / tls_to_relayhost / sasl_client    Postfix as the client of Exchange
      smtpd_auth_all                                    SASL offered, via Dovecot, TLS before AUTH
      protocols / passdb_verdicts / kerberos /          Dovecot: POP3/IMAP, AD backing (passdbs,
      cleartext_auth /                                  GSSAPI), COEX-203,
      ldap_connections / trusted_networks_beyond_host   COEX-204, login_trusted_networks
      route_address (route.py)                          next hop or stop for one address
      unknown_recipient_rules (unknown.py)              what passes on unknown recipients (COEX-305)

    LinuxAdapter (adapter.py) ── records -> Pop3Host, SmtpService per smtpd, outbound client,
                                 MailboxService, DirectoryConnection, MailDomain, Mailbox,
                                 LinuxRouting (routing.py: route_address as host decisions)

Every verdict that depends on content the export does not hold (an `ldap:` map, a missing args
file, a host-dependent default) says so (`error`, `unknown`, `complete = False`) rather than guess.
"""

from __future__ import annotations

from auditor.families import Family, KindSpec
from auditor.families.linux.adapter import LinuxAdapter
from auditor.families.linux.configured import linux_source, linux_sources
from auditor.families.linux.domains import DomainSet, Mailboxes, hosted_domains, mailboxes, relay_domains
from auditor.families.linux.dovecot import (
    AdBacking,
    CleartextAuth,
    Kerberos,
    LdapConnection,
    PassdbVerdict,
    cleartext_auth,
    kerberos,
    ldap_connections,
    passdb_verdicts,
    protocols,
    trusted_networks_beyond_host,
)
from auditor.families.linux.export import LinuxExport, read_linux_export
from auditor.families.linux.host import AuthDatabase, DovecotHost, LinuxHost, PostfixHost, PostfixService
from auditor.families.linux.raw import LINUX_KINDS, host_from_records, host_records
from auditor.families.linux.relay import (
    RelayOutcome,
    RelayVerdict,
    ServiceRelay,
    relay_report,
    simulate_relay,
)
from auditor.families.linux.route import RouteOutcome, route_address
from auditor.families.linux.routing import LinuxRouting
from auditor.families.linux.smtp_client import (
    NextHop,
    RelayhostUse,
    SaslClient,
    TlsToRelayhost,
    parse_nexthop,
    relayhost_use,
    sasl_client,
    tls_to_relayhost,
)
from auditor.families.linux.smtpd import SmtpdAuth, smtpd_auth, smtpd_auth_all
from auditor.families.linux.source import LINUX_KIND, LinuxExportSource
from auditor.families.linux.ssh import SshTarget, fetch_export

__all__ = [
    "FAMILY",
    "LINUX_KIND",
    "LINUX_KINDS",
    "AdBacking",
    "AuthDatabase",
    "CleartextAuth",
    "DomainSet",
    "DovecotHost",
    "Kerberos",
    "LdapConnection",
    "LinuxAdapter",
    "LinuxExport",
    "LinuxExportSource",
    "LinuxHost",
    "LinuxRouting",
    "Mailboxes",
    "NextHop",
    "PassdbVerdict",
    "PostfixHost",
    "PostfixService",
    "RelayOutcome",
    "RelayVerdict",
    "RelayhostUse",
    "RouteOutcome",
    "SaslClient",
    "ServiceRelay",
    "SmtpdAuth",
    "SshTarget",
    "TlsToRelayhost",
    "cleartext_auth",
    "fetch_export",
    "host_from_records",
    "host_records",
    "hosted_domains",
    "kerberos",
    "ldap_connections",
    "linux_source",
    "linux_sources",
    "mailboxes",
    "parse_nexthop",
    "passdb_verdicts",
    "protocols",
    "read_linux_export",
    "relay_domains",
    "relay_report",
    "relayhost_use",
    "route_address",
    "sasl_client",
    "simulate_relay",
    "smtpd_auth",
    "smtpd_auth_all",
    "tls_to_relayhost",
    "trusted_networks_beyond_host",
]


FAMILY = Family(
    name="linux",
    kinds=(
        KindSpec("postfix_host", "Postfix host", multi_valued=frozenset({"addresses", "explicitParameters"})),
        KindSpec("postfix_service", "Postfix service (master.cf)"),
        KindSpec("postfix_map", "Postfix table", multi_valued=frozenset({"entries", "config", "lines"})),
        KindSpec("dovecot_host", "Dovecot host", multi_valued=frozenset({"addresses", "users"})),
        KindSpec("dovecot_passdb", "Dovecot passdb"),
        KindSpec("dovecot_userdb", "Dovecot userdb"),
    ),
    adapter=LinuxAdapter,
    reads=(("pop3_server", LINUX_KIND),),
    sources=linux_sources,
    export_markers=frozenset(
        {
            "postconf-x.txt",
            "postconf-n.txt",
            "postconf-m.txt",
            "postconf-px.txt",
            "doveconf-n.txt",
            "doveadm-users.txt",
            "export-info.txt",
            "maps",
            "dovecot-ext",
        }
    ),
)
