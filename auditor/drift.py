"""The data of the drift report (`auditor report`): what changed over a period, as `auditor.report/1`.

The period runs from `now - since` to `now`. It is measured between two complete snapshots:
`from`, the last complete snapshot at or before the period's start (else the first complete one
inside it), and `to`, the latest complete one. Between them:

* findings (matched by fingerprint) are `new` (failing at `to`, not at `from`, never before),
  `reopened` (failing at `to`, not at `from`, but failing at some earlier time: a fix that did not
  hold), `resolved` (failing at `from`, not at `to`) or `persisting` (both), each with the start
  of its current streak (`first_seen`) and how many days it has been failing;
* objects are the `auditor.diff/1` entries between the two snapshots;
* collection health lists every pass of the period, complete or not, with its sources, so a
  reader sees a week in which the directory was unreachable;
* waivers that expired or expire within 14 days, and report deliveries that failed since the last
  one that arrived (the gap the previous report could not tell anyone about);
* the trend: failing findings by severity for every checked complete snapshot of the last 12
  weeks (the chart of the HTML report and the e-mail), and the hash chain's newest digest, so the
  weekly e-mail carries it out of the store.

A finding counts as present in a snapshot when it was stored there, that is in any non-passing
status (`fail`, `error` or `waived`); its `status` field says which. Findings waived at `to` are
listed under `waived`, not as new, reopened or still failing; one waived at `from` and failing at
`to` (its waiver expired) is new (or reopened), not still failing: it was accepted then and is a
failure now.

With an `Explainer` (today's config and checks: the CLI always passes one), each new, reopened
and resolved finding carries its `causes`, the period's object changes that touched its evidence
at either end, or a `reason` when there is none, and `cause_groups` groups the findings by shared
causes, biggest first (`auditor.causes`).

The result is a typed `DriftReport` (`auditor.documents`); its `to_json()` is the published JSON.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta

from auditor.causes import SECTIONS, Explainer, Explanation, explain, with_causes
from auditor.diff import diff_objects, snapshot_ref
from auditor.documents import (
    REPORT_SCHEMA,
    ChainEntry,
    Collection,
    Delivery,
    DriftFinding,
    DriftFindings,
    DriftReport,
    MissedDelivery,
    ObjectChanges,
    Period,
    Section,
    SnapshotHealth,
    SourceEntry,
    Trend,
    TrendPoint,
    WaiverEntry,
    Waivers,
)
from auditor.registry import Status
from auditor.results import FindingRecord, SnapshotInfo, isoformat
from auditor.store import HistoryStore

__all__ = ["EXPIRING_WITHIN", "REPORT_SCHEMA", "TREND_WINDOW", "Waiver", "build_drift_report"]

EXPIRING_WITHIN = timedelta(days=14)
TREND_WINDOW = timedelta(weeks=12)

Waiver = tuple[str, str, str, date]
"""(check, subject, reason, expires) as configured in `[[checks.waiver]]`."""


def build_drift_report(
    store: HistoryStore,
    *,
    since: timedelta,
    now: datetime,
    waivers: Sequence[Waiver] = (),
    organization: str = "",
    explainer: Explainer | None = None,
) -> DriftReport:
    """The `auditor.report/1` document for the period `[now - since, now]`; with `explainer`, the
    causes of its finding changes too."""
    now = now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)
    start = now - since
    period = store.all_snapshots(start, now)
    last = store.latest_complete_at_or_before(now)
    first = store.latest_complete_at_or_before(start) or next((s for s in period if s.complete), None)
    findings = DriftFindings(new=[], resolved=[], persisting=[], reopened=[], waived=[])
    objects = ObjectChanges(added=[], removed=[], changed=[])
    explained: Explanation | None = None
    if last is not None and first is not None:
        findings, records, at_from = _findings(store, first, last, now)
        changes = store.object_changes(first.id, last.id)
        objects = diff_objects(changes.before, changes.after, store.origins_between(first.id, last.id))
        if explainer is not None:
            explained = explain(store, first, last, records, objects, explainer, at_first=at_from)
            findings = _explained(findings, explained)
    errors = {summary.id: summary.error for summary in store.snapshots()}
    return DriftReport(
        organization=organization or store.organization(),
        generated_at=_time(now),
        period=Period(since=_time(start), until=_time(now)),
        source=snapshot_ref(first) if first and last else None,
        target=snapshot_ref(last) if last else None,
        summary={
            "new": len(findings.new),
            "resolved": len(findings.resolved),
            "persisting": len(findings.persisting),
            "reopened": len(findings.reopened),
            "waived": len(findings.waived),
            "object_changes": objects.total,
            "snapshots": len(period),
            "incomplete_snapshots": sum(not s.complete for s in period),
        },
        findings=findings,
        objects=objects,
        collection=Collection(
            snapshots=[
                SnapshotHealth(
                    id=s.id,
                    taken_at=_time(s.taken_at),
                    complete=s.complete,
                    objects=s.objects,
                    error=errors.get(s.id),
                    sources=[SourceEntry.of(source) for source in s.sources],
                )
                for s in period
            ]
        ),
        waivers=_waivers(waivers, now.date()),
        delivery=_delivery(store),
        trend=_trend(store, now),
        chain=_chain(store),
        **({"cause_groups": explained.groups} if explained is not None else {}),
    )


def _explained(findings: DriftFindings, explained: Explanation) -> DriftFindings:
    """The findings with their causes (and reason, when there is no cause) set."""

    return findings.model_copy(
        update={section: with_causes(explained, section, getattr(findings, section)) for section in SECTIONS}
    )


def _trend(store: HistoryStore, now: datetime) -> Trend:
    """Failing findings by severity for every checked complete snapshot of the last 12 weeks."""
    start = now - TREND_WINDOW
    return Trend(
        since=_time(start),
        until=_time(now),
        snapshots=[
            TrendPoint(id=point.snapshot_id, taken_at=_time(point.taken_at), failing=point.failing)
            for point in store.failing_trend(start, now)
        ],
    )


def _chain(store: HistoryStore) -> ChainEntry | None:
    """The history's newest digest: the report carries it out of the store (`auditor verify --expect`)."""
    head = store.chain_head()
    return (
        ChainEntry(snapshot=head.snapshot_id, taken_at=_time(head.taken_at), digest=head.digest)
        if head
        else None
    )


def _time(moment: datetime) -> str:
    return isoformat(moment) or ""


def _findings(
    store: HistoryStore, first: SnapshotInfo, last: SnapshotInfo, now: datetime
) -> tuple[DriftFindings, dict[Section, list[FindingRecord]], dict[str, FindingRecord]]:
    """The findings of the period; the stored records of the new, reopened and resolved ones (for
    their causes); every finding stored at `from`."""
    at_from = {f.fingerprint: f for f in store.load_findings(first.id)}
    at_to = {f.fingerprint: f for f in store.load_findings(last.id)}
    # A waiver that expired: accepted at `from`, failing at `to`, so it appeared as a failure.
    unwaived = {
        fp for fp, f in at_to.items() if fp in at_from and at_from[fp].status is Status.WAIVED and f.failing
    }
    appeared = [fp for fp in at_to if fp not in at_from or fp in unwaived]
    gone = [fp for fp in at_from if fp not in at_to]
    checked = store.checked_snapshot_ids(until_id=last.id)
    presence = store.finding_presence([*appeared, *gone], until_id=last.id)

    reopened = {fp for fp in appeared if len(presence[fp]) > _streak_length(checked, presence[fp])}
    taken_at = dict(checked)
    order = [snapshot_id for snapshot_id, _ in checked]
    resolved = []
    for fp in gone:
        was = at_from[fp]
        later = [i for i in order if i > max(presence[fp], default=first.id)]
        resolved_at = taken_at[later[0]] if later else last.taken_at
        resolved.append(_entry(was, resolved_at, resolved_at=_time(resolved_at)))
    # Waived findings are accepted risk, not failures: they get a list of their own instead of
    # swelling "new" or "still failing" (the history's `failing` count leaves them out too).
    waived = {fp for fp, f in at_to.items() if f.status is Status.WAIVED}
    new = [fp for fp in appeared if fp not in reopened and fp not in waived]
    reopened_now = [fp for fp in sorted(reopened) if fp not in waived]
    records: dict[Section, list[FindingRecord]] = {
        "new": [at_to[fp] for fp in new],
        "reopened": [at_to[fp] for fp in reopened_now],
        "resolved": [at_from[fp] for fp in gone],
    }
    persisting = [
        _entry(f, now) for fp, f in at_to.items() if fp in at_from and fp not in waived and fp not in unwaived
    ]
    findings = DriftFindings(
        new=_sorted(_entry(at_to[fp], now) for fp in new),
        resolved=_sorted(resolved),
        persisting=_sorted(persisting),
        reopened=_sorted(_entry(at_to[fp], now) for fp in reopened_now),
        waived=_sorted(_entry(at_to[fp], now) for fp in sorted(waived)),
    )
    return findings, records, at_from


def _streak_length(checked: list[tuple[int, datetime]], present: list[int]) -> int:
    """How many of the last checked snapshots, counting back from the newest, had the finding."""
    present_set = set(present)
    length = 0
    for snapshot_id, _ in reversed(checked):
        if snapshot_id not in present_set:
            break
        length += 1
    return length


def _entry(finding: FindingRecord, until: datetime, *, resolved_at: str | None = None) -> DriftFinding:
    """The finding as the report lists it; `resolved_at` given only for a resolved one."""
    first_seen = finding.first_seen
    days = max(0, (until - first_seen).days) if first_seen is not None else None
    entry = DriftFinding(
        check=finding.check,
        subject=finding.subject,
        status=finding.status,
        severity=finding.severity,
        message=finding.message,
        fingerprint=finding.fingerprint,
        first_seen=isoformat(first_seen),
        failing_for_days=days,
    )
    return entry if resolved_at is None else entry.model_copy(update={"resolved_at": resolved_at})


def _sorted(entries: Iterable[DriftFinding]) -> list[DriftFinding]:
    return sorted(entries, key=lambda e: (e.check, e.subject.lower(), e.subject))


def _waivers(waivers: Sequence[Waiver], today: date) -> Waivers:
    expiring, expired = [], []
    for check, subject, reason, expires in sorted(waivers, key=lambda w: (w[3], w[0], w[1])):
        entry = WaiverEntry(
            check=check,
            subject=subject,
            reason=reason,
            expires=expires.isoformat(),
            days_left=(expires - today).days,
        )
        if expires < today:
            expired.append(entry)
        elif expires <= today + EXPIRING_WITHIN:
            expiring.append(entry)
    return Waivers(expiring=expiring, expired=expired)


def _delivery(store: HistoryStore) -> Delivery:
    last_sent = store.last_delivery(sent=True)
    return Delivery(
        last_sent=isoformat(last_sent.sent_at) if last_sent else None,
        missed=[
            MissedDelivery(
                period_from=isoformat(missed.period_from),
                period_to=isoformat(missed.period_to),
                error=missed.error,
            )
            for missed in store.missed_deliveries()
        ],
    )
