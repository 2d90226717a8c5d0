"""Check results and findings: saving them, their failing streaks, and reading them back."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from auditor import jsontext
from auditor.errors import StoreError
from auditor.model.directory import ObjectRef
from auditor.registry import Severity, Status
from auditor.results import CheckResult, FindingRecord, RunResult
from auditor.store.chain import seal
from auditor.store.engine import CHUNK, StoreBase, stored_day, stored_moment
from auditor.store.evidence import evidence_hash, evidence_refs, refs_of, store_evidence
from auditor.store.finding_intervals import (
    FINGERPRINT_AT,
    FIRST_SEEN_AT,
    FindingKey,
    OpenRows,
    held_at,
    key_fields,
    new_at,
    open_rows_are,
    open_rows_for,
    read_open_rows,
    span,
    write_findings,
)
from auditor.tables import CHECK_RESULT, EVIDENCE, FINDING, SNAPSHOT


@dataclass(frozen=True, slots=True)
class CheckedWith:
    """What checked a stored snapshot: auditor's version, the configuration's fingerprint and, per
    check that ran, its status and code fingerprint (`auditor.provenance`). None: not recorded
    (checked before auditor recorded it); `checked` False: no results were saved at all."""

    checked: bool
    auditor_version: str | None
    config_fingerprint: str | None
    checks: dict[str, tuple[Status, str | None, str]]  # check id -> (status, code, message)


@dataclass(frozen=True, slots=True)
class _Replaced:
    """A results save that found the previous complete snapshot's findings as the open rows: those
    of `kept` continued (the same row), the `closed` rows ended (`findings_replaced`)."""

    snapshot_id: int
    previous_id: int
    kept: list[FindingRecord]
    closed: tuple[FindingKey, ...]


def _closed_record(key: FindingKey) -> FindingRecord:
    fields = key_fields(key)
    return FindingRecord(
        check=fields["check_id"],
        status=Status(fields["status"]),
        severity=Severity(fields["severity"]),
        subject=fields["subject"],
        message=fields["message"],
        first_seen=fields["first_seen"],
        new=False,
        waiver_reason=fields["waiver_reason"],
        waiver_expires=fields["waiver_expires"],
        evidence=None,
    )


class FindingsMixin(StoreBase):
    """Results and findings of checked snapshots, and each finding's history across them."""

    # What the last results save replaced of the previous snapshot's findings (`findings_replaced`).
    _replaced_findings: _Replaced | None = None
    # The open rows `annotate_findings` read, as (previous snapshot id, rows), for the results save.
    _open_rows_read: tuple[int, OpenRows] | None = None

    def annotate_findings(self, run: RunResult) -> None:
        """Set `first_seen` and `new` on the run's findings from the history before its snapshot.

        A finding continues a streak when the previous complete, checked snapshot had the same
        fingerprint (in any non-passing status); its `first_seen` is then that streak's start.
        Otherwise it is new and its streak starts with this snapshot.
        """
        with self._guard("read the finding history"), self._engine.connect() as conn:
            streaks = self._streaks_from_open_rows(conn, run.snapshot.id)
            if streaks is None:
                streaks = self._streaks(conn, run.snapshot.id)
        for finding in run.findings:
            first_seen = streaks.get(finding.fingerprint)
            finding.new = first_seen is None
            finding.first_seen = first_seen if first_seen is not None else run.snapshot.taken_at

    def _streaks_from_open_rows(self, conn: Connection, snapshot_id: int) -> dict[str, datetime] | None:
        """`_streaks`, from the scope's open rows when they are exactly the findings of the last
        checked snapshot (None otherwise), which are kept for this snapshot's results save
        (`_open_rows_read`): that save compares its findings with the same rows, and reading
        33,000 of them twice cost a pass 0.1 s."""
        self._open_rows_read = None
        previous = self._complete_before(conn, snapshot_id, SNAPSHOT.c.id, SNAPSHOT.c.taken_at, checked=True)
        # Nothing opened or closed after `previous`: nothing of this snapshot's own to take back.
        if previous is None or not open_rows_are(conn, self.scope, previous.id):
            return None
        rows = read_open_rows(conn, self.scope, snapshot_id)
        self._open_rows_read = (previous.id, rows)
        return {key[FINGERPRINT_AT]: key[FIRST_SEEN_AT] or previous.taken_at for key in rows.ids}

    def _open_rows_to_compare(
        self, conn: Connection, snapshot_id: int, previous_id: int | None
    ) -> OpenRows | None:
        """`open_rows_for`, or the rows `annotate_findings` read when they are still the open rows:
        the same snapshot, and the open rows still those of the same previous snapshot."""
        kept, self._open_rows_read = self._open_rows_read, None
        if kept is not None and kept[0] == previous_id and kept[1].snapshot_id == snapshot_id:
            return kept[1]
        return open_rows_for(conn, self.scope, snapshot_id)

    def _streaks(self, conn: Connection, snapshot_id: int) -> dict[str, datetime]:
        """fingerprint -> streak start, for findings of the last checked snapshot before `snapshot_id`."""
        previous = self._complete_before(conn, snapshot_id, SNAPSHOT.c.id, SNAPSHOT.c.taken_at, checked=True)
        if previous is None:
            return {}
        rows = conn.execute(
            sa.select(FINDING.c.fingerprint, FINDING.c.first_seen).where(*held_at(self.scope, previous.id))
        )
        return {row.fingerprint: row.first_seen or previous.taken_at for row in rows}

    def save_results(self, snapshot_id: int, run: RunResult) -> None:
        """Store each check's result and every non-passing finding; replaces earlier results.

        Each finding's evidence is stored with it (`store.evidence`), and what checked the
        snapshot (auditor's version, the config's and each check's fingerprint) with the results.
        A complete snapshot is then sealed into the tamper-evidence chain (`store.chain`).
        """
        with self._guard("save the check results"), self._writing() as conn:
            self._write_results(conn, snapshot_id, run)
            # Sealing in the same transaction: results and their link are stored together or not at all.
            seal(conn, self.scope, snapshot_id)

    def save_pass_results(self, snapshot_id: int, run: RunResult, results_key: str) -> None:
        """A pass's computed results and findings, in one transaction, with its `results_key`.

        The snapshot stays incomplete and unsealed until `publish`; `results_key` is what a later
        pass compares to reuse these results (`auditor.reuse`, `store.reuse`).
        """
        with self._guard("save the check results"), self._writing() as conn:
            row = self._snapshot_row(conn, snapshot_id)
            if row.complete:
                raise StoreError(f"snapshot {snapshot_id} is already complete; its results cannot change")
            self._write_results(conn, snapshot_id, run, results_key=results_key)

    def _write_results(
        self, conn: Connection, snapshot_id: int, run: RunResult, *, results_key: str | None = None
    ) -> None:
        """`save_results` inside the caller's transaction (a pass writes everything in one)."""
        row = self._snapshot_row(conn, snapshot_id)
        streaks: dict[str, datetime] | None = None
        kept = [f for f in run.findings if f.status is not Status.PASS]
        previous = self._complete_before(conn, snapshot_id, SNAPSHOT.c.id, checked=True)
        # Asked before writing: were the open rows exactly the previous snapshot's findings?
        continues = previous is not None and open_rows_are(conn, self.scope, previous.id)
        open_rows = self._open_rows_to_compare(conn, snapshot_id, previous.id if continues else None)
        evidence_ids = _evidence_ids(conn, self.scope, kept, open_rows.evidence if open_rows else {})
        findings = []
        for finding in kept:
            first_seen = finding.first_seen
            if first_seen is None:
                if streaks is None:
                    streaks = self._streaks(conn, snapshot_id)
                first_seen = streaks.get(finding.fingerprint, row.taken_at)
            findings.append(
                {
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
                    "evidence_id": evidence_ids.get(id(finding)),
                }
            )
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
                        "code_fingerprint": result.code or None,
                    }
                    for result in run.checks
                ],
            )
        written = write_findings(conn, self.scope, snapshot_id, findings, open_rows)
        self._replaced_findings = None
        if continues and written is not None:
            self._replaced_findings = _Replaced(
                snapshot_id, previous.id, [kept[i] for i in written.kept], written.closed
            )
        conn.execute(
            sa.update(SNAPSHOT)
            .where(SNAPSHOT.c.id == snapshot_id)
            .values(
                checked=True,
                auditor_version=run.auditor_version or None,
                config_fingerprint=run.config_fingerprint or None,
                results_key=results_key,
                results_from=None,
            )
        )

    def load_findings(self, snapshot_id: int, *, evidence: bool = True) -> list[FindingRecord]:
        """The stored non-passing findings of a snapshot with their evidence, by check and subject.

        `evidence=False` leaves every finding's evidence None (as if stored before evidence was
        recorded) and reads no evidence set: what a pass's own diff needs, which compares verdicts
        only, at a third of the cost for 30,000 findings.
        """
        with self._guard("read the findings"), self._engine.connect() as conn:
            self._snapshot_row(conn, snapshot_id)
            rows = conn.execute(
                findings_held_at(self.scope, snapshot_id, evidence=evidence).order_by(
                    FINDING.c.check_id, FINDING.c.subject, FINDING.c.id
                )
            ).all()
        reader = StoredFindings()
        return [reader.record(row, new=row.new) for row in rows]

    def findings_replaced(self, snapshot_id: int, previous_id: int) -> list[FindingRecord] | None:
        """`previous_id`'s non-passing findings, without their evidence, as `load_findings(previous_id,
        evidence=False)` gives them but in no particular order, when this store's last results save
        was `snapshot_id`'s and compared them with exactly those: the findings it kept a row for
        and the rows it closed. None otherwise (read them back).

        A pass's diff needs the previous snapshot's verdicts. Its own save has just read them (the
        scope's open rows), so reading 30,000 rows again cost 0.23 s a pass to learn what the save
        knew: which findings continue and which rows it closed.
        """
        replaced = self._replaced_findings
        if replaced is None or (replaced.snapshot_id, replaced.previous_id) != (snapshot_id, previous_id):
            return None
        return [*replaced.kept, *(_closed_record(key) for key in replaced.closed)]

    def checked_with(self, snapshot_id: int) -> CheckedWith:
        """What checked a stored snapshot, as far as it was recorded (`CheckedWith`)."""
        with self._guard("read the check results"), self._engine.connect() as conn:
            row = self._snapshot_row(conn, snapshot_id)
            results = conn.execute(
                sa.select(
                    CHECK_RESULT.c.check_id,
                    CHECK_RESULT.c.status,
                    CHECK_RESULT.c.code_fingerprint,
                    CHECK_RESULT.c.message,
                ).where(CHECK_RESULT.c.snapshot_id == snapshot_id)
            ).all()
        return CheckedWith(
            checked=bool(row.checked),
            auditor_version=row.auditor_version,
            config_fingerprint=row.config_fingerprint,
            checks={r.check_id: (Status(r.status), r.code_fingerprint, r.message) for r in results},
        )

    def load_check_results(self, snapshot_id: int) -> list[CheckResult]:
        with self._guard("read the check results"), self._engine.connect() as conn:
            self._snapshot_row(conn, snapshot_id)
            rows = conn.execute(
                sa.select(CHECK_RESULT)
                .where(CHECK_RESULT.c.snapshot_id == snapshot_id)
                .order_by(CHECK_RESULT.c.id)
            ).all()
        return [check_result_from_row(row) for row in rows]

    def is_checked(self, snapshot_id: int) -> bool:
        """Whether check results were saved for the snapshot (only then are its findings meaningful)."""
        with self._guard("read the snapshot"), self._engine.connect() as conn:
            return bool(self._snapshot_row(conn, snapshot_id).checked)

    def finding_presence(self, fingerprints: Iterable[str], *, until_id: int) -> dict[str, list[int]]:
        """fingerprint -> ids (ascending) of checked complete snapshots up to `until_id` that had it.

        Each row holds its finding over an interval of snapshots: the checked complete snapshots
        inside it are found in Python (bisected), not joined row by snapshot in SQL.
        """
        wanted = sorted(set(fingerprints))
        found: dict[str, set[int]] = {fp: set() for fp in wanted}
        with self._guard("read the finding history"), self._engine.connect() as conn:
            checked = [snapshot_id for snapshot_id, _ in self._checked_ids(conn, until_id)]
            for start in range(0, len(wanted), CHUNK):
                rows = conn.execute(
                    sa.select(
                        FINDING.c.fingerprint, FINDING.c.snapshot_id, FINDING.c.valid_to_snapshot
                    ).where(
                        FINDING.c.scope == self.scope,
                        FINDING.c.snapshot_id <= until_id,
                        FINDING.c.fingerprint.in_(wanted[start : start + CHUNK]),
                    )
                )
                for fingerprint, opened, closed in rows:
                    first, last = span(checked, opened, closed)
                    found[fingerprint].update(checked[first:last])
        return {fp: sorted(ids) for fp, ids in found.items()}

    def _checked_ids(self, conn: Connection, until_id: int) -> list[tuple[int, datetime]]:
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

    def checked_snapshot_ids(self, *, until_id: int) -> list[tuple[int, datetime]]:
        """(id, taken_at) of every checked complete snapshot up to `until_id`, oldest first."""
        with self._guard("read the history"), self._engine.connect() as conn:
            return self._checked_ids(conn, until_id)


def _evidence_ids(
    conn: Connection, scope: str, findings: Iterable[FindingRecord], known: Mapping[str, int]
) -> dict[int, int]:
    """id(finding) -> evidence row id, storing the sets not stored yet (`store.evidence`).

    A finding with evidence None (read back from an older store and saved again) stays NULL.
    Each set is encoded and hashed once; findings sharing a set share its row. `known` (content
    hash -> id: the sets the open finding rows name) spares looking up a pass's unchanged
    findings' sets one by one: 33,000 of them at 100,000 recipients.
    """
    hash_of: dict[int, str] = {}
    sets: dict[str, list[list[str]]] = {}
    for finding in findings:
        if finding.evidence is None:
            continue
        refs = refs_of(finding.evidence)
        content = evidence_hash(refs)
        hash_of[id(finding)] = content
        if content not in known:
            sets.setdefault(content, refs)
    stored = store_evidence(conn, scope, sets) if sets else {}
    return {key: known[content] if content in known else stored[content] for key, content in hash_of.items()}


def check_result_from_row(row: Any) -> CheckResult:
    """A stored `check_result` row as the engine's `CheckResult` (read back, or copied by reuse)."""
    return CheckResult(
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
        code=row.code_fingerprint or "",
    )


def finding_columns(*, evidence: bool = True) -> tuple[Any, ...]:
    """The `finding` columns `StoredFindings.record` reads, times, dates and evidence as text (the
    evidence joined by the caller; without it, `refs` is NULL)."""
    plain = [
        c for c in FINDING.c if c.name not in ("first_seen", "waiver_expires", "scope", "valid_to_snapshot")
    ]
    refs = sa.cast(EVIDENCE.c.refs, sa.Text) if evidence else sa.null()
    return (
        *plain,
        sa.cast(FINDING.c.first_seen, sa.Text).label("first_seen"),
        sa.cast(FINDING.c.waiver_expires, sa.Text).label("waiver_expires"),
        refs.label("refs"),
    )


def findings_held_at(scope: str, snapshot_id: int, *, evidence: bool = True) -> Any:
    """The query for the findings `snapshot_id` holds (`finding_columns`, `new` as seen from it)."""
    columns = [c if c.name != "new" else new_at(snapshot_id) for c in finding_columns(evidence=evidence)]
    query = sa.select(*columns)
    if evidence:
        query = query.select_from(FINDING.outerjoin(EVIDENCE, FINDING.c.evidence_id == EVIDENCE.c.id))
    return query.where(*held_at(scope, snapshot_id))


class StoredFindings:
    """Stored finding rows (`finding_columns`) as `FindingRecord`s, each distinct time, date and
    evidence set decoded once across the rows read together.

    Tens of thousands of findings share a few first-seen times and, for most checks, a few
    evidence sets: decoding them per row through the column types was most of the cost of reading
    a snapshot's findings. Findings sharing an evidence set share its (immutable) tuple, and every
    object in it is one `ObjectRef`.
    """

    def __init__(self) -> None:
        self._moments: dict[str, datetime] = {}
        self._days: dict[str, date] = {}
        self._refs: dict[str, tuple[ObjectRef, ...] | None] = {}
        self._objects: dict[tuple[str, str, str], ObjectRef] = {}

    def record(self, row: Any, *, new: bool = False, first_seen: datetime | None = None) -> FindingRecord:
        """The finding of `row`; `first_seen` stands in for a row without one."""
        return FindingRecord(
            check=row.check_id,
            status=_STATUSES[row.status] if row.status in _STATUSES else Status(row.status),
            severity=_SEVERITIES[row.severity] if row.severity in _SEVERITIES else Severity(row.severity),
            subject=row.subject,
            message=row.message,
            first_seen=stored_moment(row.first_seen, self._moments) or first_seen,
            new=new,
            waiver_reason=row.waiver_reason,
            waiver_expires=stored_day(row.waiver_expires, self._days),
            evidence=self._evidence(row.refs) if row.evidence_id is not None else None,
        )

    def _evidence(self, text: str | None) -> tuple[ObjectRef, ...] | None:
        if text is None:  # evidence not read (`finding_columns(evidence=False)`)
            return None
        refs = self._refs.get(text)
        if refs is None and text not in self._refs:
            refs = self._refs[text] = evidence_refs(jsontext.loads(text), self._objects)
        return refs


_STATUSES = {status.value: status for status in Status}
_SEVERITIES = {severity.value: severity for severity in Severity}
