"""What changed between two stored snapshots: `auditor diff`, as the `auditor.diff/1` document.

Objects are matched by `key` (the objectGUID where the source has one), so a renamed or moved
object is `changed`, with `"dn": {"before", "after"}` among its attributes, never removed + added.
Only objects whose stored interval starts or ends between the two snapshots are read
(`HistoryStore.object_changes`); an unchanged forest costs nothing to diff.

Values compare the way the directory does: multi-valued attributes as case-insensitive sets,
except that `proxyAddresses` keeps the case of the type prefix, because `SMTP:` (upper case) marks
the primary address; a primary that moves shows as `SMTP:a` removed + `smtp:a` added, and the entry
also carries `"primary": {"before", "after"}` (an extension of the contract). Binary values (base64)
compare exactly, as do single-valued attributes. Volatile attributes never show, and an object
whose only differences are ignored ones is not reported at all.

Findings are matched by fingerprint (check id + subject): new, resolved and persisting.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from auditor.records import (
    BINARY_ATTRIBUTES,
    MULTI_VALUED_ATTRIBUTES,
    VOLATILE_ATTRIBUTES,
    ObjectRecord,
    canonical_attribute,
)
from auditor.results import FindingRecord, SnapshotInfo, isoformat
from auditor.store import HistoryStore

__all__ = [
    "DIFF_SCHEMA",
    "attribute_changes",
    "diff_between",
    "diff_findings",
    "diff_objects",
    "diff_snapshots",
    "finding_json",
    "snapshot_ref",
]

DIFF_SCHEMA = "auditor.diff/1"

_MULTI = frozenset(name.lower() for name in MULTI_VALUED_ATTRIBUTES)
_BINARY = frozenset(name.lower() for name in BINARY_ATTRIBUTES)
_PROXY = "proxyaddresses"


def diff_snapshots(
    store: HistoryStore, from_ref: str | int | None = None, to_ref: str | int | None = None
) -> dict[str, Any]:
    """The `auditor.diff/1` document between two complete snapshots (default: previous -> latest).

    Raises SnapshotError when a reference does not resolve or names an incomplete snapshot.
    """
    before = store.resolve("previous" if from_ref is None else from_ref, purpose="diffed")
    after = store.resolve("latest" if to_ref is None else to_ref, purpose="diffed")
    return diff_between(store, before, after)


def diff_between(store: HistoryStore, before: SnapshotInfo, after: SnapshotInfo) -> dict[str, Any]:
    """The `auditor.diff/1` document between two saved snapshots, already resolved.

    A pass diffs its own snapshot against the last complete one before it is published (marked
    complete), which is why this takes snapshots rather than references.
    """
    changes = store.object_changes(before.id, after.id)
    return {
        "schema": DIFF_SCHEMA,
        "from": snapshot_ref(before),
        "to": snapshot_ref(after),
        "objects": diff_objects(changes.before, changes.after),
        "findings": diff_findings(store.load_findings(before.id), store.load_findings(after.id)),
    }


def snapshot_ref(info: SnapshotInfo) -> dict[str, Any]:
    return {"id": info.id, "taken_at": isoformat(info.taken_at)}


def diff_objects(
    before: Mapping[str, ObjectRecord], after: Mapping[str, ObjectRecord]
) -> dict[str, list[dict[str, Any]]]:
    """added / removed / changed entries between two key -> record maps, in a stable order."""
    added = [_identity(after[key]) for key in after.keys() - before.keys()]
    removed = [_identity(before[key]) for key in before.keys() - after.keys()]
    changed = []
    for key in before.keys() & after.keys():
        attributes = attribute_changes(before[key], after[key])
        if attributes:
            changed.append({**_identity(after[key]), "attributes": attributes})
    return {"added": _ordered(added), "removed": _ordered(removed), "changed": _ordered(changed)}


def attribute_changes(before: ObjectRecord, after: ObjectRecord) -> dict[str, dict[str, Any]]:
    """Attribute name -> change, for what differs in ways that matter (empty: nothing does)."""
    changes: dict[str, dict[str, Any]] = {}
    if before.kind != after.kind:
        changes["kind"] = {"before": before.kind, "after": after.kind}
    if before.dn != after.dn:
        changes["dn"] = {"before": before.dn, "after": after.dn}
    old, new = _by_name(before.attributes), _by_name(after.attributes)
    for lowered in sorted(old.keys() | new.keys()):
        name = canonical_attribute((new.get(lowered) or old[lowered])[0])
        old_values = old[lowered][1] if lowered in old else ()
        new_values = new[lowered][1] if lowered in new else ()
        if lowered in _MULTI or len(old_values) > 1 or len(new_values) > 1:
            change = _set_change(lowered, old_values, new_values)
            if change:
                changes[name] = change
        else:
            old_value = old_values[0] if old_values else None
            new_value = new_values[0] if new_values else None
            if old_value != new_value:
                changes[name] = {"before": old_value, "after": new_value}
    return changes


def diff_findings(
    before: Iterable[FindingRecord], after: Iterable[FindingRecord]
) -> dict[str, list[dict[str, Any]]]:
    """new / resolved / persisting findings between two snapshots, matched by fingerprint."""
    old = {f.fingerprint: f for f in before}
    new = {f.fingerprint: f for f in after}
    return {
        "new": _sorted_findings(f for fp, f in new.items() if fp not in old),
        "resolved": _sorted_findings(f for fp, f in old.items() if fp not in new),
        "persisting": _sorted_findings(f for fp, f in new.items() if fp in old),
    }


def finding_json(finding: FindingRecord) -> dict[str, Any]:
    return {
        "check": finding.check,
        "subject": finding.subject,
        "status": finding.status.value,
        "severity": finding.severity.value,
        "message": finding.message,
        "fingerprint": finding.fingerprint,
    }


def _sorted_findings(findings: Iterable[FindingRecord]) -> list[dict[str, Any]]:
    return [finding_json(f) for f in sorted(findings, key=lambda f: (f.check, f.subject.lower(), f.subject))]


def _identity(record: ObjectRecord) -> dict[str, Any]:
    return {"kind": record.kind, "key": record.key, "dn": record.dn}


def _ordered(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(entries, key=lambda e: (e["kind"], e["dn"].lower(), e["key"]))


def _by_name(attributes: Mapping[str, Sequence[str]]) -> dict[str, tuple[str, tuple[str, ...]]]:
    """lower-case name -> (spelling, values), without volatile attributes."""
    return {
        name.lower(): (name, tuple(values))
        for name, values in attributes.items()
        if name.lower() not in VOLATILE_ATTRIBUTES
    }


def _comparable(attribute: str, value: str) -> str:
    if attribute in _BINARY:
        return value
    if attribute == _PROXY:
        prefix, colon, address = value.partition(":")
        return prefix + colon + address.lower() if colon else value.lower()
    return value.lower()


def _set_change(attribute: str, old: Sequence[str], new: Sequence[str]) -> dict[str, Any]:
    old_keys = {_comparable(attribute, v) for v in old}
    new_keys = {_comparable(attribute, v) for v in new}
    added = _unique(v for v in new if _comparable(attribute, v) not in old_keys)
    removed = _unique(v for v in old if _comparable(attribute, v) not in new_keys)
    if not added and not removed:
        return {}
    change: dict[str, Any] = {"added": added, "removed": removed}
    if attribute == _PROXY:
        old_primary, new_primary = _primary(old), _primary(new)
        if (old_primary or "").lower() != (new_primary or "").lower():
            change["primary"] = {"before": old_primary, "after": new_primary}
    return change


def _unique(values: Iterable[str]) -> list[str]:
    return sorted(set(values), key=lambda v: (v.lower(), v))


def _primary(values: Sequence[str]) -> str | None:
    """The primary SMTP address (without prefix); with several `SMTP:` values the last one wins."""
    primary = None
    for value in values:
        if value.startswith("SMTP:"):
            primary = value[5:]
    return primary
