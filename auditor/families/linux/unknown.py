"""What a Linux host does with mail for a recipient it does not know, per domain (COEX-305).

A host that shares a domain with Exchange must be terminal for it: an unknown recipient of that
domain is refused, never passed on (and above all never back to Exchange, which would send it
here again). Postfix passes such mail on through four settings (ADDRESS_CLASS_README,
transport(5), virtual(5)):

- a `virtual_alias_maps` catch-all `@domain` (every address of the domain is rewritten);
- `luser_relay` (unknown users of the local class, `mydestination`, when `local_recipient_maps` is
  empty: otherwise smtpd refuses them first, postconf(5) `luser_relay`);
- a `relay_domains` entry without `relay_recipient_maps` (every recipient is accepted and relayed);
- a `transport_maps` entry for the domain, a `.parent` of it or `*` with a next hop of its own
  (every message of the domain goes there, known recipients too).

Each rule says where that mail goes (a next hop, or a mailbox on the host), or why it cannot be
told (a map whose content was not exported): never a guess.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from auditor.families.linux.host import LinuxHost
from auditor.families.linux.params import is_unknown, split_list
from auditor.families.linux.route import RouteOutcome, route_address
from auditor.families.linux.smtp_client import NextHop, parse_nexthop, split_transport

__all__ = ["UNKNOWN_LOCAL_PART", "UnknownRule", "unknown_recipient_rules"]

UNKNOWN_LOCAL_PART = "no-such-recipient.auditor"
_LOCAL_TRANSPORTS = frozenset({"local", "virtual", "error", "discard", "retry", "pipe"})
# luser_relay may name the recipient ($user, $local, ${extension}...): any of it stands for the probe.
_LUSER_EXPANSION = re.compile(r"\$(\{[^}]*\}|\([^)]*\)|[A-Za-z_]+)")


@dataclass(frozen=True, slots=True)
class UnknownRule:
    """One rule: `nexthop` where the mail goes, `delivered` when it stays on the host, else `undecided`."""

    rule: str
    nexthop: NextHop | None = None
    delivered: bool = False
    undecided: str | None = None
    tables: tuple[str, ...] = ()


def _fate(rule: str, outcome: RouteOutcome, tables: tuple[str, ...]) -> UnknownRule | None:
    """The rule, with where `outcome` (the route of the rewritten address) takes the mail."""
    if outcome.kind == "expanded":
        return _first_forward([_fate(rule, branch, tables) for branch in outcome.branches])
    if outcome.kind == "nexthop" and outcome.nexthop is not None:
        return UnknownRule(f"{rule}, then {outcome.rule}", nexthop=outcome.nexthop, tables=tables)
    if outcome.kind == "delivered":
        return UnknownRule(f"{rule}, delivered on the host ({outcome.rule})", delivered=True, tables=tables)
    if outcome.kind == "error":
        return UnknownRule(rule, undecided=f"where it goes cannot be told: {outcome.rule}", tables=tables)
    return None  # bounced or discarded: nothing is passed on


def _first_forward(fates: list[UnknownRule | None]) -> UnknownRule | None:
    """Of several addresses' fates, the first that leaves the host or cannot be told, else the first."""
    found = [f for f in fates if f is not None]
    forwarded = [f for f in found if f.nexthop is not None or f.undecided]
    chosen = forwarded or found
    return chosen[0] if chosen else None


def _domain_keys(host: LinuxHost, domain: str) -> list[str]:
    """transport(5) lookup keys of a domain: the domain, `.parent` entries, then `*`."""
    assert host.postfix is not None
    parts = domain.split(".")
    keys = [domain]
    keys += ["." + ".".join(parts[i:]) for i in range(1, len(parts))]
    if "transport_maps" in host.postfix.main.get("parent_domain_matches_subdomains"):
        keys += [".".join(parts[i:]) for i in range(1, len(parts))]
    return [*keys, "*"]


def _transport_rule(host: LinuxHost, domain: str) -> UnknownRule | None:
    assert host.postfix is not None
    maps = host.postfix.main.get("transport_maps")
    if not maps.strip():
        return None
    found = host.postfix.tables.lookup(maps, _domain_keys(host, domain))
    tables = tuple(split_list(maps))
    if found.unknown:
        return UnknownRule("transport_maps", undecided=found.unknown, tables=tables)
    if found.value is None:
        return None
    transport, nexthop = split_transport(found.value)
    if not nexthop or transport in _LOCAL_TRANSPORTS or nexthop.startswith("unix:"):
        return None
    rule = f"transport_maps ({found.table}) sends {domain} to {found.value}"
    return UnknownRule(rule, nexthop=parse_nexthop(nexthop.removeprefix("inet:")), tables=tables)


def _catch_all(host: LinuxHost, domain: str) -> UnknownRule | None:
    assert host.postfix is not None
    maps = host.postfix.main.get("virtual_alias_maps")
    if not maps.strip():
        return None
    tables = tuple(split_list(maps))
    found = host.postfix.tables.lookup(maps, [f"@{domain}"])
    if found.unknown:
        return UnknownRule("virtual_alias_maps", undecided=found.unknown, tables=tables)
    if found.value is None:
        return None
    rule = f"virtual_alias_maps ({found.table}) catch-all @{domain} -> {found.value}"
    targets = [t for t in split_list(found.value) if t]
    return _first_forward([_fate(rule, route_address(host, target), tables) for target in targets])


def _in_local_class(host: LinuxHost, domain: str) -> bool | None:
    assert host.postfix is not None
    listed = host.postfix.tables.domains(host.postfix.main.get("mydestination"))
    if domain in listed.domains:
        return True
    return None if listed.unknown or any(is_unknown(d) for d in listed.domains) else False


def _luser_relay(host: LinuxHost, domain: str) -> UnknownRule | None:
    assert host.postfix is not None
    luser = host.postfix.main.get("luser_relay").strip()
    if not luser:
        return None
    main = host.postfix.main
    if main.get("local_recipient_maps").strip() and main.flag("smtpd_reject_unlisted_recipient"):
        return None  # unknown local users are refused at RCPT time: luser_relay never sees them
    local = _in_local_class(host, domain)
    if local is False:
        return None
    rule = f"luser_relay = {luser} takes unknown users of {domain}"
    if local is None:
        return UnknownRule(rule, undecided="whether the domain is in mydestination cannot be told")
    target = _LUSER_EXPANSION.sub(UNKNOWN_LOCAL_PART, luser)
    if "@" not in target:
        target = f"{target}@{domain}"
    return _fate(rule, route_address(host, target), ())


def _unvalidated_relay(host: LinuxHost, domain: str, relayed: bool) -> UnknownRule | None:
    assert host.postfix is not None
    if not relayed or host.postfix.main.get("relay_recipient_maps").strip():
        return None
    rule = f"relay_domains lists {domain} and relay_recipient_maps is empty: every recipient is accepted"
    return _fate(rule, route_address(host, f"{UNKNOWN_LOCAL_PART}@{domain}"), ())


def unknown_recipient_rules(host: LinuxHost, domain: str, *, relayed: bool) -> list[UnknownRule]:
    """Every rule by which `host` passes on mail for an unknown recipient of `domain`.

    `relayed`: the domain is one of the host's `relay_domains` (not hosted). Empty: the host refuses
    unknown recipients of the domain (or keeps them), as a terminal system should.
    """
    if host.postfix is None:
        return []
    rules = [
        _transport_rule(host, domain),
        _catch_all(host, domain),
        _luser_relay(host, domain),
        _unvalidated_relay(host, domain, relayed),
    ]
    return [rule for rule in rules if rule is not None]
