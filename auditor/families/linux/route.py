"""Where a Linux host sends a message for one address (research modern-model.md §3.5).

1. `virtual_alias_maps` (every class): `user@domain`, then `@domain`; a hit replaces the
   recipient (several addresses: each is routed); repeated up to 1000 times, as Postfix does.
2. The domain's address class: `mydestination` (local), `virtual_alias_domains` (must have been
   aliased, else user unknown), `virtual_mailbox_domains` (valid per `virtual_mailbox_maps`),
   `relay_domains` (valid per `relay_recipient_maps`), otherwise the default class.
3. Next hop: `transport_maps` (`user+ext@domain`, `user@domain`, `domain`, `.parent`..., `*`), then
   the class's transport (`local_transport`, `virtual_transport`, `relay_transport`,
   `default_transport`) and for remote classes `relayhost`, else the domain's MX.

Any step whose table content was not exported ends in `error` (manual review), never a guess.
A sender-dependent table (`sender_dependent_*`) that is set also ends in `error`: the route then
depends on the sender, which a probe does not fix.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from auditor.families.linux.host import LinuxHost
from auditor.families.linux.params import is_unknown, split_list
from auditor.families.linux.smtp_client import NextHop, parse_nexthop, split_transport
from auditor.families.linux.tables import Lookup, Tables

__all__ = ["RouteOutcome", "route_address"]

_ALIAS_LIMIT = 1000
# The stock master.cf's transports (postfix/conf/master.cf), used only when master.cf was not exported.
_STOCK_TRANSPORTS = {"relay": "smtp", "retry": "error", "smtp": "smtp", "lmtp": "lmtp"}


@dataclass(frozen=True, slots=True)
class RouteOutcome:
    """`kind`: delivered | nexthop | bounce | discard | error | expanded (see `branches`).

    `nexthop` is set for `nexthop` (MX lookup when not bracketed); `rule` is the text of the
    setting or table entry that decided; `steps` the rules met on the way, in order.
    """

    kind: str
    address: str
    rule: str
    nexthop: NextHop | None = None
    transport: str | None = None
    steps: tuple[str, ...] = ()
    branches: tuple[RouteOutcome, ...] = field(default=())


def _split_address(address: str) -> tuple[str, str]:
    local, _, domain = address.rpartition("@")
    return local, domain.rstrip(".").lower()


def _transport_keys(address: str, host: LinuxHost) -> list[str]:
    assert host.postfix is not None
    local, domain = _split_address(address)
    keys: list[str] = []
    delimiter = host.postfix.main.get("recipient_delimiter")
    if delimiter:
        base = local
        for char in delimiter:
            base = base.split(char, 1)[0]
        if base != local:
            keys.append(f"{local}@{domain}")
            keys.append(f"{base}@{domain}")
        else:
            keys.append(f"{local}@{domain}")
    else:
        keys.append(f"{local}@{domain}")
    keys.append(domain)
    parents = domain.split(".")
    keys.extend("." + ".".join(parents[i:]) for i in range(1, len(parents)))
    keys.append("*")
    return keys


def _in(domain: str, setting: str, host: LinuxHost, tables: Tables) -> tuple[bool | None, str]:
    assert host.postfix is not None
    listed = tables.domains(host.postfix.main.get(setting))
    if domain in listed.domains:
        return True, f"{domain} is in {setting}"
    matches_parent = setting in host.postfix.main.get("parent_domain_matches_subdomains")
    for entry in listed.domains:
        if entry.startswith(".") and domain.endswith(entry):
            return True, f"{domain} matches {entry} in {setting}"
        if matches_parent and domain.endswith("." + entry):
            return True, f"{domain} is a subdomain of {entry} in {setting}"
    if listed.unknown:
        return None, f"{setting}: {listed.unknown[0]}"
    if any(is_unknown(d) for d in listed.domains):
        return None, f"{setting} depends on a host-dependent default that was not exported"
    return False, f"{domain} is not in {setting}"


def _transport_outcome(
    host: LinuxHost, address: str, value: str, rule: str, steps: list[str], default_nexthop: str | None
) -> RouteOutcome:
    """What a `transport:nexthop` value means for `address`, resolving the transport in master.cf."""
    assert host.postfix is not None
    transport, nexthop = split_transport(value)
    steps.append(rule)
    command = transport if host.postfix.master_exported else _STOCK_TRANSPORTS.get(transport, transport)
    for service in host.postfix.services:
        if service.entry.service == transport and service.entry.type == "unix":
            command = service.entry.command
            break
    if command == "error":
        return RouteOutcome("bounce", address, rule, transport=transport, steps=tuple(steps))
    if command == "discard":
        return RouteOutcome("discard", address, rule, transport=transport, steps=tuple(steps))
    if command in ("local", "virtual", "pipe") or (command == "lmtp" and nexthop.startswith("unix:")):
        return RouteOutcome("delivered", address, rule, transport=transport, steps=tuple(steps))
    if command in ("smtp", "lmtp"):
        target = nexthop or default_nexthop or _split_address(address)[1]
        hop = parse_nexthop(target.removeprefix("inet:"))
        return RouteOutcome("nexthop", address, rule, nexthop=hop, transport=transport, steps=tuple(steps))
    return RouteOutcome(
        "error",
        address,
        f"{rule}: transport {transport!r} is not a service auditor can follow",
        transport=transport,
        steps=tuple(steps),
    )


def route_address(host: LinuxHost, address: str) -> RouteOutcome:
    """The next hop (or stop) of the Linux host for one recipient address."""
    if host.postfix is None or not (host.export.postconf_x or host.export.postconf_n):
        return RouteOutcome("error", address, "the host's Postfix settings were not exported")
    return _route(host, address.strip(), host.postfix.tables, [], 0, set())


def _alias(host: LinuxHost, address: str, tables: Tables) -> tuple[str, list[str] | None, str]:
    """('hit' | 'miss' | 'error', new recipients, rule)."""
    assert host.postfix is not None
    maps = host.postfix.main.get("virtual_alias_maps")
    if not maps.strip():
        return "miss", None, ""
    local, domain = _split_address(address)
    found = tables.lookup(maps, [f"{local}@{domain}", f"@{domain}"])
    if found.unknown:
        return "error", None, f"virtual_alias_maps: {found.unknown}"
    if found.value is None:
        return "miss", None, ""
    targets = [t for t in split_list(found.value) if t]
    return "hit", targets, f"virtual_alias_maps ({found.table}): {address} -> {found.value}"


def _route(
    host: LinuxHost, address: str, tables: Tables, steps: list[str], depth: int, seen: set[str]
) -> RouteOutcome:
    assert host.postfix is not None
    main = host.postfix.main
    if depth > _ALIAS_LIMIT:
        return RouteOutcome(
            "error", address, "virtual alias expansion goes deeper than 1000", steps=tuple(steps)
        )
    result, targets, rule = (
        _alias(host, address, tables) if address.lower() not in seen else ("miss", None, "")
    )
    if result == "error":
        return RouteOutcome("error", address, rule, steps=tuple(steps))
    aliased = result == "hit"
    if result == "hit" and targets is not None:
        steps = [*steps, rule]
        seen = seen | {address.lower()}
        if len(targets) == 1 and targets[0].lower() != address.lower():
            return _route(host, targets[0], tables, steps, depth + 1, seen)
        branches = tuple(_route(host, t, tables, steps, depth + 1, seen) for t in targets)
        return RouteOutcome("expanded", address, rule, steps=tuple(steps), branches=branches)
    local, domain = _split_address(address)
    if not domain:
        return RouteOutcome("error", address, "not an address with a domain", steps=tuple(steps))
    steps = list(steps)

    def decide(*settings: str) -> tuple[str | None, str]:
        for setting in settings:
            inside, why = _in(domain, setting, host, tables)
            if inside is None:
                return "error", why
            if inside:
                return setting, why
        return None, f"{domain} is in no address class"

    klass, why = decide("mydestination", "virtual_alias_domains", "virtual_mailbox_domains", "relay_domains")
    if klass == "error":
        return RouteOutcome("error", address, why, steps=tuple(steps))
    steps.append(why)
    transport_maps = main.get("transport_maps")
    found = tables.lookup(transport_maps, _transport_keys(address, host)) if transport_maps.strip() else None
    if found is not None and found.unknown:
        return RouteOutcome("error", address, f"transport_maps: {found.unknown}", steps=tuple(steps))

    if klass == "virtual_alias_domains" and not aliased:
        return RouteOutcome(
            "bounce", address, f"{why}: user unknown in virtual alias table", steps=tuple(steps)
        )
    if klass == "mydestination":
        return _local(host, address, local, domain, found, tables, steps)
    if klass == "virtual_mailbox_domains":
        maps = main.get("virtual_mailbox_maps")
        if maps.strip():
            valid = tables.lookup(maps, [f"{local}@{domain}", f"@{domain}"])
            if valid.unknown:
                return RouteOutcome(
                    "error", address, f"virtual_mailbox_maps: {valid.unknown}", steps=tuple(steps)
                )
            if not valid.found:
                return RouteOutcome(
                    "bounce", address, "user unknown in virtual mailbox table", steps=tuple(steps)
                )
        if found is not None and found.value is not None:
            return _transport_outcome(
                host, address, found.value, f"transport_maps: {found.table}", steps, None
            )
        return _transport_outcome(
            host, address, main.get("virtual_transport"), "virtual_transport", steps, None
        )
    if klass == "relay_domains":
        maps = main.get("relay_recipient_maps")
        if maps.strip():
            valid = tables.lookup(maps, [f"{local}@{domain}", f"@{domain}"])
            if valid.unknown:
                return RouteOutcome(
                    "error", address, f"relay_recipient_maps: {valid.unknown}", steps=tuple(steps)
                )
            if not valid.found:
                return RouteOutcome(
                    "bounce", address, "user unknown in relay recipient table", steps=tuple(steps)
                )
    return _remote(
        host,
        address,
        klass,
        found.value if found is not None else None,
        found.table if found is not None else None,
        steps,
    )


def _local(
    host: LinuxHost,
    address: str,
    local: str,
    domain: str,
    found: Lookup | None,
    tables: Tables,
    steps: list[str],
) -> RouteOutcome:
    """The local class: valid only per `local_recipient_maps`; the host's passwd is never exported."""
    assert host.postfix is not None
    main = host.postfix.main
    luser = main.get("luser_relay").strip()
    maps = main.get("local_recipient_maps")
    if not maps.strip():
        reason = (
            "local_recipient_maps is empty: any local name is accepted, and whether it exists depends on "
        )
        reason += "the host's passwd and aliases (not exported)"
        if luser:
            reason += f"; luser_relay = {luser} takes unknown ones"
        return RouteOutcome("error", address, reason, steps=tuple(steps))
    valid = tables.lookup(maps, [local, f"{local}@{domain}", f"@{domain}"])
    if valid.unknown:
        reason = f"local_recipient_maps: {valid.unknown}"
        if luser:
            reason += f" (luser_relay = {luser} takes unknown users)"
        return RouteOutcome("error", address, reason, steps=tuple(steps))
    if not valid.found:
        return RouteOutcome("bounce", address, "user unknown in local recipient table", steps=tuple(steps))
    if found is not None and found.value is not None:
        return _transport_outcome(host, address, found.value, f"transport_maps: {found.table}", steps, None)
    return _transport_outcome(host, address, main.get("local_transport"), "local_transport", steps, None)


def _remote(
    host: LinuxHost,
    address: str,
    klass: str | None,
    transport_value: str | None,
    table: str | None,
    steps: list[str],
) -> RouteOutcome:
    assert host.postfix is not None
    main = host.postfix.main
    relayhost = split_list(main.get("relayhost"))
    default_nexthop = relayhost[0] if relayhost else None
    if transport_value is not None:
        transport, nexthop = split_transport(transport_value)
        if nexthop or transport:
            return _transport_outcome(
                host,
                address,
                transport_value,
                f"transport_maps ({table}): {transport_value}",
                steps,
                default_nexthop,
            )
    dependent = ["sender_dependent_relayhost_maps"]
    if klass is None:
        dependent.insert(0, "sender_dependent_default_transport_maps")
    for setting in dependent:
        if main.get(setting).strip():
            return RouteOutcome(
                "error", address, f"{setting} is set: the route depends on the sender", steps=tuple(steps)
            )
    setting = "relay_transport" if klass == "relay_domains" else "default_transport"
    value = main.get(setting)
    if relayhost:
        steps.append(f"relayhost = {main.get('relayhost').strip()}")
    return _transport_outcome(host, address, value, f"{setting} = {value}", steps, default_nexthop)
