"""`mynetworks`-style address lists: CIDR entries, widths, and whether a client is inside.

Postfix's forms (postconf(5) `mynetworks`): `10.0.0.0/8`, `10.0.0.1`, `[2001:db8::]/32`,
`[::1]`, `!pattern` (exclusion, first match wins), `/file/name` (its contents), `type:table`
(a lookup), host or domain names. Only literal addresses can be judged here: a table, a file
that was not exported, or a name makes the list `undecided`, with the entry named.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from auditor.families.linux.params import is_unknown, split_list

__all__ = ["Network", "NetworkList", "is_loopback", "parse_network_list", "too_wide"]

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True, slots=True)
class NetworkList:
    """Literal networks in order with their exclusion flag; `undecided` names what could not be read."""

    entries: tuple[tuple[bool, Network, str], ...]
    undecided: tuple[str, ...]

    def contains(self, address: Address) -> bool | None:
        """True / False, or None when an entry that could not be read comes before the decision."""
        for excluded, network, _ in self.entries:
            if address.version == network.version and address in network:
                return not excluded
        return None if self.undecided else False

    @property
    def networks(self) -> list[tuple[Network, str]]:
        return [(network, text) for excluded, network, text in self.entries if not excluded]


def _network(token: str) -> Network | None:
    text = token
    if text.startswith("["):
        close = text.find("]")
        if close < 0:
            return None
        text = text[1:close] + text[close + 1 :]
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        return None


def parse_network_list(value: str, read_file: Callable[[str], Sequence[str] | None]) -> NetworkList:
    """Parse a list; `read_file(path)` gives an exported `/file` list's tokens, or None if absent."""
    entries: list[tuple[bool, Network, str]] = []
    undecided: list[str] = []
    if is_unknown(value):
        return NetworkList(entries=(), undecided=("a host-dependent default (mynetworks_style)",))

    def add(tokens: Sequence[str]) -> None:
        for token in tokens:
            if token.startswith("#"):
                continue
            excluded = token.startswith("!")
            body = token[1:] if excluded else token
            if body.startswith("/"):
                contents = read_file(body)
                if contents is None:
                    undecided.append(f"{body} (file not exported)")
                    continue
                add([t for line in contents if not line.lstrip().startswith("#") for t in split_list(line)])
                continue
            network = _network(body)
            if network is None:
                undecided.append(token)
                continue
            entries.append((excluded, network, token))

    add(split_list(value))
    return NetworkList(entries=tuple(entries), undecided=tuple(undecided))


_LOOPBACK_V4 = ipaddress.IPv4Network("127.0.0.0/8")
_MAPPED_LOOPBACK = ipaddress.IPv6Network("::ffff:127.0.0.0/104")


def is_loopback(network: Network) -> bool:
    """Inside 127.0.0.0/8, ::1 or the IPv4-mapped loopback `[::ffff:127.0.0.0]/104`: the host itself."""
    if isinstance(network, ipaddress.IPv4Network):
        return network.subnet_of(_LOOPBACK_V4)
    return network.subnet_of(_MAPPED_LOOPBACK) or (
        network.prefixlen == 128 and network.network_address.is_loopback
    )


def too_wide(network: Network) -> bool:
    """Wider than /16 (IPv4) or /48 (IPv6): the bound COEX-901 sets for a relay population.

    Loopback networks are never too wide, however short their prefix: their clients are the host's
    own processes (Debian's stock `mynetworks = 127.0.0.0/8 [::ffff:127.0.0.0]/104 [::1]/128`).
    """
    if is_loopback(network):
        return False
    return network.prefixlen < (16 if network.version == 4 else 48)
