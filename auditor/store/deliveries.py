"""Report deliveries: each attempt to send the drift report, so the next one can name a gap."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa

from auditor.errors import StoreError
from auditor.results import isoformat
from auditor.store.engine import StoreBase, storable, utc
from auditor.tables import REPORT_DELIVERY


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


def _moment(value: datetime | str) -> datetime:
    """A UTC datetime from a datetime or from ISO text such as a report's `period.since`."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise StoreError(f"not an ISO date/time: {value!r}") from None
    return utc(value)


class DeliveriesMixin(StoreBase):
    """`record_delivery` and the questions the weekly report asks of past attempts."""

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
                    sent_at=utc(sent_at or datetime.now(UTC)),
                    status="sent" if sent else "failed",
                    error=storable(error),
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
