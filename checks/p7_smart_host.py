"""P7: the POP3 server's SMTP service sends through Exchange, which lets it relay."""

from __future__ import annotations

from collections.abc import Iterator

from auditor.model import Capability, Pop3Host, Snapshot
from auditor.registry import Finding, Severity, SkipCheck, check

from ._support import hosts_with, require_configuration, require_pop3_servers


@check(
    "COEX-701",
    title="Each POP3 server's SMTP service always sends through an Exchange smart host",
    severity=Severity.HIGH,
    principles=("P7",),
    remediation="Set the POP3 server's SMTP smart host to an Exchange server and clear 'Attempt direct delivery before sending to smart host'.",
)
def pop3_smart_host_is_exchange(snap: Snapshot) -> Iterator[Finding]:
    """P7 sends the POP3 server's outgoing mail through Exchange. Without that smart host, or with
    'attempt direct delivery first', the POP3 server delivers by DNS itself: it bypasses Exchange,
    and mail for the shared domain may go to the MX and loop."""
    require_configuration(snap)
    if not snap.exchange_servers:
        raise SkipCheck("no Exchange server in the Configuration partition")
    for host in hosts_with(snap, Capability.SMTP_SETTINGS):
        service = host.outbound
        if service is None:
            yield Finding.error(
                host.name, "its SMTP settings name no outgoing SMTP service; review by hand", [host.ref]
            )
            continue
        problems = []
        smart_host, always = service.smart_host, service.smart_host_always
        exchange = snap.exchange_server_for_host(smart_host.value) if smart_host.value else None
        evidence = [host.ref, service.ref, *([exchange.ref] if exchange else [])]
        if not smart_host.value:
            problems.append(smart_host.note or f"{smart_host.source} is not set")
        elif exchange is None:
            problems.append(f"{smart_host.source} {smart_host.value} designates no Exchange server")
        for alternate in service.smart_host_alternates:
            also = snap.exchange_server_for_host(alternate)
            if also is None:
                problems.append(
                    f"{smart_host.source} also lists {alternate}, which designates no Exchange server"
                )
            else:
                evidence.append(also.ref)
        if always.value is not True and not always.is_unreadable:
            problems.append(always.note)
        if problems:
            yield Finding.failed(host.name, "; ".join(problems), evidence)
        elif always.is_unreadable:
            yield Finding.error(host.name, f"{always.note}; review by hand", evidence)
        else:
            assert exchange is not None
            yield Finding.passed(
                host.name,
                f"{smart_host.source} {smart_host.value} = Exchange server {exchange.name}, {always.note}",
                evidence,
            )


@check(
    "COEX-702",
    title="Every POP3 server address is granted relay on an Exchange SMTP virtual server",
    severity=Severity.HIGH,
    principles=("P7",),
    remediation="Add each IP address of the POP3 server to the relay list ('Only the list below') of an Exchange SMTP virtual server.",
)
def pop3_server_may_relay_on_exchange(snap: Snapshot) -> Iterator[Finding]:
    """P7: the POP3 server hands all outgoing mail to Exchange; unless Exchange grants its addresses
    relay, mail from POP3 users to the outside is refused (550 5.7.1 unable to relay)."""
    require_pop3_servers(snap)
    require_configuration(snap)
    services = snap.exchange_smtp_services
    if not services:
        raise SkipCheck("no Exchange SMTP virtual server in the Configuration partition")
    undecodable = [s.subject for s in services if s.relay.is_unreadable]
    for server in snap.pop3_servers:
        evidence = [server.ref, *(s.ref for s in services)]
        if not server.addresses:
            yield Finding.error(
                server.name,
                "no IP address configured for this POP3 server: cannot verify its relay grant",
                evidence,
            )
            continue
        missing: list[str] = []
        granted: list[str] = []
        for address in server.addresses:
            by = [
                service.system or service.subject
                for service in services
                if service.relay.value is not None
                and service.relay.value.only_listed
                and service.relay.value.grants_address(address)
            ]
            (granted if by else missing).append(
                f"{address} (by {', '.join(sorted(set(by)))})" if by else address
            )
        if not missing:
            yield Finding.passed(server.name, "relay granted: " + ", ".join(granted), evidence)
        elif undecodable:
            yield Finding.error(
                server.name,
                f"{', '.join(missing)} not granted by any decodable relay list; review by hand: {'; '.join(undecodable)}",
                evidence,
            )
        else:
            yield Finding.failed(
                server.name,
                f"{', '.join(missing)} not granted relay on any Exchange SMTP virtual server",
                evidence,
            )


# -- COEX-705: mail between Exchange and the POP3 / Linux hosts is encrypted both ways ------------
# One check, two halves that read only model concepts: the host half (host -> Exchange: the TLS
# level of the hop to its smart host, and whether it logs in) is here; the send connector half
# (Exchange -> host: RequireTLS, IgnoreSTARTTLS) joins `_TLS_PARTS` from the Exchange 2007+ family's
# work. Each half returns None when it has nothing to judge.


def _host_hop(host: Pop3Host) -> Finding | None:
    """Host -> Exchange for one host: None when its family does not describe the hop's TLS."""
    service = host.outbound
    if service is None or service.smart_host_tls_required is None:
        return None
    tls, login = service.smart_host_tls_required, service.smart_host_auth
    evidence = [host.ref, service.ref]
    logs_in = login is not None and login.value is True
    if tls.is_unreadable:
        return Finding.error(host.name, f"{tls.note}; review by hand", evidence)
    if tls.value:
        return Finding.passed(host.name, f"TLS is required towards the smart host: {tls.note}", evidence)
    if logs_in:
        assert login is not None
        return Finding.failed(
            host.name,
            f"logs in to its smart host ({login.note}) without requiring TLS ({tls.note}): the password can travel in clear",
            evidence,
        )
    unknown = (
        f"; whether it logs in cannot be told: {login.note}"
        if login is not None and login.is_unreadable
        else ""
    )
    return Finding.failed(
        host.name, f"mail to the smart host may travel unencrypted: {tls.note}{unknown}", evidence
    ).graded(Severity.MEDIUM)


def host_tls_findings(snap: Snapshot) -> list[Finding] | None:
    """POP3 host -> Exchange: TLS required on the hop to the smart host (medium otherwise; high when
    the host logs in without it); None when no host's export describes that hop."""
    found = [finding for host in snap.pop3_servers if (finding := _host_hop(host)) is not None]
    return found or None


_TLS_PARTS = (host_tls_findings,)


@check(
    "COEX-705",
    title="Mail between Exchange and the POP3 hosts is encrypted both ways",
    severity=Severity.HIGH,
    principles=("P6", "P7"),
    remediation="Set-SendConnector -RequireTLS $true -IgnoreSTARTTLS $false on connectors to the POP3 host; on the host, require TLS towards Exchange.",
)
def exchange_pop3_hop_encrypted(snap: Snapshot) -> Iterator[Finding]:
    """Between Exchange and the POP3 host travel every message of the shared domain and, when the
    host authenticates to Exchange, its credentials. Without TLS on both hops anyone on the path
    reads them; a connector that ignores STARTTLS never even tries."""
    parts = [part(snap) for part in _TLS_PARTS]
    if all(part is None for part in parts):
        raise SkipCheck("no send connector to a POP3 host and no host's TLS settings towards Exchange")
    for part in parts:
        yield from part or ()
