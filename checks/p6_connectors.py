"""P6: an SMTP connector routes each POP3 domain to its POP3 server."""

from __future__ import annotations

from collections.abc import Iterator

from auditor.model import Snapshot, normalize_dn
from auditor.registry import Finding, Severity, SkipCheck, check
from auditor.routing import choose_connector

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
    to DNS, which may send it straight back to Exchange, or it queues."""
    require_configuration(snap)
    by_domain = snap.pop3_servers_by_domain
    if not by_domain:
        raise SkipCheck("no POP3 domain known: no POP3 server export holds domains it hosts")
    for domain, servers in sorted(by_domain.items()):
        choice = choose_connector(snap, domain)
        hosting = snap.pop3_domain_refs(domain)
        if choice is None:
            yield Finding.failed(domain, f"no SMTP connector's address space matches {domain}", hosting)
            continue
        connector, pattern, cost = choice
        evidence = [*hosting, connector.ref]
        via = f"connector {connector.name!r} (address space {pattern}, cost {cost})"
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
        dangling = [b for b in connector.source_bridgeheads if normalize_dn(b) not in snap.virtual_server_dns]
        if dangling:
            problems.append(
                f"{via} has source bridgeheads that are no SMTP virtual server: {'; '.join(dangling)}"
            )
        if problems:
            yield Finding.failed(domain, "; ".join(problems), evidence)
        else:
            yield Finding.passed(domain, f"{via} forwards to {', '.join(connector.smart_hosts)}", evidence)
