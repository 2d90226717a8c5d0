"""Who may send through Exchange 2007+: receive connectors, the addresses they take, who may relay.

A 2007+ Exchange server takes an SMTP connection on the receive connector whose bindings include
the port and whose remote ranges include the client's address most specifically; what the
session may then do is decided by the connector's permissions. These concepts carry the decoded
answers, so checks can ask "does this connector let anonymous clients from 10.0.0.0/8 relay?"
without knowing that the answer sat in an `nTSecurityDescriptor`:

    AddressRange       one remote range as a closed interval of 128-bit values (IPv4 mapped)
    ListenBinding      a local address (None: any) and port the connector listens on
    PermissionVerdict  granted / not-granted / error, with the entries that decided and whether
                       the grant came only through Everyone
    ReceiveConnector   the connector, its server, ranges, bindings and the two relay verdicts

A family fills `PermissionVerdict.reason` in its own words (ACEs in SDDL, right names), so a
finding can show exactly what an administrator has to remove.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from auditor.model.directory import MODERN, ObjectRef

__all__ = [
    "AddressRange",
    "ListenBinding",
    "PermissionVerdict",
    "ReceiveConnector",
    "address_value",
    "merge_ranges",
]

_MAPPED = 0xFFFF << 32  # ::ffff:0:0, where IPv4 addresses live in the one 128-bit space


def address_value(address: str) -> int | None:
    """An address as a 128-bit value (IPv4 IPv4-mapped), or None when it is not an address."""
    try:
        parsed = ipaddress.ip_address(address.strip().strip("[]"))
    except ValueError:
        return None
    return _MAPPED + int(parsed) if parsed.version == 4 else int(parsed)


@dataclass(frozen=True, slots=True)
class AddressRange:
    """`text` as configured; [low, high] in the 128-bit space; `version` 4 or 6."""

    text: str
    version: Literal[4, 6]
    low: int
    high: int

    @property
    def size(self) -> int:
        """How many addresses: fewer is more specific."""
        return self.high - self.low + 1

    def contains(self, address: str) -> bool:
        value = address_value(address)
        return value is not None and self.low <= value <= self.high

    def wider_than(self, ipv4_prefix: int = 16, ipv6_prefix: int = 48) -> bool:
        """More addresses than one IPv4 /16 (or IPv6 /48): an open relay's width (COEX-901)."""
        bits = (32 - ipv4_prefix) if self.version == 4 else (128 - ipv6_prefix)
        return self.size > 1 << bits

    @classmethod
    def of(cls, text: str) -> AddressRange | None:
        """An address or CIDR network as a range (config values); None when it is neither."""
        try:
            network = ipaddress.ip_network(text.strip(), strict=False)
        except ValueError:
            return None
        base = _MAPPED if network.version == 4 else 0
        version: Literal[4, 6] = 4 if network.version == 4 else 6
        low = base + int(network.network_address)
        return cls(text.strip(), version, low, base + int(network.broadcast_address))

    def networks(self) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
        """The range as CIDR networks (for a `RelayPolicy`)."""
        if self.version == 4:
            first: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.IPv4Address(self.low - _MAPPED)
            last: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.IPv4Address(self.high - _MAPPED)
        else:
            first, last = ipaddress.IPv6Address(self.low), ipaddress.IPv6Address(self.high)
        return list(ipaddress.summarize_address_range(first, last))

    def __str__(self) -> str:
        return self.text


def merge_ranges(ranges: Iterable[AddressRange]) -> list[tuple[int, int]]:
    """Overlapping or adjacent ranges merged into sorted disjoint (low, high) intervals."""
    merged: list[tuple[int, int]] = []
    for low, high in sorted((r.low, r.high) for r in ranges):
        if merged and low <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], high))
        else:
            merged.append((low, high))
    return merged


@dataclass(frozen=True, slots=True)
class ListenBinding:
    """One binding: `address` None listens on every local address of its family."""

    text: str
    address: str | None
    port: int

    def listens_on(self, port: int, server_addresses: Iterable[str] = ()) -> bool:
        if self.port != port:
            return False
        if self.address is None:
            return True
        own = address_value(self.address)
        return any(address_value(a) == own for a in server_addresses)


@dataclass(frozen=True, slots=True)
class PermissionVerdict:
    """The answer to "may these principals do this here?".

    `status` error means the permissions could not be judged (undecodable, not read, out of
    canonical order): a check reports `error`, never `pass`. `granting` / `denying` are the
    deciding entries in the source's notation; `through_everyone` is True when the grant holds
    only through an Everyone entry (messages must say so).
    """

    status: Literal["granted", "not-granted", "error"]
    reason: str
    granting: tuple[str, ...] = ()
    denying: tuple[str, ...] = ()
    through_everyone: bool = False

    @property
    def granted(self) -> bool:
        return self.status == "granted"

    @property
    def is_error(self) -> bool:
        return self.status == "error"


@dataclass(frozen=True, slots=True)
class ReceiveConnector:
    """A 2007+ receive connector. `server` is its server's cn, `server_dn` that server's DN.

    `anonymous_relay` is relay(C, unauthenticated) (ANONYMOUS LOGON, plus Externally Secured
    Servers when `external_authoritative`); `authenticated_relay` is relay(C, {Authenticated
    Users}). Values that could not be read are listed in `unreadable` ("what: why").
    """

    dn: str
    key: str
    name: str
    server: str
    server_dn: str
    enabled: bool
    bindings: tuple[ListenBinding, ...]
    remote_ranges: tuple[AddressRange, ...]
    external_authoritative: bool
    anonymous_relay: PermissionVerdict
    authenticated_relay: PermissionVerdict
    permissions_read: bool
    auth_note: str = ""
    unreadable: tuple[str, ...] = ()
    generation: str = MODERN

    @property
    def ref(self) -> ObjectRef:
        return ObjectRef("receive_connector", self.key, self.dn)

    def takes(self, address: str, port: int, server_addresses: Iterable[str] = ()) -> AddressRange | None:
        """The range through which this enabled connector takes a connection from `address` to
        `port` (the most specific of its ranges that contains it), or None."""
        if not self.enabled:
            return None
        addresses = tuple(server_addresses)
        if not any(b.listens_on(port, addresses) for b in self.bindings):
            return None
        holding = [r for r in self.remote_ranges if r.contains(address)]
        return min(holding, key=lambda r: r.size) if holding else None
