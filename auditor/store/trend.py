"""Failing findings by severity over time: the numbers behind the drift report's trend chart."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from auditor.registry import Severity, Status
from auditor.store.engine import StoreBase, utc
from auditor.store.finding_intervals import held_by_snapshot
from auditor.tables import FINDING, SNAPSHOT

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
        joined = SNAPSHOT.outerjoin(FINDING, sa.and_(*held_by_snapshot(), FINDING.c.status.in_(_FAILING)))
        query = (
            sa.select(
                SNAPSHOT.c.id, SNAPSHOT.c.taken_at, FINDING.c.severity, sa.func.count(FINDING.c.id).label("n")
            )
            .select_from(joined)
            .where(
                SNAPSHOT.c.scope == self.scope,
                SNAPSHOT.c.complete.is_(True),
                SNAPSHOT.c.checked.is_(True),
                SNAPSHOT.c.taken_at >= utc(since),
                SNAPSHOT.c.taken_at <= utc(until),
            )
            .group_by(SNAPSHOT.c.id, SNAPSHOT.c.taken_at, FINDING.c.severity)
            .order_by(SNAPSHOT.c.id)
        )
        points: dict[int, TrendPoint] = {}
        with self._guard("read the finding trend"), self._engine.connect() as conn:
            for row in conn.execute(query):
                point = points.get(row.id)
                if point is None:
                    point = points[row.id] = TrendPoint(row.id, row.taken_at, {s.value: 0 for s in Severity})
                if row.severity is not None:
                    point.failing[row.severity] = point.failing.get(row.severity, 0) + int(row.n)
        return list(points.values())
