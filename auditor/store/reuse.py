"""Result reuse in the store: may a pass copy the previous snapshot's results, and the copy itself.

A pass whose objects are the previous complete snapshot's, object for object, and whose
`results_key` (`auditor.reuse`: everything else its results depend on) equals that snapshot's,
would compute the very results that snapshot holds. It still records its own complete snapshot
(the history shows the forest was checked), but copies the check results and findings (their
evidence ids included: evidence sets are content-addressed) instead of running the checks;
`snapshot.results_from` names the snapshot copied.

"The objects did not change" is read from the intervals, after the pass saved its objects
(`SnapshotWriterMixin.saving`): no interval of the scope opened or closed after the previous
complete snapshot P. That covers this pass (an object it changed opens an interval at its own
id) and an unpublished pass in between that saved objects and then failed (its intervals stay).
Both interval columns are indexed by scope, so the question costs two index probes
(`store.objects.objects_changed_since`, which the object save asks too).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from auditor.errors import StoreError
from auditor.records import SourceInfo
from auditor.registry import Status
from auditor.results import CheckResult, FindingRecord, in_check_order
from auditor.store.engine import StoreBase, stored_day, stored_moment
from auditor.store.finding_intervals import open_rows_are, write_findings
from auditor.store.findings import StoredFindings, check_result_from_row, findings_held_at
from auditor.store.objects import objects_changed_since
from auditor.tables import CHECK_RESULT, SNAPSHOT, SNAPSHOT_SOURCE

__all__ = ["ResultReuseMixin", "Reuse"]

RAISED = "the check raised "
"""How the engine's message for a check that raised begins (`auditor.engine.evaluate`)."""


@dataclass(frozen=True, slots=True)
class Reuse:
    """Whether a pass may copy results: `source` the snapshot to copy, else None and `reason` why not."""

    source: int | None
    reason: str


class ResultReuseMixin(StoreBase):
    """`reusable_results` (may this pass reuse?) and `reuse_results` (copy them, read them back)."""

    def reusable_results(self, snapshot_id: int, sources: list[SourceInfo], results_key: str) -> Reuse:
        """Whether the (saved, unpublished) pass `snapshot_id` may copy the previous complete results."""
        with self._guard("read the previous snapshot"), self._engine.connect() as conn:
            previous = self._complete_before(
                conn, snapshot_id, SNAPSHOT.c.id, SNAPSHOT.c.checked, SNAPSHOT.c.results_key
            )
            if previous is None:
                return Reuse(None, "no previous complete snapshot")
            if not previous.checked:
                return Reuse(None, f"snapshot {previous.id} holds no check results")
            if previous.results_key is None:
                return Reuse(None, f"snapshot {previous.id} was checked before results were keyed")
            if previous.results_key != results_key:
                return Reuse(
                    None,
                    f"what the checks depend on besides the objects changed since snapshot {previous.id} "
                    "(auditor version, check code, configuration, waivers or a date boundary)",
                )
            if objects_changed_since(conn, self.scope, previous.id):
                return Reuse(None, f"objects changed since snapshot {previous.id}")
            if _source_shape(_sources_of(conn, previous.id)) != _source_shape(sources):
                return Reuse(None, f"the sources or what they covered differ from snapshot {previous.id}")
            raised = conn.execute(
                sa.select(CHECK_RESULT.c.check_id).where(
                    CHECK_RESULT.c.snapshot_id == previous.id,
                    CHECK_RESULT.c.status == Status.ERROR.value,
                    CHECK_RESULT.c.message.startswith(RAISED),
                )
            ).first()
            if raised is not None:
                return Reuse(None, f"check {raised.check_id} raised on snapshot {previous.id}")
            return Reuse(previous.id, f"nothing changed since snapshot {previous.id}")

    def reuse_results(
        self,
        snapshot_id: int,
        source_id: int,
        *,
        results_key: str,
        auditor_version: str,
        config_fingerprint: str,
    ) -> tuple[list[CheckResult], list[FindingRecord]]:
        """Copy `source_id`'s results and findings onto `snapshot_id`, in one transaction; return them.

        What a recomputation would store: every finding continues its streak (`new` false,
        `first_seen` its streak's start: the source's `first_seen`, else the source's time), the
        same evidence set, in the order of a recomputation (`in_check_order`).
        """
        with self._guard("reuse the check results"), self._writing() as conn:
            row = self._snapshot_row(conn, snapshot_id)
            source = self._snapshot_row(conn, source_id)
            if row.complete:
                raise StoreError(f"snapshot {snapshot_id} is already complete; its results cannot change")
            conn.execute(sa.delete(CHECK_RESULT).where(CHECK_RESULT.c.snapshot_id == snapshot_id))
            results = conn.execute(
                sa.select(CHECK_RESULT)
                .where(CHECK_RESULT.c.snapshot_id == source_id)
                .order_by(CHECK_RESULT.c.id)
            ).all()
            if results:
                conn.execute(
                    sa.insert(CHECK_RESULT),
                    [_copied(r, snapshot_id) for r in results],
                )
            # The findings are the source's. Their rows are normally the scope's open rows already
            # (`store.finding_intervals`): nothing to write. Only a pass that saved results after the
            # source and failed, or a source stored before intervals, leaves rows to open and close.
            reader = StoredFindings()
            rows = conn.execute(findings_held_at(self.scope, source_id)).all()
            findings = [reader.record(f, first_seen=source.taken_at) for f in rows]
            if not open_rows_are(conn, self.scope, source_id):
                write_findings(conn, self.scope, snapshot_id, [_continued(f, source.taken_at) for f in rows])
            conn.execute(
                sa.update(SNAPSHOT)
                .where(SNAPSHOT.c.id == snapshot_id)
                .values(
                    checked=True,
                    auditor_version=auditor_version or None,
                    config_fingerprint=config_fingerprint or None,
                    results_key=results_key,
                    results_from=source_id,
                )
            )
        checks = [check_result_from_row(r) for r in results]
        return checks, in_check_order(checks, findings)


def _continued(row: Any, source_taken_at: datetime) -> dict[str, Any]:
    """A finding row held at the source, as the reusing pass holds it: its streak goes on."""
    values = {
        name: getattr(row, name) for name in ("check_id", "subject", "fingerprint", "status", "severity")
    }
    values.update(
        message=row.message,
        first_seen=stored_moment(row.first_seen, {}) or source_taken_at,
        new=False,
        waiver_reason=row.waiver_reason,
        waiver_expires=stored_day(row.waiver_expires, {}),
        evidence_id=row.evidence_id,
    )
    return values


def _sources_of(conn: Connection, snapshot_id: int) -> list[Any]:
    return list(
        conn.execute(
            sa.select(
                SNAPSHOT_SOURCE.c.name,
                SNAPSHOT_SOURCE.c.kind,
                SNAPSHOT_SOURCE.c.complete,
                SNAPSHOT_SOURCE.c.coverage,
            )
            .where(SNAPSHOT_SOURCE.c.snapshot_id == snapshot_id)
            .order_by(SNAPSHOT_SOURCE.c.position)
        )
    )


def _source_shape(sources: Any) -> list[tuple[str, str, bool, list[str]]]:
    """What of the sources the checks read: name, kind, completeness and coverage (`Snapshot.coverage`)."""
    return [(s.name, s.kind, bool(s.complete), sorted(s.coverage)) for s in sources]


def _copied(row: Any, snapshot_id: int, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    values = {key: value for key, value in row._mapping.items() if key not in ("id", *skip)}
    values["snapshot_id"] = snapshot_id
    return values
