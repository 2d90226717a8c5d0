"""What changed between two stored snapshots: `auditor diff`, as the `auditor.diff/1` document.

Objects are matched by `key` (the objectGUID where the source has one), so a renamed or moved
object is `changed`, with `"dn": {"before", "after"}` among its attributes, never removed + added.
Only objects whose stored interval starts or ends between the two snapshots are read
(`HistoryStore.object_changes`); an unchanged forest costs nothing to diff.

Values compare the way the directory does: multi-valued attributes as case-insensitive sets,
except that `proxyAddresses` keeps the case of the type prefix, because `SMTP:` (upper case) marks
the primary address; a primary that moves shows as `SMTP:a` removed + `smtp:a` added, and the entry
also carries `"primary": {"before", "after"}` (an extension of the contract). Binary values (base64)
compare exactly, as do single-valued attributes, except where a family says a value diffs as the
set of items it decodes to: a receive connector's `nTSecurityDescriptor` diffs as its grants
(ACEs in SDDL), not as base64 bytes. Volatile attributes never show, and an object
whose only differences are ignored ones is not reported at all.

Findings are matched by fingerprint (check id + subject): new, resolved and persisting. One waived
at `from` and failing at `to` (its waiver expired) is new: it was accepted then, a failure now.

Causes: with an `Explainer` (today's config and checks; `auditor diff` passes one), each new and
resolved finding carries its `causes`, the object changes that touched its evidence at either end,
or a `reason`, and `cause_groups` groups findings by shared causes (`auditor.causes`).

Attribution: where the store holds the origins of a change (live LDAP sources, `store.origins`),
each changed attribute carries `"origin": {"time", "dc", "version"}` (the `dn` change: the last
rename or move), an added object a top-level `origin` for its creation and a removed one for its
deletion (from its tombstone). Without them nothing is added: an origin is never made up.

The result is a typed `DiffDocument` (`auditor.documents`); its `to_json()` is the contract's JSON.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from auditor.attribution import ORIGIN_CREATED, ORIGIN_DN, Origin
from auditor.documents import (
    DIFF_SCHEMA,
    AttributeChange,
    DiffDocument,
    FindingChange,
    FindingChanges,
    ObjectChanges,
    ObjectEntry,
    OriginEntry,
    Section,
    SetChange,
    SnapshotRef,
    ValueChange,
)
from auditor.families import attribute_traits
from auditor.records import VOLATILE_ATTRIBUTES, ObjectRecord
from auditor.registry import Status
from auditor.results import FindingRecord, SnapshotInfo, isoformat
from auditor.store import HistoryStore, ObjectOrigins

if TYPE_CHECKING:
    from auditor.causes import Explainer

__all__ = [
    "DIFF_SCHEMA",
    "attribute_changes",
    "diff_between",
    "diff_findings",
    "diff_objects",
    "diff_snapshots",
    "finding_change",
    "snapshot_ref",
]

_PROXY = "proxyaddresses"


def diff_snapshots(
    store: HistoryStore,
    from_ref: str | int | None = None,
    to_ref: str | int | None = None,
    *,
    explainer: Explainer | None = None,
) -> DiffDocument:
    """The `auditor.diff/1` document between two complete snapshots (default: previous -> latest);
    with `explainer`, the causes of its new and resolved findings too.

    Raises SnapshotError when a reference does not resolve or names an incomplete snapshot.
    """
    before = store.resolve("previous" if from_ref is None else from_ref, purpose="diffed")
    after = store.resolve("latest" if to_ref is None else to_ref, purpose="diffed")
    return diff_between(store, before, after, explainer=explainer)


def diff_between(
    store: HistoryStore,
    before: SnapshotInfo,
    after: SnapshotInfo,
    *,
    explainer: Explainer | None = None,
    held: tuple[Sequence[FindingRecord], Sequence[FindingRecord]] | None = None,
) -> DiffDocument:
    """The `auditor.diff/1` document between two saved snapshots, already resolved.

    A pass diffs its own snapshot against the last complete one before it is published (marked
    complete), which is why this takes snapshots rather than references. `held` (the findings
    before, after), when the caller holds both already, saves reading them back: a pass that copied
    `before`'s results (`auditor.reuse`) holds findings equal to both.
    """
    changes = store.object_changes(before.id, after.id)
    objects = diff_objects(changes.before, changes.after, store.origins_between(before.id, after.id))
    if held is not None:
        old, new = list(held[0]), list(held[1])
    else:
        old, new = store.load_findings(before.id), store.load_findings(after.id)
    findings = diff_findings(old, new)
    document = DiffDocument(
        source=snapshot_ref(before), target=snapshot_ref(after), objects=objects, findings=findings
    )
    if explainer is None:
        return document
    # Imported here: auditor.causes rebuilds snapshots through auditor.run, which imports this module.
    from auditor.causes import explain, with_causes

    at_from = {f.fingerprint: f for f in old}
    at_to = {f.fingerprint: f for f in new}
    records: dict[Section, list[FindingRecord]] = {
        "new": [at_to[f.fingerprint] for f in findings.new],
        "resolved": [at_from[f.fingerprint] for f in findings.resolved],
    }
    explained = explain(store, before, after, records, objects, explainer, at_first=at_from)

    explained_findings = findings.model_copy(
        update={
            "new": with_causes(explained, "new", findings.new),
            "resolved": with_causes(explained, "resolved", findings.resolved),
        }
    )
    return document.model_copy(update={"findings": explained_findings, "cause_groups": explained.groups})


def snapshot_ref(info: SnapshotInfo) -> SnapshotRef:
    return SnapshotRef(id=info.id, taken_at=isoformat(info.taken_at) or "")


def diff_objects(
    before: Mapping[str, ObjectRecord],
    after: Mapping[str, ObjectRecord],
    origins: ObjectOrigins | None = None,
) -> ObjectChanges:
    """added / removed / changed entries between two key -> record maps, in a stable order.

    `origins` (the store's attribution of the period) adds `origin` where it is known.
    """
    known = origins or ObjectOrigins()
    added = [
        _identity(after[key], known.changed.get(key, {}).get(ORIGIN_CREATED))
        for key in after.keys() - before.keys()
    ]
    removed = [_identity(before[key], known.deleted.get(key)) for key in before.keys() - after.keys()]
    changed = []
    for key in before.keys() & after.keys():
        attributes = attribute_changes(before[key], after[key])
        if attributes:
            record = after[key]
            attributed = _attribute_origins(attributes, known.changed.get(key, {}))
            changed.append(ObjectEntry(kind=record.kind, key=record.key, dn=record.dn, attributes=attributed))
    return ObjectChanges(added=_ordered(added), removed=_ordered(removed), changed=_ordered(changed))


def _origin(origin: Origin) -> OriginEntry:
    return OriginEntry.model_validate(origin.to_json())


def _attribute_origins(
    attributes: dict[str, AttributeChange], origins: Mapping[str, Origin]
) -> dict[str, AttributeChange]:
    """Each changed attribute with its origin beside the change (names compared case-insensitively)."""
    if not origins:
        return attributes
    by_lower = {name.lower(): origin for name, origin in origins.items()}
    attributed: dict[str, AttributeChange] = {}
    for name, change in attributes.items():
        origin = by_lower.get(ORIGIN_DN if name == "dn" else name.lower()) if name != "kind" else None
        attributed[name] = change.model_copy(update={"origin": _origin(origin)}) if origin else change
    return attributed


def attribute_changes(before: ObjectRecord, after: ObjectRecord) -> dict[str, AttributeChange]:
    """Attribute name -> change, for what differs in ways that matter (empty: nothing does)."""
    changes: dict[str, AttributeChange] = {}
    traits = attribute_traits()
    if before.kind != after.kind:
        changes["kind"] = ValueChange(before=before.kind, after=after.kind)
    if before.dn != after.dn:
        changes["dn"] = ValueChange(before=before.dn, after=after.dn)
    old, new = _by_name(before.attributes), _by_name(after.attributes)
    for lowered in sorted(old.keys() | new.keys()):
        name = (new.get(lowered) or old[lowered])[0]
        old_values = old[lowered][1] if lowered in old else ()
        new_values = new[lowered][1] if lowered in new else ()
        view = traits.decoded_sets.get((after.kind, lowered))
        if view is not None:
            decoded = _decoded_change(view, old_values, new_values)
            if decoded is not None:
                changes[name] = decoded
            continue
        if lowered in traits.multi_valued or len(old_values) > 1 or len(new_values) > 1:
            change = _set_change(lowered, old_values, new_values)
            if change is not None:
                changes[name] = change
        else:
            old_value = old_values[0] if old_values else None
            new_value = new_values[0] if new_values else None
            if old_value != new_value:
                changes[name] = ValueChange(before=old_value, after=new_value)
    return changes


def diff_findings(before: Iterable[FindingRecord], after: Iterable[FindingRecord]) -> FindingChanges:
    """new / resolved / persisting findings between two snapshots, matched by fingerprint (a
    waiver that expired in between makes its finding new)."""
    old = {f.fingerprint: f for f in before}
    new = {f.fingerprint: f for f in after}

    def appeared(fp: str, finding: FindingRecord) -> bool:
        return fp not in old or (old[fp].status is Status.WAIVED and finding.failing)

    return FindingChanges(
        new=_sorted_findings(f for fp, f in new.items() if appeared(fp, f)),
        resolved=_sorted_findings(f for fp, f in old.items() if fp not in new),
        persisting=_sorted_findings(f for fp, f in new.items() if not appeared(fp, f)),
    )


def finding_change(finding: FindingRecord) -> FindingChange:
    # Built without validation: every field comes typed from a `FindingRecord`, and a pass's diff
    # lists each of its (tens of thousands of) persisting findings.
    return FindingChange.model_construct(
        check=finding.check,
        subject=finding.subject,
        status=finding.status,
        severity=finding.severity,
        message=finding.message,
        fingerprint=finding.fingerprint,
    )


def _sorted_findings(findings: Iterable[FindingRecord]) -> list[FindingChange]:
    return [
        finding_change(f) for f in sorted(findings, key=lambda f: (f.check, f.subject.lower(), f.subject))
    ]


def _identity(record: ObjectRecord, origin: Origin | None = None) -> ObjectEntry:
    if origin is not None:
        return ObjectEntry(kind=record.kind, key=record.key, dn=record.dn, origin=_origin(origin))
    return ObjectEntry(kind=record.kind, key=record.key, dn=record.dn)


def _ordered(entries: list[ObjectEntry]) -> list[ObjectEntry]:
    return sorted(entries, key=lambda e: (e.kind, e.dn.lower(), e.key))


def _by_name(attributes: Mapping[str, Sequence[str]]) -> dict[str, tuple[str, tuple[str, ...]]]:
    """lower-case name -> (spelling, values), without volatile attributes."""
    return {
        name.lower(): (name, tuple(values))
        for name, values in attributes.items()
        if name.lower() not in VOLATILE_ATTRIBUTES
    }


def _comparable(attribute: str, value: str) -> str:
    if attribute in attribute_traits().binary:
        return value
    if attribute == _PROXY:
        prefix, colon, address = value.partition(":")
        return prefix + colon + address.lower() if colon else value.lower()
    return value.lower()


def _set_change(attribute: str, old: Sequence[str], new: Sequence[str]) -> SetChange | None:
    old_keys = {_comparable(attribute, v) for v in old}
    new_keys = {_comparable(attribute, v) for v in new}
    added = _unique(v for v in new if _comparable(attribute, v) not in old_keys)
    removed = _unique(v for v in old if _comparable(attribute, v) not in new_keys)
    if not added and not removed:
        return None
    if attribute == _PROXY:
        old_primary, new_primary = _primary(old), _primary(new)
        if (old_primary or "").lower() != (new_primary or "").lower():
            primary = ValueChange(before=old_primary, after=new_primary)
            return SetChange(added=added, removed=removed, primary=primary)
    return SetChange(added=added, removed=removed)


def _decoded_change(
    view: Callable[[str], tuple[str, ...]], old: Sequence[str], new: Sequence[str]
) -> SetChange | None:
    """A value that diffs as the set of items it decodes to (a descriptor: its grants)."""
    before = {item for value in old for item in view(value)}
    after = {item for value in new for item in view(value)}
    if before == after:
        return None
    return SetChange(added=sorted(after - before), removed=sorted(before - after))


def _unique(values: Iterable[str]) -> list[str]:
    return sorted(set(values), key=lambda v: (v.lower(), v))


def _primary(values: Sequence[str]) -> str | None:
    """The primary SMTP address (without prefix); with several `SMTP:` values the last one wins."""
    primary = None
    for value in values:
        if value.startswith("SMTP:"):
            primary = value[5:]
    return primary
