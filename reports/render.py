"""The one entry point for every report: check runs, diffs and drift reports in each format.

Inputs are the typed documents (`auditor.documents`: a `RunResult` for `auditor.check-run/1`, a
`DiffDocument` for `auditor.diff/1`, a `DriftReport` for `auditor.report/1`), and the JSON format
is their one serialization (`documents.dumps`), so every format says the same thing as the JSON.
Check titles and doc pages come from the registry unless a `catalog` is given (tests pass their
own); an unknown check ID renders with its ID as title. An unknown format raises `ReportError`.

    render_check_run(run, "html")          text | json | html | junit | sarif
    render_diff(diff, "text", color=True)  text | json | html
    render_drift_report(report, "html")    text | json | html
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from auditor.documents import DiffDocument, DriftReport, dumps
from auditor.errors import ReportError
from auditor.results import RunResult

from .catalog import CheckInfo, registry_catalog
from .machine import render_junit, render_sarif
from .text import render_text
from .view import check_run_view, diff_view, drift_view

if TYPE_CHECKING:
    from .view import CheckRunView, DiffView, DriftView


def render_html(view: CheckRunView | DiffView | DriftView, *, more_hint: str = "see the JSON report") -> str:
    """`reports.html.render_html`, imported when HTML is asked for: Jinja2 and the templates are
    not loaded by a pass that writes text (cron's default), whose start-up is part of its cost."""
    from .html import render_html as html

    return html(view, more_hint=more_hint)


__all__ = [
    "CHECK_RUN_FORMATS",
    "DIFF_FORMATS",
    "REPORT_FORMATS",
    "render_check_run",
    "render_diff",
    "render_drift_report",
]

CHECK_RUN_FORMATS = ("text", "json", "html", "junit", "sarif")
DIFF_FORMATS = ("text", "json", "html")
REPORT_FORMATS = ("text", "json", "html")


def _check_format(fmt: str, allowed: tuple[str, ...], what: str) -> None:
    if fmt not in allowed:
        raise ReportError(f"{what}: unknown format {fmt!r} (choose one of {', '.join(allowed)})")


def _catalog(catalog: Mapping[str, CheckInfo] | None) -> Mapping[str, CheckInfo]:
    return registry_catalog() if catalog is None else catalog


def render_check_run(
    run: RunResult, fmt: str, *, color: bool = False, catalog: Mapping[str, CheckInfo] | None = None
) -> str:
    _check_format(fmt, CHECK_RUN_FORMATS, "check run")
    if fmt == "json":
        return dumps(run)
    known = _catalog(catalog)
    view = check_run_view(run, known)
    if fmt == "text":
        return render_text(view, color=color)
    if fmt == "html":
        return render_html(view)
    if fmt == "junit":
        return render_junit(run, view, known)
    return render_sarif(run, view, known)


def render_diff(
    diff: DiffDocument, fmt: str, *, color: bool = False, catalog: Mapping[str, CheckInfo] | None = None
) -> str:
    _check_format(fmt, DIFF_FORMATS, "diff")
    if fmt == "json":
        return dumps(diff)
    view = diff_view(diff, _catalog(catalog))
    return render_text(view, color=color) if fmt == "text" else render_html(view)


def render_drift_report(
    report: DriftReport,
    fmt: str,
    *,
    color: bool = False,
    catalog: Mapping[str, CheckInfo] | None = None,
    attachment: bool = False,
) -> str:
    """`attachment=True` (the e-mail) points readers of cut lists to the attached JSON."""
    _check_format(fmt, REPORT_FORMATS, "drift report")
    if fmt == "json":
        return dumps(report)
    view = drift_view(report, _catalog(catalog))
    if fmt == "text":
        return render_text(view, color=color)
    return render_html(view, more_hint="see the JSON attachment" if attachment else "see the JSON report")
