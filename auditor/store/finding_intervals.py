"""Findings stored as intervals: a pass writes only the findings that changed.

A forest with tens of thousands of failing findings (every recipient without an address policy,
say) used to store every one of them again on every pass: 33,000 rows written, sealed into the
chain and read back per pass, and the store grew by 13 MB a pass though nothing had changed.
Findings now live as objects do (`store.objects`): a row holds one finding, unchanged, from the
snapshot it opened at (`snapshot_id`) up to, not including, `valid_to_snapshot` (NULL: still held).

Rules that keep every snapshot's findings what a pass computed:

* A pass's findings are compared with the scope's open rows. A finding equal to an open row in
  every stored column (message, first seen, evidence, waiver, ...) and not new keeps that row; an
  open row no finding kept is closed at the pass; every other finding opens a row. So a row never
  spans a change, and `new` is true only where a streak starts: at a row's first snapshot.
* The open rows may come from a pass that saved its results and then failed (never published).
  That is harmless: a row it opened is kept only when the new pass computed the very same finding,
  with the same first-seen time, which the streak rule (`FindingsMixin.annotate_findings`) judges
  from the previous *complete* snapshot; the failed pass's own view stays readable.
* A snapshot's results are saved again only while no later snapshot built on them: its own opens
  are deleted and its closes reopened first, anything later refuses.
* Rows stored before intervals (revision 0006) hold at their own snapshot only
  (`valid_to_snapshot == snapshot_id`) and are never open.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from auditor.errors import StoreError
from auditor.store.engine import CHUNK, stored_day, stored_moment
from auditor.tables import EVIDENCE, FINDING

__all__ = [
    "FINGERPRINT_AT",
    "FIRST_SEEN_AT",
    "FindingKey",
    "OpenRows",
    "Written",
    "counts_held",
    "held_at",
    "key_fields",
    "later_events",
    "new_at",
    "open_rows_are",
    "open_rows_for",
    "read_open_rows",
    "span",
    "write_findings",
]

_KEY_COLUMNS = (
    "check_id",
    "subject",
    "fingerprint",
    "status",
    "severity",
    "message",
    "first_seen",
    "waiver_reason",
    "waiver_expires",
    "evidence_id",
)
"""What makes two findings the same row: every stored column but the interval and `new`."""

FindingKey = tuple[Any, ...]
FINGERPRINT_AT = _KEY_COLUMNS.index("fingerprint")
FIRST_SEEN_AT = _KEY_COLUMNS.index("first_seen")
_EXPIRES = _KEY_COLUMNS.index("waiver_expires")


def key_fields(key: FindingKey) -> dict[str, Any]:
    """A row key (`_KEY_COLUMNS`, as `write_findings` compares them) by column name."""
    return dict(zip(_KEY_COLUMNS, key, strict=True))


def held_at(scope: str, snapshot_id: int) -> tuple[Any, ...]:
    """The conditions on a finding row that holds at `snapshot_id` of `scope`.

    Three index searches (opened here; opened before and still open; opened before and closed
    after), not one condition: as one, SQLite scans every row opened before the snapshot, and a
    store upgraded from one row per finding per snapshot holds millions of those.
    """
    to = FINDING.c.valid_to_snapshot
    opened = FINDING.c.snapshot_id
    held = sa.union_all(
        # Opened here (a row from before intervals holds here only).
        sa.select(FINDING.c.id).where(FINDING.c.scope == scope, opened == snapshot_id),
        sa.select(FINDING.c.id).where(FINDING.c.scope == scope, to.is_(None), opened < snapshot_id),
        sa.select(FINDING.c.id).where(FINDING.c.scope == scope, to > snapshot_id, opened < snapshot_id),
    )
    return (FINDING.c.id.in_(held),)


def counts_held(
    conn: Connection, scope: str, snapshot_ids: Sequence[int], statuses: Iterable[str]
) -> dict[int, Counter[str]]:
    """snapshot id -> findings held in one of `statuses`, counted by severity, for each of the
    (checked) `snapshot_ids`.

    Not a join of snapshots to rows held at each (every snapshot would scan every row opened before
    it: a store upgraded from per-snapshot rows holds millions): rows are grouped by interval and
    severity in SQL, and each group is added over the snapshots its interval spans in one sweep.
    """
    ids = sorted(snapshot_ids)
    changes: list[Counter[str]] = [Counter() for _ in range(len(ids) + 1)]
    groups = conn.execute(
        sa.select(FINDING.c.snapshot_id, FINDING.c.valid_to_snapshot, FINDING.c.severity, sa.func.count())
        .where(FINDING.c.scope == scope, FINDING.c.status.in_(list(statuses)))
        .group_by(FINDING.c.snapshot_id, FINDING.c.valid_to_snapshot, FINDING.c.severity)
    )
    for opened, closed, severity, count in groups:
        first, last = span(ids, opened, closed)
        if first < last:
            changes[first][severity] += count
            changes[last][severity] -= count
    held: dict[int, Counter[str]] = {}
    running: Counter[str] = Counter()
    for index, snapshot_id in enumerate(ids):
        running.update(changes[index])
        held[snapshot_id] = +running
    return held


def span(snapshot_ids: Sequence[int], opened: int, closed: int | None) -> tuple[int, int]:
    """The slice of `snapshot_ids` (ascending) a row opened at `opened` and closed at `closed`
    holds at; a row from before intervals (`closed == opened`) holds at its own snapshot only."""
    if closed == opened:
        closed = opened + 1
    first = bisect_left(snapshot_ids, opened)
    return first, len(snapshot_ids) if closed is None else bisect_left(snapshot_ids, closed)


def new_at(snapshot_id: int) -> Any:
    """The row's `new` as seen from `snapshot_id`: a streak is new only where its row opened."""
    return sa.and_(FINDING.c.new, FINDING.c.snapshot_id == snapshot_id).label("new")


def later_events(conn: Connection, scope: str, snapshot_id: int) -> bool:
    """Whether a finding row of the scope opened, or was closed, after `snapshot_id`."""
    to = FINDING.c.valid_to_snapshot
    for condition in (
        FINDING.c.snapshot_id > snapshot_id,
        # `to == snapshot_id` (opened and closed at once) only on rows from before intervals.
        sa.and_(to > snapshot_id, to != FINDING.c.snapshot_id),
    ):
        found = conn.execute(
            sa.select(FINDING.c.id).where(FINDING.c.scope == scope, condition).limit(1)
        ).first()
        if found is not None:
            return True
    return False


def open_rows_are(conn: Connection, scope: str, snapshot_id: int) -> bool:
    """Whether the scope's open rows are exactly the findings `snapshot_id` holds: nothing opened or
    closed after it, and it holds no row from before intervals (those are never open)."""
    if later_events(conn, scope, snapshot_id):
        return False
    legacy = conn.execute(
        sa.select(FINDING.c.id)
        .where(
            FINDING.c.scope == scope,
            FINDING.c.snapshot_id == snapshot_id,
            FINDING.c.valid_to_snapshot == snapshot_id,
        )
        .limit(1)
    ).first()
    return legacy is None


@dataclass(frozen=True, slots=True)
class Written:
    """What `write_findings` did to the scope's open rows: the findings (by position) that kept an
    open row, and the key of every open row it closed. Together they are the open rows it found."""

    kept: tuple[int, ...]
    closed: tuple[FindingKey, ...]


@dataclass(frozen=True, slots=True)
class OpenRows:
    """The scope's open rows as a save of `snapshot_id` compares its findings with them: key ->
    row ids (several only for duplicate findings), and the content hash -> id of every evidence
    set they name (`store.evidence`), so that a save looks up only the sets no open row names."""

    snapshot_id: int
    ids: dict[FindingKey, list[int]]
    evidence: dict[str, int]


def open_rows_for(conn: Connection, scope: str, snapshot_id: int) -> OpenRows | None:
    """The open rows a save of `snapshot_id`'s findings starts from, after taking back what an
    earlier save of them wrote; None when later snapshots build on them (`write_findings`)."""
    if later_events(conn, scope, snapshot_id):
        return None
    _undo(conn, scope, snapshot_id)
    return read_open_rows(conn, scope, snapshot_id)


def read_open_rows(conn: Connection, scope: str, snapshot_id: int) -> OpenRows:
    """The scope's open rows as they are, for a save of `snapshot_id` that has nothing to take
    back (`open_rows_for` takes it back first)."""
    ids: dict[FindingKey, list[int]] = {}
    evidence: dict[str, int] = {}
    open_row = sa.and_(FINDING.c.scope == scope, FINDING.c.valid_to_snapshot.is_(None))
    for row_id, key, _new in _keyed(conn, open_row):
        ids.setdefault(key, []).append(row_id)
    named = conn.execute(
        sa.select(EVIDENCE.c.content_hash, EVIDENCE.c.id).where(
            EVIDENCE.c.id.in_(sa.select(FINDING.c.evidence_id).where(open_row).distinct())
        )
    )
    evidence.update((content_hash, evidence_id) for content_hash, evidence_id in named)
    return OpenRows(snapshot_id, ids, evidence)


def write_findings(
    conn: Connection,
    scope: str,
    snapshot_id: int,
    findings: Sequence[Mapping[str, Any]],
    open_rows: OpenRows | None = None,
) -> Written | None:
    """Make `findings` (each a mapping of the `_KEY_COLUMNS` and `new`) what `snapshot_id` holds,
    opening and closing only the rows that differ from the scope's open rows (module docstring).
    `open_rows`: what `open_rows_for` gave in the same transaction (read here otherwise).

    Once later snapshots' findings build on this one's, its findings can no longer change: saving
    the very findings it holds (with other check results, say) is allowed and writes no row (and
    returns None: it compared nothing with the open rows).
    """
    if open_rows is None:
        open_rows = open_rows_for(conn, scope, snapshot_id)
    if open_rows is None:
        if _held(conn, scope, snapshot_id) == Counter((_key(f), bool(f["new"])) for f in findings):
            return None
        raise StoreError(
            f"snapshot {snapshot_id}'s findings cannot change: later snapshots' findings build on them"
        )
    if open_rows.snapshot_id != snapshot_id:
        raise ValueError(f"open rows read for snapshot {open_rows.snapshot_id}, not {snapshot_id}")
    kept = {key: list(ids) for key, ids in open_rows.ids.items()}
    opening: list[dict[str, Any]] = []
    kept_at: list[int] = []
    for position, finding in enumerate(findings):
        if not finding["new"]:
            ids = kept.get(_key(finding))
            if ids:
                ids.pop()
                kept_at.append(position)
                continue
        row = dict(finding)
        row.update(scope=scope, snapshot_id=snapshot_id, valid_to_snapshot=None)
        opening.append(row)
    closing = sorted(row_id for ids in kept.values() for row_id in ids)
    for start in range(0, len(closing), CHUNK):
        conn.execute(
            sa.update(FINDING)
            .where(FINDING.c.id.in_(closing[start : start + CHUNK]))
            .values(valid_to_snapshot=snapshot_id)
        )
    for start in range(0, len(opening), CHUNK):
        conn.execute(sa.insert(FINDING), opening[start : start + CHUNK])
    return Written(tuple(kept_at), tuple(key for key, ids in kept.items() for _ in ids))


def _undo(conn: Connection, scope: str, snapshot_id: int) -> None:
    """Take back what an earlier save of this snapshot's results opened and closed (nothing after
    it built on them: `write_findings` asked)."""
    conn.execute(sa.delete(FINDING).where(FINDING.c.scope == scope, FINDING.c.snapshot_id == snapshot_id))
    conn.execute(
        sa.update(FINDING)
        .where(
            FINDING.c.scope == scope,
            FINDING.c.valid_to_snapshot == snapshot_id,
            FINDING.c.snapshot_id < snapshot_id,
        )
        .values(valid_to_snapshot=None)
    )


def _held(conn: Connection, scope: str, snapshot_id: int) -> Counter[tuple[FindingKey, bool]]:
    """What `snapshot_id` holds: each finding's key and `new`, counted."""
    return Counter(
        (key, new) for _id, key, new in _keyed(conn, *held_at(scope, snapshot_id), new_at(snapshot_id))
    )


def _keyed(conn: Connection, *conditions: Any) -> Iterator[tuple[int, FindingKey, bool]]:
    """(row id, key, `new`) of the rows meeting `conditions`; a labelled `new` among them replaces
    the stored flag (`new_at`). Times and dates are read as text and decoded once each."""
    new = next((c for c in conditions if isinstance(c, sa.Label)), FINDING.c.new)
    where = [c for c in conditions if not isinstance(c, sa.Label)]
    columns = [
        sa.cast(FINDING.c[name], sa.Text).label(name)
        if name in ("first_seen", "waiver_expires")
        else FINDING.c[name]
        for name in _KEY_COLUMNS
    ]
    moments: dict[str, datetime] = {}
    days: dict[str, date] = {}
    rows = conn.execute(sa.select(FINDING.c.id, new, *columns).where(*where).order_by(FINDING.c.id))
    for row_id, is_new, *values in rows:
        values[FIRST_SEEN_AT] = stored_moment(values[FIRST_SEEN_AT], moments)
        values[_EXPIRES] = stored_day(values[_EXPIRES], days)
        yield row_id, tuple(values), bool(is_new)


def _key(finding: Mapping[str, Any]) -> FindingKey:
    return tuple(finding[name] for name in _KEY_COLUMNS)
