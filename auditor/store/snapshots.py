"""Saving snapshots: a complete one brings the object intervals up to date in bulk (`_ObjectWriter`);
an incomplete one only records the gap and touches no interval.

A pass saves in three steps, so that whatever stops it — an error, a full disk, a lock, SIGKILL —
it can never leave a snapshot that looks complete without its results:

1. `begin_pass` commits the snapshot row at once, *incomplete*, saying the pass has not finished.
   A pass that dies from here on (even killed) leaves exactly that row: the history shows the gap.
2. `save_objects` streams the records into the object intervals, with the sources, in one
   transaction, as they are collected (nothing keeps every record: issue 12); then either
   `save_pass_results` stores the results the checks computed, or `reuse_results` (`store.reuse`)
   copies the previous snapshot's when neither the objects nor anything else the results depend
   on changed. Each fails whole or not at all; the row stays incomplete either way, and `publish`
   refuses a snapshot without results. (`save_pass` does both in one transaction: tools, tests.)
3. `publish` marks the snapshot complete, in a transaction of its own, once everything else the
   pass promised (the report) is done. Only then is it a diff base, counted, reported on.

A snapshot that failed after its objects were saved keeps them: intervals only order snapshots, so the
next complete snapshot still diffs correctly against the last complete one before it.
`mark_failed` records why a pass stopped (never on a published snapshot).
`save_snapshot` / `save_incomplete` store a snapshot in one go (tests, benchmarks, tools).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from auditor.attribution import Origin
from auditor.errors import AuditorError, StoreError
from auditor.jsontext import compact
from auditor.records import ObjectRecord, SourceInfo
from auditor.results import RunResult, SnapshotInfo
from auditor.store.bulk import bulk_writer
from auditor.store.chain import seal
from auditor.store.engine import CHUNK, storable, utc
from auditor.store.findings import FindingsMixin
from auditor.store.objects import objects_changed_since
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
        (Tools and tests; `auditor.run` saves in two steps: `save_objects`, then the results.)
        """
        with self._guard("save the snapshot"), self._writing() as conn:
            self._unpublished(conn, snapshot_id)
            writer = self._write_objects(
                conn, snapshot_id, records, sources, lambda: organization, lambda: deletions or {}
            )
            self._write_results(conn, snapshot_id, run)
        if writer.bulk_loaded:
            self._refresh_statistics()
        return writer.count

    def save_objects(
        self,
        snapshot_id: int,
        records: Iterable[ObjectRecord],
        sources: Sequence[SourceInfo],
        *,
        organization: Callable[[], str],
        deletions: Callable[[], Mapping[str, Origin]],
        carried: Callable[[], Collection[str]] | None = None,
    ) -> int:
        """Stream a pass's records into the store, with its sources, in one transaction.

        `records` may be the collection itself, read as it goes: nothing of it is kept, so a pass
        never holds every record (issue 12). If reading it raises, the transaction rolls back
        and that error propagates unchanged (never dressed as a store failure). `sources`,
        `organization()` and `deletions()` are read once the stream has ended, when they are
        known. The snapshot stays incomplete, without results, until `save_pass_results` or
        `reuse_results`, then `publish`. Returns the number of objects.

        `carried()`, read once the stream has ended, names objects of the previous complete snapshot
        that are in this one unchanged without being among `records` (a source that read only what
        changed: `auditor.collect.CarriesOver`): their open intervals are kept as they are, exactly
        as if their unchanged records had streamed past, so the stored snapshot is the same.
        """
        feed = _Feed(records)
        try:
            with self._guard("save the snapshot"), self._writing() as conn:
                self._unpublished(conn, snapshot_id)
                writer = self._write_objects(
                    conn, snapshot_id, feed, sources, organization, deletions, carried
                )
        except _FeedFailed as failed:
            raise failed.original from None
        finally:
            feed.close()
        if writer.bulk_loaded:
            self._refresh_statistics()
        return writer.count

    def _unpublished(self, conn: Connection, snapshot_id: int) -> None:
        if self._snapshot_row(conn, snapshot_id).complete:
            raise StoreError(f"snapshot {snapshot_id} is already complete; it cannot be saved again")

    def _write_objects(
        self,
        conn: Connection,
        snapshot_id: int,
        records: Iterable[ObjectRecord],
        sources: Sequence[SourceInfo],
        organization: Callable[[], str],
        deletions: Callable[[], Mapping[str, Origin]],
        carried: Callable[[], Collection[str]] | None = None,
    ) -> _ObjectWriter:
        """Objects first (the sources learn how they fared while they are read), then the sources."""
        wanted, self._index_wanted = self._index_wanted, None
        keep_index = None if wanted is None else lambda index: self._keep_open_index(conn, wanted, index)
        writer = _ObjectWriter(conn, self.scope, snapshot_id, keep_index=keep_index)
        writer.write(records, carried)
        self._open_index = None
        conn.execute(sa.delete(SNAPSHOT_SOURCE).where(SNAPSHOT_SOURCE.c.snapshot_id == snapshot_id))
        self._insert_sources(conn, snapshot_id, sources)
        gone = deletions()
        removed = {key: gone[key] for key in writer.removed if key in gone}
        write_origins(conn, self.scope, snapshot_id, writer.origins, removed)
        conn.execute(
            sa.update(SNAPSHOT)
            .where(SNAPSHOT.c.id == snapshot_id)
            .values(objects=writer.count, organization=organization())
        )
        return writer

    def _keep_open_index(self, conn: Connection, latest: int, index: list[tuple[str, str, str]]) -> None:
        """Keep the writer's (key, kind, DN) of the open intervals for `baseline_index(latest)`, when
        they are the objects of that (last complete) snapshot: no interval of the scope starts or
        ends after it (a pass that failed after saving its objects leaves intervals of its own)."""
        if not objects_changed_since(conn, self.scope, latest):
            self._open_index = (latest, index)

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
        if writer.bulk_loaded:
            self._refresh_statistics()
        return SnapshotInfo(snapshot_id, taken_at, True, tuple(sources), count)

    def _refresh_statistics(self) -> None:
        """ANALYZE the object tables after a bulk load, as PostgreSQL's documentation advises.

        Until autovacuum gets to them, the planner believes the tables as small as before the
        load: reading the snapshot back then sorts every interval for each batch (seconds per
        batch at 100,000 objects) instead of walking the `(scope, key)` index. Run after the
        commit, in a statement of its own, so its lock is held for that statement only and a
        save of another scope never waits on it for long.
        """
        if self.dialect != "postgresql":
            return
        with self._guard("refresh the table statistics"), self._engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
                f"ANALYZE {OBJECT_VERSION.name}, {OBJECT_INTERVAL.name}"
            )

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


BULK_ROWS = 10_000
"""Intervals written by one save from which PostgreSQL's table statistics are refreshed."""


class _ObjectWriter:
    """Brings the open intervals of a scope up to date with one complete snapshot, in bulk.

    Records stream through once: an unchanged object (same content hash as its open interval)
    costs a hash and a dictionary lookup; changed and new ones are written in batches of `CHUNK`
    through `bulk_writer` (COPY on PostgreSQL, prepared executemany on SQLite).
    """

    def __init__(
        self,
        conn: Connection,
        scope: str,
        snapshot_id: int,
        *,
        keep_index: Callable[[list[tuple[str, str, str]]], None] | None = None,
    ) -> None:
        self.scope = scope
        self.snapshot_id = snapshot_id
        self.bulk = bulk_writer(conn, scope)
        self.pending: list[tuple[ObjectRecord, str]] = []
        self.to_close: list[int] = []
        self.origins: list[tuple[str, Mapping[str, Origin]]] = []  # of records that took a new state
        self.removed: list[str] = []
        self.reuse_possible = True
        self.held_before = 0
        self.written = 0
        self.count = 0
        # Given: handed (key, kind, DN) of every open interval, as read before the first record
        # (what an incremental source asks for next: `HistoryStore.baseline_index`).
        self.keep_index = keep_index

    @property
    def bulk_loaded(self) -> bool:
        """Whether this save changed the object tables enough to change their statistics: it wrote
        at least `BULK_ROWS` intervals and more than a fifth of what the scope held open before."""
        return self.written >= BULK_ROWS and self.written * 5 > self.held_before

    def write(
        self, records: Iterable[ObjectRecord], carried: Callable[[], Collection[str]] | None = None
    ) -> int:
        current = self._open_intervals()
        self.held_before = len(current)
        # Only a scope that stored versions before can hold one a new state matches (an object
        # returning to an earlier state); a first save skips that lookup altogether.
        self.reuse_possible = bool(current) or self.bulk.scope_has_versions()
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
            content_hash = _content_hash(record)
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
        kept = self._carry(carried() if carried is not None else (), seen, current)
        self.removed = [key for key in current if key not in seen and key not in kept]
        self.to_close.extend(current[key][1] for key in self.removed)
        for start in range(0, len(self.to_close), CHUNK * 10):
            self.bulk.close_intervals(self.to_close[start : start + CHUNK * 10], self.snapshot_id)
        self.count = len(seen) + len(kept)
        return self.count

    @staticmethod
    def _carry(
        carried: Collection[str], seen: Mapping[str, str], current: Mapping[str, tuple[str, int]]
    ) -> set[str]:
        """The carried keys, checked: each must hold an open interval (the state it is carried in)
        and must not also have streamed past (two states of one object)."""
        for key in carried:
            if key in seen:
                raise StoreError(
                    f"cannot store the snapshot: the object {key!r} was both read and carried over"
                )
            if key not in current:
                raise StoreError(
                    f"cannot store the snapshot: the object {key!r} was carried over but holds no stored state"
                )
        return set(carried)

    def _open_intervals(self) -> dict[str, tuple[str, int]]:
        indexed = (OBJECT_VERSION.c.kind, OBJECT_VERSION.c.dn) if self.keep_index is not None else ()
        rows = self.bulk.conn.execute(
            sa.select(OBJECT_INTERVAL.c.key, OBJECT_VERSION.c.content_hash, OBJECT_INTERVAL.c.id, *indexed)
            .select_from(
                OBJECT_INTERVAL.join(OBJECT_VERSION, OBJECT_INTERVAL.c.version_id == OBJECT_VERSION.c.id)
            )
            .where(OBJECT_INTERVAL.c.scope == self.scope, OBJECT_INTERVAL.c.valid_to_snapshot.is_(None))
        ).all()
        if self.keep_index is not None:
            self.keep_index([(row.key, row.kind, row.dn) for row in rows])
        return {row.key: (row.content_hash, row.id) for row in rows}

    def _flush(self) -> None:
        if not self.pending:
            return
        version_ids = (
            self.bulk.existing_versions([content_hash for _, content_hash in self.pending])
            if self.reuse_possible
            else {}
        )
        new = [
            (record, content_hash) for record, content_hash in self.pending if content_hash not in version_ids
        ]
        ids = self.bulk.new_version_ids(len(new))
        self.bulk.insert_versions(
            [
                (
                    version_id,
                    self.scope,
                    record.kind,
                    record.key,
                    record.dn,
                    content_hash,
                    _attributes_json(record),
                )
                for version_id, (record, content_hash) in zip(ids, new, strict=True)
            ]
        )
        version_ids.update(zip((content_hash for _, content_hash in new), ids, strict=True))
        self.bulk.insert_intervals(
            [
                (self.scope, record.key, version_ids[content_hash], self.snapshot_id)
                for record, content_hash in self.pending
            ]
        )
        self.written += len(self.pending)
        self.pending.clear()


def _content_hash(record: ObjectRecord) -> str:
    """`record.content_hash()`, byte for byte, without copying every value tuple into a list first.

    JSON writes a tuple as it writes a list, and attribute names are unique, so sorting the items
    as they are gives the same payload; on 100,000 records that is seconds of a first save.
    (tests/store/test_bulk_store.py holds it to `ObjectRecord.content_hash`.)
    """
    payload = compact([record.kind, record.key, record.dn, sorted(record.attributes.items())])
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _attributes_json(record: ObjectRecord) -> str:
    """The `attributes` column: {name: [values]} as compact JSON (what the JSON column type reads)."""
    attributes = record.attributes
    return compact(attributes if isinstance(attributes, dict) else dict(attributes))


class _FeedFailed(AuditorError):
    """Carries an error raised by the records being streamed past the store's error translation."""

    def __init__(self, original: BaseException) -> None:
        super().__init__(str(original))
        self.original = original


class _Feed:
    """The records of `save_objects`, any error of theirs wrapped so `_guard` lets it through as is."""

    def __init__(self, records: Iterable[ObjectRecord]) -> None:
        self.iterator = iter(records)

    def close(self) -> None:
        """End a stream the store stopped reading (its error), so its sources close their spans
        and files now, in order, not whenever the traceback lets go of it."""
        close = getattr(self.iterator, "close", None)
        if close is not None:
            close()

    def __iter__(self) -> Iterator[ObjectRecord]:
        iterator = self.iterator
        while True:
            try:
                record = next(iterator)
            except StopIteration:
                return
            except BaseException as exc:
                raise _FeedFailed(exc) from exc
            yield record
