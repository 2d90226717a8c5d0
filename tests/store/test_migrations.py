"""The Alembic revisions build exactly the schema the SQLModel tables declare."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from auditor.store import HistoryStore
from auditor.tables import metadata


def test_upgraded_database_matches_the_models(store: HistoryStore) -> None:
    engine = sa.create_engine(store.url)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        differences = compare_metadata(context, metadata)
        revision = context.get_current_revision()
    engine.dispose()

    assert differences == []
    assert revision == "0006_finding_intervals"


def test_opening_an_existing_store_again_keeps_its_data(store_url: str) -> None:
    with HistoryStore(store_url) as first:
        first.save_incomplete([], datetime(2026, 1, 1, tzinfo=UTC), "directory: bind failed")
    with HistoryStore(store_url) as again:
        assert [s.error for s in again.snapshots()] == ["directory: bind failed"]


def test_the_schema_head_auditor_opens_without_alembic_is_alembics_head() -> None:
    """`identity.SCHEMA_HEAD` lets a store at head open without loading Alembic; a new migration
    must move it (or every store would be upgraded through Alembic on each open, and a store of
    the new revision read as unknown until then)."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from auditor.store.identity import SCHEMA_HEAD

    config = Config()
    config.set_main_option("script_location", "auditor:migrations")
    assert ScriptDirectory.from_config(config).get_heads() == [SCHEMA_HEAD]


def test_a_store_at_head_opens_without_loading_alembic(tmp_path: Path) -> None:
    """What a pass's start-up pays (issue 12): a second process opening a current store."""
    url = f"sqlite:///{tmp_path / 'history.db'}"
    HistoryStore(url).close()
    script = (
        "import sys\n"
        "from auditor.store import HistoryStore\n"
        f"HistoryStore({url!r}).close()\n"
        "print(sorted(m for m in sys.modules if m == 'alembic' or m.startswith('alembic.')))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
