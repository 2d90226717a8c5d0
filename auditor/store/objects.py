"""Reading objects back from the intervals: a whole snapshot, or only what differs between two."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from auditor import jsontext
from auditor.errors import SnapshotError
from auditor.records import ObjectRecord
from auditor.store.engine import CHUNK, StoreBase
from auditor.tables import OBJECT_INTERVAL, OBJECT_VERSION


@dataclass(slots=True)
class ObjectChanges:
    """The object states that differ between two complete snapshots, keyed by object key.

    A key only in `before` was removed, only in `after` added, in both: changed (possibly only in
    ways the differ ignores, such as a volatile attribute).
    """

    before: dict[str, ObjectRecord] = field(default_factory=dict)
    after: dict[str, ObjectRecord] = field(default_factory=dict)


def _record(row: Any) -> ObjectRecord:
    return ObjectRecord(
        kind=row.kind,
        key=row.key,
        dn=row.dn,
        attributes={name: tuple(values) for name, values in row.attributes.items()},
    )


_VERSIONED = OBJECT_INTERVAL.join(OBJECT_VERSION, OBJECT_INTERVAL.c.version_id == OBJECT_VERSION.c.id)
"""Intervals with the object version each one holds."""


def _held_at(snapshot_id: int) -> tuple[Any, Any]:
    """The conditions on an interval that holds its object at `snapshot_id`."""
    return (
        OBJECT_INTERVAL.c.valid_from_snapshot <= snapshot_id,
        sa.or_(
            OBJECT_INTERVAL.c.valid_to_snapshot.is_(None), OBJECT_INTERVAL.c.valid_to_snapshot > snapshot_id
        ),
    )


def objects_changed_since(conn: Connection, scope: str, snapshot_id: int) -> bool:
    """Whether any interval of the scope opened or closed after `snapshot_id`: then the objects
    now held are not that snapshot's (this pass changed some, or a pass that failed after saving
    its objects left intervals of its own). Two index probes (both interval columns are indexed by
    scope)."""
    for column in (OBJECT_INTERVAL.c.valid_from_snapshot, OBJECT_INTERVAL.c.valid_to_snapshot):
        found = conn.execute(
            sa.select(OBJECT_INTERVAL.c.id)
            .where(OBJECT_INTERVAL.c.scope == scope, column > snapshot_id)
            .limit(1)
        ).first()
        if found is not None:
            return True
    return False


class ObjectsMixin(StoreBase):
    """The objects of complete snapshots."""

    def load_records(self, snapshot_id: int, *, batch: int = CHUNK) -> Iterator[ObjectRecord]:
        """The objects of a complete snapshot, in key order, streamed `batch` at a time.

        Memory holds one batch whatever the size of the snapshot, and no connection or cursor is
        held while the caller works on a batch: each batch is its own short query that resumes
        after the last key read (keyset paging on the `(scope, key)` index). The objects of a
        complete snapshot never change once stored, so the batches add up to the snapshot.
        """
        with self._guard("read the snapshot"), self._engine.connect() as conn:
            row = self._snapshot_row(conn, snapshot_id)
            if not row.complete:
                raise SnapshotError(f"snapshot {snapshot_id} is incomplete and holds no objects")
        return self._iter_records(snapshot_id, max(1, batch))

    def saved_records(self, snapshot_id: int, *, batch: int = CHUNK) -> Iterator[ObjectRecord]:
        """The objects `save_objects` stored for a pass not yet published, as `load_records` gives
        them but in no particular order: the snapshot builder puts them in its own order
        (`auditor.model.snapshot`), and sorting 100,000 rows of JSON by key cost SQLite 0.11 s of
        a 0.21 s read.

        A pass whose source carried unchanged objects over (`auditor.collect.CarriesOver`) builds
        the snapshot its checks read from what it stored: the only complete copy it has. Unlike
        `load_records` this is one query, streamed `batch` rows at a time (a server-side cursor on
        PostgreSQL), whose JSON the store decodes itself (`auditor.jsontext`): the pass holds the
        pass lock and writes nothing while it builds, so holding the cursor costs nobody, and
        keyset paging plus per-row JSON processing cost three times as much (1.59 s against
        0.52 s for 100,080 objects, bench/README.md, 6 December 2026).
        """
        with self._guard("read the snapshot"), self._engine.connect() as conn:
            self._snapshot_row(conn, snapshot_id)
        return self._stream_records(snapshot_id, max(1, batch))

    def _stream_records(self, snapshot_id: int, batch: int) -> Iterator[ObjectRecord]:
        query = (
            sa.select(
                OBJECT_VERSION.c.kind,
                OBJECT_INTERVAL.c.key,
                OBJECT_VERSION.c.dn,
                # As text, decoded below: PostgreSQL's driver would decode a json value itself.
                sa.cast(OBJECT_VERSION.c.attributes, sa.Text),
            )
            .select_from(_VERSIONED)
            .where(
                OBJECT_INTERVAL.c.scope == self.scope,
                *_held_at(snapshot_id),
            )
        )
        with self._guard("read the snapshot"), self._engine.connect() as conn:
            result = conn.execution_options(yield_per=batch).execute(query)
            for rows in result.partitions():
                for kind, key, dn, attributes in rows:
                    yield ObjectRecord(
                        kind=kind,
                        key=key,
                        dn=dn,
                        attributes={
                            name: tuple(values) for name, values in jsontext.loads(attributes).items()
                        },
                    )

    def expect_baseline_index(self, snapshot_id: int) -> None:
        """Have the next object save keep its read of the open intervals for
        `baseline_index(snapshot_id)` (a pass whose incremental source may ask for it). Only then
        does the save read each object's kind and DN and hold them: a full read never asks."""
        self._index_wanted = snapshot_id

    def baseline_index(self, snapshot_id: int) -> Iterator[tuple[str, str, str]]:
        """`object_index`, handed over from the pass's own read of the open intervals when it is
        the same set (`SnapshotWriterMixin._keep_open_index` checks): the writer reads the open
        intervals before the first record anyway, and an incremental source asks for this index
        right after, so a pass reads the 100,000 rows once instead of twice."""
        kept, self._open_index = self._open_index, None
        if kept is not None and kept[0] == snapshot_id:
            return iter(kept[1])
        return self.object_index(snapshot_id)

    def object_index(self, snapshot_id: int) -> Iterator[tuple[str, str, str]]:
        """(key, kind, DN) of every object of a complete snapshot, without decoding attributes.

        What an incremental source needs of the objects it will not read again (`Baseline.index`):
        one query over the interval and version tables, no JSON decoded.
        """
        with self._guard("read the snapshot"), self._engine.connect() as conn:
            row = self._snapshot_row(conn, snapshot_id)
            if not row.complete:
                raise SnapshotError(f"snapshot {snapshot_id} is incomplete and holds no objects")
            rows = conn.execute(
                sa.select(OBJECT_INTERVAL.c.key, OBJECT_VERSION.c.kind, OBJECT_VERSION.c.dn)
                .select_from(_VERSIONED)
                .where(
                    OBJECT_INTERVAL.c.scope == self.scope,
                    *_held_at(snapshot_id),
                )
            ).all()
        return iter([(row.key, row.kind, row.dn) for row in rows])

    def _iter_records(self, snapshot_id: int, batch: int) -> Iterator[ObjectRecord]:
        query = (
            sa.select(
                OBJECT_VERSION.c.kind, OBJECT_INTERVAL.c.key, OBJECT_VERSION.c.dn, OBJECT_VERSION.c.attributes
            )
            .select_from(_VERSIONED)
            .where(
                OBJECT_INTERVAL.c.scope == self.scope,
                OBJECT_INTERVAL.c.key > sa.bindparam("after"),
                *_held_at(snapshot_id),
            )
            .order_by(OBJECT_INTERVAL.c.key)
            .limit(batch)
        )
        after = ""
        while True:
            with self._guard("read the snapshot"), self._engine.connect() as conn:
                rows = conn.execute(query, {"after": after}).all()
            for row in rows:
                yield _record(row)
            if len(rows) < batch:
                return
            after = rows[-1].key

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
        joined = _VERSIONED
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
