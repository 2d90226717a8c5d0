"""Store tests run against SQLite and the PostgreSQL lab server (see auditor_store_testing)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from auditor_store_testing import store, store_url

__all__ = ["store", "store_url"]
