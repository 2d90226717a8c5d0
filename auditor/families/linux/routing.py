"""The Linux host in the routing model (COEX-303, `auditor trace`): `route_address` as host decisions.

`LinuxRouting` is the `HostRouting` of a Linux host: for one address it answers what Postfix does
(research modern-model.md §3.5: `virtual_alias_maps`, the address class, `transport_maps`,
`relayhost`, MX) as a `HostDecision`: a stop (delivered on the host, bounced, discarded, or
`error` when a step needs a map whose content was not exported) or a next host.

A virtual alias that expands to several recipients becomes one path, as a trace follows one
message: the first branch that leaves the host (else the first that stops), the others named in
the rule; a branch in error makes the whole decision `error`, since the path cannot be told.

Decisions are remembered per domain where the local part cannot change them (COEX-303 probes every
Exchange mailbox's address at every Linux host): a domain outside `mydestination` for which no
exported table of `virtual_alias_maps`, `transport_maps`, `virtual_mailbox_maps` or
`relay_recipient_maps` has a `user@domain` key. `route_address` then reads only domain-level keys
(`@domain`, `domain`, `.parent`, `*`), so every address of the domain takes the same path.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from auditor.families.linux.host import LinuxHost
from auditor.families.linux.params import is_unknown, split_list
from auditor.families.linux.route import RouteOutcome, route_address
from auditor.model import HostDecision, ObjectRef, Pop3Host

__all__ = ["DELIVERED", "DISCARDED", "ERROR", "NDR", "LinuxRouting", "decision_of"]

# The outcomes of `auditor.routing` (a family does not import the routing model itself).
DELIVERED, NDR, ERROR, DISCARDED = "delivered", "ndr", "error", "discarded"


def _text(outcome: RouteOutcome) -> str:
    """The steps met and the deciding rule, each once, in order."""
    return "; ".join(dict.fromkeys([*outcome.steps, outcome.rule]))


def _leaves(outcome: RouteOutcome) -> list[RouteOutcome]:
    """The end points of an outcome (the branches of an expansion, recursively)."""
    if outcome.kind != "expanded":
        return [outcome]
    return [leaf for branch in outcome.branches for leaf in _leaves(branch)]


def decision_of(outcome: RouteOutcome, refs: tuple[ObjectRef, ...] = ()) -> HostDecision:
    """The host decision for one `route_address` outcome."""
    if outcome.kind == "expanded":
        leaves = _leaves(outcome)
        errors = [leaf for leaf in leaves if leaf.kind == "error"]
        chosen = errors or [leaf for leaf in leaves if leaf.kind == "nexthop"] or leaves
        first = chosen[0]
        others = [leaf.address for leaf in leaves if leaf is not first]
        decision = decision_of(first, refs)
        if not others:
            return decision
        note = f" (the alias also expands to {', '.join(others)}, not followed here)"
        return HostDecision(
            decision.rule + note,
            outcome=decision.outcome,
            next_host=decision.next_host,
            address=decision.address,
            unknown_rule=decision.unknown_rule + note if decision.unknown_rule else None,
            refs=refs,
        )
    text = _text(outcome)
    address = outcome.address
    if outcome.kind == "delivered":
        return HostDecision(f"{text}: delivered on this host", DELIVERED, address=address, refs=refs)
    if outcome.kind == "bounce":
        return HostDecision(f"{text}: bounced (non-delivery report)", NDR, address=address, refs=refs)
    if outcome.kind == "discard":
        return HostDecision(f"{text}: discarded", DISCARDED, address=address, refs=refs)
    if outcome.kind == "nexthop" and outcome.nexthop is not None:
        hop = outcome.nexthop
        target = hop.host if hop.mx_lookup else f"[{hop.host}]"
        how = "MX lookup of " if hop.mx_lookup else ""
        rule = f"{text}: sent to {how}{hop.text}"
        return HostDecision(
            rule,
            next_host=target,
            address=address,
            unknown_rule=f"{rule}, which is no known system: sent out",
            refs=refs,
        )
    return HostDecision(f"{text}: cannot be followed (review by hand)", ERROR, address=address, refs=refs)


class LinuxRouting:
    """What a Linux host does with a message, from its parsed configuration.

    `map_refs` are the stored `postfix_map` records by table reference: a decision cites those
    its rule names, so a trace's evidence holds the tables it went through.
    """

    def __init__(self, host: LinuxHost, map_refs: Mapping[str, ObjectRef]) -> None:
        self.host = host
        self.map_refs = dict(map_refs)
        self._per_user = _domains_with_user_keys(host)
        self._by_domain: dict[str, HostDecision] = {}

    def decide(self, host: Pop3Host, address: str) -> HostDecision:
        domain = address.rpartition("@")[2].strip().rstrip(".").lower()
        cacheable = "@" in address and self._per_user is not None and domain not in self._per_user
        if cacheable and domain in self._by_domain:
            return replace(self._by_domain[domain], address=address.strip())
        outcome = route_address(self.host, address)
        texts = " ".join(_text(leaf) for leaf in _leaves(outcome))
        refs = tuple(ref for reference, ref in sorted(self.map_refs.items()) if reference in texts)
        decision = decision_of(outcome, refs)
        if cacheable and outcome.kind != "expanded" and outcome.address == address.strip():
            self._by_domain[domain] = decision
        return decision


_PER_ADDRESS_TABLES = ("virtual_alias_maps", "transport_maps", "virtual_mailbox_maps", "relay_recipient_maps")


def _domains_with_user_keys(host: LinuxHost) -> frozenset[str] | None:
    """Domains whose route may depend on the local part (None: every domain's may, or no Postfix).

    The local class (`mydestination`, validated by bare local names) always counts; so does a
    domain named by a `user@domain` key of a table that decides the route.
    """
    if host.postfix is None:
        return None
    main = host.postfix.main
    tables = host.postfix.tables
    destination = tables.domains(main.get("mydestination"))
    if destination.unknown or any(is_unknown(d) for d in destination.domains):
        return None
    found = set(destination.domains)
    for setting in _PER_ADDRESS_TABLES:
        for reference in split_list(main.get(setting)):
            entries, _ = tables.entries(reference)
            if entries is None:
                continue  # content unknown: the lookup answers "unknown" whatever the local part
            for key in entries:
                local, at, domain = key.rpartition("@")
                if at and local:
                    found.add(domain.rstrip(".").lower())
    return frozenset(found)
