"""Diff and drift tests use the store fixtures of tests/store (SQLite and PostgreSQL)."""

from __future__ import annotations

from auditor_store_testing import store, store_url

__all__ = ["store", "store_url"]
