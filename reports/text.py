"""Terminal output: the same views as the HTML, as plain lines, with ANSI colour only on request.

Directory values are untrusted here too: control characters (an ESC starting a terminal escape
sequence, a carriage return hiding a line), bidirectional overrides and bytes of non-UTF-8 file
names are shown as escapes (`\\x1b`) instead of reaching the terminal (`auditor.terminal`).
"""

from __future__ import annotations

from collections.abc import Iterable

from auditor.terminal import printable

from .view import (
    CheckRunView,
    DiffView,
    DriftView,
    FindingSection,
    Group,
    ObjectChanges,
    WaiverRow,
    plural,
)
from .view_causes import CauseGroupRow
from .view_trend import TrendView

__all__ = ["render_text"]

MORE_HINT = "use --format json for the full list"
_SEVERITY_COLOUR = {"critical": "1;31", "high": "31", "medium": "33", "low": "36", "info": "34"}


def clean(value: object) -> str:
    """One line of untrusted text: tabs and line feeds become spaces, other controls escapes."""
    return printable(str(value).replace("\t", " ").replace("\n", " "))


class _Writer:
    def __init__(self, color: bool) -> None:
        self.color = color
        self.lines: list[str] = []

    def paint(self, text: str, code: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if self.color and code else text

    def severity(self, severity: str) -> str:
        return self.paint(clean(severity).upper(), _SEVERITY_COLOUR.get(severity, ""))

    def line(self, text: str = "") -> None:
        self.lines.append(text)

    def heading(self, text: str) -> None:
        if self.lines and self.lines[-1]:
            self.line()
        self.line(self.paint(text, "1"))

    def more(self, count: int, indent: str) -> None:
        if count > 0:
            self.line(self.paint(f"{indent}… and {count:,} more ({MORE_HINT})", "2"))

    def text(self) -> str:
        return "\n".join(self.lines).rstrip("\n") + "\n"


def _finding_section(out: _Writer, section: FindingSection, *, since: bool = False) -> None:
    out.heading(f"{section.label} ({section.total:,})")
    if not section.groups:
        out.line("  none")
    for group in section.groups:
        out.line(
            f"  {out.severity(group.severity)} {clean(group.key)}  {clean(group.label)} ({group.total:,})"
        )
        for f in group.items:
            extra = f" [failing for {f.failing_for}]" if since and f.failing_for else ""
            status = out.paint(" ERROR", "31") if f.status == "error" else ""
            out.line(f"    {clean(f.subject)}{status}{extra}")
            if f.message:
                out.line(out.paint(f"      {clean(f.message)}", "2"))
            if f.cause:
                out.line(out.paint(f"      why: {clean(f.cause)}", "2"))
        out.more(group.more, "    ")


def _causes(out: _Writer, causes: Group[CauseGroupRow]) -> None:
    """Each group of finding changes with its changes (or reason): the report's answer to "why"."""
    out.heading(f"{causes.label} ({plural(causes.total, 'group')})")
    if not causes.items:
        out.line("  no finding appeared or went away")
    for group in causes.items:
        out.line(f"  {out.severity(group.severity)} {clean(group.what)}")
        if group.changes:
            out.line(f"    {plural(len(group.changes) + group.more_changes, 'change')}:")
            for change in group.changes:
                out.line(f"      {clean(change)}")
            if group.more_changes:
                out.line(f"      … and {group.more_changes:,} more")
        else:
            out.line(f"    {clean(group.reason)}")
        subjects = ", ".join(clean(" ".join(s.split())) for s in group.subjects)
        more = f" and {group.more_subjects:,} more" if group.more_subjects else ""
        out.line(out.paint(f"    {subjects}{more}", "2"))
    out.more(causes.more, "  ")


def _objects(out: _Writer, objects: ObjectChanges) -> None:
    out.heading(
        f"Object changes ({objects.total:,}: {objects.added:,} added, {objects.removed:,} removed, "
        f"{objects.changed:,} changed)"
    )
    if not objects.kinds:
        out.line("  none")
    for kind in objects.kinds:
        out.line(f"  {clean(kind.label)}")
        for group, mark in ((kind.added, "+"), (kind.removed, "-"), (kind.changed, "~")):
            colour = {"+": "32", "-": "31", "~": "33"}[mark]
            verb = {"+": "created", "-": "deleted"}.get(mark, "")
            for o in group.items:
                when = out.paint(f"  [{verb} {clean(o.origin)}]", "2") if o.origin and verb else ""
                out.line(f"    {out.paint(mark, colour)} {clean(o.dn or o.key)}{when}")
                for a in o.attributes:
                    if a.origin:
                        out.line(out.paint(f"        {clean(a.name)}: changed {clean(a.origin)}", "2"))
                    if a.multi:
                        for value in a.added:
                            out.line(f"        {clean(a.name)}: {out.paint('+ ' + clean(value), '32')}")
                        if a.more_added:
                            out.line(f"        {clean(a.name)}: … and {a.more_added:,} more added")
                        for value in a.removed:
                            out.line(f"        {clean(a.name)}: {out.paint('- ' + clean(value), '31')}")
                        if a.more_removed:
                            out.line(f"        {clean(a.name)}: … and {a.more_removed:,} more removed")
                    else:
                        before = "(none)" if a.before is None else clean(a.before)
                        after = "(none)" if a.after is None else clean(a.after)
                        out.line(f"        {clean(a.name)}: {before} -> {after}")
            out.more(group.more, "    ")


def _waivers(out: _Writer, groups: Iterable[Group[WaiverRow]]) -> None:
    for group in groups:
        out.line(f"  {group.label} ({group.total:,})")
        for w in group.items:
            out.line(f"    {clean(w.check)}  {clean(w.subject)}  expires {clean(w.when)}: {clean(w.reason)}")
        out.more(group.more, "    ")


def _no_reason(status: str) -> str:
    return "see its findings above" if status == "error" else "(no reason given)"


def _check_run(view: CheckRunView, out: _Writer) -> None:
    title = "Audit" + (f": {clean(view.organization)}" if view.organization else "")
    state = "complete" if view.complete else out.paint("INCOMPLETE", "1;31")
    out.line(out.paint(title, "1") + f" · snapshot {clean(view.snapshot_id)} · {view.taken_at} · {state}")
    out.line(out.paint(view.headline, "1;31" if view.failing_total else "1;32"))
    s = view.summary
    out.line(
        f"{plural(s['checks'], 'check')}: {s['passed']:,} passed, {s['failed']:,} failed, "
        f"{s['errors']:,} errors, {s['skipped']:,} skipped; {plural(s['waived'], 'waived finding')}"
    )
    for block in view.failing:
        out.heading(f"{out.severity(block.severity)} ({block.total:,})")
        for group in block.groups:
            out.line(f"  {clean(group.key)}  {clean(group.label)} ({group.total:,})")
            for f in group.items:
                marks = (out.paint(" ERROR", "31") if f.status == "error" else "") + (
                    out.paint(" NEW", "1;31") if f.new else ""
                )
                out.line(f"    {clean(f.subject)}{marks}")
                if f.message:
                    out.line(out.paint(f"      {clean(f.message)}", "2"))
            out.more(group.more, "    ")
    if view.waived.total:
        out.heading(f"Waived ({view.waived.total:,})")
        for f in view.waived.items:
            until = f" (until {clean(f.waiver_expires)})" if f.waiver_expires else ""
            out.line(f"  {clean(f.check)}  {clean(f.subject)}: {clean(f.waiver_reason)}{until}")
        out.more(view.waived.more, "  ")
    if view.not_run:
        out.heading(f"Skipped or in error ({len(view.not_run)})")
        for c in view.not_run:
            colour = "31" if c.status == "error" else "2"
            out.line(
                f"  {clean(c.id)}  {out.paint(clean(c.status), colour)}  {clean(c.message or _no_reason(c.status))}"
            )
    if view.waivers:
        out.heading("Waivers to review")
        _waivers(out, view.waivers)
    incomplete = [s for s in view.sources if not s.complete]
    if incomplete:
        out.heading("Incomplete sources")
        for source in incomplete:
            out.line(f"  {clean(source.name)} ({clean(source.kind)}): {clean(source.error or 'incomplete')}")
    stale = [s for s in view.sources if s.stale]
    if stale:
        out.heading("Stale exports")
        for source in stale:
            out.line(f"  {clean(source.name)} ({clean(source.kind)}): {out.paint(clean(source.stale), '33')}")


def _diff(view: DiffView, out: _Writer) -> None:
    out.line(out.paint(f"Changes from {view.source.label} to {view.target.label}", "1"))
    out.line(view.headline)
    if view.causes is not None:
        _causes(out, view.causes)
    for section in view.findings:
        _finding_section(out, section)
    _objects(out, view.objects)


def _drift(view: DriftView, out: _Writer) -> None:
    title = "Drift report" + (f": {clean(view.organization)}" if view.organization else "")
    out.line(out.paint(title, "1") + f" · {view.since} to {view.until}")
    out.line(out.paint(view.headline, "1;31" if view.count("new") or view.count("reopened") else "1;32"))
    for missed in view.missed:
        out.line(
            out.paint(
                f"The report for {missed.period_from} to {missed.period_to} could not be sent: {clean(missed.error)}",
                "31",
            )
        )
    if view.count("incomplete_snapshots"):
        out.line(
            out.paint(
                f"{plural(view.count('incomplete_snapshots'), 'snapshot')} of {view.count('snapshots'):,} "
                "in this period incomplete (see collection health)",
                "33",
            )
        )
    if view.causes is not None:
        _causes(out, view.causes)
    if view.trend is not None:
        _trend(out, view.trend)
    for section in view.findings:
        _finding_section(out, section, since=section.key in ("persisting", "reopened"))
    _objects(out, view.objects)
    health = view.health
    out.heading(
        f"Collection health ({plural(health.snapshots, 'snapshot')}, {health.incomplete.total:,} incomplete)"
    )
    for s in health.sources:
        objects = f"{s.last_objects:,}" if s.last_objects is not None else "?"
        timing = f", duration median {s.median_duration}, max {s.max_duration}" if s.median_duration else ""
        error = f"; last error: {clean(s.last_error)}" if s.last_error else ""
        stale = (
            out.paint(f"; stale in {plural(s.stale_runs, 'run')}: {clean(s.last_stale)}", "33")
            if s.stale_runs
            else ""
        )
        out.line(
            f"  {clean(s.name)} ({clean(s.kind)}): {plural(s.runs, 'run')}, {s.incomplete:,} incomplete, "
            f"{objects} objects{timing}{error}{stale}"
        )
    for snap in health.incomplete.items:
        failed = "; ".join(f"{clean(x.name)}: {clean(x.error or 'incomplete')}" for x in snap.failed_sources)
        out.line(
            f"  snapshot {clean(snap.id)} at {snap.taken_at}: {clean(snap.error or failed or 'incomplete')}"
        )
    out.more(health.incomplete.more, "  ")
    if view.waivers:
        out.heading("Waivers")
        _waivers(out, view.waivers)
    out.heading("Delivery")
    out.line(f"  last report sent {view.last_sent}" if view.last_sent else "  no report sent before")
    if view.chain is not None:
        out.line(f"  history digest after snapshot {clean(view.chain.snapshot)} ({view.chain.taken_at}):")
        out.line(f"    {clean(view.chain.digest)}")
        out.line(
            "    keep it: `auditor verify --expect DIGEST` shows later whether the history was cut short"
        )


def _trend(out: _Writer, trend: TrendView) -> None:
    """The chart's numbers as a table: failing findings at the end of each of the last 12 weeks."""
    out.heading("Trend: failing findings at the end of each week (last 12 weeks)")
    out.line(f"  {trend.description}")
    header = (
        f"  {'week to':<10}  {'snaps':>5}"
        + "".join(f"  {s:>8}" for s in trend.severities)
        + f"  {'total':>6}"
    )
    out.line(header)
    for week in trend.weeks:
        if week.counts is None:
            out.line(f"  {week.until:<10}  {week.snapshots:>5}  no checked snapshot")
            continue
        counts = "".join(f"  {n:>8,}" for n in week.counts)
        out.line(f"  {week.until:<10}  {week.snapshots:>5}{counts}  {week.total or 0:>6,}")


def render_text(view: CheckRunView | DiffView | DriftView, *, color: bool = False) -> str:
    out = _Writer(color)
    if isinstance(view, CheckRunView):
        _check_run(view, out)
    elif isinstance(view, DiffView):
        _diff(view, out)
    else:
        _drift(view, out)
    return out.text()
