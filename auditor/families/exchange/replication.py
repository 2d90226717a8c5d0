"""Replication metadata: who last wrote each attribute, when, and on which domain controller.

Every AD object carries `replPropertyMetaData` (returned only when asked for by name): one entry per
attribute ever written, in the stored form of [MS-DRSR]'s PROPERTY_META_DATA_EXT_VECTOR
(Samba's `replPropertyMetaDataBlob`)::

    u32 version (1)   u32 reserved   u32 count   u32 reserved
    count x 48 bytes: u32 ATTRTYP   u32 version   u64 originating change time (seconds since 1601)
                      GUID originating DSA invocation id   i64 originating USN   i64 local USN

`decode_metadata` reads that. `Attribution` holds what it takes to turn entries into
`auditor.attribution.Origin`s for the attributes auditor keeps: ATTRTYP -> OID through the
schema's prefix table (`prefixmap.py`) -> name through the attributeSchema objects (or their
`msDS-IntId`), and invocation id -> DC name through the NTDS Settings objects' `invocationId`
(not their `objectGUID`) -> the `cn` of the server object above them. An invocation id no DC
carries any more (a restored or demoted DC) stays as the raw GUID.

Origins are volatile data that every live record carries, so they are kept compact: a few bytes
per attribute in a `PackedOrigins` mapping that decodes on access.
"""

from __future__ import annotations

import struct
import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from auditor.attribution import ORIGIN_CREATED, ORIGIN_DN, Origin
from auditor.families.exchange.prefixmap import PrefixMapError, PrefixTable, is_int_id

__all__ = [
    "DELETION_ATTRIBUTE",
    "EXTRA_ATTRIBUTES",
    "Attribution",
    "MetadataError",
    "PackedOrigins",
    "PropertyMetadata",
    "SchemaAttribute",
    "dc_name_of",
    "decode_metadata",
]

_EPOCH = datetime(1601, 1, 1, tzinfo=UTC)
_HEADER = struct.Struct("<IIII")
_ENTRY = struct.Struct("<IIQ16sqq")
_ENTRY_WRITE = struct.Struct("<IIQ16s16x")  # the same 48 bytes without the USNs (the hot path)
_SKIP = -1
_MAX_SECONDS = int((datetime(9999, 12, 31, tzinfo=UTC) - _EPOCH).total_seconds())
_PACKED = struct.Struct("<HHIq")  # name index, DC index, version, seconds since 1601

# Metadata of these stands for the object itself: `name` changes on every rename and move,
# `instanceType` is written once, when the object is created; `isDeleted` when it is deleted.
RENAME_ATTRIBUTE = "name"
CREATION_ATTRIBUTE = "instanceType"
DELETION_ATTRIBUTE = "isDeleted"
EXTRA_ATTRIBUTES = (RENAME_ATTRIBUTE, CREATION_ATTRIBUTE, DELETION_ATTRIBUTE)


class MetadataError(ValueError):
    """A `replPropertyMetaData` value that is not the layout above."""


@dataclass(frozen=True, slots=True)
class PropertyMetadata:
    """One attribute's entry: its last originating write and where it was applied locally."""

    attid: int
    version: int
    changed: datetime
    invocation_id: str
    originating_usn: int
    local_usn: int


def decode_metadata(blob: bytes) -> list[PropertyMetadata]:
    """Every entry of a `replPropertyMetaData` value, in stored order."""
    if len(blob) < _HEADER.size:
        raise MetadataError(f"replPropertyMetaData of {len(blob)} bytes is too short")
    version, _reserved, count, _reserved2 = _HEADER.unpack_from(blob)
    if version != 1:
        raise MetadataError(f"replPropertyMetaData version {version} is not 1")
    if len(blob) != _HEADER.size + count * _ENTRY.size:
        raise MetadataError(
            f"replPropertyMetaData holds {len(blob)} bytes, not the {_HEADER.size + count * _ENTRY.size} "
            f"that {count} entries take"
        )
    entries = []
    for index in range(count):
        attid, attr_version, seconds, dsa, usn, local = _ENTRY.unpack_from(
            blob, _HEADER.size + index * _ENTRY.size
        )
        try:
            changed = _EPOCH + timedelta(seconds=seconds)
        except OverflowError:
            raise MetadataError(f"entry {index}: change time {seconds} s is out of range") from None
        entries.append(
            PropertyMetadata(attid, attr_version, changed, str(uuid.UUID(bytes_le=dsa)), usn, local)
        )
    return entries


@dataclass(frozen=True, slots=True)
class SchemaAttribute:
    """What the schema says about one attribute: its name, OID and `msDS-IntId` (if any)."""

    name: str
    oid: str
    int_id: int | None = None


def dc_name_of(ntds_settings_dn: str) -> str:
    """The `cn` of the server object above an NTDS Settings object (`CN=NTDS Settings,CN=DC1,...`)."""
    parts = _split_dn(ntds_settings_dn)
    if len(parts) < 2:
        return ntds_settings_dn
    _, _, value = parts[1].partition("=")
    return value


def _split_dn(dn: str) -> list[str]:
    """RDNs of a DN, backslash escapes of the separators undone."""
    parts, current, escaped = [], [], False
    for char in dn:
        if escaped:
            current.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == ",":
            parts.append("".join(current).strip())
            current = []
        else:
            current.append(char)
    parts.append("".join(current).strip())
    return parts


class PackedOrigins(Mapping[str, Origin]):
    """Origins of one record, 16 bytes per attribute; names and DCs live in the shared tables."""

    __slots__ = ("_blob", "_dcs", "_names")

    def __init__(self, blob: bytes, names: list[str], dcs: list[str]) -> None:
        self._blob, self._names, self._dcs = blob, names, dcs

    def _entries(self) -> Iterator[tuple[str, Origin]]:
        for name_index, dc_index, version, seconds in _PACKED.iter_unpack(self._blob):
            yield (
                self._names[name_index],
                Origin(_EPOCH + timedelta(seconds=seconds), self._dcs[dc_index], version),
            )

    def __getitem__(self, name: str) -> Origin:
        for found, origin in self._entries():
            if found == name:
                return origin
        raise KeyError(name)

    def __iter__(self) -> Iterator[str]:
        for name_index, *_ in _PACKED.iter_unpack(self._blob):
            yield self._names[name_index]

    def __len__(self) -> int:
        return len(self._blob) // _PACKED.size


class Attribution:
    """Turns an object's replication metadata into origins for the attributes a read keeps.

    `kept` are the attribute names the read asks for, spelled as its records spell them (origins
    go under those spellings); metadata of any other attribute is left out.
    """

    def __init__(
        self,
        prefixes: PrefixTable,
        schema: Iterable[SchemaAttribute],
        dcs: Mapping[str, str],
        kept: Iterable[str],
    ) -> None:
        by_oid: dict[str, str] = {}
        self._by_int_id: dict[int, str] = {}
        for attribute in schema:
            by_oid[attribute.oid] = attribute.name
            if attribute.int_id is not None:
                self._by_int_id[attribute.int_id & 0xFFFFFFFF] = attribute.name
        self._by_oid = by_oid
        self._prefixes = prefixes
        self._dc_of = {invocation.lower(): name for invocation, name in dcs.items()}
        self._names: list[str] = []
        self._name_index: dict[str, int] = {}
        self._dcs: list[str] = []
        self._dc_index: dict[str, int] = {}
        self._kept = {name.lower(): name for name in kept}
        self._attid_names: dict[int, str | None] = {}
        self._keys: dict[int, int] = {}  # ATTRTYP -> name index or _SKIP
        self._dc_by_bytes: dict[bytes, int] = {}
        self.unreadable = 0  # values that could not be decoded (counted, then logged once)

    def name_of(self, attid: int) -> str | None:
        """The lDAPDisplayName an ATTRTYP stands for, or None when the schema read does not know it."""
        if attid not in self._attid_names:
            name: str | None
            if is_int_id(attid):
                name = self._by_int_id.get(attid)
            else:
                try:
                    name = self._by_oid.get(self._prefixes.oid_from_attid(attid))
                except PrefixMapError:
                    name = None
            self._attid_names[attid] = name
        return self._attid_names[attid]

    def dc_of(self, invocation_id: str) -> str:
        """The DC's server `cn` for an invocation id; the raw id when no NTDS Settings carries it."""
        return self._dc_of.get(invocation_id.lower(), invocation_id)

    def origins(self, blob: bytes) -> PackedOrigins | None:
        """The origins of the kept attributes of one object, plus `dn` and `@created`.

        Runs once per object of a live read, so it decodes straight into the packed form: no
        per-entry objects, the ATTRTYP -> name and invocation id -> DC lookups cached.
        """
        if len(blob) < _HEADER.size:
            self.unreadable += 1
            return None
        version, _reserved, count, _reserved2 = _HEADER.unpack_from(blob)
        if version != 1 or len(blob) != _HEADER.size + count * _ENTRY.size:
            self.unreadable += 1
            return None
        keys = self._keys
        packed = bytearray()
        for attid, attr_version, seconds, dsa in _ENTRY_WRITE.iter_unpack(memoryview(blob)[_HEADER.size :]):
            index = keys.get(attid)
            if index is None:
                index = keys[attid] = self._key_index(attid)
            if index == _SKIP or seconds > _MAX_SECONDS:  # no date to show for a time past year 9999
                continue
            dc_index = self._dc_by_bytes.get(dsa)
            if dc_index is None:
                dc_index = self._dc_by_bytes[dsa] = self._intern_dc(str(uuid.UUID(bytes_le=dsa)))
            packed += _PACKED.pack(index, dc_index, attr_version, seconds)
        return PackedOrigins(bytes(packed), self._names, self._dcs)

    def _key_index(self, attid: int) -> int:
        """The name index an ATTRTYP's origin goes under, or _SKIP."""
        name = self.name_of(attid)
        if name is None:
            return _SKIP
        key = _origin_key(name)
        if key not in (ORIGIN_DN, ORIGIN_CREATED):
            key = self._kept.get(name.lower()) if key is not None else None
        return _SKIP if key is None else self._intern_name(key)

    def deletion(self, blob: bytes) -> Origin | None:
        """When and where a tombstone was deleted: its `isDeleted` metadata."""
        try:
            entries = decode_metadata(blob)
        except MetadataError:
            self.unreadable += 1
            return None
        for entry in entries:
            if self.name_of(entry.attid) == DELETION_ATTRIBUTE:
                return Origin(entry.changed, self.dc_of(entry.invocation_id), entry.version)
        return None

    def _intern_name(self, name: str) -> int:
        index = self._name_index.get(name)
        if index is None:
            index = self._name_index[name] = len(self._names)
            self._names.append(name)
        return index

    def _intern_dc(self, invocation_id: str) -> int:
        dc = self.dc_of(invocation_id)
        index = self._dc_index.get(dc)
        if index is None:
            index = self._dc_index[dc] = len(self._dcs)
            self._dcs.append(dc)
        return index


def _origin_key(name: str) -> str | None:
    """The key an attribute's origin goes under: its own name, or `dn` / `@created` for the object."""
    lowered = name.lower()
    if lowered == RENAME_ATTRIBUTE.lower():
        return ORIGIN_DN
    if lowered == CREATION_ATTRIBUTE.lower():
        return ORIGIN_CREATED
    if lowered == DELETION_ATTRIBUTE.lower():
        return None
    return name
