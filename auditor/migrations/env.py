"""Alembic environment for the history store.

`HistoryStore` passes its own open connection in `config.attributes["connection"]`, so the upgrade
runs on the very engine (and, for SQLite, the very file) the store uses. From the command line
(`alembic -c auditor/alembic.ini ...`) the URL comes from AUDITOR_STORE_URL or the ini file.
"""

from __future__ import annotations

import os

import sqlalchemy as sa
from alembic import context

from auditor.tables import metadata

config = context.config


def _run(connection: sa.engine.Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = os.environ.get("AUDITOR_STORE_URL") or config.get_main_option("sqlalchemy.url")
    if not url:
        raise SystemExit("set AUDITOR_STORE_URL or sqlalchemy.url")
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()


if context.is_offline_mode():
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=metadata)
    with context.begin_transaction():
        context.run_migrations()
else:
    run_migrations()
