"""P6: an SMTP connector routes each POP3 domain to its POP3 server."""

from __future__ import annotations

from collections.abc import Iterator

from auditor.model import AcceptedDomainType, SmtpConnector, Snapshot, normalize_dn
from auditor.registry import Finding, Severity, SkipCheck, check
from auditor.routing import choose_connector, choose_send_connector

from ._support import require_configuration


@check(
    "COEX-601",
    title="The SMTP connector chosen for each POP3 domain delivers to its POP3 server",
    severity=Severity.HIGH,
    principles=("P6",),
    remediation="Create or fix an SMTP connector with the POP3 domain as its address space and the POP3 server as its smart host, with existing bridgeheads.",
)
def connector_routes_pop3_domain(snap: Snapshot) -> Iterator[Finding]:
    """P6: Exchange hands POP3 users' mail to the POP3 server through an SMTP connector. Without one
    (or with DNS routing, a smart host elsewhere, or a bridgehead that no longer exists) the mail goes
    to DNS, which may send it straight back to Exchange, or it queues. With a 2007+ transport server,
    2007+ send connector choice decides, and no match leaves the mail in the Unreachable queue."""
    require_configuration(snap)
    by_domain = snap.pop3_servers_by_domain
    if not by_domain:
        raise SkipCheck("no POP3 domain known: no POP3 server export holds domains it hosts")
    modern = snap.modern_routing
    for domain, servers in sorted(by_domain.items()):
        choice = choose_send_connector(snap, domain) if modern else choose_connector(snap, domain)
        hosting = snap.pop3_domain_refs(domain)
        if choice is None:
            if modern:
                message = f"no enabled send connector's address space matches {domain}: the Unreachable queue"
            else:
                message = f"no SMTP connector's address space matches {domain}"
            yield Finding.failed(domain, message, hosting)
            continue
        connector, pattern, cost = choice
        evidence = [*hosting, connector.ref]
        word = "send connector" if modern else "connector"
        via = f"{word} {connector.name!r} (address space {pattern}, cost {cost})"
        problems = []
        if pattern == "*":
            problems.append(f"only the catch-all {via} matches; it does not route {domain} to a POP3 server")
        elif connector.uses_dns:
            problems.append(f"{via} uses DNS routing: delivery to {', '.join(servers)} cannot be shown")
        else:
            targets = {h: snap.pop3_server_for_host(h) for h in connector.smart_hosts}
            wanted = {s.lower() for s in servers}
            if not any(t is not None and t.name.lower() in wanted for t in targets.values()):
                hosts = ", ".join(connector.smart_hosts)
                problems.append(f"{via} forwards to {hosts}, which designates none of {', '.join(servers)}")
        problems += _source_problems(snap, connector, via)
        evidence += [s.ref for d in connector.source_servers if (s := snap.server_by_dn(d)) is not None]
        if problems:
            yield Finding.failed(domain, "; ".join(problems), evidence)
        else:
            yield Finding.passed(domain, f"{via} forwards to {', '.join(connector.smart_hosts)}", evidence)


def _source_problems(snap: Snapshot, connector: SmtpConnector, via: str) -> list[str]:
    """Source bridgeheads (2003: SMTP virtual servers) or source transport servers (2007+: the
    server the `CN=1,CN=SMTP,CN=Protocols` DN names, existing, routing mail, not Edge)."""
    if not connector.modern:
        dangling = [b for b in connector.source_bridgeheads if normalize_dn(b) not in snap.virtual_server_dns]
        if dangling:
            return [f"{via} has source bridgeheads that are no SMTP virtual server: {'; '.join(dangling)}"]
        return []
    problems = []
    for dn in connector.source_servers:
        server = snap.server_by_dn(dn)
        if server is None:
            problems.append(f"{via} has a source transport server that does not exist: {dn}")
        elif server.edge or not server.transport:
            problems.append(f"{via} has source server {server.name}, which is not a transport server")
    return problems


def _designates_known_system(snap: Snapshot, connector: SmtpConnector) -> str | None:
    """The POP3 host one of the connector's smart hosts designates, by name, or None."""
    for host in connector.smart_hosts:
        found = snap.pop3_server_for_host(host)
        if found is not None:
            return found.name
    return None


@check(
    "COEX-602",
    title="Every relay accepted domain has its own send connector to the system that holds it",
    severity=Severity.HIGH,
    principles=("P3", "P6"),
    remediation="New-SendConnector -AddressSpaces <domain> -SmartHosts <POP3 host> -SourceTransportServers <server> for the relay domain.",
)
def relay_domains_have_send_connectors(snap: Snapshot) -> Iterator[Finding]:
    """An InternalRelay or ExternalRelay domain tells Exchange that some recipients of the domain
    live elsewhere. Unless a send connector more specific than `*` takes the domain to that other
    system, unknown recipients follow the Internet connector (by MX, often straight back to
    Exchange: a loop) or wait in the Unreachable queue."""
    require_configuration(snap)
    if not snap.accepted_domains:
        return  # the Configuration partition was read and holds no accepted domain: nothing to judge
    for accepted in sorted(snap.accepted_domains, key=lambda a: (a.base, a.dn.lower())):
        evidence = [accepted.ref]
        if accepted.type is AcceptedDomainType.UNDEFINED:
            yield Finding.error(
                accepted.base, f"{accepted.describe()}: {accepted.type_note}; review by hand", evidence
            )
            continue
        if accepted.type is AcceptedDomainType.AUTHORITATIVE:
            continue
        relay = "InternalRelay" if accepted.type is AcceptedDomainType.INTERNAL_RELAY else "ExternalRelay"
        choice = choose_send_connector(snap, accepted.base)
        if choice is None:
            yield Finding.failed(
                accepted.base,
                f"{relay}: no enabled send connector matches {accepted.base}: unknown recipients wait in the Unreachable queue",
                evidence,
            )
            continue
        connector, pattern, cost = choice
        evidence.append(connector.ref)
        via = f"send connector {connector.name!r} (address space {pattern}, cost {cost})"
        if pattern == "*":
            yield Finding.failed(
                accepted.base,
                f"{relay}: only the catch-all {via} matches; unknown recipients leave by it, not to the system that holds them",
                evidence,
            )
        elif connector.uses_dns:
            yield Finding.failed(
                accepted.base,
                f"{relay}: {via} uses DNS (MX) routing, which may lead back to Exchange",
                evidence,
            )
        elif accepted.type is AcceptedDomainType.EXTERNAL_RELAY:
            hosts = ", ".join(connector.smart_hosts)
            yield Finding.passed(accepted.base, f"{relay}: {via} forwards to {hosts}", evidence)
        else:
            system = _designates_known_system(snap, connector)
            hosts = ", ".join(connector.smart_hosts)
            if system is None:
                yield Finding.failed(
                    accepted.base,
                    f"{relay}: {via} forwards to {hosts}, which designates no known POP3 host",
                    evidence,
                )
            else:
                host = snap.pop3_server(system)
                yield Finding.passed(
                    accepted.base,
                    f"{relay}: {via} forwards to {hosts} = {system}",
                    [*evidence, *([host.ref] if host else [])],
                )
