"""The Alembic revisions build exactly the schema the SQLModel tables declare."""

from __future__ import annotations

from datetime import UTC, datetime

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
    assert revision == "0005_incremental_reads"


def test_opening_an_existing_store_again_keeps_its_data(store_url: str) -> None:
    with HistoryStore(store_url) as first:
        first.save_incomplete([], datetime(2026, 1, 1, tzinfo=UTC), "directory: bind failed")
    with HistoryStore(store_url) as again:
        assert [s.error for s in again.snapshots()] == ["directory: bind failed"]
