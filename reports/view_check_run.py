"""The view of one check run (auditor.check-run/1, a `RunResult`): failing findings by severity,
then by check."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from auditor.results import RunResult, isoformat

from .catalog import CheckInfo, anchor_for, info_for, merged
from .view_common import (
    SEVERITIES,
    FindingRow,
    Group,
    SourceRow,
    WaiverRow,
    appendix,
    capped,
    group_by_check,
    plural,
    record_row,
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


def all_findings(run: RunResult, catalog: Mapping[str, CheckInfo]) -> list[FindingRow]:
    """Every finding of a check run, uncapped, most severe first (JUnit and SARIF list them all)."""
    return sorted_findings(record_row(f, catalog) for f in run.findings)


def check_run_view(run: RunResult, catalog: Mapping[str, CheckInfo]) -> CheckRunView:
    # A check the catalogue does not know (a plugin since removed) is shown as the run recorded it.
    catalog = merged(
        catalog,
        (
            CheckInfo(
                id=c.id, title=c.title or c.id, severity=c.severity.value, principles=tuple(c.principles)
            )
            for c in run.checks
        ),
    )
    checks = sorted(
        (
            CheckRow(
                id=c.id,
                title=c.title or info_for(c.id, catalog).title,
                anchor=anchor_for(c.id),
                severity=c.severity.value,
                principles=tuple(c.principles),
                status=c.status.value,
                failed=c.failed,
                message=c.message,
            )
            for c in run.checks
        ),
        key=lambda c: c.id,
    )
    findings = [record_row(f, catalog) for f in run.findings]
    failing = [f for f in findings if f.status in ("fail", "error")]
    blocks = []
    for severity in [*SEVERITIES, *sorted({f.severity for f in failing} - set(SEVERITIES))]:
        mine = [f for f in failing if f.severity == severity]
        if mine:
            blocks.append(SeverityBlock(severity, len(mine), tuple(group_by_check(mine))))
    waived = sorted_findings(f for f in findings if f.status == "waived")
    waiver_rows = [waiver_row(w, w.state, catalog) for w in run.waiver_notes]
    linked = {c.id for c in checks} | {f.check for f in findings} | {w.check for w in waiver_rows}
    snapshot = run.snapshot
    return CheckRunView(
        organization=run.organization,
        snapshot_id=str(snapshot.id),
        taken_at=short_time(isoformat(snapshot.taken_at)),
        complete=snapshot.complete,
        sources=tuple(source_row(s) for s in snapshot.sources),
        summary=run.summary(),
        failing_total=len(failing),
        new_total=sum(f.new for f in failing),
        failing=tuple(blocks),
        waived=capped("waived", "Waived findings", waived),
        not_run=tuple(c for c in checks if c.status in ("skipped", "error")),
        checks=tuple(checks),
        waivers=waiver_groups(waiver_rows),
        appendix=appendix(linked, catalog),
    )
