"""AD's schema prefix table: turning the compact attribute ids (ATTRTYP) of replication metadata
back into OIDs, and OIDs into ATTRTYPs.

Replication metadata names each attribute by a 32-bit ATTRTYP rather than its OID or name. The
rules ([MS-ADTS] 3.1.1.2.6, [MS-DRSR] 5.16.4 `OidFromAttid` / `MakeAttid`):

* ATTRTYP 0x00000000-0x7FFFFFFF: the upper 16 bits index a prefix table entry (the BER bytes of an
  OID without its last arc, or without the last two bytes when that arc is 128 or more); the lower
  16 bits carry the last arc: below 128 one more BER byte; otherwise two BER bytes of
  `lower & 0x3FFF`, and bit 0x8000 says the arc was 16384 or more (its high bits then sit in the
  prefix).
* ATTRTYP 0x80000000-0xBFFFFFFF: the `msDS-IntId` of an attributeSchema object (attributes added
  to a forest at Windows Server 2003 level or later, such as Exchange's on the lab DC); the name
  comes from that object, not from the table.

The directory's own table is the `prefixMap` attribute of the schema head. Two layouts exist:
Samba stores an NDR `prefixMapBlob` (it starts with the bytes `BDSD`); Windows stores
`count, total size, (index u16, length u16, BER bytes)*`. Both decode here to a `PrefixTable`.
Anything else, or a truncated value, raises `PrefixMapError`.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

__all__ = [
    "INT_ID_FIRST",
    "PrefixMapError",
    "PrefixTable",
    "ber_decode_oid",
    "ber_encode_oid",
    "decode_prefix_map",
    "is_int_id",
]

INT_ID_FIRST = 0x80000000
_INT_ID_LAST = 0xBFFFFFFF
_SAMBA_MAGIC = 0x44534442  # "BDSD" little-endian: Samba's PREFIX_MAP_VERSION_DSDB


class PrefixMapError(ValueError):
    """A prefix table or ATTRTYP that cannot be read; the message says what was wrong."""


def ber_encode_oid(oid: str) -> bytes:
    """The BER content bytes of a dotted OID (no tag, no length)."""
    try:
        arcs = [int(part) for part in oid.split(".")]
    except ValueError:
        raise PrefixMapError(f"not an OID: {oid!r}") from None
    if len(arcs) < 2 or arcs[0] > 2 or (arcs[0] < 2 and arcs[1] >= 40) or min(arcs) < 0:
        raise PrefixMapError(f"not an OID: {oid!r}")
    out = bytearray()
    for arc in [40 * arcs[0] + arcs[1], *arcs[2:]]:
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        out.extend(reversed(chunk))
    return bytes(out)


def ber_decode_oid(data: bytes) -> str:
    """The dotted OID of BER content bytes; a value cut inside an arc raises PrefixMapError."""
    if not data:
        raise PrefixMapError("empty OID")
    arcs: list[int] = []
    value = 0
    for byte in data:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            arcs.append(value)
            value = 0
    if data[-1] & 0x80:
        raise PrefixMapError(f"OID bytes end inside an arc: {data.hex()}")
    first = arcs[0]
    head = [0, first] if first < 40 else [1, first - 40] if first < 80 else [2, first - 80]
    return ".".join(str(arc) for arc in head + arcs[1:])


@dataclass(frozen=True)
class PrefixTable:
    """Prefix index -> BER prefix bytes, with the two conversions of [MS-DRSR] 5.16.4."""

    prefixes: Mapping[int, bytes]

    def oid_from_attid(self, attid: int) -> str:
        """`OidFromAttid`: the OID an ATTRTYP of the prefix-table range stands for."""
        if not 0 <= attid < INT_ID_FIRST:
            raise PrefixMapError(f"ATTRTYP {attid:#010x} is not in the prefix table range")
        index, lower = attid >> 16, attid & 0xFFFF
        prefix = self.prefixes.get(index)
        if prefix is None:
            raise PrefixMapError(f"ATTRTYP {attid:#010x}: the prefix table has no entry {index}")
        if lower < 128:
            tail = bytes([lower])
        else:
            lower &= 0x7FFF
            tail = bytes([0x80 | ((lower >> 7) & 0x7F), lower & 0x7F])
        return ber_decode_oid(prefix + tail)

    def attid_from_oid(self, oid: str) -> int:
        """`MakeAttid` without adding entries: the ATTRTYP of an OID whose prefix is in the table."""
        encoded = ber_encode_oid(oid)
        last = int(oid.rsplit(".", 1)[1])
        prefix = encoded[:-1] if last < 128 else encoded[:-2]
        index = next((i for i, p in self.prefixes.items() if p == prefix), None)
        if index is None:
            raise PrefixMapError(f"the prefix table has no entry for {oid}")
        lower = last % 0x4000 + (0x8000 if last >= 0x4000 else 0)
        return (index << 16) | lower

    @classmethod
    def of(cls, entries: Iterable[tuple[int, str]]) -> PrefixTable:
        """A table from (index, dotted prefix OID) pairs."""
        return cls({index: ber_encode_oid(prefix) for index, prefix in entries})


def is_int_id(attid: int) -> bool:
    """Whether an ATTRTYP is an `msDS-IntId` (resolved through the schema object, not the table)."""
    return INT_ID_FIRST <= attid <= _INT_ID_LAST


def decode_prefix_map(blob: bytes) -> PrefixTable:
    """The prefix table of a `prefixMap` value, in Samba's or Windows' layout."""
    if len(blob) >= 4 and struct.unpack_from("<I", blob)[0] == _SAMBA_MAGIC:
        return _decode_samba(blob)
    return _decode_windows(blob)


def _decode_windows(blob: bytes) -> PrefixTable:
    if len(blob) < 8:
        raise PrefixMapError(f"prefixMap of {len(blob)} bytes is too short")
    count, size = struct.unpack_from("<II", blob)
    if size != len(blob):
        raise PrefixMapError(f"prefixMap says it is {size} bytes long but is {len(blob)}")
    offset, prefixes = 8, {}
    for number in range(count):
        if offset + 4 > len(blob):
            raise PrefixMapError(f"prefixMap ends inside entry {number} of {count}")
        index, length = struct.unpack_from("<HH", blob, offset)
        offset += 4
        if offset + length > len(blob):
            raise PrefixMapError(f"prefixMap entry {index} runs past the end of the value")
        prefixes[index] = bytes(blob[offset : offset + length])
        offset += length
    if offset != len(blob):
        raise PrefixMapError(f"prefixMap has {len(blob) - offset} bytes after its {count} entries")
    return PrefixTable(prefixes)


def _decode_samba(blob: bytes) -> PrefixTable:
    """NDR `prefixMapBlob`: version, reserved, count, array pointer; the array's scalars (index,
    length, pointer per entry); then each entry's bytes, as a conformant array aligned to 4."""

    def u32(offset: int) -> int:
        if offset + 4 > len(blob):
            raise PrefixMapError("prefixMap (Samba layout) is truncated")
        return int(struct.unpack_from("<I", blob, offset)[0])

    count, pointer = u32(8), u32(12)
    if count == 0:
        return PrefixTable({})
    if pointer == 0 or u32(16) != count:
        raise PrefixMapError("prefixMap (Samba layout): the entry array does not match its count")
    offset = 20
    entries = []
    for _ in range(count):
        entries.append((u32(offset), u32(offset + 4), u32(offset + 8)))
        offset += 12
    prefixes = {}
    for index, length, entry_pointer in entries:
        if entry_pointer == 0:
            raise PrefixMapError(f"prefixMap (Samba layout): entry {index} has no bytes")
        offset = (offset + 3) & ~3
        if u32(offset) != length:
            raise PrefixMapError(f"prefixMap (Samba layout): entry {index} length does not match")
        offset += 4
        if offset + length > len(blob):
            raise PrefixMapError("prefixMap (Samba layout) is truncated")
        prefixes[index] = bytes(blob[offset : offset + length])
        offset += length
    return PrefixTable(prefixes)
