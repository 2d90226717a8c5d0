"""P7: the POP3 server's SMTP service sends through Exchange, which lets it relay."""

from __future__ import annotations

from collections.abc import Iterator

from auditor.model import (
    AddressRange,
    Capability,
    ExchangeServer,
    ObjectRef,
    Pop3Host,
    ReceiveConnector,
    Snapshot,
    normalize_dn,
)
from auditor.model.receive import merge_ranges
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
    services = snap.legacy_exchange_smtp_services
    if not services and not snap.receive_connectors:
        raise SkipCheck("no Exchange SMTP virtual server or receive connector in the Configuration partition")
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
        target = _smart_host_server(snap, server)
        if snap.receive_connectors and (target is None or target.modern):
            yield _modern_relay(snap, server, target)
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


SMTP_PORT = 25


def _smart_host_server(snap: Snapshot, host: Pop3Host) -> ExchangeServer | None:
    """The Exchange server the host's outgoing smart host designates, when its settings were read."""
    smart_host = host.outbound.smart_host.value if host.outbound is not None else None
    return snap.exchange_server_for_host(smart_host) if smart_host else None


def _taking_connector(
    snap: Snapshot, server: ExchangeServer, address: str, port: int = SMTP_PORT
) -> tuple[list[tuple[ReceiveConnector, AddressRange]], str]:
    """The receive connectors of `server` that would take a connection from `address` on `port`
    (the most specific range wins; several equally specific ones are returned for an `error`)."""
    own = snap.exchange_server_addresses(server)
    taking = []
    for connector in snap.receive_connectors:
        if normalize_dn(connector.server_dn) != normalize_dn(server.dn):
            continue
        found = connector.takes(address, port, own)
        if found is not None:
            taking.append((connector, found))
    if not taking:
        return [], f"no enabled receive connector of {server.name} takes {address} on port {port}"
    smallest = min(r.size for _, r in taking)
    return [(c, r) for c, r in taking if r.size == smallest], ""


def _modern_relay(snap: Snapshot, host: Pop3Host, target: ExchangeServer | None) -> Finding:
    """checks.md COEX-702 on 2007+: for each address of the host, the receive connector taking the
    connection (on the smart host's port, default 25) on the Exchange server its smart host
    designates (every 2007+ transport server when its smart host was not read) grants
    relay(C, unauthenticated), or the host logs in to it and it grants relay(C, {Authenticated
    Users}) with an authentication it offers."""
    servers = [target] if target is not None else snap.modern_transport_servers
    outbound = host.outbound
    port = outbound.smart_host_port if outbound is not None and outbound.smart_host_port else SMTP_PORT
    login = outbound.smart_host_auth if outbound is not None else None
    logs_in = login is not None and login.value is True
    services = {service.subject.lower(): service for service in snap.modern_exchange_smtp_services}
    evidence: list[ObjectRef] = [host.ref, *(s.ref for s in servers)]
    granted: list[str] = []
    missing: list[str] = []
    unjudged: list[str] = []
    for address in host.addresses:
        reasons: list[str] = []
        ok = ""
        for server in servers:
            taking, why = _taking_connector(snap, server, address, port)
            evidence += [c.ref for c, _ in taking]
            if not taking:
                reasons.append(why)
                continue
            if len(taking) > 1:
                names = ", ".join(c.name for c, _ in taking)
                unjudged.append(f"{address}: equally specific ranges on {server.name} ({names})")
                break
            connector, taken_by = taking[0]
            verdict = connector.anonymous_relay
            if verdict.is_error:
                unjudged.append(f"{address}: {connector.name} on {server.name}: {verdict.reason}")
                break
            if verdict.granted:
                ok = f"{address} (receive connector {connector.name!r} on {server.name}, range {taken_by})"
                break
            if logs_in:
                assert login is not None
                authenticated = connector.authenticated_relay
                service = services.get(connector.dn.lower())
                offers = service is None or service.client_auth.value is True
                if authenticated.is_error:
                    unjudged.append(f"{address}: {connector.name} on {server.name}: {authenticated.reason}")
                    break
                if authenticated.granted and offers:
                    ok = (
                        f"{address} (logs in: {login.note}; receive connector {connector.name!r} on "
                        f"{server.name} lets authenticated clients relay)"
                    )
                    break
                why_not = (
                    authenticated.reason
                    if not authenticated.granted
                    else service.client_auth.note
                    if service
                    else ""
                )
                reasons.append(
                    f"receive connector {connector.name!r} on {server.name} takes it: {verdict.reason}; "
                    f"the host logs in, but {why_not}"
                )
                continue
            reasons.append(
                f"receive connector {connector.name!r} on {server.name} takes it: {verdict.reason}"
            )
        if ok:
            granted.append(ok)
        elif not any(u.startswith(f"{address}:") for u in unjudged):
            missing.append(f"{address} ({'; '.join(reasons) or 'no 2007+ transport server'})")
    if missing:
        return Finding.failed(host.name, "not granted relay: " + "; ".join(missing), evidence)
    if unjudged:
        return Finding.error(
            host.name, "cannot judge relay; review by hand: " + "; ".join(unjudged), evidence
        )
    return Finding.passed(host.name, "relay granted: " + ", ".join(granted), evidence)


def _offending(snap: Snapshot, connector: ReceiveConnector) -> list[AddressRange]:
    """The connector's remote ranges not inside the addresses anonymous relay may come from."""
    allowed = merge_ranges(snap.relay_allowed_ranges)
    return [
        r
        for r in connector.remote_ranges
        if not any(low <= r.low and r.high <= high for low, high in allowed)
    ]


def _receive_connectors(snap: Snapshot) -> list[ReceiveConnector]:
    require_configuration(snap)
    # Read and found none (a 2003-only organization): nothing to judge, so the check passes.
    return sorted(snap.receive_connectors, key=lambda c: c.dn.lower())


@check(
    "COEX-703",
    title="Anonymous relay on Exchange is granted only to the POP3 hosts and listed servers",
    severity=Severity.CRITICAL,
    principles=("P7",),
    remediation="Set-ReceiveConnector -RemoteIPRanges <POP3 host addresses> on the relay connector, or Remove-ADPermission its ms-Exch-SMTP-Accept-Any-Recipient grant.",
)
def anonymous_relay_only_for_known_hosts(snap: Snapshot) -> Iterator[Finding]:
    """P7 lets the POP3 host relay through Exchange, and nobody else. A receive connector that lets
    anonymous sessions relay from a whole subnet makes every machine there (and anything that takes
    one over) an open relay inside the organization; wider than a /16 it is as good as open."""
    connectors = _receive_connectors(snap)
    if connectors and not any(c.permissions_read for c in connectors):
        raise SkipCheck(
            "no receive connector's nTSecurityDescriptor was read (ask for it with the SD-flags control)"
        )
    for connector in connectors:
        evidence = [connector.ref]
        verdict = connector.anonymous_relay
        if not connector.enabled:
            yield Finding.passed(connector.dn, "disabled", evidence)
            continue
        if verdict.is_error:
            yield Finding.error(
                connector.dn, f"who may relay cannot be judged: {verdict.reason}; review it by hand", evidence
            )
            continue
        if not verdict.granted:
            yield Finding.passed(connector.dn, f"no anonymous relay: {verdict.reason}", evidence)
            continue
        everyone = " (through Everyone, counted as anonymous)" if verdict.through_everyone else ""
        if connector.unreadable:
            yield Finding.error(
                connector.dn,
                f"anonymous relay is granted{everyone} but {'; '.join(connector.unreadable)}; review it by hand",
                evidence,
            )
            continue
        offending = _offending(snap, connector)
        if not offending:
            shown = ", ".join(r.text for r in connector.remote_ranges)
            yield Finding.passed(
                connector.dn, f"anonymous relay{everyone} only for {shown}: {verdict.reason}", evidence
            )
            continue
        wide = [r for r in offending if r.wider_than()]
        finding = Finding.failed(
            connector.dn,
            f"anonymous relay{everyone} for {', '.join(r.text for r in offending)}, beyond the POP3 hosts, "
            f"[[exchange_server]] addresses and relay_allowlist"
            + (" (wider than /16 or /48: as good as open)" if wide else "")
            + f": {verdict.reason}",
            evidence,
        )
        yield finding if wide else finding.graded(Severity.HIGH)


@check(
    "COEX-704",
    title="No receive connector that takes the POP3 hosts' mail trusts it as internal (ExternalAuthoritative)",
    severity=Severity.MEDIUM,
    principles=("P7", "P2"),
    remediation="Set-ReceiveConnector -AuthMechanism Tls -PermissionGroups AnonymousUsers, then Add-ADPermission the anonymous ms-Exch-SMTP-Accept-Any-Recipient right.",
)
def pop3_hosts_not_externally_secured(snap: Snapshot) -> Iterator[Finding]:
    """ExternalAuthoritative makes Exchange treat every session from the connector's ranges as
    internal, authenticated mail: a POP3 host's users could send as any Exchange user, and its mail
    skips anti-spam and size limits. Microsoft's anonymous-relay method is the sanctioned one."""
    connectors = _receive_connectors(snap)
    hosts = [(host, address) for host in snap.pop3_servers for address in host.addresses]
    if not hosts:
        raise SkipCheck("no POP3 server with a configured address")
    for connector in connectors:
        taking = [(host, a) for host, a in hosts if any(r.contains(a) for r in connector.remote_ranges)]
        evidence = [connector.ref, *dict.fromkeys(host.ref for host, _ in taking)]
        shown = ", ".join(f"{host.name} {a}" for host, a in taking)
        if not connector.enabled:
            yield Finding.passed(connector.dn, "disabled", evidence)
        elif not taking:
            yield Finding.passed(connector.dn, "its remote ranges hold no POP3 host address", evidence)
        elif connector.external_authoritative:
            yield Finding.failed(
                connector.dn,
                f"its remote ranges hold {shown} and it uses ExternalAuthoritative ({connector.auth_note}): "
                "their mail is trusted as internal",
                evidence,
            )
        else:
            yield Finding.passed(
                connector.dn, f"takes {shown} without ExternalAuthoritative ({connector.auth_note})", evidence
            )


# -- COEX-705: mail between Exchange and the POP3 / Linux hosts is encrypted both ways ------------
# One check, two halves that read only model concepts: the send connector half (Exchange -> host:
# RequireTLS, IgnoreSTARTTLS) and the host half (host -> Exchange: the TLS level of the hop to its
# smart host, and whether it logs in). Each half returns None when it has nothing to judge.


def send_connector_tls_findings(snap: Snapshot) -> list[Finding] | None:
    """Exchange -> POP3 host: every enabled send connector whose smart host designates a POP3 /
    Linux host has RequireTLS and not IgnoreSTARTTLS (medium otherwise); None without such a
    connector or without the Configuration partition."""
    if not snap.has_configuration or not snap.pop3_servers:
        return None
    found: list[Finding] = []
    for connector in sorted(snap.smtp_connectors, key=lambda c: c.dn.lower()):
        if not connector.modern or not connector.enabled:
            continue
        hosts = [h for h in (snap.pop3_server_for_host(s) for s in connector.smart_hosts) if h is not None]
        if not hosts:
            continue
        names = ", ".join(sorted({h.name for h in hosts}))
        evidence = [connector.ref, *dict.fromkeys(h.ref for h in hosts)]
        require, ignore = connector.require_tls, connector.ignore_starttls
        if require.is_unreadable or ignore.is_unreadable:
            found.append(Finding.error(connector.dn, require.note, evidence).graded(Severity.MEDIUM))
            continue
        problems = []
        if require.value is not True:
            problems.append(f"RequireTLS is off ({require.note}): mail to {names} may go in clear text")
        if ignore.value is True:
            problems.append(f"IgnoreSTARTTLS is on ({ignore.note}): TLS is never tried with {names}")
        if problems:
            found.append(Finding.failed(connector.dn, "; ".join(problems), evidence).graded(Severity.MEDIUM))
        else:
            found.append(
                Finding.passed(
                    connector.dn, f"to {names}: RequireTLS on, IgnoreSTARTTLS off ({require.note})", evidence
                )
            )
    return found or None


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


_TLS_PARTS = (send_connector_tls_findings, host_tls_findings)


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
