"""Shared parts of the report views: formatting, capped groups, finding, waiver and source rows,
snapshot references and the check appendix.

Every view module builds on these, so a finding, a waiver or a source reads the same in the check
run, the diff and the drift report. The inputs are the typed documents (`auditor.documents`):
what a row reads is there because the document's type says so, never looked up in a dict.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from auditor import documents as doc
from auditor.records import SourceInfo
from auditor.results import FindingRecord, WaiverNote, isoformat

from .catalog import CheckInfo, anchor_for, info_for

__all__ = [
    "CAP",
    "CHANGES_SHOWN",
    "FINDING_SECTIONS",
    "KIND_NAMES",
    "REASON_LABELS",
    "SEVERITIES",
    "WAIVER_STATES",
    "FindingRow",
    "FindingSection",
    "Group",
    "SnapshotRef",
    "SourceRow",
    "WaiverRow",
    "appendix",
    "capped",
    "change_row",
    "change_text",
    "day",
    "duration",
    "finding_cause",
    "finding_sections",
    "group_by_check",
    "plural",
    "reason_text",
    "record_row",
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


# -- causes ---------------------------------------------------------------------------------------

CHANGES_SHOWN = 3

KIND_NAMES = {
    "user": "user",
    "contact": "contact",
    "group": "group",
    "dynamic_group": "dynamic group",
    "public_folder": "public folder",
    "recipient_policy": "recipient policy",
    "accepted_domain": "accepted domain",
    "smtp_connector": "SMTP connector",
    "smtp_virtual_server": "SMTP virtual server",
    "exchange_server": "Exchange server",
    "mailbox_store": "mailbox store",
    "send_connector": "send connector",
    "receive_connector": "receive connector",
    "mailbox_database": "mailbox database",
    "pop3_server": "POP3 server",
    "pop3_domain": "POP3 domain",
    "pop3_mailbox": "POP3 mailbox",
}

REASON_LABELS = {
    "waiver-expired": "waiver expired",
    "check-added": "check added",
    "check-removed": "check removed",
    "check-skipped": "check skipped",
    "check-error": "check could not run",
    "check-changed": "check changed",
    "auditor-upgraded": "auditor upgraded",
    "config-changed": "configuration changed",
    "not-recorded": "not recorded",
    "date": "the date",
    "unexplained": "no change found",
}


def _name(cause: doc.Cause) -> str:
    """The object's own name: the value of the first RDN of its DN, else its key."""
    first = cause.dn.split(",", 1)[0]
    _, equals, value = first.partition("=")
    return value if equals and value else cause.dn or cause.key


def change_text(cause: doc.Cause) -> str:
    """`SMTP connector 'To POP01' removed 2026-12-05 14:44 UTC on DC1`; `user 'Dave Dunn' changed (targetAddress)`."""
    kind = KIND_NAMES.get(cause.kind, cause.kind.replace("_", " "))
    verb: str = cause.change
    attributes = [a for a in cause.attributes if a != "dn"]
    if cause.change == "changed":
        verb = "renamed or moved" if "dn" in cause.attributes else "changed"
        if attributes:
            shown = ", ".join(attributes[:4]) + (", …" if len(attributes) > 4 else "")
            verb += f" ({shown})"
    when = f" {short_time(cause.origin.time)} on {cause.origin.dc}" if cause.origin else ""
    return f"{kind} '{_name(cause)}' {verb}{when}"


def reason_text(reason: doc.Reason) -> str:
    """`check added: COEX-705 did not run at snapshot 12: ...`."""
    return f"{REASON_LABELS.get(reason.code, reason.code)}: {reason.text}"


def finding_cause(causes: Sequence[doc.Cause] | None, reason: doc.Reason | None) -> str:
    """One line for a finding's row: its changes (the first few) or its reason; "" when not explained."""
    if causes:
        shown = "; ".join(change_text(c) for c in causes[:CHANGES_SHOWN])
        more = f"; and {len(causes) - CHANGES_SHOWN:,} more" if len(causes) > CHANGES_SHOWN else ""
        return f"{shown}{more}"
    return reason_text(reason) if reason is not None else ""


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
    cause: str = ""  # why it appeared or went away (`view_causes.finding_cause`), when explained

    @property
    def failing_for(self) -> str:
        if self.failing_for_days is None:
            return ""
        if self.failing_for_days < 1:
            return "less than a day"
        return plural(self.failing_for_days, "day")


def record_row(finding: FindingRecord, catalog: Mapping[str, CheckInfo]) -> FindingRow:
    """A finding of a check run: new or not, with its waiver when waived."""
    return FindingRow(
        check=finding.check,
        title=info_for(finding.check, catalog).title,
        anchor=anchor_for(finding.check),
        severity=finding.severity.value,
        status=finding.status.value,
        subject=finding.subject,
        message=finding.message,
        fingerprint=finding.fingerprint,
        first_seen=isoformat(finding.first_seen) or "",
        failing_for_days=None,
        new=finding.new,
        waiver_reason=finding.waiver_reason or "",
        waiver_expires=finding.waiver_expires.isoformat() if finding.waiver_expires else "",
    )


def change_row(finding: doc.FindingChange, catalog: Mapping[str, CheckInfo]) -> FindingRow:
    """A finding of a diff or a drift report (the latter with its streak: first seen, days failing)."""
    streak = finding if isinstance(finding, doc.DriftFinding) else None
    return FindingRow(
        check=finding.check,
        title=info_for(finding.check, catalog).title,
        anchor=anchor_for(finding.check),
        severity=finding.severity.value,
        status=finding.status.value,
        subject=finding.subject,
        message=finding.message,
        fingerprint=finding.fingerprint,
        first_seen=(streak.first_seen or "") if streak else "",
        failing_for_days=streak.failing_for_days if streak else None,
        new=False,
        waiver_reason="",
        waiver_expires="",
        cause=finding_cause(finding.causes, finding.reason),
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
    findings: doc.FindingChanges | doc.DriftFindings, keys: Sequence[str], catalog: Mapping[str, CheckInfo]
) -> tuple[FindingSection, ...]:
    labels = dict(FINDING_SECTIONS)
    return tuple(
        _section(key, labels[key], [change_row(f, catalog) for f in getattr(findings, key)]) for key in keys
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


def waiver_row(
    waiver: WaiverNote | doc.WaiverEntry, state: str, catalog: Mapping[str, CheckInfo]
) -> WaiverRow:
    """A check run's waiver note (it says its state), or a drift report's (`state`: its list)."""
    if isinstance(waiver, WaiverNote):
        expires, state, days_left = waiver.expires.isoformat(), waiver.state, None
    else:
        expires, days_left = waiver.expires, waiver.days_left
    return WaiverRow(
        check=waiver.check,
        title=info_for(waiver.check, catalog).title,
        anchor=anchor_for(waiver.check),
        subject=waiver.subject,
        reason=waiver.reason,
        expires=expires,
        state=state,
        days_left=days_left,
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
    stale: str = ""  # why an export made elsewhere is older than its max_age


def source_row(source: SourceInfo | doc.SourceEntry) -> SourceRow:
    # A check run holds the source itself: round its time as its JSON does, so both read alike.
    seconds = round(source.duration_seconds, 3) if isinstance(source, SourceInfo) else source.duration_seconds
    return SourceRow(
        name=source.name,
        kind=source.kind,
        complete=source.complete,
        objects=source.objects,
        duration=duration(float(seconds)),
        error=source.error or "",
        stale=source.stale or "",
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


def snapshot_ref(ref: doc.SnapshotRef | None) -> SnapshotRef:
    if ref is None:
        return SnapshotRef("", "")
    return SnapshotRef(str(ref.id), short_time(ref.taken_at))


# -- appendix -------------------------------------------------------------------------------------


def appendix(check_ids: Iterable[str], catalog: Mapping[str, CheckInfo]) -> tuple[CheckInfo, ...]:
    """The doc sections the report links to, in ID order."""
    return tuple(info_for(check_id, catalog) for check_id in sorted(set(check_ids)))
