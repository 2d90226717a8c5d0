"""The history store: every pass's snapshot, results and findings, in SQLite or PostgreSQL.

Why it is shaped this way
-------------------------
A forest of 100,000 objects collected every four hours barely changes between passes. Storing each
snapshot in full would grow the database by 100,000 rows a pass for nothing, so the store keeps an
object's state only when it changed:

* `object_version` holds each distinct state of an object once (per `scope`), identified by its
  content hash (`ObjectRecord.content_hash()`: kind, key, DN and attributes).
* `object_interval` says which version an object (by `key`) held over which *complete* snapshots:
  the object is in complete snapshot S iff `valid_from_snapshot <= S < valid_to_snapshot` (or
  `valid_to_snapshot` is NULL: still current). Saving a snapshot closes the intervals of objects
  that changed or vanished and opens intervals for new states; an unchanged object costs nothing.
  A snapshot of an unchanged organization therefore adds a handful of rows (itself, its sources,
  its results) and not one object row.
* Only complete snapshots open or close intervals. An incomplete pass is recorded (`complete` false,
  `error` says why) so the history shows the gap, but it holds no objects, is never offered as a
  diff base, and never makes objects look removed.

`snapshot_source`, `check_result` and `finding` (non-passing findings only, each with the start of
its failing streak) hang off a snapshot; `report_delivery` remembers each attempt to send the weekly
report so the next report can tell its reader about one that never arrived.

`scope` (default "default") lets several agents, one per forest, share one PostgreSQL database:
every query is confined to the store's scope. Snapshot ids are global, increasing in the order
passes were saved, and that order is what the intervals use.

One pass at a time: `pass_lock()` serializes passes across processes (a file lock beside a SQLite
database, a PostgreSQL advisory lock derived from the scope otherwise). The schema is managed by
Alembic; opening a store upgrades it to the newest revision.

Every failure of the database (cannot connect, locked, disk full) surfaces as one `StoreError` line
that names the store by its URL without the password.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from datetime import time as dtime
from pathlib import Path
from typing import Any

import filelock
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.pool import StaticPool

from auditor.errors import AuditorError, LockTimeoutError, SnapshotError, StoreError
from auditor.records import ObjectKind, ObjectRecord, SourceInfo
from auditor.registry import Severity, Status
from auditor.results import CheckResult, FindingRecord, RunResult, SnapshotInfo, isoformat
from auditor.tables import (
    CHECK_RESULT,
    FINDING,
    OBJECT_INTERVAL,
    OBJECT_VERSION,
    REPORT_DELIVERY,
    SNAPSHOT,
    SNAPSHOT_SOURCE,
)

__all__ = ["DeliveryRecord", "HistoryStore", "ObjectChanges", "SnapshotSummary", "safe_url"]

_CHUNK = 2000
_MIGRATION_LOCK_KEY = 0x617564_69746F72  # "auditor": serializes schema upgrades on a shared database
_FAILING = (Status.FAIL.value, Status.ERROR.value)


@dataclass(frozen=True, slots=True)
class SnapshotSummary:
    """One line of `auditor history`: `failing` counts fail + error findings (waived ones excluded)."""

    id: int
    taken_at: datetime
    complete: bool
    objects: int
    failing: int
    error: str | None = None

    def to_json(self) -> dict[str, object]:
        data: dict[str, object] = {
            "id": self.id,
            "taken_at": isoformat(self.taken_at),
            "complete": self.complete,
            "objects": self.objects,
            "failing": self.failing,
        }
        if self.error is not None:
            data["error"] = self.error
        return data


@dataclass(frozen=True, slots=True)
class DeliveryRecord:
    """One attempt to send the drift report for a period."""

    period_from: datetime
    period_to: datetime
    sent_at: datetime
    sent: bool
    error: str | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "period_from": isoformat(self.period_from),
            "period_to": isoformat(self.period_to),
            "sent_at": isoformat(self.sent_at),
            "sent": self.sent,
            "error": self.error,
        }


@dataclass(slots=True)
class ObjectChanges:
    """The object states that differ between two complete snapshots, keyed by object key.

    A key only in `before` was removed, only in `after` added, in both: changed (possibly only in
    ways the differ ignores, such as a volatile attribute).
    """

    before: dict[str, ObjectRecord] = field(default_factory=dict)
    after: dict[str, ObjectRecord] = field(default_factory=dict)


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


def _utc(moment: datetime) -> datetime:
    """API times are timezone-aware UTC; a naive one is taken to be UTC already."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _moment(value: datetime | str) -> datetime:
    """A UTC datetime from a datetime or from ISO text such as a report's `period.since`."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise StoreError(f"not an ISO date/time: {value!r}") from None
    return _utc(value)


def _cause(exc: BaseException) -> str:
    """The first line of what the database driver said, without SQLAlchemy's statement dump."""
    orig = getattr(exc, "orig", None) or exc
    lines = [line.strip() for line in str(orig).splitlines() if line.strip()]
    return lines[0] if lines else type(orig).__name__


def _advisory_key(scope: str) -> int:
    digest = hashlib.sha256(f"auditor-pass:{scope}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _parse_moment(ref: str) -> datetime | None:
    """An ISO date (meaning the end of that day) or date/time; naive means UTC. None if not ISO."""
    try:
        day = date.fromisoformat(ref)
    except ValueError:
        pass
    else:
        return datetime.combine(day, dtime.max, tzinfo=UTC)
    try:
        moment = datetime.fromisoformat(ref)
    except ValueError:
        return None
    return _utc(moment)


def _record(row: Any) -> ObjectRecord:
    return ObjectRecord(
        kind=ObjectKind(row.kind),
        key=row.key,
        dn=row.dn,
        attributes={name: tuple(values) for name, values in row.attributes.items()},
    )


class HistoryStore:
    """Snapshots, results and findings of past passes; see the module docstring for the design."""

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

    # -- opening ---------------------------------------------------------------------------

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

    def __enter__(self) -> HistoryStore:
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
            raise StoreError(f"history store {self.safe_url}: cannot {action}: {_cause(exc)}") from exc

    # -- the pass lock ---------------------------------------------------------------------

    @contextmanager
    def pass_lock(self, timeout: float) -> Iterator[None]:
        """Hold the store for one pass; another process waits up to `timeout` seconds, then fails."""
        if self.dialect == "postgresql":
            with self._pg_lock(timeout):
                yield
        elif self._lock_path is not None:
            lock = filelock.FileLock(str(self._lock_path))
            try:
                lock.acquire(timeout=timeout)
            except filelock.Timeout:
                raise LockTimeoutError(
                    f"another auditor pass holds the store lock ({self._lock_path}; waited {timeout:g}s)"
                ) from None
            except OSError as exc:
                raise StoreError(f"cannot create the store lock {self._lock_path}: {exc.strerror}") from exc
            try:
                yield
            finally:
                lock.release()
        else:
            if not self._memory_lock.acquire(timeout=timeout):
                raise LockTimeoutError(
                    f"another auditor pass holds the store lock (in-memory store; waited {timeout:g}s)"
                )
            try:
                yield
            finally:
                self._memory_lock.release()

    @contextmanager
    def _pg_lock(self, timeout: float) -> Iterator[None]:
        key = _advisory_key(self.scope)
        deadline = time.monotonic() + timeout
        with self._guard("take the pass lock"):
            conn = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            while True:
                with self._guard("take the pass lock"):
                    got = conn.execute(sa.text("SELECT pg_try_advisory_lock(:key)"), {"key": key}).scalar()
                if got:
                    break
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise LockTimeoutError(
                        f"another auditor pass holds the store lock (PostgreSQL advisory lock of scope "
                        f"{self.scope!r} on {self.safe_url}; waited {timeout:g}s)"
                    )
                time.sleep(min(0.1, remaining))
        except BaseException:
            conn.close()
            raise
        try:
            yield
        finally:
            try:
                conn.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": key})
            except SQLAlchemyError:
                conn.invalidate()  # closing the session releases the lock anyway
            conn.close()

    # -- saving ----------------------------------------------------------------------------

    def save_snapshot(
        self,
        records: Iterable[ObjectRecord],
        sources: Sequence[SourceInfo],
        taken_at: datetime,
        *,
        organization: str = "",
    ) -> SnapshotInfo:
        """Store a complete snapshot in one transaction, reading `records` once as a stream.

        If reading `records` raises, nothing is stored and the error propagates unchanged.
        """
        taken_at = _utc(taken_at)
        with self._guard("save the snapshot"), self._writing() as conn:
            snapshot_id = self._insert_snapshot(conn, taken_at, True, None, organization)
            self._insert_sources(conn, snapshot_id, sources)
            count = _ObjectWriter(conn, self.scope, snapshot_id).write(records)
            conn.execute(sa.update(SNAPSHOT).where(SNAPSHOT.c.id == snapshot_id).values(objects=count))
        return SnapshotInfo(snapshot_id, taken_at, True, tuple(sources), count)

    def save_incomplete(
        self, sources: Sequence[SourceInfo], taken_at: datetime, error: str, *, organization: str = ""
    ) -> SnapshotInfo:
        """Record a pass that could not collect everything: it holds no objects, touches no interval."""
        taken_at = _utc(taken_at)
        with self._guard("record the incomplete snapshot"), self._writing() as conn:
            snapshot_id = self._insert_snapshot(conn, taken_at, False, error, organization)
            self._insert_sources(conn, snapshot_id, sources)
        return SnapshotInfo(snapshot_id, taken_at, False, tuple(sources), 0)

    def _insert_snapshot(
        self, conn: Connection, taken_at: datetime, complete: bool, error: str | None, organization: str
    ) -> int:
        result = conn.execute(
            sa.insert(SNAPSHOT)
            .values(
                scope=self.scope,
                taken_at=taken_at,
                complete=complete,
                checked=False,
                objects=0,
                error=error,
                organization=organization,
            )
            .returning(SNAPSHOT.c.id)
        )
        return int(result.scalar_one())

    def _insert_sources(self, conn: Connection, snapshot_id: int, sources: Sequence[SourceInfo]) -> None:
        if not sources:
            return
        conn.execute(
            sa.insert(SNAPSHOT_SOURCE),
            [
                {
                    "snapshot_id": snapshot_id,
                    "position": position,
                    "name": source.name,
                    "kind": source.kind,
                    "complete": source.complete,
                    "objects": source.objects,
                    "duration_seconds": float(source.duration_seconds),
                    "error": source.error,
                    "coverage": sorted(source.coverage),
                }
                for position, source in enumerate(sources)
            ],
        )

    def annotate_findings(self, run: RunResult) -> None:
        """Set `first_seen` and `new` on the run's findings from the history before its snapshot.

        A finding continues a streak when the previous complete, checked snapshot had the same
        fingerprint (in any non-passing status); its `first_seen` is then that streak's start.
        Otherwise it is new and its streak starts with this snapshot.
        """
        with self._guard("read the finding history"), self._engine.connect() as conn:
            streaks = self._streaks(conn, run.snapshot.id)
        for finding in run.findings:
            first_seen = streaks.get(finding.fingerprint)
            finding.new = first_seen is None
            finding.first_seen = first_seen if first_seen is not None else run.snapshot.taken_at

    def _streaks(self, conn: Connection, snapshot_id: int) -> dict[str, datetime]:
        """fingerprint -> streak start, for findings of the last checked snapshot before `snapshot_id`."""
        previous = conn.execute(
            sa.select(SNAPSHOT.c.id, SNAPSHOT.c.taken_at)
            .where(
                SNAPSHOT.c.scope == self.scope,
                SNAPSHOT.c.complete.is_(True),
                SNAPSHOT.c.checked.is_(True),
                SNAPSHOT.c.id < snapshot_id,
            )
            .order_by(SNAPSHOT.c.id.desc())
            .limit(1)
        ).first()
        if previous is None:
            return {}
        rows = conn.execute(
            sa.select(FINDING.c.fingerprint, FINDING.c.first_seen).where(FINDING.c.snapshot_id == previous.id)
        )
        return {row.fingerprint: row.first_seen or previous.taken_at for row in rows}

    def save_results(self, snapshot_id: int, run: RunResult) -> None:
        """Store each check's result and every non-passing finding; replaces earlier results."""
        with self._guard("save the check results"), self._writing() as conn:
            row = self._snapshot_row(conn, snapshot_id)
            streaks: dict[str, datetime] | None = None
            findings = []
            for finding in run.findings:
                if finding.status is Status.PASS:
                    continue
                first_seen = finding.first_seen
                if first_seen is None:
                    if streaks is None:
                        streaks = self._streaks(conn, snapshot_id)
                    first_seen = streaks.get(finding.fingerprint, row.taken_at)
                findings.append(
                    {
                        "snapshot_id": snapshot_id,
                        "check_id": finding.check,
                        "subject": finding.subject,
                        "fingerprint": finding.fingerprint,
                        "status": finding.status.value,
                        "severity": finding.severity.value,
                        "message": finding.message,
                        "first_seen": first_seen,
                        "new": finding.new,
                        "waiver_reason": finding.waiver_reason,
                        "waiver_expires": finding.waiver_expires,
                    }
                )
            conn.execute(sa.delete(FINDING).where(FINDING.c.snapshot_id == snapshot_id))
            conn.execute(sa.delete(CHECK_RESULT).where(CHECK_RESULT.c.snapshot_id == snapshot_id))
            if run.checks:
                conn.execute(
                    sa.insert(CHECK_RESULT),
                    [
                        {
                            "snapshot_id": snapshot_id,
                            "check_id": result.id,
                            "title": result.title,
                            "principles": list(result.principles),
                            "status": result.status.value,
                            "severity": result.severity.value,
                            "failed": result.failed,
                            "passed": result.passed,
                            "waived": result.waived,
                            "errors": result.errors,
                            "message": result.message,
                        }
                        for result in run.checks
                    ],
                )
            for start in range(0, len(findings), _CHUNK):
                conn.execute(sa.insert(FINDING), findings[start : start + _CHUNK])
            conn.execute(sa.update(SNAPSHOT).where(SNAPSHOT.c.id == snapshot_id).values(checked=True))

    # -- reading ---------------------------------------------------------------------------

    def _snapshot_row(self, conn: Connection, snapshot_id: int) -> Any:
        row = conn.execute(
            sa.select(SNAPSHOT).where(SNAPSHOT.c.id == snapshot_id, SNAPSHOT.c.scope == self.scope)
        ).first()
        if row is None:
            raise SnapshotError(f"no snapshot {snapshot_id} in the history store{self._scope_note()}")
        return row

    def _scope_note(self) -> str:
        return "" if self.scope == "default" else f" (scope {self.scope!r})"

    def _info(self, conn: Connection, row: Any) -> SnapshotInfo:
        return SnapshotInfo(
            id=row.id,
            taken_at=row.taken_at,
            complete=row.complete,
            sources=tuple(self._sources(conn, row.id)),
            objects=row.objects,
        )

    def snapshot_info(self, snapshot_id: int) -> SnapshotInfo:
        """Any snapshot of this scope, complete or not."""
        with self._guard("read the snapshot"), self._engine.connect() as conn:
            return self._info(conn, self._snapshot_row(conn, snapshot_id))

    def snapshot_error(self, snapshot_id: int) -> str | None:
        """Why a snapshot is incomplete: its own error, else its failed sources' errors."""
        with self._guard("read the snapshot"), self._engine.connect() as conn:
            return self._incomplete_reason(conn, self._snapshot_row(conn, snapshot_id))

    def _incomplete_reason(self, conn: Connection, row: Any) -> str | None:
        if row.error:
            return str(row.error)
        failed = [f"{s.name}: {s.error}" for s in self._sources(conn, row.id) if s.error]
        return "; ".join(failed) or None

    def snapshots(self) -> list[SnapshotSummary]:
        """Every snapshot of this scope, newest first, with its count of failing findings."""
        failing = sa.func.count(FINDING.c.id)
        query = (
            sa.select(
                SNAPSHOT.c.id,
                SNAPSHOT.c.taken_at,
                SNAPSHOT.c.complete,
                SNAPSHOT.c.objects,
                SNAPSHOT.c.error,
                failing.label("failing"),
            )
            .select_from(
                SNAPSHOT.outerjoin(
                    FINDING, sa.and_(FINDING.c.snapshot_id == SNAPSHOT.c.id, FINDING.c.status.in_(_FAILING))
                )
            )
            .where(SNAPSHOT.c.scope == self.scope)
            .group_by(
                SNAPSHOT.c.id, SNAPSHOT.c.taken_at, SNAPSHOT.c.complete, SNAPSHOT.c.objects, SNAPSHOT.c.error
            )
            .order_by(SNAPSHOT.c.id.desc())
        )
        with self._guard("read the history"), self._engine.connect() as conn:
            return [
                SnapshotSummary(row.id, row.taken_at, row.complete, row.objects, row.failing, row.error)
                for row in conn.execute(query)
            ]

    def resolve(self, ref: str | int, *, purpose: str = "used") -> SnapshotInfo:
        """A complete snapshot by id, `latest`, `previous` or ISO date/time (last at or before it).

        A bare date means the end of that day; a time without offset is UTC. `purpose` finishes the
        message when the snapshot asked for is incomplete ("... cannot be diffed").
        """
        text = str(ref).strip()
        complete = sa.select(SNAPSHOT).where(SNAPSHOT.c.scope == self.scope, SNAPSHOT.c.complete.is_(True))
        with self._guard("read the history"), self._engine.connect() as conn:
            if text.isdigit():
                row = self._snapshot_row(conn, int(text))
                if not row.complete:
                    reason = self._incomplete_reason(conn, row)
                    detail = f" ({reason})" if reason else ""
                    raise SnapshotError(
                        f"snapshot {row.id} is incomplete{detail}; an incomplete collection cannot be {purpose}"
                    )
                return self._info(conn, row)
            lowered = text.lower()
            if lowered in ("latest", "previous"):
                rows = conn.execute(complete.order_by(SNAPSHOT.c.id.desc()).limit(2)).all()
                if not rows:
                    raise SnapshotError(
                        f"the history store holds no complete snapshot yet{self._scope_note()}"
                    )
                if lowered == "latest":
                    return self._info(conn, rows[0])
                if len(rows) < 2:
                    raise SnapshotError(
                        "the history store holds only one complete snapshot; there is no previous one"
                    )
                return self._info(conn, rows[1])
            moment = _parse_moment(text)
            if moment is None:
                raise SnapshotError(
                    f"cannot read snapshot reference {text!r}: "
                    "give an id, 'latest', 'previous' or an ISO date/time"
                )
            row = conn.execute(
                complete.where(SNAPSHOT.c.taken_at <= moment)
                .order_by(SNAPSHOT.c.taken_at.desc(), SNAPSHOT.c.id.desc())
                .limit(1)
            ).first()
            if row is None:
                raise SnapshotError(f"no complete snapshot at or before {isoformat(moment)}")
            return self._info(conn, row)

    def complete_snapshots(
        self, since: datetime | None = None, until: datetime | None = None
    ) -> list[SnapshotInfo]:
        """Complete snapshots with `since <= taken_at <= until`, oldest first (sources not loaded)."""
        return [info for info in self.all_snapshots(since, until) if info.complete]

    def all_snapshots(
        self, since: datetime | None = None, until: datetime | None = None
    ) -> list[SnapshotInfo]:
        """Every snapshot with `since <= taken_at <= until`, oldest first, with its sources."""
        query = sa.select(SNAPSHOT).where(SNAPSHOT.c.scope == self.scope)
        if since is not None:
            query = query.where(SNAPSHOT.c.taken_at >= _utc(since))
        if until is not None:
            query = query.where(SNAPSHOT.c.taken_at <= _utc(until))
        with self._guard("read the history"), self._engine.connect() as conn:
            return [self._info(conn, row) for row in conn.execute(query.order_by(SNAPSHOT.c.id))]

    def latest_complete_at_or_before(self, moment: datetime) -> SnapshotInfo | None:
        try:
            return self.resolve(isoformat(_utc(moment)) or "")
        except SnapshotError:
            return None

    def organization(self) -> str:
        """The organization named by the newest snapshot that names one."""
        with self._guard("read the history"), self._engine.connect() as conn:
            value = conn.execute(
                sa.select(SNAPSHOT.c.organization)
                .where(SNAPSHOT.c.scope == self.scope, SNAPSHOT.c.organization != "")
                .order_by(SNAPSHOT.c.id.desc())
                .limit(1)
            ).scalar()
        return str(value or "")

    def load_records(self, snapshot_id: int) -> Iterator[ObjectRecord]:
        """The objects of a complete snapshot, by key, streamed from the intervals that cover it."""
        with self._guard("read the snapshot"), self._engine.connect() as conn:
            row = self._snapshot_row(conn, snapshot_id)
            if not row.complete:
                raise SnapshotError(f"snapshot {snapshot_id} is incomplete and holds no objects")
        return self._iter_records(snapshot_id)

    def _iter_records(self, snapshot_id: int) -> Iterator[ObjectRecord]:
        query = (
            sa.select(
                OBJECT_VERSION.c.kind, OBJECT_VERSION.c.key, OBJECT_VERSION.c.dn, OBJECT_VERSION.c.attributes
            )
            .select_from(
                OBJECT_INTERVAL.join(OBJECT_VERSION, OBJECT_INTERVAL.c.version_id == OBJECT_VERSION.c.id)
            )
            .where(
                OBJECT_INTERVAL.c.scope == self.scope,
                OBJECT_INTERVAL.c.valid_from_snapshot <= snapshot_id,
                sa.or_(
                    OBJECT_INTERVAL.c.valid_to_snapshot.is_(None),
                    OBJECT_INTERVAL.c.valid_to_snapshot > snapshot_id,
                ),
            )
            .order_by(OBJECT_INTERVAL.c.key)
        )
        with self._guard("read the snapshot"), self._engine.connect() as conn:
            for row in conn.execution_options(yield_per=_CHUNK).execute(query):
                yield _record(row)

    def object_changes(self, from_id: int, to_id: int) -> ObjectChanges:
        """The differing object states of two complete snapshots, read from the intervals alone.

        Only intervals that start or end between the two snapshots are read: an object unchanged
        across them has one interval covering both and is never loaded.
        """
        low, high = sorted((from_id, to_id))
        changes = ObjectChanges()
        if low == high:
            return changes
        columns = (
            OBJECT_VERSION.c.kind,
            OBJECT_VERSION.c.key,
            OBJECT_VERSION.c.dn,
            OBJECT_VERSION.c.attributes,
        )
        joined = OBJECT_INTERVAL.join(OBJECT_VERSION, OBJECT_INTERVAL.c.version_id == OBJECT_VERSION.c.id)
        ended = (  # held at `low`, gone by `high`
            sa.select(*columns)
            .select_from(joined)
            .where(
                OBJECT_INTERVAL.c.scope == self.scope,
                OBJECT_INTERVAL.c.valid_from_snapshot <= low,
                OBJECT_INTERVAL.c.valid_to_snapshot > low,
                OBJECT_INTERVAL.c.valid_to_snapshot <= high,
            )
        )
        started = (  # held at `high`, not yet at `low`
            sa.select(*columns)
            .select_from(joined)
            .where(
                OBJECT_INTERVAL.c.scope == self.scope,
                OBJECT_INTERVAL.c.valid_from_snapshot > low,
                OBJECT_INTERVAL.c.valid_from_snapshot <= high,
                sa.or_(
                    OBJECT_INTERVAL.c.valid_to_snapshot.is_(None), OBJECT_INTERVAL.c.valid_to_snapshot > high
                ),
            )
        )
        with self._guard("read the snapshots"), self._engine.connect() as conn:
            at_low = {row.key: _record(row) for row in conn.execute(ended)}
            at_high = {row.key: _record(row) for row in conn.execute(started)}
        if from_id < to_id:
            changes.before, changes.after = at_low, at_high
        else:
            changes.before, changes.after = at_high, at_low
        return changes

    def load_sources(self, snapshot_id: int) -> list[SourceInfo]:
        with self._guard("read the snapshot"), self._engine.connect() as conn:
            self._snapshot_row(conn, snapshot_id)
            return self._sources(conn, snapshot_id)

    def _sources(self, conn: Connection, snapshot_id: int) -> list[SourceInfo]:
        rows = conn.execute(
            sa.select(SNAPSHOT_SOURCE)
            .where(SNAPSHOT_SOURCE.c.snapshot_id == snapshot_id)
            .order_by(SNAPSHOT_SOURCE.c.position)
        )
        return [
            SourceInfo(
                name=row.name,
                kind=row.kind,
                complete=row.complete,
                objects=row.objects,
                duration_seconds=row.duration_seconds,
                error=row.error,
                coverage=set(row.coverage),
            )
            for row in rows
        ]

    def load_findings(self, snapshot_id: int) -> list[FindingRecord]:
        """The stored non-passing findings of a snapshot, ordered by check and subject."""
        with self._guard("read the findings"), self._engine.connect() as conn:
            self._snapshot_row(conn, snapshot_id)
            rows = conn.execute(
                sa.select(FINDING)
                .where(FINDING.c.snapshot_id == snapshot_id)
                .order_by(FINDING.c.check_id, FINDING.c.subject)
            ).all()
        return [
            FindingRecord(
                check=row.check_id,
                status=Status(row.status),
                severity=Severity(row.severity),
                subject=row.subject,
                message=row.message,
                first_seen=row.first_seen,
                new=row.new,
                waiver_reason=row.waiver_reason,
                waiver_expires=row.waiver_expires,
            )
            for row in rows
        ]

    def load_check_results(self, snapshot_id: int) -> list[CheckResult]:
        with self._guard("read the check results"), self._engine.connect() as conn:
            self._snapshot_row(conn, snapshot_id)
            rows = conn.execute(
                sa.select(CHECK_RESULT)
                .where(CHECK_RESULT.c.snapshot_id == snapshot_id)
                .order_by(CHECK_RESULT.c.id)
            ).all()
        return [
            CheckResult(
                id=row.check_id,
                title=row.title,
                severity=Severity(row.severity),
                principles=tuple(row.principles),
                status=Status(row.status),
                failed=row.failed,
                passed=row.passed,
                waived=row.waived,
                errors=row.errors,
                message=row.message,
            )
            for row in rows
        ]

    def is_checked(self, snapshot_id: int) -> bool:
        """Whether check results were saved for the snapshot (only then are its findings meaningful)."""
        with self._guard("read the snapshot"), self._engine.connect() as conn:
            return bool(self._snapshot_row(conn, snapshot_id).checked)

    def finding_presence(self, fingerprints: Iterable[str], *, until_id: int) -> dict[str, list[int]]:
        """fingerprint -> ids (ascending) of checked complete snapshots up to `until_id` that had it."""
        wanted = sorted(set(fingerprints))
        found: dict[str, list[int]] = {fp: [] for fp in wanted}
        with self._guard("read the finding history"), self._engine.connect() as conn:
            for start in range(0, len(wanted), _CHUNK):
                rows = conn.execute(
                    sa.select(FINDING.c.fingerprint, FINDING.c.snapshot_id)
                    .select_from(FINDING.join(SNAPSHOT, FINDING.c.snapshot_id == SNAPSHOT.c.id))
                    .where(
                        SNAPSHOT.c.scope == self.scope,
                        SNAPSHOT.c.complete.is_(True),
                        SNAPSHOT.c.checked.is_(True),
                        SNAPSHOT.c.id <= until_id,
                        FINDING.c.fingerprint.in_(wanted[start : start + _CHUNK]),
                    )
                    .order_by(FINDING.c.snapshot_id)
                )
                for row in rows:
                    found[row.fingerprint].append(row.snapshot_id)
        return found

    def checked_snapshot_ids(self, *, until_id: int) -> list[tuple[int, datetime]]:
        """(id, taken_at) of every checked complete snapshot up to `until_id`, oldest first."""
        with self._guard("read the history"), self._engine.connect() as conn:
            rows = conn.execute(
                sa.select(SNAPSHOT.c.id, SNAPSHOT.c.taken_at)
                .where(
                    SNAPSHOT.c.scope == self.scope,
                    SNAPSHOT.c.complete.is_(True),
                    SNAPSHOT.c.checked.is_(True),
                    SNAPSHOT.c.id <= until_id,
                )
                .order_by(SNAPSHOT.c.id)
            )
            return [(row.id, row.taken_at) for row in rows]

    # -- report deliveries -----------------------------------------------------------------

    def record_delivery(
        self,
        period_from: datetime | str,
        period_to: datetime | str,
        *,
        sent: bool,
        error: str | None,
        sent_at: datetime | None = None,
    ) -> None:
        """Remember one attempt to deliver the report for a period (`sent_at` defaults to now).

        The period may be given as datetimes or as the report document's ISO strings.
        """
        with self._guard("record the report delivery"), self._writing() as conn:
            conn.execute(
                sa.insert(REPORT_DELIVERY).values(
                    scope=self.scope,
                    period_from=_moment(period_from),
                    period_to=_moment(period_to),
                    sent_at=_utc(sent_at or datetime.now(UTC)),
                    status="sent" if sent else "failed",
                    error=error,
                )
            )

    def deliveries(self) -> list[DeliveryRecord]:
        """Every delivery attempt of this scope, newest first."""
        with self._guard("read the report deliveries"), self._engine.connect() as conn:
            rows = conn.execute(
                sa.select(REPORT_DELIVERY)
                .where(REPORT_DELIVERY.c.scope == self.scope)
                .order_by(REPORT_DELIVERY.c.sent_at.desc(), REPORT_DELIVERY.c.id.desc())
            )
            return [
                DeliveryRecord(row.period_from, row.period_to, row.sent_at, row.status == "sent", row.error)
                for row in rows
            ]

    def last_delivery(self, *, sent: bool | None = None) -> DeliveryRecord | None:
        """The newest delivery attempt; with `sent=True` the newest successful one."""
        for record in self.deliveries():
            if sent is None or record.sent == sent:
                return record
        return None

    def missed_deliveries(self) -> list[DeliveryRecord]:
        """Failed attempts since the last successful delivery, oldest first: the gap to report."""
        missed: list[DeliveryRecord] = []
        for record in self.deliveries():
            if record.sent:
                break
            missed.append(record)
        return missed[::-1]


class _ObjectWriter:
    """Brings the open intervals of a scope up to date with one complete snapshot, in bulk."""

    def __init__(self, conn: Connection, scope: str, snapshot_id: int) -> None:
        self.conn = conn
        self.scope = scope
        self.snapshot_id = snapshot_id
        self.pending: list[tuple[ObjectRecord, str]] = []
        self.to_close: list[int] = []

    def write(self, records: Iterable[ObjectRecord]) -> int:
        current = self._open_intervals()
        seen: dict[str, str] = {}
        for record in records:
            earlier = seen.get(record.key)
            if earlier is not None:
                raise StoreError(
                    f"cannot store the snapshot: two objects share the key {record.key!r} "
                    f"({earlier} and {record.dn})"
                )
            seen[record.key] = record.dn
            content_hash = record.content_hash()
            held = current.get(record.key)
            if held is not None:
                if held[0] == content_hash:
                    continue
                self.to_close.append(held[1])
            self.pending.append((record, content_hash))
            if len(self.pending) >= _CHUNK:
                self._flush()
        self._flush()
        self.to_close.extend(interval for key, (_, interval) in current.items() if key not in seen)
        self._close_intervals()
        return len(seen)

    def _open_intervals(self) -> dict[str, tuple[str, int]]:
        rows = self.conn.execute(
            sa.select(OBJECT_INTERVAL.c.key, OBJECT_VERSION.c.content_hash, OBJECT_INTERVAL.c.id)
            .select_from(
                OBJECT_INTERVAL.join(OBJECT_VERSION, OBJECT_INTERVAL.c.version_id == OBJECT_VERSION.c.id)
            )
            .where(OBJECT_INTERVAL.c.scope == self.scope, OBJECT_INTERVAL.c.valid_to_snapshot.is_(None))
        )
        return {row.key: (row.content_hash, row.id) for row in rows}

    def _flush(self) -> None:
        if not self.pending:
            return
        rows = [
            {
                "scope": self.scope,
                "kind": record.kind.value,
                "key": record.key,
                "dn": record.dn,
                "content_hash": content_hash,
                "attributes": {name: list(values) for name, values in record.attributes.items()},
            }
            for record, content_hash in self.pending
        ]
        # Insert first and look up only what already existed (a state an object had before): on
        # PostgreSQL a lookup of every hash inside the growing transaction would plan a sequential
        # scan each time, because the table's statistics still say it is empty.
        version_ids = {
            row.content_hash: row.id
            for row in self.conn.execute(
                self._insert_new_versions().returning(OBJECT_VERSION.c.content_hash, OBJECT_VERSION.c.id),
                rows,
            )
        }
        known = [content_hash for _, content_hash in self.pending if content_hash not in version_ids]
        if known:
            version_ids.update(
                (row.content_hash, row.id)
                for row in self.conn.execute(
                    sa.select(OBJECT_VERSION.c.content_hash, OBJECT_VERSION.c.id).where(
                        OBJECT_VERSION.c.scope == self.scope, OBJECT_VERSION.c.content_hash.in_(known)
                    )
                )
            )
        self.conn.execute(
            sa.insert(OBJECT_INTERVAL),
            [
                {
                    "scope": self.scope,
                    "key": record.key,
                    "version_id": version_ids[content_hash],
                    "valid_from_snapshot": self.snapshot_id,
                    "valid_to_snapshot": None,
                }
                for record, content_hash in self.pending
            ],
        )
        self.pending.clear()

    def _insert_new_versions(self) -> Any:
        """INSERT ... ON CONFLICT (scope, content_hash) DO NOTHING, in the connection's dialect."""
        if self.conn.dialect.name == "postgresql":
            return postgresql.insert(OBJECT_VERSION).on_conflict_do_nothing(
                index_elements=["scope", "content_hash"]
            )
        return sqlite.insert(OBJECT_VERSION).on_conflict_do_nothing(index_elements=["scope", "content_hash"])

    def _close_intervals(self) -> None:
        statement = (
            sa.update(OBJECT_INTERVAL)
            .where(OBJECT_INTERVAL.c.id == sa.bindparam("interval_id"))
            .values(valid_to_snapshot=self.snapshot_id)
        )
        for start in range(0, len(self.to_close), _CHUNK):
            self.conn.execute(statement, [{"interval_id": i} for i in self.to_close[start : start + _CHUNK]])
