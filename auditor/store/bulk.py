"""Bulk writes of object versions and intervals, each in the fastest form its database offers.

A first save writes 100,000+ versions and as many intervals; later saves write only what changed.
Both go through `BulkWriter`, inside the save's one transaction:

* PostgreSQL: `COPY ... FROM STDIN` (psycopg 3's copy support) for versions and intervals, ids of
  new versions drawn from the table's own sequence in one statement, closed intervals updated
  with one `UPDATE ... WHERE id = ANY(array)`.
* SQLite: `executemany` of one prepared INSERT (or UPDATE) per batch; new version ids follow the
  table's largest id, which is safe because the save holds SQLite's write lock (BEGIN IMMEDIATE).

Ids of new versions are chosen before they are written, so intervals can point at them without
reading anything back, and no statement ever depends on statistics of a table the same
transaction is filling (PostgreSQL would plan such a lookup as a sequential scan).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from auditor.tables import OBJECT_INTERVAL, OBJECT_VERSION

__all__ = ["BulkWriter", "IntervalRow", "VersionRow", "bulk_writer"]

# (id, scope, kind, key, dn, content_hash, attributes as JSON text)
VersionRow = tuple[int, str, str, str, str, str, str]
# (scope, key, version_id, valid_from_snapshot)
IntervalRow = tuple[str, str, int, int]

_VERSION_COLUMNS = "id, scope, kind, key, dn, content_hash, attributes"
_INTERVAL_COLUMNS = "scope, key, version_id, valid_from_snapshot"


class BulkWriter(ABC):
    """Writes of one save; the shared part says which versions already exist (in one scope)."""

    def __init__(self, conn: Connection, scope: str) -> None:
        self.conn = conn
        self.scope = scope

    def existing_versions(self, hashes: Sequence[str]) -> dict[str, int]:
        """content hash -> version id, for those of `hashes` this scope already stores."""
        if not hashes:
            return {}
        rows = self.conn.execute(
            sa.select(OBJECT_VERSION.c.content_hash, OBJECT_VERSION.c.id).where(
                OBJECT_VERSION.c.scope == self.scope, OBJECT_VERSION.c.content_hash.in_(hashes)
            )
        )
        return {row.content_hash: row.id for row in rows}

    def scope_has_versions(self) -> bool:
        return (
            self.conn.execute(
                sa.select(OBJECT_VERSION.c.id).where(OBJECT_VERSION.c.scope == self.scope).limit(1)
            ).first()
            is not None
        )

    @abstractmethod
    def new_version_ids(self, count: int) -> list[int]: ...

    @abstractmethod
    def insert_versions(self, rows: Sequence[VersionRow]) -> None: ...

    @abstractmethod
    def insert_intervals(self, rows: Sequence[IntervalRow]) -> None: ...

    @abstractmethod
    def close_intervals(self, interval_ids: Sequence[int], snapshot_id: int) -> None: ...


class _PostgresBulk(BulkWriter):
    def __init__(self, conn: Connection, scope: str) -> None:
        super().__init__(conn, scope)
        self._sequence = conn.execute(
            sa.text("SELECT pg_get_serial_sequence(:table, 'id')"), {"table": OBJECT_VERSION.name}
        ).scalar_one()

    def new_version_ids(self, count: int) -> list[int]:
        if count == 0:
            return []
        rows = self.conn.execute(
            sa.text("SELECT nextval(CAST(:sequence AS regclass)) FROM generate_series(1, :count)"),
            {"sequence": self._sequence, "count": count},
        )
        return [int(value) for (value,) in rows]

    def _copy(self, table: str, columns: str, rows: Sequence[tuple[Any, ...]]) -> None:
        if not rows:
            return
        raw = self.conn.connection.driver_connection
        assert raw is not None
        with raw.cursor() as cursor, cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)

    def insert_versions(self, rows: Sequence[VersionRow]) -> None:
        self._copy(OBJECT_VERSION.name, _VERSION_COLUMNS, rows)

    def insert_intervals(self, rows: Sequence[IntervalRow]) -> None:
        self._copy(OBJECT_INTERVAL.name, _INTERVAL_COLUMNS, rows)

    def close_intervals(self, interval_ids: Sequence[int], snapshot_id: int) -> None:
        if interval_ids:
            self.conn.execute(
                sa.text(
                    f"UPDATE {OBJECT_INTERVAL.name} SET valid_to_snapshot = :snapshot WHERE id = ANY(:ids)"
                ),
                {"snapshot": snapshot_id, "ids": list(interval_ids)},
            )


class _SqliteBulk(BulkWriter):
    def __init__(self, conn: Connection, scope: str) -> None:
        super().__init__(conn, scope)
        self._next_id = (
            int(conn.execute(sa.select(sa.func.coalesce(sa.func.max(OBJECT_VERSION.c.id), 0))).scalar_one())
            + 1
        )

    def new_version_ids(self, count: int) -> list[int]:
        first, self._next_id = self._next_id, self._next_id + count
        return list(range(first, self._next_id))

    def insert_versions(self, rows: Sequence[VersionRow]) -> None:
        if rows:
            self.conn.exec_driver_sql(
                f"INSERT INTO {OBJECT_VERSION.name} ({_VERSION_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                list(rows),
            )

    def insert_intervals(self, rows: Sequence[IntervalRow]) -> None:
        if rows:
            self.conn.exec_driver_sql(
                f"INSERT INTO {OBJECT_INTERVAL.name} ({_INTERVAL_COLUMNS}) VALUES (?, ?, ?, ?)", list(rows)
            )

    def close_intervals(self, interval_ids: Sequence[int], snapshot_id: int) -> None:
        if interval_ids:
            self.conn.exec_driver_sql(
                f"UPDATE {OBJECT_INTERVAL.name} SET valid_to_snapshot = ? WHERE id = ?",
                [(snapshot_id, interval_id) for interval_id in interval_ids],
            )


def bulk_writer(conn: Connection, scope: str) -> BulkWriter:
    """The bulk writer for the connection's database."""
    if conn.dialect.name == "postgresql":
        return _PostgresBulk(conn, scope)
    return _SqliteBulk(conn, scope)
