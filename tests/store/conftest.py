"""Store tests run against SQLite and the PostgreSQL lab server (see auditor_store_testing)."""

from __future__ import annotations

from auditor_store_testing import store, store_url

__all__ = ["store", "store_url"]
