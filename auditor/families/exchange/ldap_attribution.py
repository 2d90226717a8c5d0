"""Reading what attribution needs from a live directory: the prefix table, the schema objects of
the attributes auditor keeps, the domain controllers' invocation ids, and tombstones.

Kept apart from `ldap.py` so the collector stays about objects; `LdapSource` hands in its own
search functions (with its error handling and paging), and these functions only say what to read.

* `prefixMap` on the schema head (`schemaNamingContext` of the rootDSE).
* attributeSchema objects for the kept attributes (plus `name`, `instanceType`, `isDeleted`):
  `lDAPDisplayName`, `attributeID`, `msDS-IntId`.
* nTDSDSA objects (NTDS Settings) of the Configuration partition: `invocationId` -> the `cn` of
  the server object above (the originating DSA in metadata is an invocation id, not a GUID of the
  object: a restored DC gets a new one).
* tombstones (`isDeleted=TRUE`, read with the show-deleted control 1.2.840.113556.1.4.417) of
  the classes auditor keeps, in each partition read, with their metadata: the deletion's origin,
  keyed by `objectGUID` like the records they were.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence

from auditor.attribution import Origin
from auditor.families.exchange.entries import guid_from_value
from auditor.families.exchange.prefixmap import decode_prefix_map
from auditor.families.exchange.replication import (
    EXTRA_ATTRIBUTES,
    Attribution,
    SchemaAttribute,
    dc_name_of,
)

__all__ = [
    "METADATA_ATTRIBUTE",
    "SHOW_DELETED",
    "ReadBase",
    "SearchAll",
    "read_attribution",
    "read_deletions",
]

METADATA_ATTRIBUTE = "replPropertyMetaData"
SHOW_DELETED = "1.2.840.113556.1.4.417"

Raw = Mapping[str, list[bytes]]
ReadBase = Callable[[str, list[str]], Raw]
"""Read one entry's attributes (base scope): (dn, attributes) -> raw values."""
SearchAll = Callable[[str, str, list[str], Sequence[str]], Iterator[tuple[str, Raw]]]
"""A paged subtree search: (base, filter, attributes, control OIDs) -> (dn, raw values)*."""


def _values(raw: Raw, name: str) -> list[bytes]:
    for key, values in raw.items():
        if key.lower() == name.lower():
            return list(values)
    return []


def _text(raw: Raw, name: str) -> str | None:
    values = _values(raw, name)
    return values[0].decode("utf-8") if values else None


def read_attribution(
    read_base: ReadBase, search: SearchAll, configuration_dn: str, schema_dn: str | None, kept: Iterable[str]
) -> Attribution:
    """Everything `Attribution` needs for the `kept` attributes, read from the directory (raises
    what the searches raise; an undecodable prefix table raises `PrefixMapError`)."""
    kept = list(kept)
    if not schema_dn:
        schema_dn = _text(read_base("", ["schemaNamingContext"]), "schemaNamingContext")
    schema_dn = schema_dn or f"CN=Schema,{configuration_dn}"
    prefix_values = _values(read_base(schema_dn, ["prefixMap"]), "prefixMap")
    prefixes = decode_prefix_map(prefix_values[0] if prefix_values else b"")
    names = sorted(set(kept) | set(EXTRA_ATTRIBUTES))
    wanted = "".join(f"(lDAPDisplayName={name})" for name in names)
    schema = []
    for _dn, raw in search(
        schema_dn,
        f"(&(objectClass=attributeSchema)(|{wanted}))",
        ["lDAPDisplayName", "attributeID", "msDS-IntId"],
        (),
    ):
        name, oid, int_id = _text(raw, "lDAPDisplayName"), _text(raw, "attributeID"), _text(raw, "msDS-IntId")
        if name and oid:
            schema.append(SchemaAttribute(name, oid, int(int_id) if int_id else None))
    dcs = {}
    for dn, raw in search(configuration_dn, "(objectClass=nTDSDSA)", ["invocationId"], ()):
        for value in _values(raw, "invocationId"):
            if len(value) == 16:
                dcs[str(uuid.UUID(bytes_le=value))] = dc_name_of(dn)
    return Attribution(prefixes, schema, dcs, kept)


def read_deletions(
    search: SearchAll, attribution: Attribution, naming_contexts: Iterable[str], classes: Iterable[str]
) -> dict[str, Origin]:
    """objectGUID key -> deletion origin, for the tombstones of these classes in these partitions."""
    wanted = "".join(f"(objectClass={name})" for name in classes)
    found: dict[str, Origin] = {}
    for base in naming_contexts:
        for _dn, raw in search(
            base, f"(&(isDeleted=TRUE)(|{wanted}))", ["objectGUID", METADATA_ATTRIBUTE], (SHOW_DELETED,)
        ):
            guids, blobs = _values(raw, "objectGUID"), _values(raw, METADATA_ATTRIBUTE)
            key = guid_from_value(guids[0]) if guids else None
            if key is None or not blobs:
                continue
            origin = attribution.deletion(blobs[0])
            if origin is not None:
                found[key] = origin
    return found
