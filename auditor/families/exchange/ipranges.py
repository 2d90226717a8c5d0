"""Receive connector addresses: `msExchSmtpReceiveRemoteIPRanges` and `msExchSmtpReceiveBindings`.

RemoteIPRanges holds one of four forms per value (research modern-model §1.5, Exchange's IPRange):

    192.168.5.10                  single address
    192.168.5.10-192.168.5.20     range low-high (same family, low <= high)
    192.168.5.0/24                CIDR (host bits are ignored: the network is meant)
    192.168.5.0(255.255.255.0)    address with a contiguous netmask

IPv4 and IPv6 alike. Every value becomes an integer interval (`ipaddress` does the address work),
so containment and specificity (fewest addresses) are exact comparisons. Exchange keeps every
address as a 128-bit value with IPv4 addresses IPv4-mapped (`::ffff:a.b.c.d`), and compares
ranges in that one space; the intervals here do the same, so a range such as
`::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff` contains IPv4 clients exactly as it does in Exchange.

A value that cannot be parsed raises `IpRangeError` (the one error type here);
`read_remote_ip_ranges` keeps it as an `UnreadableRange` beside the others, never dropped.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "Binding",
    "IpInterval",
    "IpRangeError",
    "UnreadableRange",
    "address_value",
    "most_specific",
    "parse_binding",
    "parse_remote_ip_range",
    "read_remote_ip_ranges",
]

_MAPPED = 0xFFFF << 32  # ::ffff:0:0, where IPv4 addresses live in the 128-bit space
_IPV4_MAX = 2**32 - 1
_IPV6_MAX = 2**128 - 1

Form = Literal["single", "range", "cidr", "netmask"]


class IpRangeError(ValueError):
    """A RemoteIPRanges or Bindings value that is not in a form Exchange writes."""


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    candidate = text.strip()
    if not candidate or "%" in candidate or any(ch.isspace() for ch in candidate):
        raise IpRangeError(f"{text!r} is not an IP address")
    try:
        return ipaddress.ip_address(candidate)
    except ValueError:
        raise IpRangeError(f"{text!r} is not an IP address") from None


def address_value(address: str | ipaddress.IPv4Address | ipaddress.IPv6Address) -> int:
    """The 128-bit value of an address in Exchange's one space (IPv4 IPv4-mapped)."""
    parsed = _address(address) if isinstance(address, str) else address
    return _MAPPED + int(parsed) if parsed.version == 4 else int(parsed)


@dataclass(frozen=True, slots=True)
class IpInterval:
    """One RemoteIPRanges value as the closed interval [low, high] of 128-bit address values."""

    text: str
    form: Form
    version: Literal[4, 6]
    low: int
    high: int

    @property
    def size(self) -> int:
        """How many addresses it holds: the measure of specificity (fewer is more specific)."""
        return self.high - self.low + 1

    def contains(self, address: str | ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
        return self.low <= address_value(address) <= self.high

    def contains_interval(self, other: IpInterval) -> bool:
        return self.low <= other.low and other.high <= self.high

    def wider_than(self, ipv4_prefix: int = 16, ipv6_prefix: int = 48) -> bool:
        """More addresses than one IPv4 /16 (or IPv6 /48, by the interval's family)."""
        limit: int = 1 << ((32 - ipv4_prefix) if self.version == 4 else (128 - ipv6_prefix))
        return self.size > limit

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True, slots=True)
class UnreadableRange:
    """A value kept as written, with why it could not be read: checks report it as `error`."""

    text: str
    problem: str


def _interval(
    text: str, form: Form, low: ipaddress.IPv4Address | ipaddress.IPv6Address, high_value: int
) -> IpInterval:
    version: Literal[4, 6] = 4 if low.version == 4 else 6
    base = _MAPPED if version == 4 else 0
    return IpInterval(text, form, version, base + int(low), base + high_value)


def _cidr(text: str, address_text: str, length_text: str) -> IpInterval:
    address = _address(address_text)
    bits = 32 if address.version == 4 else 128
    length = length_text.strip()
    if not length.isascii() or not length.isdigit() or not 0 <= int(length) <= bits:
        raise IpRangeError(f"{text!r}: prefix length {length_text!r} is not 0-{bits}")
    network = ipaddress.ip_network(f"{address}/{int(length)}", strict=False)
    return _interval(text, "cidr", network.network_address, int(network.broadcast_address))


def _netmask(text: str, address_text: str, mask_text: str) -> IpInterval:
    address, mask = _address(address_text), _address(mask_text)
    if address.version != mask.version:
        raise IpRangeError(f"{text!r}: address and netmask are of different IP versions")
    bits = 32 if address.version == 4 else 128
    value = int(mask)
    length = bin(value).count("1")
    if value != ((1 << bits) - 1) ^ ((1 << (bits - length)) - 1):
        raise IpRangeError(f"{text!r}: netmask {mask_text!r} is not contiguous")
    network = ipaddress.ip_network(f"{address}/{length}", strict=False)
    return _interval(text, "netmask", network.network_address, int(network.broadcast_address))


def parse_remote_ip_range(text: str) -> IpInterval:
    """One `msExchSmtpReceiveRemoteIPRanges` value; `IpRangeError` when it is none of the four forms."""
    if not isinstance(text, str):
        raise IpRangeError(f"expected text, got {type(text).__name__}")
    value = text.strip()
    if "(" in value:
        head, _, rest = value.partition("(")
        if not rest.endswith(")") or ")" in rest[:-1] or not head:
            raise IpRangeError(f"{text!r}: expected address(netmask)")
        return _netmask(text, head, rest[:-1])
    if "/" in value:
        head, _, length = value.partition("/")
        if not head or "/" in length:
            raise IpRangeError(f"{text!r}: expected address/prefix-length")
        return _cidr(text, head, length)
    if "-" in value:
        head, _, tail = value.partition("-")
        if not head or "-" in tail:
            raise IpRangeError(f"{text!r}: expected low-high")
        low, high = _address(head), _address(tail)
        if low.version != high.version:
            raise IpRangeError(f"{text!r}: low and high are of different IP versions")
        if int(low) > int(high):
            raise IpRangeError(f"{text!r}: low is above high")
        return _interval(text, "range", low, int(high))
    single = _address(value)
    return _interval(text, "single", single, int(single))


def read_remote_ip_ranges(values: Iterable[str]) -> list[IpInterval | UnreadableRange]:
    """Every value, in order: parsed, or kept as unreadable with the reason (never dropped)."""
    read: list[IpInterval | UnreadableRange] = []
    for value in values:
        try:
            read.append(parse_remote_ip_range(value))
        except IpRangeError as exc:
            read.append(UnreadableRange(value, str(exc)))
    return read


def most_specific(intervals: Iterable[IpInterval]) -> list[IpInterval]:
    """The intervals of fewest addresses (several when equally specific: the caller's `error`)."""
    candidates = list(intervals)
    if not candidates:
        return []
    smallest = min(interval.size for interval in candidates)
    return [interval for interval in candidates if interval.size == smallest]


@dataclass(frozen=True, slots=True)
class Binding:
    """One `msExchSmtpReceiveBindings` value: the local address (None = any) and port it listens on."""

    text: str
    address: str | None
    version: Literal[4, 6]
    port: int

    @property
    def is_any(self) -> bool:
        return self.address is None

    def listens_on(self, port: int, server_addresses: Iterable[str] = ()) -> bool:
        """True when it takes connections on `port` to any address, or to one of `server_addresses`."""
        if self.port != port:
            return False
        if self.address is None:
            return True
        own = address_value(self.address)
        for candidate in server_addresses:
            try:
                if address_value(candidate) == own:
                    return True
            except IpRangeError:
                continue
        return False


def parse_binding(text: str) -> Binding:
    """`0.0.0.0:25`, `[::]:587`, `10.0.0.16:25`, or 2003-style `:25:` (split at the last colon,
    a trailing colon dropped, an empty address meaning any IPv4 address)."""
    if not isinstance(text, str):
        raise IpRangeError(f"expected text, got {type(text).__name__}")
    value = text.strip()
    if value.endswith(":"):
        value = value[:-1]
    host, colon, port_text = value.rpartition(":")
    if not colon:
        raise IpRangeError(f"{text!r}: expected address:port")
    port_text = port_text.strip()
    if not port_text.isascii() or not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
        raise IpRangeError(f"{text!r}: port {port_text!r} is not 1-65535")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    address = _address(host) if host else ipaddress.IPv4Address(0)
    version: Literal[4, 6] = 4 if address.version == 4 else 6
    return Binding(text, None if int(address) == 0 else str(address), version, int(port_text))
