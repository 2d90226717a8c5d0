"""Why a finding appeared or went away: the object changes that touched its evidence, or a reason.

`auditor diff` and the drift report join each new, reopened or resolved finding to the period's
object changes (added, removed, changed; with their attributes and `origin` where known) that
touched its *evidence*, the stored objects its verdict depends on, at either end of the period:

* the end where the finding fails has its evidence stored with it (`store.evidence`);
* the other end's verdict passed, and passing verdicts are not stored, so it is recomputed from
  the stored snapshot with today's checks and config (checks are pure; the snapshot is rebuilt as
  `auditor recheck` rebuilds it). A connector deleted in the period is in the earlier, passing
  verdict's evidence of a new COEX-601 failure, not in the failure's own.

The cost is bounded: only the two end snapshots are rebuilt, each only if a finding needs it, and
on each only the checks with such findings run (`Explanation.rebuilt`, `.rechecked`). Telling the
date apart runs those checks once more, on the end where the finding fails, for the findings
nothing else explained.

Findings that share their causes (the same set of changes) form a group, biggest first ("13 new
COEX-303 failures, 1 change: SMTP connector 'To POP01' removed"). A finding whose evidence did not
change while its verdict did gets a `reason` instead, from what each snapshot recorded about what
checked it (`store.checked_with`, `auditor.provenance`), in this order: its waiver expired; the
check did not run at the other end (added, or removed / disabled), was skipped there, or raised
there; the check's code changed; auditor was upgraded; the configuration the checks read changed;
the other end did not record what checked it; the date (judged at the other end's date, the
failing verdict passes: a support end date went by); none of these (data outside the recorded
evidence). Causes are object-level: any change to an evidence object counts, since a
verdict's evidence names objects, not the attributes the check read.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TypeVar

from opentelemetry import trace

from auditor.config import AuditorConfig
from auditor.documents import (
    Cause,
    CauseGroup,
    DriftFinding,
    FindingChange,
    GroupedFinding,
    ObjectChanges,
    ObjectEntry,
    OriginEntry,
    Reason,
    Section,
)
from auditor.engine import evaluate
from auditor.gcpause import collector_paused
from auditor.model.directory import ObjectRef
from auditor.recheck import rebuild_snapshot
from auditor.registry import CheckSpec, Status
from auditor.results import FindingRecord, SnapshotInfo, fingerprint
from auditor.store import CheckedWith, HistoryStore

__all__ = ["SECTIONS", "Explainer", "Explanation", "explain", "with_causes"]

SECTIONS: tuple[Section, ...] = ("new", "reopened", "resolved")
_tracer = trace.get_tracer("auditor.causes")
_CHANGE_ORDER = {"removed": 0, "added": 1, "changed": 2}


@dataclass(frozen=True, slots=True)
class Explainer:
    """What recomputing a verdict from a stored snapshot needs: today's config and checks."""

    config: AuditorConfig
    checks: Sequence[CheckSpec]


@dataclass(slots=True)
class Explanation:
    """Per (section, fingerprint): the causes and, when there is none, the reason; the groups.

    `rebuilt` lists the snapshots rebuilt from the store (once per use), `rechecked` the checks run
    on each for evidence, `redated` those run again at the other end's date: what it cost.
    """

    causes: dict[tuple[str, str], list[Cause]] = field(default_factory=dict)
    reasons: dict[tuple[str, str], Reason] = field(default_factory=dict)
    groups: list[CauseGroup] = field(default_factory=list)
    rebuilt: list[int] = field(default_factory=list)
    rechecked: dict[int, list[str]] = field(default_factory=dict)
    redated: dict[int, list[str]] = field(default_factory=dict)


def explain(
    store: HistoryStore,
    first: SnapshotInfo,
    last: SnapshotInfo,
    sections: Mapping[Section, Sequence[FindingRecord]],
    objects: ObjectChanges,
    explainer: Explainer,
    *,
    at_first: Mapping[str, FindingRecord] | None = None,
) -> Explanation:
    """Causes (or reasons) of the findings of `sections` between two stored complete snapshots.

    `sections["new"]` / `["reopened"]` hold the findings as stored at `last`, `["resolved"]` as
    stored at `first`; `objects` are the object changes between the two snapshots (with their
    origins); `at_first` every finding stored at `first` (for expired waivers), read when None.
    """
    with _tracer.start_as_current_span("causes") as span:
        explanation = _explain(store, first, last, sections, objects, explainer, at_first)
        span.set_attribute("auditor.causes.groups", len(explanation.groups))
        span.set_attribute("auditor.causes.rebuilt", len(explanation.rebuilt))
        return explanation


def _explain(
    store: HistoryStore,
    first: SnapshotInfo,
    last: SnapshotInfo,
    sections: Mapping[Section, Sequence[FindingRecord]],
    objects: ObjectChanges,
    explainer: Explainer,
    at_first: Mapping[str, FindingRecord] | None,
) -> Explanation:
    explanation = Explanation()
    if not any(sections.get(s) for s in SECTIONS):
        return explanation
    if at_first is None:
        at_first = {f.fingerprint: f for f in store.load_findings(first.id)}
    changes = _changes(objects)
    # The end whose verdict passed (not stored), and an end whose evidence a store kept before
    # auditor recorded evidence: recompute there.
    wanted: dict[int, dict[str, set[str]]] = {first.id: {}, last.id: {}}
    for section, findings in sections.items():
        stored_at, other = (first, last) if section == "resolved" else (last, first)
        for finding in findings:
            wanted[other.id].setdefault(finding.check, set()).add(finding.fingerprint)
            if finding.evidence is None:
                wanted[stored_at.id].setdefault(finding.check, set()).add(finding.fingerprint)
    recomputed = {
        snapshot.id: _recompute(store, explainer, snapshot, wanted[snapshot.id], explanation)
        for snapshot in (first, last)
        if wanted[snapshot.id]
    }
    checked = {first.id: store.checked_with(first.id), last.id: store.checked_with(last.id)}
    for section in SECTIONS:
        for finding in sections.get(section, ()):
            keys = {
                ref.key
                for snapshot_id in (first.id, last.id)
                for ref in _evidence(finding, snapshot_id, section, first, recomputed)
            }
            causes = sorted(
                (changes[key] for key in keys if key in changes),
                key=lambda c: (_CHANGE_ORDER[c.change], c.kind, c.dn.casefold(), c.key),
            )
            explanation.causes[(section, finding.fingerprint)] = causes
            if not causes:
                explanation.reasons[(section, finding.fingerprint)] = _reason(
                    section, finding, first, last, checked, at_first
                )
    _tell_the_date(store, explainer, first, last, sections, explanation)
    members: dict[tuple[object, ...], list[tuple[GroupedFinding, list[Cause], Reason | None]]] = {}
    for section in SECTIONS:
        for finding in sections.get(section, ()):
            causes = explanation.causes[(section, finding.fingerprint)]
            reason = explanation.reasons.get((section, finding.fingerprint))
            group_key: tuple[object, ...] = ("changes", *(c.key for c in causes))
            if reason is not None:
                group_key = ("reason", reason.code, reason.text)
            member = GroupedFinding(
                section=section,
                check=finding.check,
                severity=finding.severity,
                subject=finding.subject,
                fingerprint=finding.fingerprint,
            )
            members.setdefault(group_key, []).append((member, causes, reason))
    explanation.groups = _groups(members.values())
    return explanation


def _tell_the_date(
    store: HistoryStore,
    explainer: Explainer,
    first: SnapshotInfo,
    last: SnapshotInfo,
    sections: Mapping[Section, Sequence[FindingRecord]],
    explanation: Explanation,
) -> None:
    """Turn "unexplained" into "date" where today's check fails the failing end as of its own day
    and passes it as of the other end's day.

    A check may depend on the date alone (COEX-904: a support end date); re-running it at the end
    where the finding fails, dated as each end, tells that apart from everything else.
    """
    wanted: dict[int, dict[str, set[str]]] = {first.id: {}, last.id: {}}
    for section in SECTIONS:
        for finding in sections.get(section, ()):
            reason = explanation.reasons.get((section, finding.fingerprint))
            if reason is not None and reason.code == "unexplained":
                failing_at = first if section == "resolved" else last
                wanted[failing_at.id].setdefault(finding.check, set()).add(finding.fingerprint)
    for snapshot, other in ((first, last), (last, first)):
        if not wanted[snapshot.id]:
            continue
        own_day, other_day = snapshot.taken_at.date(), other.taken_at.date()
        judged = _verdicts(
            store, explainer, snapshot, wanted[snapshot.id], explanation, dates=(own_day, other_day)
        )
        explanation.redated[snapshot.id] = sorted(wanted[snapshot.id])
        for section in SECTIONS:
            for finding in sections.get(section, ()):
                key = (section, finding.fingerprint)
                reason = explanation.reasons.get(key)
                failing_at = first if section == "resolved" else last
                if reason is None or reason.code != "unexplained" or failing_at.id != snapshot.id:
                    continue
                failing = judged[own_day].get(finding.fingerprint, (Status.PASS, ()))[0] is not Status.PASS
                then = judged[other_day].get(finding.fingerprint)
                if own_day != other_day and failing and (then is None or then[0] is Status.PASS):
                    explanation.reasons[key] = Reason(
                        code="date",
                        text=f"{finding.check} depends on the date: judged as of "
                        f"{other.taken_at.date().isoformat()} (the day of snapshot {other.id}), snapshot "
                        f"{snapshot.id} passes, so a date the check names went by in between",
                    )


def _evidence(
    finding: FindingRecord,
    snapshot_id: int,
    section: Section,
    first: SnapshotInfo,
    recomputed: Mapping[int, Mapping[str, tuple[ObjectRef, ...]]],
) -> tuple[ObjectRef, ...]:
    """The finding's evidence at one end: stored where it was stored (and recorded), else recomputed."""
    stored_here = (snapshot_id == first.id) == (section == "resolved")
    if stored_here and finding.evidence is not None:
        return finding.evidence
    return recomputed.get(snapshot_id, {}).get(finding.fingerprint, ())


def _recompute(
    store: HistoryStore,
    explainer: Explainer,
    snapshot: SnapshotInfo,
    wanted: Mapping[str, set[str]],
    explanation: Explanation,
) -> dict[str, tuple[ObjectRef, ...]]:
    """fingerprint -> evidence of today's verdict at a stored snapshot, for the wanted findings only."""
    [verdicts] = _verdicts(store, explainer, snapshot, wanted, explanation).values()
    explanation.rechecked[snapshot.id] = sorted(c for c in wanted if any(s.id == c for s in explainer.checks))
    return {key: evidence for key, (_, evidence) in verdicts.items()}


def _verdicts(
    store: HistoryStore,
    explainer: Explainer,
    snapshot: SnapshotInfo,
    wanted: Mapping[str, set[str]],
    explanation: Explanation,
    *,
    dates: Sequence[date] = (),
) -> dict[date, dict[str, tuple[Status, tuple[ObjectRef, ...]]]]:
    """date -> fingerprint -> (status, evidence) of today's checks at a stored snapshot, judged as
    of each of `dates` (default: its own day), for the wanted findings only; only the checks named
    in `wanted` run, on one rebuild of the snapshot."""
    specs = [spec for spec in explainer.checks if spec.id in wanted]
    dates = dates or (snapshot.taken_at.date(),)
    found: dict[date, dict[str, tuple[Status, tuple[ObjectRef, ...]]]] = {day: {} for day in dates}
    if not specs:
        return found
    snap = rebuild_snapshot(store, explainer.config, snapshot)
    explanation.rebuilt.append(snapshot.id)
    with collector_paused():  # as run_checks does: the snapshot is large and free of cycles
        for day in dates:
            snap.as_of = day
            for spec in specs:
                _, _, verdicts = evaluate(spec, snap)
                for verdict in verdicts:
                    key = fingerprint(spec.id, verdict.subject)
                    if key in wanted[spec.id]:
                        found[day][key] = (verdict.status, verdict.evidence)
    return found


def _changes(objects: ObjectChanges) -> dict[str, Cause]:
    """object key -> the change of the period, as a cause."""
    changes: dict[str, Cause] = {}
    for change, entries in (("added", objects.added), ("removed", objects.removed)):
        for entry in entries:
            changes[entry.key] = _cause(entry, change, [], entry.origin)
    for entry in objects.changed:
        origins = [a.origin for a in entry.attributes.values() if a.origin is not None]
        newest = max(origins, key=lambda o: o.time) if origins else None
        changes[entry.key] = _cause(entry, "changed", list(entry.attributes), newest)
    return changes


def _cause(entry: ObjectEntry, change: str, attributes: list[str], origin: OriginEntry | None) -> Cause:
    data: dict[str, object] = {
        "kind": entry.kind,
        "key": entry.key,
        "dn": entry.dn,
        "change": change,
        "attributes": attributes,
    }
    if origin is not None:
        data["origin"] = origin
    return Cause.model_validate(data)


def _reason(
    section: Section,
    finding: FindingRecord,
    first: SnapshotInfo,
    last: SnapshotInfo,
    checked: Mapping[int, CheckedWith],
    at_first: Mapping[str, FindingRecord],
) -> Reason:
    """Why the verdict changed while its evidence did not (see the module docstring for the order)."""
    check = finding.check
    other = first if section != "resolved" else last
    if section != "resolved":
        was = at_first.get(finding.fingerprint)
        if was is not None and was.status is Status.WAIVED:
            until = f" until {was.waiver_expires.isoformat()}" if was.waiver_expires else ""
            return Reason(
                code="waiver-expired",
                text=f"waived at snapshot {first.id} ({was.waiver_reason or 'no reason given'}{until}); "
                "the waiver no longer applies",
            )
    there = checked[other.id]
    if not there.checked:
        return Reason(code="not-recorded", text=f"snapshot {other.id} was never checked")
    result = there.checks.get(check)
    if result is None:
        if section == "resolved":
            text = f"{check} did not run at snapshot {other.id}: removed from auditor or disabled in [checks]"
            return Reason(code="check-removed", text=text)
        text = f"{check} did not run at snapshot {other.id}: added to auditor or enabled in [checks] since"
        return Reason(code="check-added", text=text)
    status, _, message = result
    if status is Status.SKIPPED:
        return Reason(code="check-skipped", text=f"{check} was skipped at snapshot {other.id}: {message}")
    if status is Status.ERROR and message:
        return Reason(code="check-error", text=f"{check} could not run at snapshot {other.id}: {message}")
    before, after = checked[first.id], checked[last.id]
    codes = (before.checks.get(check, (None, None, ""))[1], after.checks.get(check, (None, None, ""))[1])
    unknown = []
    if None in codes:
        unknown.append("the check's code")
    elif codes[0] != codes[1]:
        text = f"{check}'s code or settings changed between snapshot {first.id} and snapshot {last.id}"
        return Reason(code="check-changed", text=text)
    versions = (before.auditor_version, after.auditor_version)
    if None in versions:
        unknown.append("auditor's version")
    elif versions[0] != versions[1]:
        text = f"auditor {versions[0]} checked snapshot {first.id}, auditor {versions[1]} snapshot {last.id}"
        return Reason(code="auditor-upgraded", text=text)
    configs = (before.config_fingerprint, after.config_fingerprint)
    if None in configs:
        unknown.append("the configuration")
    elif configs[0] != configs[1]:
        text = (
            "the configuration the checks read ([[exchange_server]], [checks] relay_allowlist) changed "
            f"between snapshot {first.id} and snapshot {last.id}"
        )
        return Reason(code="config-changed", text=text)
    if unknown:
        missing_first = None in (codes[0], before.auditor_version, before.config_fingerprint)
        older = first if missing_first else last
        text = f"snapshot {older.id} was checked before auditor recorded {', '.join(unknown)}"
        return Reason(code="not-recorded", text=text)
    return Reason(
        code="unexplained",
        text="none of its evidence, the check, auditor, the configuration or the date made the "
        "difference: data outside the objects it names did",
    )


def _groups(
    members: Iterable[list[tuple[GroupedFinding, list[Cause], Reason | None]]],
) -> list[CauseGroup]:
    """One group per shared set of causes (or reason), biggest first; findings most severe first."""
    groups = []
    for items in members:
        findings = sorted(
            (member for member, _, _ in items),
            key=lambda f: (SECTIONS.index(f.section), -f.severity.rank, f.check, f.subject.casefold()),
        )
        _, causes, reason = items[0]
        if reason is None:
            groups.append(CauseGroup(changes=causes, findings=findings))
        else:
            groups.append(CauseGroup(changes=causes, reason=reason, findings=findings))
    return sorted(
        groups,
        key=lambda g: (
            -len(g.findings),
            -max(f.severity.rank for f in g.findings),
            min(SECTIONS.index(f.section) for f in g.findings),
            g.findings[0].check,
            g.findings[0].subject.casefold(),
        ),
    )


_Entry = TypeVar("_Entry", FindingChange, DriftFinding)


def with_causes(explained: Explanation, section: str, listed: Sequence[_Entry]) -> list[_Entry]:
    """Each finding entry of `section` (a diff's or a drift report's) with its causes, and its
    reason when nothing changed its evidence; entries carry a `fingerprint`."""
    updated = []
    for entry in listed:
        key = (section, entry.fingerprint)
        update: dict[str, object] = {"causes": explained.causes.get(key, [])}
        if key in explained.reasons:
            update["reason"] = explained.reasons[key]
        updated.append(entry.model_copy(update=update))
    return updated
