"""The view of a drift report over a period (auditor.report/1, a `DriftReport`): finding changes,
object changes, collection health, waivers to review and missed deliveries.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from auditor import documents as doc

from .catalog import CheckInfo
from .view_causes import CauseGroupRow, cause_groups
from .view_common import (
    FindingSection,
    Group,
    SnapshotRef,
    SourceRow,
    WaiverRow,
    appendix,
    capped,
    day,
    duration,
    finding_sections,
    plural,
    short_time,
    snapshot_ref,
    source_row,
    waiver_groups,
    waiver_row,
)
from .view_objects import ObjectChanges, object_changes
from .view_trend import ChainRef, TrendView, chain_ref, trend_view

__all__ = [
    "CollectionHealth",
    "DriftView",
    "MissedDelivery",
    "SnapshotRow",
    "SourceHealth",
    "collection_health",
    "drift_view",
]


# -- collection health ----------------------------------------------------------------------------


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
    stale_runs: int = 0
    last_stale: str = ""  # the latest reason an export of this source was older than its max_age


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


def collection_health(collection: doc.Collection) -> CollectionHealth:
    ordered = sorted(collection.snapshots, key=lambda s: (s.taken_at, str(s.id)))
    per_source: dict[tuple[str, str], list[tuple[doc.SourceEntry, SourceRow]]] = {}
    incomplete: list[SnapshotRow] = []
    for snap in ordered:
        rows = []
        for source in snap.sources:
            row = source_row(source)
            rows.append(row)
            per_source.setdefault((row.name, row.kind), []).append((source, row))
        if not snap.complete:
            incomplete.append(
                SnapshotRow(
                    id=str(snap.id),
                    taken_at=short_time(snap.taken_at),
                    complete=False,
                    objects=snap.objects,
                    error=snap.error or "",
                    failed_sources=tuple(r for r in rows if not r.complete),
                )
            )
    health = []
    for (name, kind), entries in sorted(per_source.items()):
        seconds = [float(source.duration_seconds) for source, _ in entries]
        last_error = next((row.error for _, row in reversed(entries) if row.error), "")
        last_stale = next((row.stale for _, row in reversed(entries) if row.stale), "")
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
                stale_runs=sum(bool(row.stale) for _, row in entries),
                last_stale=last_stale,
            )
        )
    incomplete.reverse()  # newest first: the one to look at
    return CollectionHealth(
        len(ordered), capped("incomplete", "Incomplete snapshots", incomplete), tuple(health)
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
    trend: TrendView | None = None
    chain: ChainRef | None = None
    causes: Group[CauseGroupRow] | None = None

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


def _period_days(since: str, until: str) -> int | None:
    try:
        start = datetime.fromisoformat(str(since).replace("Z", "+00:00"))
        end = datetime.fromisoformat(str(until).replace("Z", "+00:00"))
    except ValueError:
        return None
    try:
        return round((end - start).total_seconds() / 86400)
    except TypeError:  # naive and aware mixed
        return None


def drift_view(report: doc.DriftReport, catalog: Mapping[str, CheckInfo]) -> DriftView:
    period = report.period
    keys = ("new", "persisting", "reopened", "resolved", *(("waived",) if report.findings.waived else ()))
    findings = finding_sections(report.findings, keys, catalog)
    objects = object_changes(report.objects)
    health = collection_health(report.collection)
    counts = {s.key: s.total for s in findings}
    counts["object_changes"] = objects.total
    counts["snapshots"] = health.snapshots
    counts["incomplete_snapshots"] = health.incomplete.total
    counts.update(report.summary)  # the producer's totals win: lists may have been trimmed upstream
    waiver_rows = [
        *(waiver_row(w, "expired", catalog) for w in report.waivers.expired),
        *(waiver_row(w, "expiring", catalog) for w in report.waivers.expiring),
    ]
    delivery = report.delivery
    missed = tuple(
        MissedDelivery(day(m.period_from), day(m.period_to), m.error or "") for m in delivery.missed
    )
    linked = {g.key for s in findings for g in s.groups} | {w.check for w in waiver_rows}
    return DriftView(
        organization=report.organization,
        generated_at=short_time(report.generated_at),
        since=short_time(period.since),
        until=short_time(period.until),
        until_day=day(period.until),
        period_days=_period_days(period.since, period.until),
        source=snapshot_ref(report.source),
        target=snapshot_ref(report.target),
        counts=counts,
        findings=findings,
        objects=objects,
        health=health,
        waivers=waiver_groups(waiver_rows),
        last_sent=short_time(delivery.last_sent),
        missed=missed,
        appendix=appendix(linked, catalog),
        trend=trend_view(report.trend),
        chain=chain_ref(report.chain),
        causes=cause_groups(report.cause_groups),
    )
