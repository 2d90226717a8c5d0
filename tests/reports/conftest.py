"""Fixtures for the report tests; `report_inputs` (beside this file) builds the documents.

pytest runs in importlib mode without packages; this folder is on pytest's `pythonpath`
(pyproject.toml) for the test modules to import `report_inputs` directly.
"""

from __future__ import annotations

import pytest
from report_inputs import CATALOG, make_diff, make_report, make_run

from auditor.documents import DiffDocument, DriftReport
from auditor.reports.catalog import CheckInfo
from auditor.results import RunResult


@pytest.fixture
def catalog() -> dict[str, CheckInfo]:
    return dict(CATALOG)


@pytest.fixture
def check_run() -> RunResult:
    return make_run()


@pytest.fixture
def diff() -> DiffDocument:
    return make_diff()


@pytest.fixture
def drift_report() -> DriftReport:
    return make_report()
