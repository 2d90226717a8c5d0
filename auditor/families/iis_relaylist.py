"""Decoder for the IIS / Exchange IP security list (`msExchSmtpRelayIpList`, metabase `RelayIpList`).

No public specification exists; the layout below is the one reverse-engineered in the team's
research notes from public byte dumps (IIS `rdns.hxx` ADDRESS_CHECK_LIST). All integers are
little-endian DWORDs; a "reference" is a byte offset with bit 31 set (self-relative).

    0x00  iDenyAddr, iGrantAddr, iDenyName, iGrantName   references to the four list headers
    0x10  dwFlags, cRefSize
    header (8 bytes): cEntries, cAddresses (real addresses, mask slots excluded)
    entry (20 bytes): family (2 = AF_INET), count (mask slot + addresses), fullMaskBytes,
                      lastMaskByte, reference to [mask][addr1][addr2]... (4 bytes each, network order)

The decoder follows references instead of assuming offsets, cross-checks every count, and refuses
anything it does not recognise (`RelayListDecodeError`): an open-relay check must never pass on a
guess. A blob whose header or references point past its end raises the subclass
`RelayListTruncatedError`. Either way the collectors keep the raw blob and the families' adapters
turn it into an unreadable relay policy, which the checks report as `error` for manual review (one
damaged value in a valid export is not a failed pass). Name (DNS) lists are counted but their entry
layout is unknown, so a blob with name entries is refused too.

This module is shared by the Exchange family (Exchange 2003's SMTP virtual server is IIS SMTP) and
the Windows POP3 family; `to_relay_policy` is where the IIS list becomes the model's `RelayPolicy`.

Mode: a grant list with at least one entry means "only the list below" (deny by default); no grant
entries means "all except the list below" (everyone not denied may relay). The UI's "only the list
below" with nobody on it is stored as the sentinel grant 0.0.0.0/32, which matches no client.
"""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass
from enum import StrEnum

from auditor.model.transport import RelayPolicy

__all__ = [
    "RelayList",
    "RelayListDecodeError",
    "RelayListTruncatedError",
    "RelayMode",
    "decode_relay_list",
    "to_relay_policy",
]

_SELF_RELATIVE = 0x80000000
_AF_INET = 2
_ENTRY_SIZE = 20


class RelayListDecodeError(ValueError):
    """The blob is not in a layout this decoder knows; it needs a human to review it."""


class RelayListTruncatedError(RelayListDecodeError):
    """The blob's own header or references promise more bytes than it has: it was cut short.

    Collectors treat this as a damaged input file (the export lost bytes), whereas a complete blob
    of an unknown layout is kept and reported by the checks for review by hand.
    """


class RelayMode(StrEnum):
    ONLY_LIST = "only the list below"
    ALL_EXCEPT = "all except the list below"


@dataclass(frozen=True, slots=True)
class RelayList:
    mode: RelayMode
    grants: tuple[ipaddress.IPv4Network, ...]
    denies: tuple[ipaddress.IPv4Network, ...]

    @property
    def real_grants(self) -> tuple[ipaddress.IPv4Network, ...]:
        """Grants without the 0.0.0.0/32 sentinel that stands for "nobody"."""
        return tuple(g for g in self.grants if g != ipaddress.IPv4Network("0.0.0.0/32"))

    def grants_address(self, address: str) -> bool:
        """Whether a client at `address` may relay by IP under this list."""
        try:
            ip = ipaddress.IPv4Address(address.strip().strip("[]"))
        except ValueError:
            return False
        denied = any(ip in net for net in self.denies)
        if self.mode is RelayMode.ALL_EXCEPT:
            return not denied
        return not denied and any(ip in net for net in self.real_grants)

    def widest_grant(self) -> ipaddress.IPv4Network | None:
        grants = sorted(self.real_grants, key=lambda n: n.prefixlen)
        return grants[0] if grants else None

    def describe(self) -> str:
        """One line for reports and diffs: `only the list below: grant 10.0.0.25/32`."""
        parts = [self.mode.value]
        if self.real_grants:
            parts.append("grant " + ", ".join(str(g) for g in self.real_grants))
        elif self.mode is RelayMode.ONLY_LIST:
            parts.append("nobody granted")
        if self.denies:
            parts.append("deny " + ", ".join(str(d) for d in self.denies))
        return "; ".join(parts)


def _ref(value: int, what: str, size: int, need: int = 8) -> int:
    if not value & _SELF_RELATIVE:
        raise RelayListDecodeError(f"{what} reference 0x{value:08x} is not self-relative")
    offset = value & ~_SELF_RELATIVE
    if offset + need > size:
        raise RelayListTruncatedError(f"{what} reference points outside the {size}-byte blob")
    return offset


def _u32(blob: bytes, offset: int, what: str) -> int:
    if offset + 4 > len(blob):
        raise RelayListTruncatedError(f"{what} at offset {offset} lies beyond the {len(blob)}-byte blob")
    return int(struct.unpack_from("<I", blob, offset)[0])


def _mask_prefix(mask: bytes, full_bytes: int, last_byte: int) -> int:
    mask_int = int.from_bytes(mask, "big")
    prefix = bin(mask_int).count("1")
    if mask_int != ((0xFFFFFFFF << (32 - prefix)) & 0xFFFFFFFF):
        raise RelayListDecodeError(f"mask {ipaddress.IPv4Address(mask)} is not contiguous")
    if full_bytes * 8 + bin(last_byte).count("1") != prefix:
        raise RelayListDecodeError(
            f"mask {ipaddress.IPv4Address(mask)} disagrees with its entry ({full_bytes} full bytes)"
        )
    return prefix


def _address_list(blob: bytes, reference: int, what: str) -> tuple[ipaddress.IPv4Network, ...]:
    header = _ref(reference, what, len(blob))
    entries = _u32(blob, header, f"{what} entry count")
    total = _u32(blob, header + 4, f"{what} address count")
    if entries > 1024:
        raise RelayListDecodeError(f"{what} claims {entries} entries")
    networks: list[ipaddress.IPv4Network] = []
    counted = 0
    for index in range(entries):
        base = header + 8 + _ENTRY_SIZE * index
        if base + _ENTRY_SIZE > len(blob):
            raise RelayListTruncatedError(f"{what} entry {index} is cut off")
        family, count, full_bytes, last_byte, data_ref = struct.unpack_from("<5I", blob, base)
        if family != _AF_INET:
            raise RelayListDecodeError(f"{what} entry {index} has address family {family}, not AF_INET")
        if count < 1 or full_bytes > 4 or last_byte > 0xFF:
            raise RelayListDecodeError(f"{what} entry {index} has an impossible count or mask")
        data = _ref(data_ref, f"{what} entry {index} data", len(blob), need=4)
        end = data + 4 * count
        if end > len(blob):
            raise RelayListTruncatedError(f"{what} entry {index} addresses run past the end of the blob")
        prefix = _mask_prefix(blob[data : data + 4], full_bytes, last_byte)
        for slot in range(1, count):
            address = ipaddress.IPv4Address(blob[data + 4 * slot : data + 4 * slot + 4])
            networks.append(ipaddress.IPv4Network(f"{address}/{prefix}", strict=False))
        counted += count - 1
    if counted != total:
        raise RelayListDecodeError(f"{what} header counts {total} addresses but its entries hold {counted}")
    return tuple(networks)


def _name_entries(blob: bytes, reference: int, what: str) -> int:
    header = _ref(reference, what, len(blob))
    return _u32(blob, header, f"{what} entry count")


def decode_relay_list(blob: bytes) -> RelayList:
    """Decode a relay list blob; an empty blob is IIS's "everyone may relay"."""
    if not blob:
        return RelayList(mode=RelayMode.ALL_EXCEPT, grants=(), denies=())
    if len(blob) < 24:
        raise RelayListTruncatedError(f"blob of {len(blob)} bytes is shorter than the 24-byte header")
    deny_addr, grant_addr, deny_name, grant_name, _flags, ref_size = struct.unpack_from("<6I", blob, 0)
    if ref_size > len(blob):
        raise RelayListTruncatedError(f"header size {ref_size} exceeds the {len(blob)}-byte blob")
    denies = _address_list(blob, deny_addr, "deny-by-IP list")
    grant_header = _ref(grant_addr, "grant-by-IP list", len(blob))
    grant_entries = _u32(blob, grant_header, "grant-by-IP entry count")
    grants = _address_list(blob, grant_addr, "grant-by-IP list")
    names = _name_entries(blob, deny_name, "deny-by-name list") + _name_entries(
        blob, grant_name, "grant-by-name list"
    )
    if names:
        raise RelayListDecodeError(
            f"{names} DNS-name entries present; their layout is not known, review the list by hand"
        )
    mode = RelayMode.ONLY_LIST if grant_entries else RelayMode.ALL_EXCEPT
    return RelayList(mode=mode, grants=grants, denies=denies)


def to_relay_policy(relay: RelayList) -> RelayPolicy:
    """The IIS IP security list as the model's relay policy (shared with the Windows POP3 family)."""
    nobody = ipaddress.IPv4Network("0.0.0.0/32")
    everyone = None
    if relay.mode is RelayMode.ALL_EXCEPT:
        everyone = f"relay list is in 'all except the list below' mode ({relay.describe()})"
    return RelayPolicy(
        only_listed=relay.mode is RelayMode.ONLY_LIST,
        grants=tuple(g for g in relay.grants if g != nobody),
        denies=relay.denies,
        description=relay.describe(),
        everyone_reason=everyone,
    )
