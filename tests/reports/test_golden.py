"""Golden files: the rendered reports as reviewed in the diff.

A change to a template, the CSS or the views shows up here as a changed file. Regenerate with
`UPDATE_GOLDEN=1 pytest tests/reports/test_golden.py` and read the diff before committing.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from report_inputs import CATALOG, make_diff, make_report, make_run

from auditor.reports.render import render_check_run, render_diff, render_drift_report

GOLDEN = Path(__file__).parent / "golden"

CASES: dict[str, Callable[[], str]] = {
    "check_run.html": lambda: render_check_run(make_run(), "html", catalog=CATALOG),
    "check_run.json": lambda: render_check_run(make_run(), "json", catalog=CATALOG),
    "check_run.txt": lambda: render_check_run(make_run(), "text", catalog=CATALOG),
    "check_run.junit.xml": lambda: render_check_run(make_run(), "junit", catalog=CATALOG),
    "diff.html": lambda: render_diff(make_diff(), "html", catalog=CATALOG),
    "diff.json": lambda: render_diff(make_diff(), "json", catalog=CATALOG),
    "drift_report.html": lambda: render_drift_report(make_report(), "html", catalog=CATALOG, attachment=True),
    "drift_report.json": lambda: render_drift_report(make_report(), "json", catalog=CATALOG),
    "drift_report.txt": lambda: render_drift_report(make_report(), "text", catalog=CATALOG),
    "diff_origins.html": lambda: render_diff(make_diff(origins=True), "html", catalog=CATALOG),
    "diff_origins.txt": lambda: render_diff(make_diff(origins=True), "text", catalog=CATALOG),
    "drift_report_history.html": lambda: render_drift_report(
        make_report(history=True), "html", catalog=CATALOG, attachment=True
    ),
    "drift_report_history.txt": lambda: render_drift_report(
        make_report(history=True), "text", catalog=CATALOG
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_rendering_matches_golden_file(name: str) -> None:
    rendered = CASES[name]()
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.parent.mkdir(exist_ok=True)
        path.write_text(rendered, "utf-8")
    assert path.exists(), f"{path} missing: run with UPDATE_GOLDEN=1 and review the new file"
    assert rendered == path.read_text("utf-8")
