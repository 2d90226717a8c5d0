"""Open-relay simulation for one Postfix `smtpd` service (checks.md "Open relay (Postfix)").

A probe is a client sending RCPT TO a recipient in a domain of no address class (not hosted, not
in `relay_domains`). Postfix evaluates, at RCPT time (`smtpd_delay_reject = yes`), the lists
client, helo, sender, then relay and recipient (relay first when
`smtpd_relay_before_recipient_restrictions = yes`). Each list runs left to right until a
restriction answers; the end of a list permits; a PERMIT ends only its own list; a REJECT or DEFER
in any list refuses the recipient (SMTPD_ACCESS_README, smtpd_check.c). So the probe is relayed
only when every list permits it.

Restrictions, for the probe: `permit` permits; `permit_mynetworks` permits a client inside
`mynetworks`; `permit_sasl_authenticated` permits an authenticated client (only on a service
that offers SASL); `permit_naked_ip_address` permits (the client chooses its HELO);
`permit_auth_destination`, `permit_tls_*clientcerts`, `permit_inet_interfaces` never permit it;
`reject`, `reject_unauth_destination`, `defer`, `defer_unauth_destination`, `defer_if_permit`
refuse it; every other `reject_*` may refuse real spam but not a chosen probe (DUNNO). An access
map, a policy service, a DNS white list, `permit_mx_backup` or a restriction class cannot be judged
from the export: reached before any refusal, they make the verdict `error` (manual review), never
a guess. smtpd refuses to start unless the relay or recipient list holds one of `reject`, `reject_unauth_destination`,
`defer`, `defer_if_permit`, `defer_unauth_destination` (or the obsolete `check_relay_domains`)
*before any `permit`*: a restriction after `permit` is ignored, so `permit, reject_unauth_destination`
does not pass (seen with Postfix 3.7: "restriction `reject_unauth_destination' after `permit' is
ignored", then "fatal: ... specify at least one working instance of ..."). Such a service accepts
no mail at all: the verdict is `error` with Postfix's own words, never `open`.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from auditor.families.linux.host import LinuxHost, PostfixService
from auditor.families.linux.networks import NetworkList, parse_network_list, too_wide
from auditor.families.linux.params import ExpansionError, Settings, is_unknown, split_list
from auditor.families.linux.tables import Tables

__all__ = [
    "RelayOutcome",
    "RelayVerdict",
    "ServiceRelay",
    "mynetworks_of",
    "relay_report",
    "simulate_relay",
]

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

_REFUSE = frozenset(
    {"reject", "reject_unauth_destination", "defer", "defer_unauth_destination", "defer_if_permit"}
)
_NEVER_PERMIT = frozenset(
    {
        "permit_auth_destination",
        "permit_tls_clientcerts",
        "permit_tls_all_clientcerts",
        "permit_inet_interfaces",
    }
)
_UNDECIDABLE = frozenset({"permit_mx_backup"})
_WITH_ARGUMENT_PREFIXES = ("reject_rbl_client", "reject_rhsbl_", "permit_dnswl_client", "permit_rhswl_client")
_DUNNO_NAMES = frozenset(
    {
        "defer_if_reject",
        "reject_unauth_pipelining",
        "reject_multi_recipient_bounce",
        "reject_plaintext_session",
    }
)
_REQUIRED = (
    "reject_unauth_destination",
    "defer_unauth_destination",
    "reject",
    "defer",
    "defer_if_permit",
    "check_relay_domains",
)
_LISTS = (
    "smtpd_client_restrictions",
    "smtpd_helo_restrictions",
    "smtpd_sender_restrictions",
)


class RelayVerdict(StrEnum):
    OPEN = "open"
    NOT_OPEN = "not open"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class RelayOutcome:
    """What one probe met: the verdict, the restriction and list that decided, and why."""

    verdict: RelayVerdict
    reason: str
    restriction: str | None = None
    list_name: str | None = None


@dataclass(frozen=True, slots=True)
class ServiceRelay:
    """The three probes of one smtpd service and the `mynetworks` population it relays for.

    `outside`: unauthenticated client outside `mynetworks`; `authenticated`: a SASL-authenticated
    client outside `mynetworks`; `inside`: an unauthenticated client inside `mynetworks`.
    `networks_reached`: `mynetworks` entries relayed for without authentication (when `inside`
    is open); `wide_networks`: those wider than /16 (IPv4) or /48 (IPv6); `undecided_wide`: wide
    entries whose fate cannot be told because the `inside` probe ended in `error`.
    """

    service: str
    outside: RelayOutcome
    authenticated: RelayOutcome
    inside: RelayOutcome
    networks_reached: tuple[str, ...]
    wide_networks: tuple[str, ...]
    mynetworks_note: str | None
    undecided_wide: tuple[str, ...] = ()

    @property
    def verdict(self) -> RelayVerdict:
        """COEX-901's verdict: open to the world, or through a too-wide `mynetworks` entry."""
        if self.outside.verdict is RelayVerdict.OPEN:
            return RelayVerdict.OPEN
        if self.wide_networks:
            return RelayVerdict.OPEN
        if self.outside.verdict is RelayVerdict.ERROR or self.undecided_wide:
            return RelayVerdict.ERROR
        if self.inside.verdict is RelayVerdict.OPEN and self.mynetworks_note:
            return RelayVerdict.ERROR
        return RelayVerdict.NOT_OPEN

    @property
    def reason(self) -> str:
        if self.outside.verdict is not RelayVerdict.NOT_OPEN:
            return self.outside.reason
        if self.wide_networks:
            return (
                f"{self.service}: permit_mynetworks relays for {', '.join(self.wide_networks)} "
                f"(wider than /16 or /48): {self.inside.reason}"
            )
        if self.undecided_wide:
            return (
                f"{self.service}: mynetworks holds {', '.join(self.undecided_wide)} (wider than /16 or /48) "
                f"and whether it may relay cannot be told: {self.inside.reason}"
            )
        if self.inside.verdict is RelayVerdict.OPEN and self.mynetworks_note:
            return f"{self.service}: permit_mynetworks relays for mynetworks, which {self.mynetworks_note}"
        return self.outside.reason


def mynetworks_of(
    settings: Settings, host_addresses: Sequence[str] = (), tables: Tables | None = None
) -> tuple[NetworkList, str | None]:
    """The effective `mynetworks` and, when part of it cannot be read, a note saying what."""
    value = settings.get("mynetworks")
    read_file = tables.file_tokens if tables is not None else (lambda _: None)
    if is_unknown(value):
        style = settings.get("mynetworks_style").strip().lower()
        if style == "host":
            tokens = ["127.0.0.1/32", "[::1]/128", *host_addresses]
            parsed = parse_network_list(" ".join(tokens), lambda _: None)
            return parsed, None
        return NetworkList(entries=(), undecided=(f"mynetworks_style = {style}",)), (
            f"is derived from the host's interfaces (mynetworks_style = {style}) and was not exported"
        )
    parsed = parse_network_list(value, read_file)
    note = (
        f"holds entries that cannot be judged here: {', '.join(parsed.undecided)}"
        if parsed.undecided
        else None
    )
    return parsed, note


@dataclass(frozen=True, slots=True)
class _Probe:
    in_mynetworks: bool | None
    authenticated: bool


def _classes(settings: Settings) -> set[str]:
    return set(split_list(settings.get("smtpd_restriction_classes")))


def _evaluate_list(
    service: PostfixService, list_name: str, probe: _Probe, classes: set[str]
) -> tuple[str, str | None, str]:
    """('permit' | 'refuse' | 'error', restriction, reason) for one restriction list."""
    settings = service.settings
    where = f"{service.key}: {list_name}"
    try:
        tokens = split_list(settings.get(list_name))
    except ExpansionError as exc:
        return "error", None, f"{where} cannot be read ({exc})"
    sasl_offered = settings.flag("smtpd_sasl_auth_enable")
    warn_next = False
    i = 0
    while i < len(tokens):
        token = tokens[i]
        name = token.lower()
        i += 1
        if is_unknown(token):
            return (
                "error",
                token,
                (
                    f"{where} depends on a value auditor cannot evaluate (a host-dependent default that was "
                    "not exported, or an expression)"
                ),
            )
        if warn_next:
            warn_next = False
            if name.startswith(("check_", "reject_rbl_client", "reject_rhsbl_")):
                i += 1
            continue
        if name == "warn_if_reject":
            warn_next = True
            continue
        if name == "permit":
            return "permit", token, f"{where}: 'permit' permits every client"
        if name == "permit_naked_ip_address":
            return (
                "permit",
                token,
                f"{where}: 'permit_naked_ip_address' permits any client that sends HELO [ip]",
            )
        if name == "permit_mynetworks":
            if probe.in_mynetworks is None:
                return "error", token, f"{where}: permit_mynetworks is reached and mynetworks cannot be read"
            if probe.in_mynetworks:
                return "permit", token, f"{where}: 'permit_mynetworks' permits a client inside mynetworks"
            continue
        if name == "permit_sasl_authenticated":
            if probe.authenticated and sasl_offered:
                return (
                    "permit",
                    token,
                    f"{where}: 'permit_sasl_authenticated' permits the authenticated client",
                )
            continue
        if name in _REFUSE:
            return "refuse", token, f"{where}: '{token}' refuses the probe"
        if name in _NEVER_PERMIT or name in _DUNNO_NAMES:
            continue
        if name in _UNDECIDABLE:
            return "error", token, f"{where}: '{token}' depends on DNS and cannot be judged from the export"
        if name == "sleep":
            i += 1
            continue
        if name.startswith(_WITH_ARGUMENT_PREFIXES):
            argument = tokens[i] if i < len(tokens) else ""
            i += 1
            if name.startswith("permit_"):
                return (
                    "error",
                    token,
                    f"{where}: '{token} {argument}' (a DNS list) is reached before any reject",
                )
            continue
        if ":" in token:
            return (
                "error",
                token,
                (
                    f"{where}: the access map '{token}' (short for check_*_access) is reached before any reject"
                ),
            )
        if (name.startswith("check_") and name.endswith("_access")) or name == "check_policy_service":
            argument = tokens[i] if i < len(tokens) else ""
            i += 1
            return (
                "error",
                token,
                f"{where}: '{token} {argument}' is reached before any reject (its answer is not exported)",
            )
        if token in classes:
            return "error", token, f"{where}: restriction class '{token}' is reached before any reject"
        if name.startswith("reject_"):
            continue
        return (
            "error",
            token,
            f"{where}: unknown restriction '{token}' (smtpd would answer with a server configuration error)",
        )
    return "permit", None, f"{where}: the end of the list permits"


def _order(settings: Settings) -> tuple[str, ...]:
    if settings.flag("smtpd_relay_before_recipient_restrictions"):
        return (*_LISTS, "smtpd_relay_restrictions", "smtpd_recipient_restrictions")
    return (*_LISTS, "smtpd_recipient_restrictions", "smtpd_relay_restrictions")


def _has_required(settings: Settings, tokens: list[str], classes: set[str], depth: int = 0) -> bool:
    """Postfix's `has_required` (smtpd_check.c): a required restriction before any `permit`.

    `warn_if_reject X` does not count; everything after `permit` is ignored (smtpd warns
    "restriction ... after `permit' is ignored"); restriction classes are searched recursively.
    """
    i = 0
    while i < len(tokens):
        name = tokens[i].lower()
        if name == "warn_if_reject" and i + 1 < len(tokens):
            i += 2
            continue
        if name == "permit":
            return False
        if name in _REQUIRED:
            return True
        if tokens[i] in classes and depth < 20:
            try:
                expansion = split_list(settings.get(tokens[i]))
            except ExpansionError:
                expansion = []
            if _has_required(settings, expansion, classes, depth + 1):
                return True
        i += 1
    return False


def _presence_error(service: PostfixService) -> RelayOutcome | None:
    """smtpd exits at start-up (fatal) when neither list holds a required restriction: no mail at all."""
    settings = service.settings
    classes = _classes(settings)
    for list_name in ("smtpd_relay_restrictions", "smtpd_recipient_restrictions"):
        value = settings.get(list_name)
        if is_unknown(value):
            return None
        try:
            tokens = split_list(value)
        except ExpansionError:
            return None
        if _has_required(settings, tokens, classes):
            return None
    return RelayOutcome(
        RelayVerdict.ERROR,
        f"{service.key}: smtpd cannot start (fatal: in parameter smtpd_relay_restrictions or "
        f"smtpd_recipient_restrictions, specify at least one working instance of: {', '.join(_REQUIRED)}; "
        "a restriction after 'permit' does not count)",
    )


def _simulate(service: PostfixService, probe: _Probe) -> RelayOutcome:
    presence = _presence_error(service)
    if presence is not None:
        return presence
    classes = _classes(service.settings)
    errors: list[tuple[str | None, str, str]] = []
    permits: list[str] = []
    for list_name in _order(service.settings):
        result, restriction, reason = _evaluate_list(service, list_name, probe, classes)
        if result == "refuse":
            return RelayOutcome(RelayVerdict.NOT_OPEN, reason, restriction, list_name)
        if result == "error":
            errors.append((restriction, list_name, reason))
        else:
            permits.append(reason)
    if errors:
        restriction, list_name, reason = errors[0]
        return RelayOutcome(RelayVerdict.ERROR, reason, restriction, list_name)
    return RelayOutcome(RelayVerdict.OPEN, "; ".join(permits[-2:]), None, None)


def simulate_relay(
    service: PostfixService,
    *,
    tables: Tables | None = None,
    client: str | None = None,
    in_mynetworks: bool | None = False,
    authenticated: bool = False,
    host_addresses: Sequence[str] = (),
) -> RelayOutcome:
    """One probe through `service`: `client` (an IP) decides `mynetworks` membership when given."""
    if authenticated and not service.settings.flag("smtpd_sasl_auth_enable"):
        return RelayOutcome(
            RelayVerdict.NOT_OPEN, f"{service.key}: offers no SASL AUTH (smtpd_sasl_auth_enable = no)"
        )
    if client is not None:
        networks, _ = mynetworks_of(service.settings, host_addresses, tables)
        in_mynetworks = networks.contains(ipaddress.ip_address(client))
    return _simulate(service, _Probe(in_mynetworks=in_mynetworks, authenticated=authenticated))


def relay_report(host: LinuxHost, service: PostfixService) -> ServiceRelay:
    """The outside, authenticated and inside probes of one smtpd service, and its relay population."""
    tables = host.postfix.tables if host.postfix is not None else None
    outside = simulate_relay(service, in_mynetworks=False)
    authenticated = simulate_relay(service, in_mynetworks=False, authenticated=True)
    networks, note = mynetworks_of(service.settings, host.addresses, tables)
    inside = simulate_relay(service, in_mynetworks=True)
    reached: tuple[str, ...] = ()
    wide: tuple[str, ...] = ()
    undecided: tuple[str, ...] = ()
    candidates = tuple(text for network, text in networks.networks if too_wide(network))
    if inside.verdict is RelayVerdict.OPEN and outside.verdict is not RelayVerdict.OPEN:
        reached = tuple(text for _, text in networks.networks)
        wide = candidates
    elif inside.verdict is RelayVerdict.ERROR and outside.verdict is RelayVerdict.NOT_OPEN:
        undecided = candidates
    return ServiceRelay(
        service=service.key,
        outside=outside,
        authenticated=authenticated,
        inside=inside,
        networks_reached=reached,
        wide_networks=wide,
        mynetworks_note=note if inside.verdict is RelayVerdict.OPEN else None,
        undecided_wide=undecided,
    )
