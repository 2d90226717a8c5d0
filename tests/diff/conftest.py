"""Diff and drift tests use the store fixtures of tests/store (SQLite and PostgreSQL)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "store"))

from auditor_store_testing import store, store_url

__all__ = ["store", "store_url"]
