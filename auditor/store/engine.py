"""Opening a history store: the URL, the engine, SQLite's pragmas, errors, the schema upgrade.

`StoreBase` holds what every part of `HistoryStore` leans on: the engine, the scope, one write
transaction at a time (`_writing`), the translation of every database failure into one `StoreError`
line (`_guard`), and the scope-confined lookup of a snapshot row (`_snapshot_row`).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.pool import StaticPool

from auditor.errors import AuditorError, SnapshotError, StoreError
from auditor.tables import SNAPSHOT

CHUNK = 2000
"""Rows per bulk statement or streamed batch: bounds memory and the number of bound parameters."""

_MIGRATION_LOCK_KEY = 0x617564_69746F72  # "auditor": serializes schema upgrades on a shared database


def safe_url(url: str) -> str:
    """The store URL as it may appear in a message: never with its password."""
    try:
        parsed = sa.engine.make_url(url)
    except ArgumentError:
        return "<unparsable store URL>"
    without_password = sa.engine.URL.create(
        parsed.drivername, parsed.username, None, parsed.host, parsed.port, parsed.database, parsed.query
    )
    return without_password.render_as_string(hide_password=False)


def utc(moment: datetime) -> datetime:
    """API times are timezone-aware UTC; a naive one is taken to be UTC already."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def cause(exc: BaseException) -> str:
    """The first line of what the database driver said, without SQLAlchemy's statement dump."""
    orig = getattr(exc, "orig", None) or exc
    lines = [line.strip() for line in str(orig).splitlines() if line.strip()]
    return lines[0] if lines else type(orig).__name__


class StoreBase:
    """The open database of a `HistoryStore` and the helpers its parts share."""

    def __init__(self, url: str, *, scope: str = "default") -> None:
        self.url = url
        self.scope = scope
        self.safe_url = safe_url(url)
        self._memory_lock = threading.Lock()
        self._lock_path: Path | None = None
        try:
            parsed = sa.engine.make_url(url)
        except ArgumentError:
            raise StoreError(f"history store {self.safe_url}: not a database URL") from None
        self.dialect = parsed.get_backend_name()
        if self.dialect == "sqlite":
            self._engine = self._sqlite_engine(parsed)
        elif self.dialect == "postgresql":
            with self._guard("open"):
                self._engine = sa.create_engine(parsed, pool_pre_ping=True)
        else:
            raise StoreError(f"history store {self.safe_url}: only sqlite:// and postgresql:// are supported")
        self._upgrade()

    def _sqlite_engine(self, parsed: sa.engine.URL) -> Engine:
        database = parsed.database or ""
        if database in ("", ":memory:"):
            engine = sa.create_engine(parsed, poolclass=StaticPool, connect_args={"check_same_thread": False})
        else:
            path = Path(database)
            if not path.parent.is_dir():
                raise StoreError(f"history store {self.safe_url}: folder {path.parent} does not exist")
            self._lock_path = path.with_name(path.name + ".lock")
            engine = sa.create_engine(parsed, connect_args={"timeout": 30})
        file_backed = self._lock_path is not None

        @sa.event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            # Let SQLAlchemy, not the sqlite3 module, decide where transactions begin, so that DDL
            # and a whole snapshot save are each one real transaction.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            if file_backed:
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        @sa.event.listens_for(engine, "begin")
        def _on_begin(connection: Connection) -> None:
            # Writers take the write lock up front (and wait for it up to the busy timeout) instead
            # of failing with "database is locked" when a read turns into a write mid-transaction.
            connection.exec_driver_sql(connection.get_execution_options().get("sqlite_begin", "BEGIN"))

        return engine

    def _upgrade(self) -> None:
        config = Config()
        config.set_main_option("script_location", "auditor:migrations")
        with self._guard("open"), self._writing() as conn:
            if self.dialect == "postgresql":
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK_KEY})
            config.attributes["connection"] = conn
            command.upgrade(config, "head")

    @contextmanager
    def _writing(self) -> Iterator[Connection]:
        """One write transaction (BEGIN IMMEDIATE on SQLite)."""
        with self._engine.connect() as conn:
            conn.execution_options(sqlite_begin="BEGIN IMMEDIATE")
            with conn.begin():
                yield conn

    def close(self) -> None:
        """Release every pooled connection (tests and the service's shutdown call this)."""
        self._engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    @contextmanager
    def _guard(self, action: str) -> Iterator[None]:
        """Turn any database or file-system failure into one StoreError line."""
        try:
            yield
        except AuditorError:
            raise
        except (SQLAlchemyError, OSError) as exc:
            raise StoreError(f"history store {self.safe_url}: cannot {action}: {cause(exc)}") from exc

    def _snapshot_row(self, conn: Connection, snapshot_id: int) -> Any:
        row = conn.execute(
            sa.select(SNAPSHOT).where(SNAPSHOT.c.id == snapshot_id, SNAPSHOT.c.scope == self.scope)
        ).first()
        if row is None:
            raise SnapshotError(f"no snapshot {snapshot_id} in the history store{self._scope_note()}")
        return row

    def _scope_note(self) -> str:
        return "" if self.scope == "default" else f" (scope {self.scope!r})"
