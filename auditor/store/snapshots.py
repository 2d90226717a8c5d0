"""Saving snapshots: a complete one brings the object intervals up to date in bulk (`_ObjectWriter`);
an incomplete one only records the gap and touches no interval.

A pass saves in three steps, so that whatever stops it — an error, a full disk, a lock, SIGKILL —
it can never leave a snapshot that looks complete without its results:

1. `begin_pass` commits the snapshot row at once, *incomplete*, saying the pass has not finished.
   A pass that dies from here on (even killed) leaves exactly that row: the history shows the gap.
2. `save_pass` writes the sources, the objects (intervals), the check results and the findings in
   one transaction. It fails whole or not at all; the row stays incomplete either way.
3. `publish` marks the snapshot complete, in a transaction of its own, once everything else the
   pass promised (the report) is done. Only then is it a diff base, counted, reported on.

A snapshot that failed after step 2 keeps its objects: intervals only order snapshots, so the
next complete snapshot still diffs correctly against the last complete one before it.
`mark_failed` records why a pass stopped (never on a published snapshot).
`save_snapshot` / `save_incomplete` store a snapshot in one go (tests, benchmarks, tools).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from auditor.attribution import Origin
from auditor.errors import StoreError
from auditor.records import ObjectRecord, SourceInfo
from auditor.results import RunResult, SnapshotInfo
from auditor.store.chain import seal
from auditor.store.engine import CHUNK, storable, utc
from auditor.store.findings import FindingsMixin
from auditor.store.origins import write_origins
from auditor.tables import OBJECT_INTERVAL, OBJECT_VERSION, SNAPSHOT, SNAPSHOT_SOURCE

UNFINISHED = (
    "the pass has not finished (still running, or stopped, killed or failed before its snapshot was complete)"
)


class SnapshotWriterMixin(FindingsMixin):
    """`begin_pass` / `save_pass` / `publish` / `mark_failed`, and `save_snapshot` / `save_incomplete`."""

    def begin_pass(self, taken_at: datetime, *, organization: str = "") -> int:
        """Commit the row of a new pass's snapshot, incomplete until `publish`; returns its id."""
        with self._guard("start the snapshot"), self._writing() as conn:
            return self._insert_snapshot(conn, utc(taken_at), False, UNFINISHED, organization)

    def save_pass(
        self,
        snapshot_id: int,
        records: Iterable[ObjectRecord],
        sources: Sequence[SourceInfo],
        run: RunResult,
        *,
        organization: str = "",
        deletions: Mapping[str, Origin] | None = None,
    ) -> int:
        """Store the pass's sources, objects, check results and findings in one transaction.

        The snapshot stays incomplete (see `publish`). Returns the number of objects. The origins
        of changed records and `deletions` (object key -> origin of its removal) are kept too.
        """
        with self._guard("save the snapshot"), self._writing() as conn:
            row = self._snapshot_row(conn, snapshot_id)
            if row.complete:
                raise StoreError(f"snapshot {snapshot_id} is already complete; it cannot be saved again")
            conn.execute(sa.delete(SNAPSHOT_SOURCE).where(SNAPSHOT_SOURCE.c.snapshot_id == snapshot_id))
            self._insert_sources(conn, snapshot_id, sources)
            writer = _ObjectWriter(conn, self.scope, snapshot_id)
            count = writer.write(records)
            removed = {key: deletions[key] for key in writer.removed if deletions and key in deletions}
            write_origins(conn, self.scope, snapshot_id, writer.origins, removed)
            conn.execute(
                sa.update(SNAPSHOT)
                .where(SNAPSHOT.c.id == snapshot_id)
                .values(objects=count, organization=organization)
            )
            self._write_results(conn, snapshot_id, run)
        return count

    def publish(self, snapshot_id: int) -> None:
        """Mark a saved pass complete: the last step of a pass, after its report was written."""
        with self._guard("complete the snapshot"), self._writing() as conn:
            row = self._snapshot_row(conn, snapshot_id)
            if not row.checked:
                raise StoreError(f"snapshot {snapshot_id} has no saved results; it cannot be made complete")
            conn.execute(
                sa.update(SNAPSHOT).where(SNAPSHOT.c.id == snapshot_id).values(complete=True, error=None)
            )
            # Sealed in the same transaction: a snapshot is complete and chained, or neither.
            seal(conn, self.scope, snapshot_id)

    def mark_failed(self, snapshot_id: int, error: str, sources: Sequence[SourceInfo] | None = None) -> None:
        """Record why an unpublished pass stopped (and, given, how its sources fared)."""
        with self._guard("record the incomplete snapshot"), self._writing() as conn:
            conn.execute(
                sa.update(SNAPSHOT)
                .where(SNAPSHOT.c.id == snapshot_id, SNAPSHOT.c.complete.is_(False))
                .values(error=storable(error))
            )
            if sources is not None:
                conn.execute(sa.delete(SNAPSHOT_SOURCE).where(SNAPSHOT_SOURCE.c.snapshot_id == snapshot_id))
                self._insert_sources(conn, snapshot_id, sources)

    def save_snapshot(
        self,
        records: Iterable[ObjectRecord],
        sources: Sequence[SourceInfo],
        taken_at: datetime,
        *,
        organization: str = "",
        deletions: Mapping[str, Origin] | None = None,
    ) -> SnapshotInfo:
        """Store a complete snapshot in one transaction, reading `records` once as a stream.

        If reading `records` raises, nothing is stored and the error propagates unchanged. The
        origins of changed records, and `deletions` (object key -> origin of its removal, from
        the source's tombstones) for the objects that vanished, are kept too (`store.origins`).
        """
        taken_at = utc(taken_at)
        with self._guard("save the snapshot"), self._writing() as conn:
            snapshot_id = self._insert_snapshot(conn, taken_at, True, None, organization)
            self._insert_sources(conn, snapshot_id, sources)
            writer = _ObjectWriter(conn, self.scope, snapshot_id)
            count = writer.write(records)
            removed = {key: deletions[key] for key in writer.removed if deletions and key in deletions}
            write_origins(conn, self.scope, snapshot_id, writer.origins, removed)
            conn.execute(sa.update(SNAPSHOT).where(SNAPSHOT.c.id == snapshot_id).values(objects=count))
        return SnapshotInfo(snapshot_id, taken_at, True, tuple(sources), count)

    def save_incomplete(
        self, sources: Sequence[SourceInfo], taken_at: datetime, error: str, *, organization: str = ""
    ) -> SnapshotInfo:
        """Record a pass that could not collect everything: it holds no objects, touches no interval."""
        taken_at = utc(taken_at)
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
                error=storable(error),
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
                    "error": storable(source.error),
                    "coverage": sorted(source.coverage),
                    "exported_at": source.exported_at,
                    "stale": source.stale,
                    "mode": source.mode,
                    "changes_read": source.changes_read,
                    "sync_state": source.sync_state,
                }
                for position, source in enumerate(sources)
            ],
        )


class _ObjectWriter:
    """Brings the open intervals of a scope up to date with one complete snapshot, in bulk."""

    def __init__(self, conn: Connection, scope: str, snapshot_id: int) -> None:
        self.conn = conn
        self.scope = scope
        self.snapshot_id = snapshot_id
        self.pending: list[tuple[ObjectRecord, str]] = []
        self.to_close: list[int] = []
        self.origins: list[tuple[str, Mapping[str, Origin]]] = []  # of records that took a new state
        self.removed: list[str] = []

    def write(self, records: Iterable[ObjectRecord]) -> int:
        current = self._open_intervals()
        # The first snapshot's origins would never be read: no diff starts before it.
        keep_origins = bool(current)
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
            if keep_origins and record.origins:
                self.origins.append((record.key, record.origins))
            if len(self.pending) >= CHUNK:
                self._flush()
        self._flush()
        self.removed = [key for key in current if key not in seen]
        self.to_close.extend(current[key][1] for key in self.removed)
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
                "kind": record.kind,
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
        for start in range(0, len(self.to_close), CHUNK):
            self.conn.execute(statement, [{"interval_id": i} for i in self.to_close[start : start + CHUNK]])
