"""The Linux POP3 host family (Postfix + Dovecot): collection, parsing and pure evaluation.

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

Every verdict that depends on content the export does not hold (an `ldap:` map, a missing args
file, a host-dependent default) says so (`error`, `unknown`, `complete = False`) rather than guess.
"""

from __future__ import annotations

from auditor.families.linux.configured import linux_source, server_kind
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
from auditor.families.linux.source import LinuxExportSource, LinuxSourceInfo, detect_family
from auditor.families.linux.ssh import SshTarget, fetch_export

__all__ = [
    "LINUX_KINDS",
    "AdBacking",
    "AuthDatabase",
    "CleartextAuth",
    "DomainSet",
    "DovecotHost",
    "Kerberos",
    "LdapConnection",
    "LinuxExport",
    "LinuxExportSource",
    "LinuxHost",
    "LinuxSourceInfo",
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
    "detect_family",
    "fetch_export",
    "host_from_records",
    "host_records",
    "hosted_domains",
    "kerberos",
    "ldap_connections",
    "linux_source",
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
    "server_kind",
    "simulate_relay",
    "smtpd_auth",
    "smtpd_auth_all",
    "tls_to_relayhost",
    "trusted_networks_beyond_host",
]
