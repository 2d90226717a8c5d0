"""Fixtures for the report tests; `report_inputs` (beside this file) builds the documents.

pytest runs in importlib mode without packages; this folder is on pytest's `pythonpath`
(pyproject.toml) for the test modules to import `report_inputs` directly.
"""

from __future__ import annotations

from typing import Any

import pytest
from auditor.reports.catalog import CheckInfo
from report_inputs import CATALOG, make_diff, make_report, make_run


@pytest.fixture
def catalog() -> dict[str, CheckInfo]:
    return dict(CATALOG)


@pytest.fixture
def check_run() -> dict[str, Any]:
    return make_run().to_json()


@pytest.fixture
def diff() -> dict[str, Any]:
    return make_diff()


@pytest.fixture
def drift_report() -> dict[str, Any]:
    return make_report()
