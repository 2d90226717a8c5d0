"""Shared parts of the report views: formatting, input access, capped groups, finding, waiver and
source rows, snapshot references and the check appendix.

Every view module builds on these, so a finding, a waiver or a source reads the same in the check
run, the diff and the drift report. Malformed input raises `ReportError` naming what is wrong.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from auditor.errors import ReportError
from auditor.results import fingerprint

from .catalog import CheckInfo, anchor_for, info_for

__all__ = [
    "CAP",
    "FINDING_SECTIONS",
    "SEVERITIES",
    "WAIVER_STATES",
    "FindingRow",
    "FindingSection",
    "Group",
    "SnapshotRef",
    "SourceRow",
    "WaiverRow",
    "appendix",
    "as_int",
    "as_mapping",
    "as_text",
    "capped",
    "day",
    "duration",
    "finding_row",
    "finding_sections",
    "group_by_check",
    "list_at",
    "plural",
    "require",
    "severity_rank",
    "short_time",
    "snapshot_ref",
    "sorted_findings",
    "source_row",
    "waiver_groups",
    "waiver_row",
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


def require(doc: Mapping[str, Any], key: str, kind: type | tuple[type, ...], what: str) -> Any:
    if not isinstance(doc, Mapping):
        raise ReportError(f"{what}: expected a JSON object, got {type(doc).__name__}")
    if key not in doc:
        raise ReportError(f"{what}: missing {key!r}")
    value = doc[key]
    if not isinstance(value, kind):
        raise ReportError(f"{what}: {key!r} has the wrong type ({type(value).__name__})")
    return value


def list_at(doc: Mapping[str, Any], key: str, what: str) -> list[Any]:
    value = doc.get(key) if isinstance(doc, Mapping) else None
    if value is None:
        return []
    if not isinstance(value, list):
        raise ReportError(f"{what}: {key!r} must be a list, got {type(value).__name__}")
    return value


def as_mapping(value: object) -> Mapping[str, Any]:
    """An optional object member: absent or not an object reads as empty."""
    return value if isinstance(value, Mapping) else {}


def as_text(value: object) -> str:
    return "" if value is None else str(value)


def as_int(value: object) -> int | None:
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


def capped(key: str, label: str, items: Sequence[T], *, anchor: str = "", severity: str = "") -> Group[T]:
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


def finding_row(raw: object, catalog: Mapping[str, CheckInfo], what: str) -> FindingRow:
    if not isinstance(raw, Mapping):
        raise ReportError(f"{what}: a finding is not a JSON object")
    check = as_text(require(raw, "check", str, what))
    info = info_for(check, catalog)
    waiver = raw.get("waiver") if isinstance(raw.get("waiver"), Mapping) else {}
    return FindingRow(
        check=check,
        title=info.title,
        anchor=anchor_for(check),
        severity=as_text(raw.get("severity") or info.severity or "info"),
        status=as_text(raw.get("status") or "fail"),
        subject=as_text(raw.get("subject")),
        message=as_text(raw.get("message")),
        fingerprint=as_text(raw.get("fingerprint")) or fingerprint(check, as_text(raw.get("subject"))),
        first_seen=as_text(raw.get("first_seen")),
        failing_for_days=as_int(raw.get("failing_for_days")),
        new=bool(raw.get("new", False)),
        waiver_reason=as_text(waiver.get("reason") if waiver else raw.get("reason")),
        waiver_expires=as_text(waiver.get("expires") if waiver else raw.get("expires")),
    )


def sorted_findings(rows: Iterable[FindingRow]) -> list[FindingRow]:
    return sorted(rows, key=lambda f: (severity_rank(f.severity), f.check, f.subject.casefold(), f.subject))


def group_by_check(rows: Iterable[FindingRow]) -> list[Group[FindingRow]]:
    """One group per check, most severe first, each capped."""
    by_check: dict[str, list[FindingRow]] = {}
    for row in sorted_findings(rows):
        by_check.setdefault(row.check, []).append(row)
    return [
        capped(check, items[0].title, items, anchor=items[0].anchor, severity=items[0].severity)
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


FINDING_SECTIONS = (
    ("new", "New failures"),
    ("persisting", "Still failing"),
    ("reopened", "Failing again (reopened)"),
    ("resolved", "Resolved"),
    ("waived", "Waived (accepted with a reason, until the waiver expires)"),
)


def finding_sections(
    raw: object, keys: Sequence[str], catalog: Mapping[str, CheckInfo], what: str
) -> tuple[FindingSection, ...]:
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        raise ReportError(f"{what}: 'findings' must be an object")
    labels = dict(FINDING_SECTIONS)
    return tuple(
        _section(key, labels[key], [finding_row(f, catalog, what) for f in list_at(raw, key, what)])
        for key in keys
    )


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


def waiver_row(raw: object, state: str, catalog: Mapping[str, CheckInfo], what: str) -> WaiverRow:
    if not isinstance(raw, Mapping):
        raise ReportError(f"{what}: a waiver entry is not a JSON object")
    check = as_text(raw.get("check"))
    return WaiverRow(
        check=check,
        title=info_for(check, catalog).title,
        anchor=anchor_for(check),
        subject=as_text(raw.get("subject")),
        reason=as_text(raw.get("reason")),
        expires=as_text(raw.get("expires")),
        state=as_text(raw.get("state") or state),
        days_left=as_int(raw.get("days_left")),
    )


WAIVER_STATES = {
    "expired": "Expired waivers (their findings count as failing again)",
    "expiring": "Waivers expiring within 14 days",
    "stale": "Waivers that match no finding any more",
}


def waiver_groups(rows: list[WaiverRow]) -> tuple[Group[WaiverRow], ...]:
    groups = []
    for state in ("expired", "expiring", "stale"):
        mine = sorted((w for w in rows if w.state == state), key=lambda w: (w.expires, w.check, w.subject))
        if mine:
            groups.append(capped(state, WAIVER_STATES[state], mine))
    others = sorted(
        (w for w in rows if w.state not in WAIVER_STATES), key=lambda w: (w.expires, w.check, w.subject)
    )
    if others:
        groups.append(capped("other", "Other waiver notes", others))
    return tuple(groups)


# -- sources --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SourceRow:
    name: str
    kind: str
    complete: bool
    objects: int | None
    duration: str
    error: str


def source_row(raw: object, what: str) -> SourceRow:
    if not isinstance(raw, Mapping):
        raise ReportError(f"{what}: a source entry is not a JSON object")
    seconds = raw.get("duration_seconds")
    return SourceRow(
        name=as_text(raw.get("name")),
        kind=as_text(raw.get("kind")),
        complete=bool(raw.get("complete")),
        objects=as_int(raw.get("objects")),
        duration=duration(float(seconds)) if isinstance(seconds, int | float) else "",
        error=as_text(raw.get("error")),
    )


# -- snapshot references --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SnapshotRef:
    id: str
    taken_at: str

    @property
    def label(self) -> str:
        if not self.id:
            return "(none)"
        return f"snapshot {self.id}" + (f" ({self.taken_at})" if self.taken_at else "")


def snapshot_ref(raw: object) -> SnapshotRef:
    if not isinstance(raw, Mapping):
        return SnapshotRef("", "")
    return SnapshotRef(as_text(raw.get("id")), short_time(raw.get("taken_at")))


# -- appendix -------------------------------------------------------------------------------------


def appendix(check_ids: Iterable[str], catalog: Mapping[str, CheckInfo]) -> tuple[CheckInfo, ...]:
    """The doc sections the report links to, in ID order."""
    return tuple(info_for(check_id, catalog) for check_id in sorted(set(check_ids)))
