"""Fixtures for the report tests; `report_inputs` (beside this file) builds the documents.

pytest runs in importlib mode without packages, so this folder is put on sys.path for the
test modules to import `report_inputs` directly.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

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
