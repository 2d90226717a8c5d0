"""Where does a message go? A small model of SMTP routing between Exchange and the POP3 servers.

The source document's central warning (P3) is a mail loop: Exchange and a POP3 server that both
think the other one holds a domain pass an unknown recipient back and forth. Reading connectors,
smart hosts and policies one by one does not show that; following a message does. This module
follows it, system by system, exactly as checks.md "Routing simulation (COEX-303)" describes:

    Exchange    proxy address of a recipient -> mailbox: delivered; mail-enabled user or contact:
                redirected to its targetAddress (resolved again only inside A_ex; back to the same
                recipient = categorizer loop, NDR 5.4.6); unknown in A_ex -> NDR; else the chosen
                connector's smart host -> the system it designates (DNS / unknown host: outside)
    POP3 S      domain in D_pop(S) -> delivered if a mailbox, else NDR; else S's SmartHost (or the
                host family's own rules, `Pop3Host.routing`: a Linux host follows Postfix's address
                classes, virtual aliases, transport_maps and relayhost; a step it cannot follow
                from the export ends the trace in `error`)
    outside     DNS / the Internet: the simulation stops there

Entering a system a second time with the same address is a loop. Bridgeheads, `Local:` scope,
`SmartHostType` 1 (DNS first) and MX records are not modelled.

As soon as the organization has an Exchange 2007+ transport server, 2007+ rules decide for the
whole organization (checks.md "Routing"): the accepted domain covering the recipient's domain
decides (Authoritative: recipient lookup, unknown -> NDR; InternalRelay: recipient lookup, unknown
-> send connector; ExternalRelay or not accepted: send connector); the send connector is chosen
among the enabled ones (exact address space, then the longest `*.parent`, which also matches
`parent`, then `*`; then cost; then name) and no match is the Unreachable queue: neither
delivered nor outside. A domain authoritative only in a 2003 recipient policy keeps that standing
(one snapshot can hold both models).

    trace(snap, "bob@contoso.com").path()      -> "EX01 → POP01"
    print(trace(snap, "x@contoso.com", start="POP01").render())
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

from auditor.errors import AuditorError
from auditor.model import (
    AcceptedDomainType,
    HostDecision,
    ObjectRef,
    Pop3Host,
    Recipient,
    SmtpConnector,
    Snapshot,
    normalize_domain,
)

__all__ = [
    "DELIVERED",
    "DISCARDED",
    "ERROR",
    "EXCHANGE",
    "LOOP",
    "NDR",
    "OUTSIDE",
    "Hop",
    "Router",
    "Trace",
    "UnknownSystemError",
    "choose_connector",
    "choose_send_connector",
    "systems",
    "trace",
]

EXCHANGE = "exchange"
OUTSIDE = "outside"
DELIVERED, NDR, LOOP, LEFT = "delivered", "ndr", "loop", "outside"
UNREACHABLE = "unreachable"  # 2007+: no send connector matches; the message waits in that queue
# A step that cannot be judged (an undefined domain type, a map that was not exported, ...).
ERROR = "error"
DISCARDED = "discarded"  # a host that drops the message silently
_MAX_HOPS = 64


class UnknownSystemError(AuditorError):
    """`trace --from` named a system the snapshot does not know."""


@dataclass(frozen=True)
class Hop:
    """One decision: the message, addressed to `address`, is in `system`; `rule` says what happened;
    `refs` are the stored objects that decision read (the evidence of a verdict built on the trace)."""

    system: str
    address: str
    rule: str
    refs: tuple[ObjectRef, ...] = ()


@dataclass(frozen=True)
class Trace:
    address: str
    start: str
    hops: tuple[Hop, ...]
    outcome: str  # "delivered" | "ndr" | "loop" | "outside" | "unreachable" | "discarded" | "error"

    def path(self) -> str:
        """The systems visited, e.g. `EX01 → POP01 → EX01` (a redirect inside one system counts once)."""
        names: list[str] = []
        for hop in self.hops:
            if not names or names[-1] != hop.system:
                names.append(hop.system)
        if self.outcome == LOOP and len(names) == 1 and len(self.hops) > 1:
            names.append(self.hops[-1].system)
        return " → ".join(names)

    @property
    def final(self) -> Hop:
        return self.hops[-1]

    @property
    def evidence(self) -> tuple[ObjectRef, ...]:
        """Every object the simulated message touched, in order, each once."""
        return tuple(dict.fromkeys(ref for hop in self.hops for ref in hop.refs))

    def render(self) -> str:
        """Hop by hop, for the terminal."""
        width = max(len(h.system) for h in self.hops)
        lines = [f"{self.address} entering at {self.start}: {self.outcome}"]
        for number, hop in enumerate(self.hops, start=1):
            lines.append(f"  {number}. {hop.system.ljust(width)}  {hop.address}")
            lines.append(f"     {' ' * width}  {hop.rule}")
        lines.append(f"path: {self.path()}")
        return "\n".join(lines)


def _specificity(connector: SmtpConnector, domain: str) -> tuple[int, int, str] | None:
    """Best (kind, length, pattern) among the connector's SMTP address spaces matching `domain`."""
    best: tuple[int, int, str] | None = None
    for space in connector.address_spaces:
        if space.is_smtp and space.matches(domain):
            kind, length = space.specificity(domain)
            if best is None or (kind, length) > best[:2]:
                best = (kind, length, space.pattern)
    return best


def choose_connector(snap: Snapshot, domain: str) -> tuple[SmtpConnector, str, int] | None:
    """The connector Exchange 2003 routing picks for `domain`, with the pattern and cost that won.

    Most specific address space first (exact, then the longest `*.parent`, then `*`), then the
    lowest cost, then the connector DN in case-insensitive order.
    """
    domain = normalize_domain(domain)
    candidates: list[tuple[tuple[int, int], int, str, SmtpConnector, str]] = []
    for connector in snap.smtp_connectors:
        found = _specificity(connector, domain)
        if found is None:
            continue
        kind, length, pattern = found
        cost = min(
            s.cost
            for s in connector.address_spaces
            if s.is_smtp and s.matches(domain) and s.pattern == pattern
        )
        candidates.append(((-kind, -length), cost, connector.dn.lower(), connector, pattern))
    if not candidates:
        return None
    candidates.sort(key=lambda c: (c[0], c[1], c[2]))
    _, cost, _, connector, pattern = candidates[0]
    return connector, pattern, cost


def _modern_rank(connector: SmtpConnector, domain: str) -> tuple[int, int, str, int] | None:
    """(kind, length, pattern, cost) of the connector's best 2007+ match for `domain`, or None."""
    best: tuple[int, int, str, int] | None = None
    for space in connector.address_spaces:
        if not space.is_smtp or not space.matches_modern(domain):
            continue
        pattern = space.pattern
        if pattern == "*":
            rank = (0, 0)
        elif pattern.startswith("*."):
            rank = (1, len(pattern))
        else:
            rank = (2, len(pattern))
        if best is None or rank > best[:2] or (rank == best[:2] and space.cost < best[3]):
            best = (*rank, pattern, space.cost)
    return best


def choose_send_connector(snap: Snapshot, domain: str) -> tuple[SmtpConnector, str, int] | None:
    """The connector Exchange 2007+ routing picks for `domain` (checks.md "Send connector choice").

    Disabled connectors are dropped; the most specific address space wins (exact, then the
    longest `*.parent`, which also matches `parent`, then `*`); then the lowest cost; then the
    connector's name, case-insensitively. None: the Unreachable queue.
    """
    domain = normalize_domain(domain)
    candidates: list[tuple[tuple[int, int], int, str, str, SmtpConnector, str]] = []
    for connector in snap.smtp_connectors:
        if not connector.enabled:
            continue
        found = _modern_rank(connector, domain)
        if found is None:
            continue
        kind, length, pattern, cost = found
        candidates.append(
            ((-kind, -length), cost, connector.name.lower(), connector.dn.lower(), connector, pattern)
        )
    if not candidates:
        return None
    candidates.sort(key=lambda c: c[:4])
    _, cost, _, _, connector, pattern = candidates[0]
    return connector, pattern, cost


def _split(address: str) -> tuple[str, str]:
    local, _, domain = address.strip().rpartition("@")
    return local, normalize_domain(domain)


class Router:
    """The routing model over one snapshot; caches connector choices and host designations."""

    def __init__(self, snap: Snapshot) -> None:
        self.snap = snap
        self._connectors: dict[str, tuple[SmtpConnector, str, int] | None] = {}
        self._hosts: dict[str, str | None] = {}

    @cached_property
    def exchange_label(self) -> str:
        """The Exchange system's name: its server when there is one, else the organization."""
        if len(self.snap.exchange_servers) == 1:
            return self.snap.exchange_servers[0].name
        return self.snap.exchange_organization_name or "Exchange"

    def systems(self) -> list[str]:
        return [self.exchange_label, *(s.name for s in self.snap.pop3_servers), OUTSIDE]

    def resolve_start(self, start: str) -> str:
        wanted = start.strip().lower()
        if wanted in {EXCHANGE, self.exchange_label.lower()}:
            return self.exchange_label
        server = self.snap.pop3_server(start.strip())
        if server is None:
            known = ", ".join([EXCHANGE, *(s.name for s in self.snap.pop3_servers)])
            raise UnknownSystemError(f"unknown system {start!r} to start a trace from (known: {known})")
        return server.name

    @cached_property
    def modern(self) -> bool:
        """2007+ routing decides for the whole organization (a 2007+ transport server exists)."""
        return self.snap.modern_routing

    def connector_for(self, domain: str) -> tuple[SmtpConnector, str, int] | None:
        if domain not in self._connectors:
            choose = choose_send_connector if self.modern else choose_connector
            self._connectors[domain] = choose(self.snap, domain)
        return self._connectors[domain]

    def system_for_host(self, host: str) -> str | None:
        """The system a smart host designates, or None when it designates none we know."""
        key = host.lower()
        if key not in self._hosts:
            exchange = self.snap.exchange_server_for_host(host)
            pop3 = None if exchange else self.snap.pop3_server_for_host(host)
            self._hosts[key] = self.exchange_label if exchange else (pop3.name if pop3 else None)
        return self._hosts[key]

    # -- one system ---------------------------------------------------------------------------

    def _exchange(self, address: str) -> tuple[list[Hop], str | None, str, str | None]:
        """Hops inside Exchange; then (next system or None, address, outcome when stopped)."""
        if self.modern:
            return self._exchange_modern(address)
        here = self.exchange_label
        hops: list[Hop] = []
        seen: set[str] = set()
        current = address
        while True:
            _, domain = _split(current)
            found = self.snap.recipients_by_proxy_address.get(current.lower(), [])
            if len(found) > 1:
                names = "; ".join(r.dn for r in found)
                rule = f"{current} is claimed by {len(found)} objects ({names}): NDR"
                hops.append(Hop(here, current, rule, tuple(r.ref for r in found)))
                return hops, None, current, NDR
            if found:
                recipient = found[0]
                step = self._recipient(recipient, current, seen)
                hops.append(Hop(here, current, step[0], (recipient.ref,)))
                outcome, target = step[1], step[2]
                if outcome is not None:
                    return hops, None, current, outcome
                assert target is not None
                seen.add(recipient.key)
                current = target
                _, domain = _split(current)
                if self.snap.is_authoritative(domain):
                    if len(hops) > _MAX_HOPS:
                        return hops, None, current, LOOP
                    continue  # resolved again as a recipient of this organization
                routed = self._route_exchange_domain(current, domain)
                hops.append(Hop(here, current, routed[0], routed[3]))
                return hops, routed[1], current, routed[2]
            if self.snap.is_authoritative(domain):
                rule = f"{domain} is authoritative in Exchange and no recipient has {current}: NDR 5.1.1"
                hops.append(Hop(here, current, rule, tuple(self.snap.domain_refs(domain))))
                return hops, None, current, NDR
            routed = self._route_exchange_domain(current, domain)
            hops.append(Hop(here, current, routed[0], routed[3]))
            return hops, routed[1], current, routed[2]

    def _domain_standing(self, domain: str) -> tuple[AcceptedDomainType | None, str, tuple[ObjectRef, ...]]:
        """2007+: the type that decides for `domain`, the rule text, and the objects read."""
        accepted = self.snap.accepted_domain_for(domain)
        if accepted is not None:
            return accepted.type, f"{domain} is covered by {accepted.describe()}", (accepted.ref,)
        if self.snap.is_authoritative(domain):  # a 2003 recipient policy's standing (mixed forest)
            refs = tuple(self.snap.domain_refs(domain))
            return AcceptedDomainType.AUTHORITATIVE, f"{domain} is authoritative in a recipient policy", refs
        return None, f"{domain} is not an accepted domain", ()

    def _exchange_modern(self, address: str) -> tuple[list[Hop], str | None, str, str | None]:
        """2007+ categorizer and routing: the accepted domain decides, then the send connector."""
        here = self.exchange_label
        hops: list[Hop] = []
        seen: set[str] = set()
        current = address
        while len(hops) <= _MAX_HOPS:
            _, domain = _split(current)
            standing, decided, refs = self._domain_standing(domain)
            if standing is AcceptedDomainType.UNDEFINED:
                rule = f"{decided}, whose type is undefined: cannot tell what Exchange does; review by hand"
                hops.append(Hop(here, current, rule, refs))
                return hops, None, current, ERROR
            lookup = standing in (AcceptedDomainType.AUTHORITATIVE, AcceptedDomainType.INTERNAL_RELAY)
            step = "recipient lookup" if lookup else "routed by send connector"
            hops.append(Hop(here, current, f"{decided}: {step}", refs))
            if lookup:
                found = self.snap.recipients_by_proxy_address.get(current.lower(), [])
                if len(found) > 1:
                    names = "; ".join(r.dn for r in found)
                    rule = f"{current} is claimed by {len(found)} objects ({names}): NDR"
                    hops.append(Hop(here, current, rule, tuple(r.ref for r in found)))
                    return hops, None, current, NDR
                if found:
                    recipient = found[0]
                    if recipient.key in seen and standing is AcceptedDomainType.INTERNAL_RELAY:
                        rule = (
                            f"{current} resolves back to {recipient.kind_label} {recipient.dn} in an "
                            "InternalRelay domain: Exchange's behaviour is not documented; review by hand"
                        )
                        hops.append(Hop(here, current, rule, (recipient.ref,)))
                        return hops, None, current, ERROR
                    rule, outcome, target = self._recipient(
                        recipient, current, seen, self.snap.is_accepted_for_recipients
                    )
                    hops.append(Hop(here, current, rule, (recipient.ref,)))
                    if outcome is not None:
                        return hops, None, current, outcome
                    assert target is not None
                    seen.add(recipient.key)
                    current = target
                    continue
                if standing is AcceptedDomainType.AUTHORITATIVE:
                    rule = f"no recipient has {current} in Authoritative {domain}: NDR 5.1.1"
                    hops.append(Hop(here, current, rule))
                    return hops, None, current, NDR
            routed = self._route_exchange_domain(current, domain)
            prefix = (
                f"no recipient has {current} in InternalRelay {domain}; "
                if standing is AcceptedDomainType.INTERNAL_RELAY
                else ""
            )
            hops.append(Hop(here, current, prefix + routed[0], routed[3]))
            return hops, routed[1], current, routed[2]
        return hops, None, current, LOOP

    def _recipient(
        self,
        recipient: Recipient,
        address: str,
        seen: set[str],
        resolves_again: Callable[[str], bool] | None = None,
    ) -> tuple[str, str | None, str | None]:
        """(rule, outcome when stopped, targetAddress to follow)."""
        again = resolves_again or self.snap.is_authoritative
        kind = recipient.kind_label
        if recipient.key in seen:
            rule = (
                f"{address} resolves back to {kind} {recipient.dn}, already redirected: "
                "categorizer forwarding loop (NDR 5.4.6)"
            )
            return rule, LOOP, None
        if recipient.is_mailbox_enabled or (recipient.is_user and recipient.is_mailbox):
            return f"{address} is a proxy address of mailbox user {recipient.dn}: delivered", DELIVERED, None
        if recipient.is_group:
            return (
                f"{address} is a proxy address of {kind} {recipient.dn}: delivered by expansion",
                DELIVERED,
                None,
            )
        if recipient.is_public_folder:
            return f"{address} is a proxy address of public folder {recipient.dn}: delivered", DELIVERED, None
        target = recipient.target_address
        if target is None or not target.is_smtp or "@" not in target.address:
            shown = str(target) if target else "none"
            rule = f"{address} belongs to {kind} {recipient.dn}, which has no mailbox and targetAddress {shown}: NDR"
            return rule, NDR, None
        rule = f"{address} is a proxy address of mail-enabled {kind} {recipient.dn}: redirected to {target.address}"
        if again(target.domain):
            rule += f" ({target.domain} is accepted for Exchange's recipients: resolved again)"
        return rule, None, target.address

    def _route_exchange_domain(
        self, address: str, domain: str
    ) -> tuple[str, str | None, str | None, tuple[ObjectRef, ...]]:
        """(rule, next system, outcome when stopped, objects read) for an address routed by its domain."""
        choice = self.connector_for(domain)
        if choice is None:
            if self.modern:
                rule = f"no enabled send connector matches {domain}: the Unreachable queue (not delivered)"
                return rule, None, UNREACHABLE, ()
            return f"no SMTP connector matches {domain}: sent out by DNS", OUTSIDE, LEFT, ()
        connector, pattern, cost = choice
        refs = (connector.ref,)
        word = "send connector" if self.modern else "connector"
        via = f"{word} {connector.name!r} (address space {pattern}, cost {cost})"
        if connector.uses_dns:
            return f"{via} uses DNS routing: sent out by DNS", OUTSIDE, LEFT, refs
        host = connector.smart_hosts[0]
        system = self.system_for_host(host)
        if system is None:
            return f"{via} forwards to smart host {host}, which is no known system", OUTSIDE, LEFT, refs
        return f"{via} forwards to smart host {host} = {system}", system, None, refs

    def _pop3(self, name: str, address: str) -> tuple[Hop, str | None, str | None]:
        """One POP3 host's decision (its family's own rules when it has them), as a hop."""
        host = self.snap.pop3_server(name)
        if host is not None and host.routing is not None:
            decision = host.routing.decide(host, address)
        else:
            decision = self._local_then_smart_host(name, host, address)
        current = decision.address or address
        refs = ((host.ref,) if host is not None else ()) + decision.refs
        if decision.outcome is not None:
            next_system = OUTSIDE if decision.outcome == LEFT else None
            return Hop(name, current, decision.rule, refs), next_system, decision.outcome
        assert decision.next_host is not None
        system = self.system_for_host(decision.next_host)
        if system is None:
            rule = decision.unknown_rule or f"{decision.rule}; {decision.next_host} is no known system"
            return Hop(name, current, rule, refs), OUTSIDE, LEFT
        return Hop(name, current, f"{decision.rule} = {system}", refs), system, None

    def _local_then_smart_host(self, name: str, host: Pop3Host | None, address: str) -> HostDecision:
        """The default host rules: a local domain delivers (or bounces); anything else goes to the
        smart host of the host's outgoing SMTP service, or to DNS without one."""
        local, domain = _split(address)
        if domain in self.snap.pop3_domains_of(name):
            if address.lower() in self.snap.pop3_mailbox_addresses.get(name.lower(), frozenset()):
                return HostDecision(
                    f"{domain} is a POP3 domain here and {local} a mailbox: delivered", DELIVERED
                )
            return HostDecision(f"{domain} is a POP3 domain here but {local} is no mailbox: NDR", NDR)
        outbound = host.outbound if host is not None else None
        smart_host = outbound.smart_host.value if outbound is not None else None
        if not smart_host:
            return HostDecision(f"{domain} is not local and no smart host is set: sent out by DNS", LEFT)
        return HostDecision(
            f"{domain} is not local: forwarded to smart host {smart_host}", next_host=smart_host
        )

    # -- the whole path -------------------------------------------------------------------------

    def trace(self, address: str, start: str = EXCHANGE) -> Trace:
        first = self.resolve_start(start)
        hops: list[Hop] = []
        visited: set[tuple[str, str]] = set()
        system: str | None = first
        current = address.strip()
        while system is not None:
            if system == OUTSIDE:
                hops.append(Hop(OUTSIDE, current, "left the organization (DNS / the Internet)"))
                return Trace(address, first, tuple(hops), LEFT)
            key = (system.lower(), current.lower())
            if key in visited or len(hops) > _MAX_HOPS:
                hops.append(
                    Hop(system, current, f"{system} is entered a second time with {current}: mail loop")
                )
                return Trace(address, first, tuple(hops), LOOP)
            visited.add(key)
            outcome: str | None
            if system == self.exchange_label:
                inside, system, current, outcome = self._exchange(current)
                hops.extend(inside)
                for hop in inside[1:]:
                    visited.add((hop.system.lower(), hop.address.lower()))
            else:
                hop, system, outcome = self._pop3(system, current)
                hops.append(hop)
                current = hop.address  # a host may rewrite the recipient (a virtual alias)
            if outcome is not None and outcome != LEFT:
                return Trace(address, first, tuple(hops), outcome)
        return Trace(address, first, tuple(hops), LEFT)  # pragma: no cover - loop always returns


def systems(snap: Snapshot) -> list[str]:
    """The systems a trace can visit: Exchange, each POP3 server, and `outside`."""
    return Router(snap).systems()


def trace(snap: Snapshot, address: str, start: str = EXCHANGE) -> Trace:
    """Follow a message to `address` entering at `start` (`exchange` or a POP3 server's name)."""
    return Router(snap).trace(address, start)
