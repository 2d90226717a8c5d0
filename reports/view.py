"""Turn the three JSON documents into complete, ordered, capped views for the text and HTML renderers.

The renderers read only these views, never the raw dicts: every optional key is resolved here
once (so templates can run with StrictUndefined), lists are sorted and grouped the same way in
every format, and long groups are cut to their first `CAP` entries with the remainder counted.
Malformed input raises `ReportError` naming what is wrong instead of rendering a partial report.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

from auditor.errors import ReportError
from auditor.results import fingerprint

from .catalog import CheckInfo, anchor_for, info_for, merged

__all__ = [
    "CAP",
    "SEVERITIES",
    "CheckRunView",
    "DiffView",
    "DriftView",
    "all_findings",
    "check_run_view",
    "diff_view",
    "drift_view",
    "plural",
]

CAP = 50
SEVERITIES = ("critical", "high", "medium", "low", "info")
T = TypeVar("T")


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """`1 new failure`, `1,234 new failures`."""
    word = singular if count == 1 else (plural_form or singular + "s")
    return f"{count:,} {word}"


def severity_rank(severity: str) -> int:
    return SEVERITIES.index(severity) if severity in SEVERITIES else len(SEVERITIES)


def short_time(value: object) -> str:
    """`2026-11-27 07:00 UTC` for an ISO time; anything unparseable is shown as given."""
    if not value:
        return ""
    text = str(value)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return text
    if moment.utcoffset() in (None,) or moment.utcoffset().total_seconds() == 0:  # type: ignore[union-attr]
        return moment.strftime("%Y-%m-%d %H:%M UTC")
    return moment.strftime("%Y-%m-%d %H:%M %z")


def day(value: object) -> str:
    text = str(value or "")
    return text[:10] if len(text) >= 10 and text[4] == "-" else text


def duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 10:
        return f"{seconds:.2f} s"
    if seconds < 120:
        return f"{seconds:.1f} s"
    return f"{seconds / 60:.1f} min"


# -- input access ---------------------------------------------------------------------------------


def _require(doc: Mapping[str, Any], key: str, kind: type | tuple[type, ...], what: str) -> Any:
    if not isinstance(doc, Mapping):
        raise ReportError(f"{what}: expected a JSON object, got {type(doc).__name__}")
    if key not in doc:
        raise ReportError(f"{what}: missing {key!r}")
    value = doc[key]
    if not isinstance(value, kind):
        raise ReportError(f"{what}: {key!r} has the wrong type ({type(value).__name__})")
    return value


def _list(doc: Mapping[str, Any], key: str, what: str) -> list[Any]:
    value = doc.get(key) if isinstance(doc, Mapping) else None
    if value is None:
        return []
    if not isinstance(value, list):
        raise ReportError(f"{what}: {key!r} must be a list, got {type(value).__name__}")
    return value


def _mapping(value: object) -> Mapping[str, Any]:
    """An optional object member: absent or not an object reads as empty."""
    return value if isinstance(value, Mapping) else {}


def _text(value: object) -> str:
    return "" if value is None else str(value)


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


# -- groups ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Group(Generic[T]):
    """A heading with its first `CAP` entries; `more` says how many were left out."""

    key: str
    label: str
    total: int
    items: tuple[T, ...]
    anchor: str = ""
    severity: str = ""

    @property
    def more(self) -> int:
        return self.total - len(self.items)


def _capped(key: str, label: str, items: Sequence[T], *, anchor: str = "", severity: str = "") -> Group[T]:
    return Group(key, label, len(items), tuple(items[:CAP]), anchor, severity)


# -- findings -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FindingRow:
    check: str
    title: str
    anchor: str
    severity: str
    status: str
    subject: str
    message: str
    fingerprint: str
    first_seen: str
    failing_for_days: int | None
    new: bool
    waiver_reason: str
    waiver_expires: str

    @property
    def failing_for(self) -> str:
        if self.failing_for_days is None:
            return ""
        if self.failing_for_days < 1:
            return "less than a day"
        return plural(self.failing_for_days, "day")


def _finding(raw: object, catalog: Mapping[str, CheckInfo], what: str) -> FindingRow:
    if not isinstance(raw, Mapping):
        raise ReportError(f"{what}: a finding is not a JSON object")
    check = _text(_require(raw, "check", str, what))
    info = info_for(check, catalog)
    waiver = raw.get("waiver") if isinstance(raw.get("waiver"), Mapping) else {}
    return FindingRow(
        check=check,
        title=info.title,
        anchor=anchor_for(check),
        severity=_text(raw.get("severity") or info.severity or "info"),
        status=_text(raw.get("status") or "fail"),
        subject=_text(raw.get("subject")),
        message=_text(raw.get("message")),
        fingerprint=_text(raw.get("fingerprint")) or fingerprint(check, _text(raw.get("subject"))),
        first_seen=_text(raw.get("first_seen")),
        failing_for_days=_int(raw.get("failing_for_days")),
        new=bool(raw.get("new", False)),
        waiver_reason=_text(waiver.get("reason") if waiver else raw.get("reason")),
        waiver_expires=_text(waiver.get("expires") if waiver else raw.get("expires")),
    )


def _sorted_findings(rows: Iterable[FindingRow]) -> list[FindingRow]:
    return sorted(rows, key=lambda f: (severity_rank(f.severity), f.check, f.subject.casefold(), f.subject))


def group_by_check(rows: Iterable[FindingRow]) -> list[Group[FindingRow]]:
    """One group per check, most severe first, each capped."""
    by_check: dict[str, list[FindingRow]] = {}
    for row in _sorted_findings(rows):
        by_check.setdefault(row.check, []).append(row)
    return [
        _capped(check, items[0].title, items, anchor=items[0].anchor, severity=items[0].severity)
        for check, items in by_check.items()
    ]


@dataclass(frozen=True, slots=True)
class FindingSection:
    """One list of findings (new, still failing, ...) grouped by check."""

    key: str
    label: str
    total: int
    groups: tuple[Group[FindingRow], ...]


def _section(key: str, label: str, rows: list[FindingRow]) -> FindingSection:
    return FindingSection(key, label, len(rows), tuple(group_by_check(rows)))


# -- object changes -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AttributeChange:
    name: str
    multi: bool
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    more_added: int = 0
    more_removed: int = 0
    before: str | None = None
    after: str | None = None


@dataclass(frozen=True, slots=True)
class ObjectRow:
    kind: str
    key: str
    dn: str
    attributes: tuple[AttributeChange, ...] = ()


def _values(raw: object) -> list[str]:
    if raw is None:
        return []
    if isinstance(raw, list | tuple):
        return [_text(v) for v in raw]
    return [_text(raw)]


def _scalar(raw: object) -> str | None:
    if raw is None:
        return None
    if isinstance(raw, list | tuple):
        return "; ".join(_text(v) for v in raw)
    return _text(raw)


def _object(raw: object, what: str) -> ObjectRow:
    if not isinstance(raw, Mapping):
        raise ReportError(f"{what}: an object entry is not a JSON object")
    changes: list[AttributeChange] = []
    attributes = raw.get("attributes") or {}
    if not isinstance(attributes, Mapping):
        raise ReportError(f"{what}: 'attributes' of {raw.get('dn')!r} must be an object")
    # A rename or move is the most important change of an object: show it first.
    for name in sorted(attributes, key=lambda n: (n != "dn", n.casefold())):
        change = attributes[name]
        if not isinstance(change, Mapping):
            raise ReportError(f"{what}: change of attribute {name!r} must be an object")
        if "added" in change or "removed" in change:
            added, removed = _values(change.get("added")), _values(change.get("removed"))
            changes.append(
                AttributeChange(
                    name=str(name),
                    multi=True,
                    added=tuple(added[:CAP]),
                    removed=tuple(removed[:CAP]),
                    more_added=max(0, len(added) - CAP),
                    more_removed=max(0, len(removed) - CAP),
                )
            )
        else:
            changes.append(
                AttributeChange(
                    name=str(name),
                    multi=False,
                    before=_scalar(change.get("before")),
                    after=_scalar(change.get("after")),
                )
            )
    return ObjectRow(
        kind=_text(raw.get("kind") or "object"),
        key=_text(raw.get("key")),
        dn=_text(raw.get("dn")),
        attributes=tuple(changes),
    )


@dataclass(frozen=True, slots=True)
class KindChanges:
    kind: str
    label: str
    added: Group[ObjectRow]
    removed: Group[ObjectRow]
    changed: Group[ObjectRow]

    @property
    def total(self) -> int:
        return self.added.total + self.removed.total + self.changed.total


@dataclass(frozen=True, slots=True)
class ObjectChanges:
    added: int
    removed: int
    changed: int
    kinds: tuple[KindChanges, ...]

    @property
    def total(self) -> int:
        return self.added + self.removed + self.changed


KIND_LABELS = {
    "user": "Users",
    "contact": "Contacts",
    "group": "Groups",
    "recipient_policy": "Recipient policies",
    "accepted_domain": "Accepted domains",
    "smtp_connector": "SMTP connectors",
    "smtp_virtual_server": "SMTP virtual servers",
    "exchange_server": "Exchange servers",
    "mailbox_store": "Mailbox stores",
    "pop3_server": "POP3 servers",
    "pop3_domain": "POP3 domains",
    "pop3_mailbox": "POP3 mailboxes",
}


KIND_ORDER = tuple(KIND_LABELS)


def kind_label(kind: str) -> str:
    """A heading for an object kind; kinds added later show as their own name."""
    return KIND_LABELS.get(kind, kind.replace("_", " "))


def object_changes(objects: object, what: str) -> ObjectChanges:
    if objects is None:
        objects = {}
    if not isinstance(objects, Mapping):
        raise ReportError(f"{what}: 'objects' must be an object")
    lists = {
        change: [_object(raw, what) for raw in _list(objects, change, what)]
        for change in ("added", "removed", "changed")
    }
    kinds = sorted(
        {row.kind for rows in lists.values() for row in rows},
        key=lambda k: (KIND_ORDER.index(k) if k in KIND_ORDER else len(KIND_ORDER), k),
    )
    groups = []
    for kind in kinds:
        per_change: dict[str, Group[ObjectRow]] = {}
        for change, rows in lists.items():
            mine = sorted((r for r in rows if r.kind == kind), key=lambda r: (r.dn.casefold(), r.key))
            per_change[change] = _capped(f"{kind}:{change}", change, mine)
        groups.append(
            KindChanges(
                kind, kind_label(kind), per_change["added"], per_change["removed"], per_change["changed"]
            )
        )
    return ObjectChanges(len(lists["added"]), len(lists["removed"]), len(lists["changed"]), tuple(groups))


# -- waivers --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WaiverRow:
    check: str
    title: str
    anchor: str
    subject: str
    reason: str
    expires: str
    state: str
    days_left: int | None = None

    @property
    def when(self) -> str:
        """`2026-12-05 (in 5 days)`, `2026-11-01 (29 days ago)`."""
        if self.days_left is None:
            return self.expires
        if self.days_left == 0:
            return f"{self.expires} (today)"
        if self.days_left > 0:
            return f"{self.expires} (in {plural(self.days_left, 'day')})"
        return f"{self.expires} ({plural(-self.days_left, 'day')} ago)"


def _waiver(raw: object, state: str, catalog: Mapping[str, CheckInfo], what: str) -> WaiverRow:
    if not isinstance(raw, Mapping):
        raise ReportError(f"{what}: a waiver entry is not a JSON object")
    check = _text(raw.get("check"))
    return WaiverRow(
        check=check,
        title=info_for(check, catalog).title,
        anchor=anchor_for(check),
        subject=_text(raw.get("subject")),
        reason=_text(raw.get("reason")),
        expires=_text(raw.get("expires")),
        state=_text(raw.get("state") or state),
        days_left=_int(raw.get("days_left")),
    )


WAIVER_STATES = {
    "expired": "Expired waivers (their findings count as failing again)",
    "expiring": "Waivers expiring within 14 days",
    "stale": "Waivers that match no finding any more",
}


def _waiver_groups(rows: list[WaiverRow]) -> tuple[Group[WaiverRow], ...]:
    groups = []
    for state in ("expired", "expiring", "stale"):
        mine = sorted((w for w in rows if w.state == state), key=lambda w: (w.expires, w.check, w.subject))
        if mine:
            groups.append(_capped(state, WAIVER_STATES[state], mine))
    others = sorted(
        (w for w in rows if w.state not in WAIVER_STATES), key=lambda w: (w.expires, w.check, w.subject)
    )
    if others:
        groups.append(_capped("other", "Other waiver notes", others))
    return tuple(groups)


# -- sources and collection health ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SourceRow:
    name: str
    kind: str
    complete: bool
    objects: int | None
    duration: str
    error: str


def _source(raw: object, what: str) -> SourceRow:
    if not isinstance(raw, Mapping):
        raise ReportError(f"{what}: a source entry is not a JSON object")
    seconds = raw.get("duration_seconds")
    return SourceRow(
        name=_text(raw.get("name")),
        kind=_text(raw.get("kind")),
        complete=bool(raw.get("complete")),
        objects=_int(raw.get("objects")),
        duration=duration(float(seconds)) if isinstance(seconds, int | float) else "",
        error=_text(raw.get("error")),
    )


@dataclass(frozen=True, slots=True)
class SourceHealth:
    name: str
    kind: str
    runs: int
    incomplete: int
    last_objects: int | None
    median_duration: str
    max_duration: str
    last_error: str


@dataclass(frozen=True, slots=True)
class SnapshotRow:
    id: str
    taken_at: str
    complete: bool
    objects: int | None
    error: str
    failed_sources: tuple[SourceRow, ...]


@dataclass(frozen=True, slots=True)
class CollectionHealth:
    snapshots: int
    incomplete: Group[SnapshotRow]
    sources: tuple[SourceHealth, ...]


def collection_health(raw: object, what: str) -> CollectionHealth:
    snapshots = _list(raw, "snapshots", what) if isinstance(raw, Mapping) else []
    ordered = sorted(
        (s for s in snapshots if isinstance(s, Mapping)),
        key=lambda s: (_text(s.get("taken_at")), _text(s.get("id"))),
    )
    per_source: dict[tuple[str, str], list[tuple[Mapping[str, Any], SourceRow]]] = {}
    incomplete: list[SnapshotRow] = []
    for snap in ordered:
        rows = []
        for source in _list(snap, "sources", what):
            row = _source(source, what)
            rows.append(row)
            per_source.setdefault((row.name, row.kind), []).append((source, row))
        if not snap.get("complete", False):
            incomplete.append(
                SnapshotRow(
                    id=_text(snap.get("id")),
                    taken_at=short_time(snap.get("taken_at")),
                    complete=False,
                    objects=_int(snap.get("objects")),
                    error=_text(snap.get("error")),
                    failed_sources=tuple(r for r in rows if not r.complete),
                )
            )
    health = []
    for (name, kind), entries in sorted(per_source.items()):
        seconds = [
            float(s["duration_seconds"])
            for s, _ in entries
            if isinstance(s.get("duration_seconds"), int | float)
        ]
        last_error = next((row.error for _, row in reversed(entries) if row.error), "")
        health.append(
            SourceHealth(
                name=name,
                kind=kind,
                runs=len(entries),
                incomplete=sum(not row.complete for _, row in entries),
                last_objects=entries[-1][1].objects,
                median_duration=duration(statistics.median(seconds)) if seconds else "",
                max_duration=duration(max(seconds)) if seconds else "",
                last_error=last_error,
            )
        )
    incomplete.reverse()  # newest first: the one to look at
    return CollectionHealth(
        len(ordered), _capped("incomplete", "Incomplete snapshots", incomplete), tuple(health)
    )


# -- appendix -------------------------------------------------------------------------------------


def appendix(check_ids: Iterable[str], catalog: Mapping[str, CheckInfo]) -> tuple[CheckInfo, ...]:
    """The doc sections the report links to, in ID order."""
    return tuple(info_for(check_id, catalog) for check_id in sorted(set(check_ids)))


# -- the check run --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CheckRow:
    id: str
    title: str
    anchor: str
    severity: str
    principles: tuple[str, ...]
    status: str
    failed: int
    message: str


@dataclass(frozen=True, slots=True)
class SeverityBlock:
    severity: str
    total: int
    groups: tuple[Group[FindingRow], ...]


@dataclass(frozen=True, slots=True)
class CheckRunView:
    organization: str
    snapshot_id: str
    taken_at: str
    complete: bool
    sources: tuple[SourceRow, ...]
    summary: dict[str, int]
    failing_total: int
    new_total: int
    failing: tuple[SeverityBlock, ...]
    waived: Group[FindingRow]
    not_run: tuple[CheckRow, ...]
    checks: tuple[CheckRow, ...]
    waivers: tuple[Group[WaiverRow], ...]
    appendix: tuple[CheckInfo, ...]

    @property
    def headline(self) -> str:
        if not self.failing_total:
            return "No failing findings"
        text = f"{plural(self.failing_total, 'failing finding')} in {plural(self.summary['failed'] + self.summary['errors'], 'check')}"
        return text + (f" ({self.new_total:,} new)" if self.new_total else "")


def all_findings(run: Mapping[str, Any], catalog: Mapping[str, CheckInfo]) -> list[FindingRow]:
    """Every finding of a check run, uncapped, most severe first (JUnit and SARIF list them all)."""
    return _sorted_findings(
        _finding(f, catalog, "check run") for f in _require(run, "findings", list, "check run")
    )


def check_run_view(run: Mapping[str, Any], catalog: Mapping[str, CheckInfo]) -> CheckRunView:
    what = "check run"
    snapshot = _require(run, "snapshot", Mapping, what)
    raw_checks = _require(run, "checks", list, what)
    raw_findings = _require(run, "findings", list, what)
    catalog = merged(
        catalog,
        (info_for(_text(c.get("id")), {}, c) for c in raw_checks if isinstance(c, Mapping) and c.get("id")),
    )
    checks = []
    for raw in raw_checks:
        if not isinstance(raw, Mapping):
            raise ReportError(f"{what}: a check entry is not a JSON object")
        check_id = _text(_require(raw, "id", str, what))
        info = info_for(check_id, catalog)
        principles = raw.get("principles")
        checks.append(
            CheckRow(
                id=check_id,
                title=_text(raw.get("title") or info.title),
                anchor=anchor_for(check_id),
                severity=_text(raw.get("severity") or info.severity or "info"),
                principles=tuple(_text(p) for p in principles)
                if isinstance(principles, list)
                else info.principles,
                status=_text(raw.get("status")),
                failed=_int(raw.get("failed")) or 0,
                message=_text(raw.get("message")),
            )
        )
    checks.sort(key=lambda c: c.id)
    findings = [_finding(f, catalog, what) for f in raw_findings]
    failing = [f for f in findings if f.status in ("fail", "error")]
    blocks = []
    for severity in [*SEVERITIES, *sorted({f.severity for f in failing} - set(SEVERITIES))]:
        mine = [f for f in failing if f.severity == severity]
        if mine:
            blocks.append(SeverityBlock(severity, len(mine), tuple(group_by_check(mine))))
    waived = _sorted_findings(f for f in findings if f.status == "waived")
    summary_raw = _mapping(run.get("summary"))
    summary = {
        key: _int(summary_raw.get(key)) if _int(summary_raw.get(key)) is not None else default
        for key, default in (
            ("checks", len(checks)),
            ("passed", sum(c.status == "pass" for c in checks)),
            ("failed", sum(c.status == "fail" for c in checks)),
            ("skipped", sum(c.status == "skipped" for c in checks)),
            ("errors", sum(c.status == "error" for c in checks)),
            ("waived", len(waived)),
        )
    }
    waiver_rows = [_waiver(w, "", catalog, what) for w in _list(run, "waivers", what)]
    linked = {c.id for c in checks} | {f.check for f in findings} | {w.check for w in waiver_rows}
    return CheckRunView(
        organization=_text(run.get("organization")),
        snapshot_id=_text(snapshot.get("id")),
        taken_at=short_time(snapshot.get("taken_at")),
        complete=bool(snapshot.get("complete")),
        sources=tuple(_source(s, what) for s in _list(snapshot, "sources", what)),
        summary=summary,  # type: ignore[arg-type]
        failing_total=len(failing),
        new_total=sum(f.new for f in failing),
        failing=tuple(blocks),
        waived=_capped("waived", "Waived findings", waived),
        not_run=tuple(c for c in checks if c.status in ("skipped", "error")),
        checks=tuple(checks),
        waivers=_waiver_groups(waiver_rows),
        appendix=appendix(linked, catalog),
    )


# -- the diff -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SnapshotRef:
    id: str
    taken_at: str

    @property
    def label(self) -> str:
        if not self.id:
            return "(none)"
        return f"snapshot {self.id}" + (f" ({self.taken_at})" if self.taken_at else "")


def _ref(raw: object) -> SnapshotRef:
    if not isinstance(raw, Mapping):
        return SnapshotRef("", "")
    return SnapshotRef(_text(raw.get("id")), short_time(raw.get("taken_at")))


@dataclass(frozen=True, slots=True)
class DiffView:
    source: SnapshotRef
    target: SnapshotRef
    findings: tuple[FindingSection, ...]
    objects: ObjectChanges
    appendix: tuple[CheckInfo, ...]

    def count(self, key: str) -> int:
        return next((s.total for s in self.findings if s.key == key), 0)

    @property
    def headline(self) -> str:
        parts = [plural(self.count("new"), "new failure"), f"{self.count('resolved'):,} resolved"]
        if self.count("persisting"):
            parts.append(f"{self.count('persisting'):,} still failing")
        objects = self.objects
        parts.append(
            f"{plural(objects.total, 'object change')} ({objects.added:,} added, {objects.removed:,} removed, {objects.changed:,} changed)"
        )
        return ", ".join(parts)


FINDING_SECTIONS = (
    ("new", "New failures"),
    ("persisting", "Still failing"),
    ("reopened", "Failing again (reopened)"),
    ("resolved", "Resolved"),
    ("waived", "Waived (accepted with a reason, until the waiver expires)"),
)


def _finding_sections(
    raw: object, keys: Sequence[str], catalog: Mapping[str, CheckInfo], what: str
) -> tuple[FindingSection, ...]:
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        raise ReportError(f"{what}: 'findings' must be an object")
    labels = dict(FINDING_SECTIONS)
    return tuple(
        _section(key, labels[key], [_finding(f, catalog, what) for f in _list(raw, key, what)])
        for key in keys
    )


def diff_view(diff: Mapping[str, Any], catalog: Mapping[str, CheckInfo]) -> DiffView:
    what = "diff"
    _require(diff, "objects", Mapping, what)
    findings = _finding_sections(diff.get("findings"), ("new", "persisting", "resolved"), catalog, what)
    linked = {g.key for s in findings for g in s.groups}
    return DiffView(
        source=_ref(diff.get("from")),
        target=_ref(diff.get("to")),
        findings=findings,
        objects=object_changes(diff.get("objects"), what),
        appendix=appendix(linked, catalog),
    )


# -- the drift report -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MissedDelivery:
    period_from: str
    period_to: str
    error: str


@dataclass(frozen=True, slots=True)
class DriftView:
    organization: str
    generated_at: str
    since: str
    until: str
    until_day: str
    period_days: int | None
    source: SnapshotRef
    target: SnapshotRef
    counts: dict[str, int]
    findings: tuple[FindingSection, ...]
    objects: ObjectChanges
    health: CollectionHealth
    waivers: tuple[Group[WaiverRow], ...]
    last_sent: str
    missed: tuple[MissedDelivery, ...]
    appendix: tuple[CheckInfo, ...] = field(default=())

    def count(self, key: str) -> int:
        return self.counts.get(key, 0)

    @property
    def headline(self) -> str:
        """`2 new failures, 1 resolved`, plus what else needs reading."""
        parts = [plural(self.count("new"), "new failure"), f"{self.count('resolved'):,} resolved"]
        if self.count("reopened"):
            parts.append(f"{self.count('reopened'):,} reopened")
        if self.count("persisting"):
            parts.append(f"{self.count('persisting'):,} still failing")
        return ", ".join(parts)

    @property
    def period_label(self) -> str:
        if self.period_days == 7:
            return f"week to {self.until_day}"
        if self.period_days:
            return f"{plural(self.period_days, 'day')} to {self.until_day}"
        return f"to {self.until_day}" if self.until_day else "period"


def _period_days(since: object, until: object) -> int | None:
    try:
        start = datetime.fromisoformat(str(since).replace("Z", "+00:00"))
        end = datetime.fromisoformat(str(until).replace("Z", "+00:00"))
    except ValueError:
        return None
    try:
        return round((end - start).total_seconds() / 86400)
    except TypeError:  # naive and aware mixed
        return None


def drift_view(report: Mapping[str, Any], catalog: Mapping[str, CheckInfo]) -> DriftView:
    what = "drift report"
    period = _require(report, "period", Mapping, what)
    raw_findings = _require(report, "findings", Mapping, what)
    findings = _finding_sections(
        raw_findings,
        ("new", "persisting", "reopened", "resolved", *(("waived",) if raw_findings.get("waived") else ())),
        catalog,
        what,
    )
    objects = object_changes(report.get("objects"), what)
    health = collection_health(report.get("collection"), what)
    raw_summary = _mapping(report.get("summary"))
    counts = {s.key: s.total for s in findings}
    counts["object_changes"] = objects.total
    counts["snapshots"] = health.snapshots
    counts["incomplete_snapshots"] = health.incomplete.total
    for key, value in raw_summary.items():
        if _int(value) is not None:
            counts[str(key)] = value  # the producer's totals win: lists may have been trimmed upstream
    waivers_raw = _mapping(report.get("waivers"))
    waiver_rows = [
        _waiver(w, state, catalog, what)
        for state in ("expired", "expiring", "stale")
        for w in _list(waivers_raw, state, what)
    ]
    delivery = _mapping(report.get("delivery"))
    missed = tuple(
        MissedDelivery(day(m.get("period_from")), day(m.get("period_to")), _text(m.get("error")))
        for m in _list(delivery, "missed", what)
        if isinstance(m, Mapping)
    )
    linked = {g.key for s in findings for g in s.groups} | {w.check for w in waiver_rows}
    return DriftView(
        organization=_text(report.get("organization")),
        generated_at=short_time(report.get("generated_at")),
        since=short_time(period.get("since")),
        until=short_time(period.get("until")),
        until_day=day(period.get("until")),
        period_days=_period_days(period.get("since"), period.get("until")),
        source=_ref(report.get("from")),
        target=_ref(report.get("to")),
        counts=counts,
        findings=findings,
        objects=objects,
        health=health,
        waivers=_waiver_groups(waiver_rows),
        last_sent=short_time(delivery.get("last_sent")),
        missed=missed,
        appendix=appendix(linked, catalog),
    )
