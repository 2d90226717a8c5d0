"""P5: POP3 clients authenticate to their outgoing mail server before it relays for them."""

from __future__ import annotations

from collections.abc import Iterator

from auditor.model import Snapshot
from auditor.registry import Finding, Severity, SkipCheck, check

from ._support import pop3_relay, require_configuration, servers_with_file

EXCHANGE_DEFAULT_AUTH_FLAGS = 7
BASIC, INTEGRATED = 2, 4


@check(
    "COEX-501",
    title="Exchange SMTP virtual servers let clients authenticate and relay once authenticated",
    severity=Severity.HIGH,
    principles=("P5",),
    remediation="On each Exchange SMTP virtual server, offer Basic and/or Integrated Windows authentication and let clients that authenticate relay.",
)
def exchange_vs_allows_authenticated_relay(snap: Snapshot) -> Iterator[Finding]:
    """POP3 users send through SMTP (P5). If Exchange offers only anonymous access, or does not let
    authenticated clients relay, they cannot send to the outside, and someone will be tempted to open
    the relay list instead."""
    require_configuration(snap)
    if not snap.smtp_virtual_servers:
        raise SkipCheck("no Exchange SMTP virtual server in the Configuration partition")
    for vs in snap.smtp_virtual_servers:
        raw_flags = vs.record.first("msExchAuthenticationFlags")
        raw_relay = vs.record.first("msExchSmtpRelayForAuth")
        if (raw_flags is not None and vs.auth_flags is None) or (
            raw_relay is not None and vs.relay_for_auth is None
        ):
            yield Finding.error(
                vs.dn,
                f"cannot read msExchAuthenticationFlags {raw_flags!r} / msExchSmtpRelayForAuth {raw_relay!r}",
            )
            continue
        flags = EXCHANGE_DEFAULT_AUTH_FLAGS if vs.auth_flags is None else vs.auth_flags
        problems = []
        if not flags & (BASIC | INTEGRATED):
            problems.append(f"msExchAuthenticationFlags {flags} offers neither Basic (2) nor Integrated (4)")
        if vs.relay_for_auth is False:
            problems.append("msExchSmtpRelayForAuth is FALSE: authenticated clients may not relay")
        if problems:
            yield Finding.failed(vs.dn, "; ".join(problems))
        else:
            yield Finding.passed(vs.dn, f"authentication flags {flags}, authenticated clients may relay")


@check(
    "COEX-502",
    title="Each POP3 server's SMTP service relays only for authenticated clients",
    severity=Severity.HIGH,
    principles=("P5",),
    remediation="On the POP3 server's SMTP service, offer Basic and/or Integrated Windows authentication, relay to 'Only the list below' plus authenticated clients.",
)
def pop3_smtp_requires_authentication(snap: Snapshot) -> Iterator[Finding]:
    """P5: POP3 clients must authenticate to send. An IIS SMTP service that offers no Basic or NTLM
    login, refuses relay to authenticated users, or relays for anyone by IP lets unauthenticated
    senders through or locks real users out."""
    for server in servers_with_file(snap, "MetaBase.xml"):
        problems = []
        flags = server.auth_flags
        raw_flags = server.record.first("AuthFlags")
        if flags is None and raw_flags is not None:
            problems.append(f"AuthFlags {raw_flags!r} cannot be read")
        elif flags is None:
            problems.append("AuthFlags is not set (IIS default: anonymous access only)")
        elif not flags & (BASIC | INTEGRATED):
            problems.append(f"AuthFlags {flags} offers neither Basic (2) nor NTLM (4)")
        if server.relay_for_auth is False:
            problems.append("RelayForAuth is 0: authenticated clients may not relay")
        verdict = pop3_relay(server)
        if verdict.open_reason:
            problems.append(f"open relay: {verdict.open_reason}")
        if problems:
            if verdict.undecodable:
                problems.append(str(verdict.problem))
            yield Finding.failed(server.name, "; ".join(problems))
        elif verdict.undecodable:
            yield Finding.error(server.name, str(verdict.problem))
        else:
            assert verdict.decoded is not None
            yield Finding.passed(
                server.name, f"AuthFlags {flags}, authenticated relay allowed, {verdict.decoded.describe()}"
            )
