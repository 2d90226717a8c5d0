"""The view of one check run (auditor.check-run/1): failing findings by severity, then by check."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from auditor.errors import ReportError

from .catalog import CheckInfo, anchor_for, info_for, merged
from .view_common import (
    SEVERITIES,
    FindingRow,
    Group,
    SourceRow,
    WaiverRow,
    appendix,
    as_int,
    as_mapping,
    as_text,
    capped,
    finding_row,
    group_by_check,
    list_at,
    plural,
    require,
    short_time,
    sorted_findings,
    source_row,
    waiver_groups,
    waiver_row,
)

__all__ = [
    "CheckRow",
    "CheckRunView",
    "SeverityBlock",
    "all_findings",
    "check_run_view",
]


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
    return sorted_findings(
        finding_row(f, catalog, "check run") for f in require(run, "findings", list, "check run")
    )


def check_run_view(run: Mapping[str, Any], catalog: Mapping[str, CheckInfo]) -> CheckRunView:
    what = "check run"
    snapshot = require(run, "snapshot", Mapping, what)
    raw_checks = require(run, "checks", list, what)
    raw_findings = require(run, "findings", list, what)
    catalog = merged(
        catalog,
        (info_for(as_text(c.get("id")), {}, c) for c in raw_checks if isinstance(c, Mapping) and c.get("id")),
    )
    checks = []
    for raw in raw_checks:
        if not isinstance(raw, Mapping):
            raise ReportError(f"{what}: a check entry is not a JSON object")
        check_id = as_text(require(raw, "id", str, what))
        info = info_for(check_id, catalog)
        principles = raw.get("principles")
        checks.append(
            CheckRow(
                id=check_id,
                title=as_text(raw.get("title") or info.title),
                anchor=anchor_for(check_id),
                severity=as_text(raw.get("severity") or info.severity or "info"),
                principles=tuple(as_text(p) for p in principles)
                if isinstance(principles, list)
                else info.principles,
                status=as_text(raw.get("status")),
                failed=as_int(raw.get("failed")) or 0,
                message=as_text(raw.get("message")),
            )
        )
    checks.sort(key=lambda c: c.id)
    findings = [finding_row(f, catalog, what) for f in raw_findings]
    failing = [f for f in findings if f.status in ("fail", "error")]
    blocks = []
    for severity in [*SEVERITIES, *sorted({f.severity for f in failing} - set(SEVERITIES))]:
        mine = [f for f in failing if f.severity == severity]
        if mine:
            blocks.append(SeverityBlock(severity, len(mine), tuple(group_by_check(mine))))
    waived = sorted_findings(f for f in findings if f.status == "waived")
    summary_raw = as_mapping(run.get("summary"))
    summary = {
        key: as_int(summary_raw.get(key)) if as_int(summary_raw.get(key)) is not None else default
        for key, default in (
            ("checks", len(checks)),
            ("passed", sum(c.status == "pass" for c in checks)),
            ("failed", sum(c.status == "fail" for c in checks)),
            ("skipped", sum(c.status == "skipped" for c in checks)),
            ("errors", sum(c.status == "error" for c in checks)),
            ("waived", len(waived)),
        )
    }
    waiver_rows = [waiver_row(w, "", catalog, what) for w in list_at(run, "waivers", what)]
    linked = {c.id for c in checks} | {f.check for f in findings} | {w.check for w in waiver_rows}
    return CheckRunView(
        organization=as_text(run.get("organization")),
        snapshot_id=as_text(snapshot.get("id")),
        taken_at=short_time(snapshot.get("taken_at")),
        complete=bool(snapshot.get("complete")),
        sources=tuple(source_row(s, what) for s in list_at(snapshot, "sources", what)),
        summary=summary,  # type: ignore[arg-type]
        failing_total=len(failing),
        new_total=sum(f.new for f in failing),
        failing=tuple(blocks),
        waived=capped("waived", "Waived findings", waived),
        not_run=tuple(c for c in checks if c.status in ("skipped", "error")),
        checks=tuple(checks),
        waivers=waiver_groups(waiver_rows),
        appendix=appendix(linked, catalog),
    )
