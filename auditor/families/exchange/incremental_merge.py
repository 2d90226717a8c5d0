"""Applying what changed to the previous complete snapshot: the merge half of an incremental read.

`incremental.py` says why a pass reads in full and asks the directory what changed; this module
turns that into a complete set of records (see `incremental.py`'s docstring for the rules): every
changed object read again whole with the collector's filter, attributes, ranges and replication
metadata; deletions and objects that stop matching removed; objects below a renamed or moved
object, and records whose DN-valued attributes name one, read again; receive connectors (whose
descriptor is read with a control DirSync does not send) read again every time.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

from ldap3.utils.conv import escape_filter_chars

from auditor.attribution import Origin
from auditor.collect import Baseline
from auditor.errors import DirectoryError
from auditor.families.exchange.entries import guid_from_value
from auditor.families.exchange.incremental import (
    DESCRIPTOR_KINDS,
    DIRECTORY_KINDS,
    GUIDS_PER_SEARCH,
    Changes,
    guid_filter,
)
from auditor.families.exchange.ldap_attribution import METADATA_ATTRIBUTE, SHOW_DELETED
from auditor.records import ObjectRecord

if TYPE_CHECKING:
    from auditor.families.exchange.ldap import LdapSource, Partition
    from auditor.families.exchange.replication import Attribution

__all__ = ["read_incrementally", "renamed_below"]

log = logging.getLogger(__name__)


def renamed_below(old_dn: str, new_dn: str, container_new_dn: str) -> str | None:
    """The old DN of the container at `container_new_dn`, from one of its children's old and new
    DNs (the child's path below the container is unchanged), or None when they do not line up."""
    if not new_dn.lower().endswith(container_new_dn.lower()):
        return None
    below = new_dn[: len(new_dn) - len(container_new_dn)]
    if not below or not old_dn.lower().startswith(below.lower()):
        return None
    return old_dn[len(below) :]


def _names_dn(value: str, old_dns: Sequence[str]) -> bool:
    lowered = value.lower()
    return any(lowered == dn or lowered.endswith("," + dn) for dn in old_dns)


class _Kept(NamedTuple):
    """An object of the previous snapshot known by kind and DN only (`Baseline.index`): carried
    over unchanged unless something makes the merge read it again or look at its values."""

    kind: str
    dn: str


@dataclass
class _Partition:
    name: Partition
    base_dn: str
    search_filter: str
    attributes: list[str]
    changes: Changes
    inner: tuple[str, ...] = ()  # naming contexts below this one


def read_incrementally(
    source: LdapSource,
    baseline: Baseline,
    partitions: Sequence[tuple[Partition, str, str, list[str], Changes]],
    attribution: Attribution | None,
    *,
    scan: bool = False,
) -> tuple[list[ObjectRecord], dict[str, tuple[str, str]], dict[str, Origin]]:
    """The previous snapshot's directory records with every change read again (module docstring).

    `scan`: the change tracking may not show deletions (uSNChanged read by an account that cannot
    see tombstones), so the collected objects' GUIDs and DNs are listed (one search per partition,
    GUIDs only) and whatever is gone is removed, whatever has a new DN is read again.
    Returns the merged records, the objects carried over (key -> (kind, DN)) and the deletion
    origins of the objects removed, where attribution can tell. Records and carried objects are
    together a complete read's worth. Only a baseline with an `index` carries objects over: then
    the previous records' values are read back from the store only when a rename or move makes
    the merge look for DN-valued attributes naming an old DN; otherwise every record is returned.
    """
    current: dict[str, ObjectRecord | _Kept]
    if baseline.index is not None:
        current = {key: _Kept(kind, dn) for key, kind, dn in baseline.index() if kind in DIRECTORY_KINDS}
    else:
        current = {record.key: record for record in baseline.records() if record.kind in DIRECTORY_KINDS}
    previous_dn = {key: record.dn for key, record in current.items()}
    removed: set[str] = set()
    old_dns: list[str] = []
    renamed_containers: list[str] = []
    for name, base_dn, search_filter, attributes, changes in partitions:
        part = _Partition(name, base_dn, search_filter, attributes, changes, _inner(base_dn, partitions))
        for key in changes.deleted:
            if current.pop(key, None) is not None:
                removed.add(key)
        # A security descriptor is read with the SD-flags control, which DirSync does not send: a
        # change to a descriptor alone may go unreported, so kinds that keep one are always read
        # again (receive connectors: a handful per server).
        wanted = {
            key: record.dn
            for key, record in current.items()
            if record.kind in DESCRIPTOR_KINDS and _in_partition(record.dn, part)
        }
        wanted.update(changes.changed)
        fresh = _reread(source, part, wanted, attribution, current, removed)
        # Below anything that was renamed or moved (or is no collected object at all, such as an
        # OU), collected objects may have new DNs that their own change tracking never mentions.
        if scan:
            present = {key: dn for dn, key in _collected_below(source, part, base_dn)}
            for key in [k for k, r in current.items() if _in_partition(r.dn, part) and k not in present]:
                del current[key]
                removed.add(key)
                changes.deleted.add(key)  # a removal the change tracking could not show
            below = [(dn, key, base_dn) for key, dn in present.items()]
        else:
            containers = [
                dn
                for key, dn in changes.changed.items()
                if key not in fresh or previous_dn.get(key, dn) != fresh[key].dn
            ]
            below = [
                (dn, key, container)
                for container in containers
                for dn, key in _collected_below(source, part, container)
            ]
        moved: dict[str, str] = {}
        for dn, key, container in below:
            if key not in fresh and (key not in current or previous_dn.get(key) != dn):
                moved[key] = dn
                old = renamed_below(previous_dn.get(key, dn), dn, container) if key in previous_dn else None
                if old is not None and old.lower() != container.lower():
                    old_dns.append(old.lower())
        fresh.update(_reread(source, part, moved, attribution, current, removed))
        renamed_containers.extend(
            dn
            for key, dn in changes.changed.items()
            if key in changes.renamed and key not in fresh and key not in previous_dn
        )
        old_dns.extend(
            previous_dn[key].lower()
            for key, record in fresh.items()
            if key in previous_dn and previous_dn[key] != record.dn
        )
    stale: dict[str, str] = {}
    valued: dict[str, ObjectRecord] = {}
    if old_dns or renamed_containers:
        _values_of(baseline, current)
        valued = {key: r for key, r in current.items() if isinstance(r, ObjectRecord)}
    if old_dns:
        naming = sorted(set(old_dns))
        stale.update(
            (key, record.dn)
            for key, record in valued.items()
            if any(_names_dn(value, naming) for values in record.attributes.values() for value in values)
        )
    if renamed_containers:
        stale.update(_naming_containers(source, partitions, valued, renamed_containers))
    if stale:
        for name, base_dn, search_filter, attributes, changes in partitions:
            part = _Partition(name, base_dn, search_filter, attributes, changes, _inner(base_dn, partitions))
            _reread(source, part, stale, attribution, current, removed)
    deletions = _deletion_origins(source, attribution, [p[1] for p in partitions], removed)
    records = [r for r in current.values() if isinstance(r, ObjectRecord)]
    carried = {key: (r.kind, r.dn) for key, r in current.items() if isinstance(r, _Kept)}
    return records, carried, deletions


def _values_of(baseline: Baseline, current: dict[str, ObjectRecord | _Kept]) -> None:
    """Replace the stand-ins of `current` by the stored records (one streaming read)."""
    if not any(isinstance(r, _Kept) for r in current.values()):
        return
    for record in baseline.records():
        if isinstance(current.get(record.key), _Kept):
            current[record.key] = record


def _reread(
    source: LdapSource,
    part: _Partition,
    keys: Mapping[str, str],
    attribution: Attribution | None,
    current: dict[str, ObjectRecord | _Kept],
    removed: set[str],
) -> dict[str, ObjectRecord]:
    """Read these objects again whole (the collector's filter, attributes and ranges) into `current`;
    one asked for that no longer matches the filter of its partition is dropped from it."""
    wanted = [key for key in keys if _in_partition(keys[key], part)]
    fresh: dict[str, ObjectRecord] = {}
    for start in range(0, len(wanted), GUIDS_PER_SEARCH):
        batch = wanted[start : start + GUIDS_PER_SEARCH]
        search_filter = f"(&{part.search_filter}{guid_filter(batch)})"
        for _partition, dn, attributes in source._partition(
            part.name, part.base_dn, search_filter, part.attributes
        ):
            metadata = _pop_any_case(attributes, METADATA_ATTRIBUTE)
            record = source.tables.record(dn, attributes)
            if record is None:
                continue
            if metadata and attribution is not None:
                record = dataclasses.replace(record, origins=attribution.origins(metadata[0]))
            fresh[record.key] = record
    for key in wanted:
        if key in fresh:
            current[key] = fresh[key]
            removed.discard(key)
        elif current.pop(key, None) is not None:
            removed.add(key)
    return fresh


def _naming_containers(
    source: LdapSource,
    partitions: Sequence[tuple[Partition, str, str, list[str], Changes]],
    current: Mapping[str, ObjectRecord],
    containers: Sequence[str],
) -> dict[str, str]:
    """Collected objects whose DN-valued attributes name one of these renamed or moved objects that
    are not collected themselves (an OU as a query-based group's base DN): their old DN is not
    known, but the directory matches a DN-valued filter by the object, under its new DN."""
    roots = [p[1] for p in partitions]
    dn_attributes = sorted(
        {
            name
            for record in current.values()
            for name, values in record.attributes.items()
            if any("=" in value and any(_under(value, root) for root in roots) for value in values)
        }
    )
    found: dict[str, str] = {}
    if not dn_attributes:
        return found
    for name, base_dn, search_filter, attributes, changes in partitions:
        part = _Partition(name, base_dn, search_filter, attributes, changes, _inner(base_dn, partitions))
        for start in range(0, len(containers), GUIDS_PER_SEARCH):
            terms = "".join(
                f"({attribute}={escape_filter_chars(container)})"
                for container in containers[start : start + GUIDS_PER_SEARCH]
                for attribute in dn_attributes
            )
            for dn, key in _collected_below(source, part, base_dn, f"(&{search_filter}(|{terms}))"):
                found[key] = dn
    return found


def _collected_below(
    source: LdapSource, part: _Partition, container_dn: str, search_filter: str | None = None
) -> Iterator[tuple[str, str]]:
    """(DN, key) of the collected objects at or below a DN (a subtree search asking for GUIDs only)."""
    if not _in_partition(container_dn, part):
        return
    try:
        found = list(
            source._search_all(container_dn, search_filter or part.search_filter, ["objectGUID"], ())
        )
    except DirectoryError as exc:
        if "no such object" in str(exc):
            return  # gone again since the change was reported; its deletion is reported too
        raise
    for dn, raw in found:
        guids = raw.get("objectGUID") or []
        key = guid_from_value(guids[0]) if guids else None
        if key is not None:
            yield dn, key


def _under(dn: str, base_dn: str) -> bool:
    lowered, base = dn.lower(), base_dn.lower()
    return lowered == base or lowered.endswith("," + base)


def _in_partition(dn: str, part: _Partition) -> bool:
    """Under this naming context and not under one below it (Configuration is below the domain's)."""
    return _under(dn, part.base_dn) and not any(_under(dn, other) for other in part.inner)


def _inner(
    base_dn: str, partitions: Sequence[tuple[Partition, str, str, list[str], Changes]]
) -> tuple[str, ...]:
    return tuple(p[1] for p in partitions if p[1].lower() != base_dn.lower() and _under(p[1], base_dn))


def _deletion_origins(
    source: LdapSource, attribution: Attribution | None, naming_contexts: Sequence[str], removed: set[str]
) -> dict[str, Origin]:
    """Origins of the removals of these keys, from their tombstones (attribution is an extra)."""
    if attribution is None or not removed:
        return {}
    found: dict[str, Origin] = {}
    keys = sorted(removed)
    try:
        for base in naming_contexts:
            for start in range(0, len(keys), GUIDS_PER_SEARCH):
                search_filter = f"(&(isDeleted=TRUE){guid_filter(keys[start : start + GUIDS_PER_SEARCH])})"
                for _dn, raw in source._search_all(
                    base, search_filter, ["objectGUID", METADATA_ATTRIBUTE], (SHOW_DELETED,)
                ):
                    guids, blobs = raw.get("objectGUID") or [], _any_case(raw, METADATA_ATTRIBUTE)
                    key = guid_from_value(guids[0]) if guids else None
                    origin = attribution.deletion(blobs[0]) if key and blobs else None
                    if key is not None and origin is not None:
                        found[key] = origin
    except DirectoryError as exc:
        log.warning(
            "%s: removed objects will carry no origin: cannot read tombstones (%s)", source.where, exc
        )
    return found


def _any_case(raw: Mapping[str, list[bytes]], name: str) -> list[bytes]:
    for key, values in raw.items():
        if key.lower() == name.lower():
            return list(values)
    return []


def _pop_any_case(attributes: dict[str, list[bytes]], name: str) -> list[bytes] | None:
    for key in [k for k in attributes if k.lower() == name.lower()]:
        return attributes.pop(key)
    return None
