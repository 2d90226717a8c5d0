"""Reading the history: listing snapshots, resolving a reference to one, its sources."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from datetime import time as dtime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from auditor.errors import SnapshotError
from auditor.records import SourceInfo
from auditor.registry import Status
from auditor.results import SnapshotInfo, isoformat
from auditor.store.engine import StoreBase, utc
from auditor.store.finding_intervals import counts_held
from auditor.tables import SNAPSHOT, SNAPSHOT_SOURCE

_FAILING = (Status.FAIL.value, Status.ERROR.value)


@dataclass(frozen=True, slots=True)
class SnapshotSummary:
    """One line of `auditor history`: `failing` counts fail + error findings (waived ones excluded);
    `stale` names each source whose export was older than its `max_age`, with why."""

    id: int
    taken_at: datetime
    complete: bool
    objects: int
    failing: int
    error: str | None = None
    stale: tuple[str, ...] = ()

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
        if self.stale:
            data["stale"] = list(self.stale)
        return data


_MAX_ID = 2**63 - 1


def _parse_moment(ref: str) -> datetime | None:
    """An ISO date (meaning the end of that day) or date/time; naive means UTC. None if not ISO.

    A moment that cannot be expressed in UTC (year 1 with a positive offset, year 9999 with a
    negative one) is a `SnapshotError` naming it.
    """
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
    try:
        return utc(moment)
    except OverflowError:
        raise SnapshotError(
            f"snapshot reference {ref[:60]!r}: that moment lies outside the calendar auditor can compare"
        ) from None


class QueriesMixin(StoreBase):
    """Snapshots of this scope: which exist, which one a reference means, what they came from."""

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
        query = (
            sa.select(
                SNAPSHOT.c.id,
                SNAPSHOT.c.taken_at,
                SNAPSHOT.c.complete,
                SNAPSHOT.c.checked,
                SNAPSHOT.c.objects,
                SNAPSHOT.c.error,
            )
            .where(SNAPSHOT.c.scope == self.scope)
            .order_by(SNAPSHOT.c.id.desc())
        )
        stale_query = (
            sa.select(SNAPSHOT_SOURCE.c.snapshot_id, SNAPSHOT_SOURCE.c.name, SNAPSHOT_SOURCE.c.stale)
            .select_from(SNAPSHOT_SOURCE.join(SNAPSHOT, SNAPSHOT.c.id == SNAPSHOT_SOURCE.c.snapshot_id))
            .where(SNAPSHOT.c.scope == self.scope, SNAPSHOT_SOURCE.c.stale.is_not(None))
            .order_by(SNAPSHOT_SOURCE.c.snapshot_id, SNAPSHOT_SOURCE.c.position)
        )
        with self._guard("read the history"), self._engine.connect() as conn:
            stale: dict[int, list[str]] = {}
            for row in conn.execute(stale_query):
                stale.setdefault(row.snapshot_id, []).append(f"{row.name}: {row.stale}")
            rows = conn.execute(query).all()
            failing = counts_held(conn, self.scope, [row.id for row in rows if row.checked], _FAILING)
            return [
                SnapshotSummary(
                    row.id,
                    row.taken_at,
                    row.complete,
                    row.objects,
                    sum(failing.get(row.id, {}).values()),
                    row.error,
                    tuple(stale.get(row.id, ())),
                )
                for row in rows
            ]

    def resolve(self, ref: str | int, *, purpose: str = "used") -> SnapshotInfo:
        """A complete snapshot by id, `latest`, `previous` or ISO date/time (last at or before it).

        A bare date means the end of that day; a time without offset is UTC. `purpose` finishes the
        message when the snapshot asked for is incomplete ("... cannot be diffed").
        """
        text = str(ref).strip()
        complete = sa.select(SNAPSHOT).where(SNAPSHOT.c.scope == self.scope, SNAPSHOT.c.complete.is_(True))
        if text.isascii() and text.isdigit() and int(text) > _MAX_ID:
            raise SnapshotError(f"no snapshot {text[:30]} in the history store{self._scope_note()}")
        with self._guard("read the history"), self._engine.connect() as conn:
            if text.isascii() and text.isdigit():
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
                    f"cannot read snapshot reference {text[:60]!r}: "
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
            query = query.where(SNAPSHOT.c.taken_at >= utc(since))
        if until is not None:
            query = query.where(SNAPSHOT.c.taken_at <= utc(until))
        with self._guard("read the history"), self._engine.connect() as conn:
            return [self._info(conn, row) for row in conn.execute(query.order_by(SNAPSHOT.c.id))]

    def latest_complete_at_or_before(self, moment: datetime) -> SnapshotInfo | None:
        try:
            return self.resolve(isoformat(utc(moment)) or "")
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
                exported_at=row.exported_at,
                stale=row.stale,
                mode=row.mode,
                changes_read=row.changes_read,
                sync_state=row.sync_state,
            )
            for row in rows
        ]
