"""The view of a drift report over a period (auditor.report/1): finding changes, object changes,
collection health, waivers to review and missed deliveries.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .catalog import CheckInfo
from .view_common import (
    FindingSection,
    Group,
    SnapshotRef,
    SourceRow,
    WaiverRow,
    appendix,
    as_int,
    as_mapping,
    as_text,
    capped,
    day,
    duration,
    finding_sections,
    list_at,
    plural,
    require,
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
    snapshots = list_at(raw, "snapshots", what) if isinstance(raw, Mapping) else []
    ordered = sorted(
        (s for s in snapshots if isinstance(s, Mapping)),
        key=lambda s: (as_text(s.get("taken_at")), as_text(s.get("id"))),
    )
    per_source: dict[tuple[str, str], list[tuple[Mapping[str, Any], SourceRow]]] = {}
    incomplete: list[SnapshotRow] = []
    for snap in ordered:
        rows = []
        for source in list_at(snap, "sources", what):
            row = source_row(source, what)
            rows.append(row)
            per_source.setdefault((row.name, row.kind), []).append((source, row))
        if not snap.get("complete", False):
            incomplete.append(
                SnapshotRow(
                    id=as_text(snap.get("id")),
                    taken_at=short_time(snap.get("taken_at")),
                    complete=False,
                    objects=as_int(snap.get("objects")),
                    error=as_text(snap.get("error")),
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
    period = require(report, "period", Mapping, what)
    raw_findings = require(report, "findings", Mapping, what)
    findings = finding_sections(
        raw_findings,
        ("new", "persisting", "reopened", "resolved", *(("waived",) if raw_findings.get("waived") else ())),
        catalog,
        what,
    )
    objects = object_changes(report.get("objects"), what)
    health = collection_health(report.get("collection"), what)
    raw_summary = as_mapping(report.get("summary"))
    counts = {s.key: s.total for s in findings}
    counts["object_changes"] = objects.total
    counts["snapshots"] = health.snapshots
    counts["incomplete_snapshots"] = health.incomplete.total
    for key, value in raw_summary.items():
        if as_int(value) is not None:
            counts[str(key)] = value  # the producer's totals win: lists may have been trimmed upstream
    waivers_raw = as_mapping(report.get("waivers"))
    waiver_rows = [
        waiver_row(w, state, catalog, what)
        for state in ("expired", "expiring", "stale")
        for w in list_at(waivers_raw, state, what)
    ]
    delivery = as_mapping(report.get("delivery"))
    missed = tuple(
        MissedDelivery(day(m.get("period_from")), day(m.get("period_to")), as_text(m.get("error")))
        for m in list_at(delivery, "missed", what)
        if isinstance(m, Mapping)
    )
    linked = {g.key for s in findings for g in s.groups} | {w.check for w in waiver_rows}
    return DriftView(
        organization=as_text(report.get("organization")),
        generated_at=short_time(report.get("generated_at")),
        since=short_time(period.get("since")),
        until=short_time(period.get("until")),
        until_day=day(period.get("until")),
        period_days=_period_days(period.get("since"), period.get("until")),
        source=snapshot_ref(report.get("from")),
        target=snapshot_ref(report.get("to")),
        counts=counts,
        findings=findings,
        objects=objects,
        health=health,
        waivers=waiver_groups(waiver_rows),
        last_sent=short_time(delivery.get("last_sent")),
        missed=missed,
        appendix=appendix(linked, catalog),
        trend=trend_view(report.get("trend")),
        chain=chain_ref(report.get("chain")),
    )
