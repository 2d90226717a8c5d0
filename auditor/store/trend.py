"""Failing findings by severity over time: the numbers behind the drift report's trend chart."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from auditor.registry import Severity, Status
from auditor.store.engine import StoreBase, utc
from auditor.store.finding_intervals import counts_held
from auditor.tables import SNAPSHOT

__all__ = ["TrendMixin", "TrendPoint"]

_FAILING = (Status.FAIL.value, Status.ERROR.value)


@dataclass(frozen=True, slots=True)
class TrendPoint:
    """One checked complete snapshot: failing (fail + error) findings per severity, every one listed."""

    snapshot_id: int
    taken_at: datetime
    failing: dict[str, int]


class TrendMixin(StoreBase):
    """`failing_trend()`."""

    def failing_trend(self, since: datetime, until: datetime) -> list[TrendPoint]:
        """Every checked complete snapshot with `since <= taken_at <= until`, oldest first.

        Waived findings are not counted (as in `history`'s `failing`).
        """
        query = (
            sa.select(SNAPSHOT.c.id, SNAPSHOT.c.taken_at)
            .where(
                SNAPSHOT.c.scope == self.scope,
                SNAPSHOT.c.complete.is_(True),
                SNAPSHOT.c.checked.is_(True),
                SNAPSHOT.c.taken_at >= utc(since),
                SNAPSHOT.c.taken_at <= utc(until),
            )
            .order_by(SNAPSHOT.c.id)
        )
        points: dict[int, TrendPoint] = {}
        with self._guard("read the finding trend"), self._engine.connect() as conn:
            rows = conn.execute(query).all()
            failing = counts_held(conn, self.scope, [row.id for row in rows], _FAILING)
        for row in rows:
            counts = {s.value: 0 for s in Severity}
            counts.update(failing.get(row.id, {}))
            points[row.id] = TrendPoint(row.id, row.taken_at, counts)
        return list(points.values())
