"""Postfix as an SMTP client: its relayhost, what routes around it, TLS and SASL towards it.

Next-hop precedence for remote mail (postconf(5) `relayhost`, `default_transport`,
`relay_transport`; transport(5)): `transport_maps`, then `sender_dependent_default_transport_maps`
/ the nexthop of `default_transport` (default class) or `relay_transport` (relay class), then
`sender_dependent_relayhost_maps` / `relayhost`, then the recipient domain's MX. Anything earlier in
that order with a nexthop of its own routes remote mail around the relayhost.
"""

from __future__ import annotations

from dataclasses import dataclass

from auditor.families.linux.domains import hosted_domains
from auditor.families.linux.host import LinuxHost
from auditor.families.linux.params import Settings, split_list

__all__ = [
    "NextHop",
    "RelayhostUse",
    "SaslClient",
    "TlsToRelayhost",
    "parse_nexthop",
    "relayhost_use",
    "sasl_client",
    "split_transport",
    "tls_to_relayhost",
]

_LOCAL_TRANSPORTS = frozenset({"local", "virtual", "error", "discard", "retry", "pipe"})


@dataclass(frozen=True, slots=True)
class NextHop:
    """`[host]:port` / `host:port` / `host`: brackets turn MX lookup off."""

    text: str
    host: str
    port: int | None
    mx_lookup: bool


def parse_nexthop(text: str) -> NextHop:
    text = text.strip()
    if text.startswith("["):
        close = text.find("]")
        host = text[1:close] if close > 0 else text[1:]
        rest = text[close + 1 :] if close > 0 else ""
        port = int(rest[1:]) if rest.startswith(":") and rest[1:].isdigit() else None
        return NextHop(text, host.lower(), port, mx_lookup=False)
    host, sep, port_text = text.rpartition(":")
    if sep and port_text.isdigit() and host.count(":") == 0:
        return NextHop(text, host.lower(), int(port_text), mx_lookup=True)
    return NextHop(text, text.lower(), None, mx_lookup=True)


def split_transport(value: str) -> tuple[str, str]:
    """`transport:nexthop` -> (transport, nexthop); either may be empty (transport(5))."""
    transport, _, nexthop = value.strip().partition(":")
    return transport.strip(), nexthop.strip()


@dataclass(frozen=True, slots=True)
class RelayhostUse:
    """The relayhost(s) and whether every remote message goes through them.

    `always_used` is None when that cannot be told from the export (`errors` says why);
    `bypasses` names each setting or table entry that sends remote mail elsewhere.
    """

    relayhosts: tuple[NextHop, ...]
    always_used: bool | None
    bypasses: tuple[str, ...]
    errors: tuple[str, ...]
    origin: str


def _nexthop_bypass(setting: str, value: str) -> str | None:
    transport, nexthop = split_transport(value)
    if nexthop and transport not in _LOCAL_TRANSPORTS:
        return f"{setting} = {value} (its nexthop beats relayhost)"
    return None


def relayhost_use(host: LinuxHost) -> RelayhostUse | None:
    """None when no Postfix settings were exported."""
    if host.postfix is None or not (host.export.postconf_x or host.export.postconf_n):
        return None
    main = host.postfix.main
    tables = host.postfix.tables
    relayhosts = tuple(parse_nexthop(t) for t in split_list(main.get("relayhost")))
    bypasses: list[str] = []
    errors: list[str] = []
    hosted = hosted_domains(host)
    hosted_names = hosted.domains if hosted is not None else frozenset()
    for setting in ("default_transport", "relay_transport"):
        found = _nexthop_bypass(setting, main.get(setting))
        if found:
            bypasses.append(found)
    for setting in ("sender_dependent_relayhost_maps", "sender_dependent_default_transport_maps"):
        for reference in split_list(main.get(setting)):
            entries, why = tables.entries(reference)
            if entries is None:
                errors.append(f"{setting}: {why}")
            elif entries:
                bypasses.extend(f"{setting} entry {k} -> {v}" for k, v in sorted(entries.items()))
    for reference in split_list(main.get("transport_maps")):
        entries, why = tables.entries(reference)
        if entries is None:
            errors.append(f"transport_maps: {why}")
            continue
        for key, value in sorted(entries.items()):
            domain = key.rpartition("@")[2].lstrip(".")
            if domain in hosted_names:
                continue
            found = _nexthop_bypass(f"transport_maps entry {key}", value)
            if found:
                bypasses.append(found)
    always: bool | None
    if not relayhosts or bypasses:
        always = False
    elif errors:
        always = None
    else:
        always = True
    return RelayhostUse(relayhosts, always, tuple(bypasses), tuple(errors), main.origin)


@dataclass(frozen=True, slots=True)
class TlsToRelayhost:
    """The TLS security level of the hop to the relayhost and where it comes from (None: unknown)."""

    level: str | None
    source: str


def _policy_keys(nexthop: NextHop) -> list[str]:
    keys = [nexthop.text]
    if not nexthop.mx_lookup:
        keys.append(f"[{nexthop.host}]")
    keys.append(nexthop.host)
    parts = nexthop.host.split(".")
    keys.extend("." + ".".join(parts[i:]) for i in range(1, len(parts)))
    return keys


def _default_level(main: Settings) -> tuple[str, str]:
    level = main.get("smtp_tls_security_level").strip().lower()
    if level:
        return level, "smtp_tls_security_level"
    if main.flag("smtp_enforce_tls"):
        return "encrypt", "smtp_enforce_tls = yes"
    if main.flag("smtp_use_tls"):
        return "may", "smtp_use_tls = yes"
    return "none", "smtp_tls_security_level (empty)"


def tls_to_relayhost(host: LinuxHost) -> TlsToRelayhost | None:
    """`smtp_tls_policy_maps` entry for the (first) relayhost, else `smtp_tls_security_level`."""
    use = relayhost_use(host)
    if use is None or host.postfix is None:
        return None
    main = host.postfix.main
    policy = main.get("smtp_tls_policy_maps")
    if use.relayhosts and policy.strip():
        found = host.postfix.tables.lookup(policy, _policy_keys(use.relayhosts[0]))
        if found.unknown:
            return TlsToRelayhost(None, f"smtp_tls_policy_maps: {found.unknown}")
        if found.value is not None:
            level = found.value.split()[0].lower() if found.value.split() else ""
            return TlsToRelayhost(
                level, f"smtp_tls_policy_maps ({found.table}) entry for {use.relayhosts[0].text}"
            )
    level, source = _default_level(main)
    return TlsToRelayhost(level, source)


@dataclass(frozen=True, slots=True)
class SaslClient:
    """`smtp_sasl_*`: whether Postfix authenticates to the relayhost (password values are never read)."""

    enabled: bool
    password_entry: bool | None
    security_options: str
    tls_security_options: str
    detail: str


def sasl_client(host: LinuxHost) -> SaslClient | None:
    use = relayhost_use(host)
    if use is None or host.postfix is None:
        return None
    main = host.postfix.main
    enabled = main.flag("smtp_sasl_auth_enable")
    entry: bool | None = None
    detail = "no relayhost"
    maps = main.get("smtp_sasl_password_maps")
    if use.relayhosts and maps.strip():
        nexthop = use.relayhosts[0]
        found = host.postfix.tables.lookup(maps, [nexthop.text, nexthop.host])
        entry = None if found.unknown else found.found
        detail = found.unknown or (
            f"{found.table} has an entry for {nexthop.text}"
            if found.found
            else f"no entry for {nexthop.text}"
        )
    elif use.relayhosts:
        entry, detail = False, "smtp_sasl_password_maps is empty"
    return SaslClient(
        enabled,
        entry,
        main.get("smtp_sasl_security_options"),
        main.get("smtp_sasl_tls_security_options"),
        detail,
    )
