"""Opening a history store: the URL, the engine, SQLite's pragmas, errors, the schema upgrade.

`StoreBase` holds what every part of `HistoryStore` leans on: the engine, the scope, one write
transaction at a time (`_writing`), the translation of every database failure into one `StoreError`
line (`_guard`), and the scope-confined lookup of a snapshot row (`_snapshot_row`).

Opening refuses, with one line naming the store: a URL of the wrong form (`sqlite://file.db`), a
driver that is not installed (with the extra to install), a database that is not auditor's or was
written by a newer auditor, and a schema with a table or column missing (`identity`). A value that
cannot be read back, a damaged page or a missing table met later is a `StoreDamagedError` too.
Every text written to the store goes through `storable` (no known secret, nothing that cannot be
encoded), and the password of the URL is registered as a secret as soon as the URL is parsed.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Self
from urllib.parse import quote

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.pool import StaticPool

from auditor import jsontext
from auditor.errors import AuditorError, SnapshotError, StoreDamagedError, StoreError
from auditor.secrets import register_secret, scrub
from auditor.store.identity import (
    SCHEMA_HEAD,
    check_identity,
    check_schema,
    probe_damage,
    probe_pages,
    probe_values,
    stored_revisions,
)
from auditor.tables import SNAPSHOT
from auditor.terminal import printable

CHUNK = 2000
"""Rows per bulk statement or streamed batch: bounds memory and the number of bound parameters."""

_MIGRATION_LOCK_KEY = 0x617564_69746F72  # "auditor": serializes schema upgrades on a shared database


_SQLITE_FORMS = "sqlite:///relative/path.db or sqlite:////absolute/path.db"
_POSTGRES_EXTRA = "pip install 'auditor[postgresql]'"
_JSON_CODEC: dict[str, Any] = {"json_serializer": jsontext.dumps, "json_deserializer": jsontext.loads}
"""The JSON columns' codec (`auditor.jsontext`): the stdlib's, only faster."""
_SQLITE_DAMAGE = {11: "the database file is malformed", 26: "the file is not a database"}


def url_password(url: str) -> str | None:
    """The password written in a store URL, if any (to be registered as a secret)."""
    try:
        return sa.engine.make_url(url).password
    except (ArgumentError, ValueError):
        return None


def safe_url(url: str) -> str:
    """The store URL as it may appear in a message: never with its password."""
    try:
        parsed = sa.engine.make_url(url)
    except (ArgumentError, ValueError):
        return "<unparsable store URL>"
    without_password = sa.engine.URL.create(
        parsed.drivername, parsed.username, None, parsed.host, parsed.port, parsed.database, parsed.query
    )
    try:
        return without_password.render_as_string(hide_password=False)
    except UnicodeError:  # a path that is not UTF-8
        return printable(f"{parsed.drivername}:///{parsed.database or ''}")


def storable(text: str | None) -> str | None:
    """Text as the store may keep it: no known secret, control characters and undecodable bytes
    of file names escaped (so any database can encode it, and no reader is surprised)."""
    return None if text is None else printable(scrub(text))


def utc(moment: datetime) -> datetime:
    """API times are timezone-aware UTC; a naive one is taken to be UTC already."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def cause(exc: BaseException) -> str:
    """The first line of what the database driver said, without SQLAlchemy's statement dump."""
    orig = getattr(exc, "orig", None) or exc
    lines = [line.strip() for line in str(orig).splitlines() if line.strip()]
    return lines[0] if lines else type(orig).__name__


def _damage(exc: BaseException) -> str | None:
    """What is damaged, when a database error says the store is (rather than unavailable)."""
    orig = getattr(exc, "orig", None)
    code = getattr(orig, "sqlite_errorcode", None)
    if isinstance(orig, sqlite3.Error) and code in _SQLITE_DAMAGE:
        return _SQLITE_DAMAGE[code]
    text = str(orig or "")
    if text.startswith(("no such table", "no such column")):
        return text.splitlines()[0]
    return None


def stored_moment(text: str | None, seen: dict[str, datetime]) -> datetime | None:
    """A time column read as text (`CAST(... AS TEXT)`), as `UtcDateTime` reads it: aware, UTC.

    Reading times as text and decoding each distinct one once is what makes tens of thousands of
    finding rows cheap to read: they share a handful of first-seen times, and the column type's
    processing costs per row. `seen` is the caller's cache for the rows it reads together.
    """
    if text is None:
        return None
    moment = seen.get(text)
    if moment is None:
        parsed = datetime.fromisoformat(text)
        moment = seen[text] = parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    return moment


def stored_day(text: str | None, seen: dict[str, date]) -> date | None:
    """A date column read as text, as `sa.Date` reads it (see `stored_moment`)."""
    if text is None:
        return None
    day = seen.get(text)
    if day is None:
        day = seen[text] = date.fromisoformat(text)
    return day


class StoreBase:
    """The open database of a `HistoryStore` and the helpers its parts share."""

    # The snapshot whose index the next object save should keep (`ObjectsMixin.expect_baseline_index`)
    # and, once kept, (that snapshot's id, its objects' (key, kind, DN)) for `baseline_index`.
    _index_wanted: int | None = None
    _open_index: tuple[int, list[tuple[str, str, str]]] | None = None

    def __init__(self, url: str, *, scope: str = "default", busy_timeout: float = 30.0) -> None:
        self.url = url
        self.scope = scope
        self.safe_url = safe_url(url)
        self.busy_timeout = busy_timeout
        self._memory_lock = threading.Lock()
        self._lock_path: Path | None = None
        self.path: Path | None = None
        register_secret(url_password(url))
        try:
            parsed = sa.engine.make_url(url)
        except (ArgumentError, ValueError):
            raise StoreError(
                f"history store {self.safe_url}: not a database URL (use {_SQLITE_FORMS} "
                "or postgresql+psycopg://user@host/database)"
            ) from None
        self.dialect = parsed.get_backend_name()
        if self.dialect == "sqlite":
            self._engine = self._sqlite_engine(parsed)
        elif self.dialect == "postgresql":
            self._engine = self._postgresql_engine(parsed)
        else:
            raise StoreError(f"history store {self.safe_url}: only sqlite:// and postgresql:// are supported")
        self._upgrade()

    def _postgresql_engine(self, parsed: sa.engine.URL) -> Engine:
        driver = parsed.get_driver_name()
        try:
            with self._guard("open"):
                return sa.create_engine(parsed, pool_pre_ping=True, **_JSON_CODEC)
        except ImportError as exc:
            if driver in ("psycopg", ""):
                raise StoreError(
                    f"history store {self.safe_url}: the PostgreSQL driver (psycopg 3) is not installed: "
                    f"{_POSTGRES_EXTRA}"
                ) from None
            raise StoreError(
                f"history store {self.safe_url}: the driver {driver!r} is not installed ({exc.name}); "
                f"auditor uses psycopg 3: write postgresql+psycopg://... and {_POSTGRES_EXTRA}"
            ) from None

    def _sqlite_engine(self, parsed: sa.engine.URL) -> Engine:
        database = parsed.database or ""
        if parsed.host or parsed.username or parsed.port:
            raise StoreError(
                f"history store {self.safe_url}: a SQLite URL has no host part; write {_SQLITE_FORMS}"
            )
        if database in ("", ":memory:"):
            engine = sa.create_engine(
                parsed, poolclass=StaticPool, connect_args={"check_same_thread": False}, **_JSON_CODEC
            )
        else:
            path = Path(database)
            if not path.parent.is_dir():
                raise StoreError(
                    f"history store {self.safe_url}: folder {printable(path.parent)} does not exist"
                )
            self.path = path.absolute()
            self._lock_path = path.with_name(path.name + ".lock")
            try:
                database.encode("utf-8")
            except UnicodeEncodeError:  # a folder name that is not UTF-8: hand SQLite the bytes
                target = "file:" + quote(os.fsencode(path.absolute()))
                parsed = parsed.set(database=target, query={**parsed.query, "uri": "true"})
            engine = sa.create_engine(parsed, connect_args={"timeout": self.busy_timeout}, **_JSON_CODEC)
        file_backed = self._lock_path is not None

        @sa.event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            # Let SQLAlchemy, not the sqlite3 module, decide where transactions begin, so that DDL
            # and a whole snapshot save are each one real transaction.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            if file_backed:  # WAL itself is switched on once, after the identity check (`_upgrade`)
                cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        @sa.event.listens_for(engine, "begin")
        def _on_begin(connection: Connection) -> None:
            # Writers take the write lock up front (and wait for it up to the busy timeout) instead
            # of failing with "database is locked" when a read turns into a write mid-transaction.
            connection.exec_driver_sql(connection.get_execution_options().get("sqlite_begin", "BEGIN"))

        return engine

    def _upgrade(self) -> None:
        """Check the database is auditor's (or empty), bring its schema to head, check the result.

        A store already at `SCHEMA_HEAD` is only checked: Alembic (a tenth of a second of imports
        and migration scripts) is loaded when there is something to upgrade.
        """
        where = f"history store {self.safe_url}"
        with self._guard("open"):
            if self.dialect == "sqlite":
                # Read-only first: a database of another program must not be changed at all, not
                # even by switching its journal to WAL.
                with self._engine.connect() as conn:
                    check_identity(conn, where)
                if self._lock_path is not None:
                    with self._engine.connect() as conn:
                        conn.connection.dbapi_connection.execute("PRAGMA journal_mode=WAL")  # type: ignore[union-attr]
            with self._engine.connect() as conn:
                if stored_revisions(conn) == {SCHEMA_HEAD}:
                    check_schema(conn, where)
                    return
            from alembic import command
            from alembic.config import Config

            config = Config()
            config.set_main_option("script_location", "auditor:migrations")
            with self._writing() as conn:
                if self.dialect == "postgresql":
                    conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK_KEY})
                check_identity(conn, where)
                config.attributes["connection"] = conn
                command.upgrade(config, "head")
                check_schema(conn, where)

    def check_health(self) -> None:
        """Raise `StoreDamagedError` if a pass must not build on this store (see `identity`)."""
        if self.dialect != "sqlite":
            return
        where = f"history store {self.safe_url}"
        with self._guard("check the store"):
            if self.path is None:  # in memory: one connection, no second reader
                with self._engine.connect() as conn:
                    probe_damage(conn, where)
                return
            # The page check and the value scans each read the whole file and run in SQLite's C
            # code without the GIL: side by side, on two connections, the probe costs the longer
            # of the two instead of their sum (a probe runs before every pass and grows with the
            # store). Damaged pages are reported first: they are the cause of anything else.
            with ThreadPoolExecutor(max_workers=1, thread_name_prefix="auditor-probe") as pool:
                pages = pool.submit(self._probe_pages, where)
                try:
                    with self._engine.connect() as conn:
                        probe_values(conn, where)
                finally:
                    pages.result()

    def _probe_pages(self, where: str) -> None:
        with self._engine.connect() as conn:
            probe_pages(conn, where)

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
        """Turn any database or file-system failure into one StoreError line.

        Damage (a damaged page, a missing table, a stored value that cannot be read back) is a
        `StoreDamagedError`, on which a pass stores nothing.
        """
        try:
            yield
        except AuditorError:
            raise
        except (SQLAlchemyError, OSError) as exc:
            damage = _damage(exc)
            if damage is not None:
                raise StoreDamagedError(
                    f"history store {self.safe_url}: cannot {action}: damaged: {damage}"
                ) from exc
            raise StoreError(f"history store {self.safe_url}: cannot {action}: {cause(exc)}") from exc
        except (ValueError, TypeError, LookupError, AttributeError) as exc:
            raise StoreDamagedError(
                f"history store {self.safe_url}: cannot {action}: damaged: a stored value cannot be read "
                f"({type(exc).__name__}: {' '.join(str(exc).split())[:200]})"
            ) from exc

    def _snapshot_row(self, conn: Connection, snapshot_id: int) -> Any:
        row = conn.execute(
            sa.select(SNAPSHOT).where(SNAPSHOT.c.id == snapshot_id, SNAPSHOT.c.scope == self.scope)
        ).first()
        if row is None:
            raise SnapshotError(f"no snapshot {snapshot_id} in the history store{self._scope_note()}")
        return row

    def _complete_before(
        self, conn: Connection, snapshot_id: int, *columns: Any, checked: bool = False
    ) -> Any:
        """`columns` of the newest complete snapshot of the scope before `snapshot_id` (with check
        results, if `checked`), or None: what a pass builds on."""
        conditions = [
            SNAPSHOT.c.scope == self.scope,
            SNAPSHOT.c.complete.is_(True),
            SNAPSHOT.c.id < snapshot_id,
        ]
        if checked:
            conditions.append(SNAPSHOT.c.checked.is_(True))
        return conn.execute(
            sa.select(*columns).where(*conditions).order_by(SNAPSHOT.c.id.desc()).limit(1)
        ).first()

    def _scope_note(self) -> str:
        return "" if self.scope == "default" else f" (scope {self.scope!r})"
