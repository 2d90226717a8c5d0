"""Tamper evidence: a hash chain over the complete snapshots of a scope (`auditor verify`).

Each link seals one checked complete snapshot onto the link before it::

    digest = sha256(previous digest || its format, "auditor.chain/2" || the part digests of its segment)

The first link is chained to `genesis(scope)`, a digest of the store's scope. A link's *segment* is
its snapshot plus any complete snapshots since the previous link that were never checked (a pass
that stopped after collecting): normally just the one snapshot. The canonical bytes of a segment
are five parts, each a sha256 over canonical JSON lines (every line names its snapshot):

* `snapshots`: each snapshot row (id, time, completeness, object count, organization, error) and
  its sources;
* `objects`: the object intervals that open or close, with the content hash of the version they
  hold: in `auditor.chain/2` every one since the previous link, whatever snapshot it opened at
  (a pass that failed after saving its objects opens intervals the next pass holds); in
  `auditor.chain/1` those at each snapshot of the segment. A snapshot's objects are its
  predecessor's plus these changes, so by induction the chain commits to every snapshot's
  complete object set while each link costs only what changed (the first link commits to every
  object). `auditor verify` recomputes each version's hash from its stored content, so an edited
  `object_version` row breaks the first link whose segment uses it;
* `results`: every stored check result of the segment;
* `findings`: in the link's format (`FORMATS`). Links sealed since findings became intervals
  (`auditor.chain/2`, `store.finding_intervals`) hold the finding rows that opened or closed since
  the previous link, each with everything it holds, its evidence included (the objects its verdict
  depends on, which the drift report's causes rest on): by induction that commits to every
  checked snapshot's findings, as the objects part does for objects, while a pass whose findings
  did not change seals none. Older links (`auditor.chain/1`) list every finding of each snapshot;
* `origins`: the attribution rows (who changed what is worth protecting too): of the segment's
  snapshots in `auditor.chain/1`, of every snapshot since the previous link in `auditor.chain/2`.

Columns added after the chain was first defined (a finding's evidence, a snapshot's auditor
version and config fingerprint, a result's code fingerprint) join their row's line only when they
hold something: links sealed before those columns existed keep their canonical bytes, so an older
store's chain verifies unchanged after the upgrade, while every value stored since is covered.
(An empty evidence set and one never recorded read alike in the chain; both mean "no object to
join a change to".) The upgrade that creates the chain (revision 0002) runs before those columns
exist and reads the rows as they were then (`legacy=True`).

Links are written by `seal()` in the same transaction as the snapshot's results. A chain cannot
show that its newest links were cut off: the latest digest therefore also leaves the store (the
weekly e-mail, a telemetry attribute of each pass), and `verify(expect=...)` checks that a digest
seen earlier is still in the chain.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from itertools import chain as flattened
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from auditor import jsontext
from auditor.records import ObjectRecord
from auditor.results import isoformat
from auditor.store.engine import stored_day, stored_moment
from auditor.tables import (
    CHAIN_LINK,
    CHECK_RESULT,
    EVIDENCE,
    FINDING,
    OBJECT_INTERVAL,
    OBJECT_ORIGIN,
    OBJECT_VERSION,
    SNAPSHOT,
    SNAPSHOT_SOURCE,
)

__all__ = [
    "CHAIN_VERSION",
    "CHAIN_VERSION_2",
    "FORMATS",
    "PARTS",
    "ChainBreak",
    "ChainHead",
    "Verification",
    "genesis",
    "link_digest",
    "seal",
    "seal_existing",
    "verify_chain",
]

CHAIN_VERSION = "auditor.chain/1"
CHAIN_VERSION_2 = "auditor.chain/2"
FORMATS = (CHAIN_VERSION, CHAIN_VERSION_2)
"""How a link's findings part reads. `auditor.chain/1`: every finding each snapshot of the segment
holds (what a store kept before findings became intervals). `auditor.chain/2`: the finding rows
that opened or closed since the previous link (`store.finding_intervals`), as the objects part
commits to object intervals: a link then costs what changed, not every failing finding again.
A link stores its format (NULL: the first); the format's name is hashed into its digest."""
PARTS = ("snapshots", "objects", "results", "findings", "origins")
_PART_NOUNS = {
    "snapshots": "the snapshot rows or their sources",
    "objects": "the objects",
    "results": "the check results",
    "findings": "the findings",
    "origins": "the change origins",
}

VersionHash = Callable[[int, str], str]
"""(version id, stored content hash) -> the hash to chain: the stored one when sealing, a
recomputed one when verifying."""


def genesis(scope: str) -> str:
    """The digest the first link of a scope is chained to."""
    return hashlib.sha256(f"{CHAIN_VERSION}\x00scope\x00{scope}".encode()).hexdigest()


def link_digest(previous: str, parts: Mapping[str, str], chain_format: str = CHAIN_VERSION) -> str:
    digest = hashlib.sha256(bytes.fromhex(previous))
    digest.update(chain_format.encode())
    for name in PARTS:
        digest.update(bytes.fromhex(parts[name]))
    return digest.hexdigest()


class _Part:
    """An incremental sha256 over canonical JSON lines, with a line count."""

    def __init__(self) -> None:
        self.digest = hashlib.sha256()
        self.count = 0

    def add(self, *values: Any) -> None:
        self.digest.update(_LINE.encode(values).encode("utf-8") + b"\n")
        self.count += 1

    def add_floatless(self, *values: Any) -> None:
        """`add`, for a line known to hold no float, through orjson: the same bytes (see
        `floatless_line`), at a fraction of the cost for the thousands of finding lines a seal writes."""
        self.digest.update(floatless_line(values) + b"\n")
        self.count += 1


def _plain(value: object) -> object:
    if isinstance(value, datetime):
        return isoformat(value.astimezone(UTC))
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"cannot put {type(value).__name__} in the chain")


def floatless_line(values: Sequence[Any]) -> bytes:
    """A chain line's bytes for values without floats: strings, integers, booleans, None, datetimes,
    dates, and lists, tuples and string-keyed dicts of those.

    For these orjson writes what `_LINE` writes (auditor.jsontext: every code point the same;
    keys sorted, both by code point; datetimes through `_plain` either way); only floats are
    written differently (1e16 against 1e+16), hence the name. What orjson refuses (a lone
    surrogate, an integer beyond 64 bits) is written by `_LINE`. tests/store/test_chain_lines.py
    holds the two to the same bytes.
    """
    try:
        return orjson.dumps(values, default=_plain, option=_FLOATLESS)
    except TypeError:
        return _LINE.encode(values).encode("utf-8")


_FLOATLESS = orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_DATETIME


_LINE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True, default=_plain)
"""A chain line's canonical JSON: what `json.dumps` with these options writes, without building an
encoder per line (a seal writes one line per finding). Not orjson: lines may hold floats, whose
text differs between the two, and the chain's digests must not change."""


_SNAPSHOT_COLUMNS = (
    SNAPSHOT.c.id,
    SNAPSHOT.c.scope,
    SNAPSHOT.c.taken_at,
    SNAPSHOT.c.complete,
    SNAPSHOT.c.objects,
    SNAPSHOT.c.organization,
    SNAPSHOT.c.error,
)
_RESULT_COLUMNS = (
    CHECK_RESULT.c.check_id,
    CHECK_RESULT.c.title,
    CHECK_RESULT.c.principles,
    CHECK_RESULT.c.status,
    CHECK_RESULT.c.severity,
    CHECK_RESULT.c.failed,
    CHECK_RESULT.c.passed,
    CHECK_RESULT.c.waived,
    CHECK_RESULT.c.errors,
    CHECK_RESULT.c.message,
)
_SOURCE_COLUMNS = (
    SNAPSHOT_SOURCE.c.id,
    SNAPSHOT_SOURCE.c.position,
    SNAPSHOT_SOURCE.c.name,
    SNAPSHOT_SOURCE.c.kind,
    SNAPSHOT_SOURCE.c.complete,
    SNAPSHOT_SOURCE.c.objects,
    SNAPSHOT_SOURCE.c.duration_seconds,
    SNAPSHOT_SOURCE.c.error,
    SNAPSHOT_SOURCE.c.coverage,
)


def _recorded(line: list[Any], **later: Any) -> list[Any]:
    """A line with the columns added later appended, only those that hold something."""
    present = {name: value for name, value in later.items() if value not in (None, "", [], {})}
    return [*line, present] if present else line


def _segment(
    conn: Connection,
    snapshot_ids: Sequence[int],
    version_hash: VersionHash,
    *,
    legacy: bool = False,
    chain_format: str = CHAIN_VERSION,
    scope: str = "",
    after: int = -1,
    base: int = -1,
) -> tuple[dict[str, str], dict[str, int]]:
    """(part -> digest, part -> line count) of these snapshots, in id order.

    `legacy`: the store predates the columns added after the chain (revisions 0003-0005); read
    only the columns it has. In `auditor.chain/2` the objects, findings and origins parts cover
    what of `scope` opened, closed or was recorded after snapshot `after` up to the last of
    `snapshot_ids`, at any snapshot in between, a pass that failed included (a later pass may hold
    what it stored); `base` is the last link sealed in the first format (see `_finding_events`).
    """
    parts = {name: _Part() for name in PARTS}
    snapshot_columns = (
        _SNAPSHOT_COLUMNS
        if legacy
        else (
            *_SNAPSHOT_COLUMNS,
            SNAPSHOT.c.auditor_version,
            SNAPSHOT.c.config_fingerprint,
            SNAPSHOT.c.results_key,
            SNAPSHOT.c.results_from,
        )
    )
    result_columns = _RESULT_COLUMNS if legacy else (*_RESULT_COLUMNS, CHECK_RESULT.c.code_fingerprint)
    source_columns = (
        _SOURCE_COLUMNS
        if legacy
        else (
            *_SOURCE_COLUMNS,
            SNAPSHOT_SOURCE.c.exported_at,
            SNAPSHOT_SOURCE.c.stale,
            SNAPSHOT_SOURCE.c.mode,
            SNAPSHOT_SOURCE.c.changes_read,
            SNAPSHOT_SOURCE.c.sync_state,
        )
    )
    for snapshot_id in snapshot_ids:
        row = conn.execute(sa.select(*snapshot_columns).where(SNAPSHOT.c.id == snapshot_id)).one()
        line = [
            "snapshot",
            row.id,
            row.scope,
            row.taken_at,
            row.complete,
            row.objects,
            row.organization,
            row.error,
        ]
        if not legacy:
            line = _recorded(
                line,
                auditor_version=row.auditor_version,
                config=row.config_fingerprint,
                results_key=row.results_key,
                results_from=row.results_from,
            )
        parts["snapshots"].add(*line)
        for source in conn.execute(
            sa.select(*source_columns)
            .where(SNAPSHOT_SOURCE.c.snapshot_id == snapshot_id)
            .order_by(SNAPSHOT_SOURCE.c.position, SNAPSHOT_SOURCE.c.id)
        ):
            source_line = [
                "source",
                snapshot_id,
                source.position,
                source.name,
                source.kind,
                source.complete,
                source.objects,
                source.duration_seconds,
                source.error,
                sorted(source.coverage),
            ]
            if not legacy:
                source_line = _recorded(
                    source_line,
                    exported_at=source.exported_at,
                    stale=source.stale,
                    mode=source.mode,
                    changes_read=source.changes_read,
                    sync_state=source.sync_state,
                )
            parts["snapshots"].add(*source_line)
        if chain_format == CHAIN_VERSION:
            _objects(conn, parts["objects"], snapshot_id, version_hash)
        for result in conn.execute(
            sa.select(*result_columns)
            .where(CHECK_RESULT.c.snapshot_id == snapshot_id)
            .order_by(CHECK_RESULT.c.check_id, CHECK_RESULT.c.id)
        ):
            line = [
                snapshot_id,
                result.check_id,
                result.title,
                list(result.principles),
                result.status,
                result.severity,
                result.failed,
                result.passed,
                result.waived,
                result.errors,
                result.message,
            ]
            if not legacy:
                line = _recorded(line, code=result.code_fingerprint)
            parts["results"].add(*line)
        if chain_format == CHAIN_VERSION:
            _findings(conn, parts["findings"], snapshot_id, legacy=legacy)
        if chain_format == CHAIN_VERSION:
            _origins(conn, parts["origins"], OBJECT_ORIGIN.c.snapshot_id == snapshot_id)
    if chain_format == CHAIN_VERSION_2 and snapshot_ids:
        until = snapshot_ids[-1]
        _object_events(conn, parts["objects"], scope, after, until, version_hash)
        _finding_events(conn, parts["findings"], scope, after, until, base)
        _origins(
            conn,
            parts["origins"],
            OBJECT_ORIGIN.c.scope == scope,
            OBJECT_ORIGIN.c.snapshot_id > after,
            OBJECT_ORIGIN.c.snapshot_id <= until,
        )
    return (
        {name: part.digest.hexdigest() for name, part in parts.items()},
        {name: part.count for name, part in parts.items()},
    )


def _findings(conn: Connection, part: _Part, snapshot_id: int, *, legacy: bool) -> None:
    # The times, dates and evidence come as text (cast in SQL) and are decoded here, each distinct
    # time once: the column types' own processing, row by row, was most of a seal's time for
    # 30,000 findings, which share a handful of first-seen times. The values are the ones the
    # types give (tests/store/test_chain_lines.py compares both readings).
    query = _finding_query(legacy=legacy)
    rows = conn.execute(
        query.where(FINDING.c.snapshot_id == snapshot_id).order_by(
            FINDING.c.check_id, FINDING.c.subject, FINDING.c.fingerprint, FINDING.c.id
        )
    )
    lines = _FindingLines(part, legacy=legacy)
    for row in rows:
        lines.add([snapshot_id], row)


def _finding_query(*, legacy: bool) -> Any:
    """The finding columns a chain line holds, times, dates and evidence as text (see `_findings`)."""
    columns = (
        FINDING.c.check_id,
        FINDING.c.subject,
        FINDING.c.fingerprint,
        FINDING.c.status,
        FINDING.c.severity,
        FINDING.c.message,
        sa.cast(FINDING.c.first_seen, sa.Text).label("first_seen"),
        FINDING.c.new,
        FINDING.c.waiver_reason,
        sa.cast(FINDING.c.waiver_expires, sa.Text).label("waiver_expires"),
    )
    if legacy:
        return sa.select(*columns, sa.null().label("refs")).select_from(FINDING)
    return sa.select(*columns, sa.cast(EVIDENCE.c.refs, sa.Text).label("refs")).select_from(
        FINDING.outerjoin(EVIDENCE, FINDING.c.evidence_id == EVIDENCE.c.id)
    )


class _FindingLines:
    """Finding rows (`_finding_query`) as chain lines after a given head, each distinct time and
    date decoded once."""

    def __init__(self, part: _Part, *, legacy: bool) -> None:
        self._part = part
        self._legacy = legacy
        self._moments: dict[str, datetime] = {}
        self._days: dict[str, date] = {}

    def add(self, head: list[Any], row: Any) -> None:
        # By position: a Row's attribute lookups cost a third of a seal's time.
        first_seen, new, reason, expires, refs_text = row[6:11]
        line = [
            *head,
            *row[:6],  # check, subject, fingerprint, status, severity, message
            stored_moment(first_seen, self._moments),
            new,
            reason,
            stored_day(expires, self._days),
        ]
        refs = jsontext.loads(refs_text) if refs_text is not None else None
        if not self._legacy:
            line = _recorded(line, evidence=refs)
        if self._legacy or _strings_only(refs):
            self._part.add_floatless(*line)  # every other column is typed: text, integers, flags, dates
        else:  # evidence that is not lists of strings (only a hand-edited store has that)
            self._part.add(*line)


def _finding_events(conn: Connection, part: _Part, scope: str, after: int, until: int, base: int) -> None:
    """`auditor.chain/2`'s findings part: each row of `scope` opened in (after, until], then each
    closed in it, with everything the row holds. By induction from the first such link (before
    which no row is open: rows from before intervals never are), the chain commits to the
    findings of every checked snapshot while a link costs only the rows that changed."""
    query = _finding_query(legacy=False).add_columns(FINDING.c.snapshot_id, FINDING.c.valid_to_snapshot)
    lines = _FindingLines(part, legacy=False)
    opened = conn.execute(
        query.where(
            FINDING.c.scope == scope, FINDING.c.snapshot_id > after, FINDING.c.snapshot_id <= until
        ).order_by(
            FINDING.c.snapshot_id, FINDING.c.check_id, FINDING.c.subject, FINDING.c.fingerprint, FINDING.c.id
        )
    )
    for row in opened:
        lines.add(["open", row.snapshot_id], row)
    to = FINDING.c.valid_to_snapshot
    closed = conn.execute(
        query.where(FINDING.c.scope == scope, to > after, to <= until, to != FINDING.c.snapshot_id).order_by(
            to,
            FINDING.c.snapshot_id,
            FINDING.c.check_id,
            FINDING.c.subject,
            FINDING.c.fingerprint,
            FINDING.c.id,
        )
    )
    for row in closed:
        lines.add(["close", row.valid_to_snapshot, row.snapshot_id], row)
    # The induction's base: before the first link in this format no row is open (rows from before
    # intervals never are). A row that starts at or before the last link of the first format and is
    # held in this range was never sealed: none in a store auditor wrote; a row slipped in is listed.
    unsealed = conn.execute(
        query.where(
            FINDING.c.scope == scope,
            FINDING.c.snapshot_id <= base,
            sa.or_(to.is_(None), sa.and_(to > after, to != FINDING.c.snapshot_id)),
        ).order_by(
            FINDING.c.snapshot_id, FINDING.c.check_id, FINDING.c.subject, FINDING.c.fingerprint, FINDING.c.id
        )
    )
    for row in unsealed:
        lines.add(["held", row.snapshot_id, row.valid_to_snapshot], row)


def _strings_only(refs: Any) -> bool:
    """Whether stored evidence is what auditor writes: None, or lists of strings."""
    if refs is None:
        return True
    # Types gathered at C speed: a seal asks this of every finding.
    return (
        type(refs) is list
        and set(map(type, refs)) <= {list}
        and set(map(type, flattened.from_iterable(refs))) <= {str}
    )


def _objects(conn: Connection, part: _Part, snapshot_id: int, version_hash: VersionHash) -> None:
    """`auditor.chain/1`'s objects part of one snapshot: the intervals that open or close at it."""
    _interval_events(conn, part, version_hash, lambda column: [column == snapshot_id])


def _object_events(
    conn: Connection, part: _Part, scope: str, after: int, until: int, version_hash: VersionHash
) -> None:
    """`auditor.chain/2`'s objects part: each interval of `scope` opened in (after, until], then
    each closed in it, with the content hash of its version. By snapshot id range, not by the
    segment's snapshots: an interval a failed pass opened is held by the next pass that read the
    same object, and is sealed with it."""
    _interval_events(
        conn,
        part,
        version_hash,
        lambda column: [OBJECT_INTERVAL.c.scope == scope, column > after, column <= until],
    )


def _interval_events(
    conn: Connection, part: _Part, version_hash: VersionHash, where: Callable[[Any], list[Any]]
) -> None:
    """A line per interval opening, then per interval closing, where `where(column)` holds of the
    interval's start or end column: the snapshot it happened at, scope, key, version hash."""
    columns = (
        OBJECT_INTERVAL.c.scope,
        OBJECT_INTERVAL.c.key,
        OBJECT_INTERVAL.c.version_id,
        OBJECT_VERSION.c.content_hash,
    )
    joined = OBJECT_INTERVAL.join(OBJECT_VERSION, OBJECT_INTERVAL.c.version_id == OBJECT_VERSION.c.id)
    for event, column in (
        ("open", OBJECT_INTERVAL.c.valid_from_snapshot),
        ("close", OBJECT_INTERVAL.c.valid_to_snapshot),
    ):
        rows = conn.execute(
            sa.select(column.label("at"), *columns)
            .select_from(joined)
            .where(*where(column))
            .order_by(column, OBJECT_INTERVAL.c.key, OBJECT_INTERVAL.c.id)
        )
        for row in rows:
            part.add(event, row.at, row.scope, row.key, version_hash(row.version_id, row.content_hash))


def _origins(conn: Connection, part: _Part, *conditions: Any) -> None:
    for origin in conn.execute(
        sa.select(OBJECT_ORIGIN)
        .where(*conditions)
        .order_by(OBJECT_ORIGIN.c.snapshot_id, OBJECT_ORIGIN.c.key, OBJECT_ORIGIN.c.event, OBJECT_ORIGIN.c.id)
    ):
        part.add(origin.snapshot_id, origin.scope, origin.key, origin.event, origin.origins)


def _stored_hash(_version_id: int, content_hash: str) -> str:
    return content_hash


def _complete_ids(conn: Connection, scope: str) -> list[int]:
    return list(
        conn.execute(
            sa.select(SNAPSHOT.c.id)
            .where(SNAPSHOT.c.scope == scope, SNAPSHOT.c.complete.is_(True))
            .order_by(SNAPSHOT.c.id)
        ).scalars()
    )


def seal(
    conn: Connection, scope: str, snapshot_id: int, *, legacy: bool = False, chain_format: str | None = None
) -> str | None:
    """Write (or rewrite) the link of a complete snapshot; returns its digest (None if incomplete).

    Rewriting a link that later links build on breaks those later links: results are meant to be
    saved once, at the end of the pass that collected the snapshot. `legacy`: see `_segment`; a
    legacy store is sealed in the first format, any other in the newest unless `chain_format` says.
    """
    chain_format = chain_format or (CHAIN_VERSION if legacy else CHAIN_VERSION_2)
    row = conn.execute(
        sa.select(SNAPSHOT.c.complete).where(SNAPSHOT.c.id == snapshot_id, SNAPSHOT.c.scope == scope)
    ).first()
    if row is None or not row.complete:
        return None
    previous = conn.execute(
        sa.select(CHAIN_LINK.c.snapshot_id, CHAIN_LINK.c.digest)
        .where(CHAIN_LINK.c.scope == scope, CHAIN_LINK.c.snapshot_id < snapshot_id)
        .order_by(CHAIN_LINK.c.snapshot_id.desc())
        .limit(1)
    ).first()
    after = previous.snapshot_id if previous else -1
    segment = [i for i in _complete_ids(conn, scope) if after < i <= snapshot_id]
    parts, counts = _segment(
        conn,
        segment,
        _stored_hash,
        legacy=legacy,
        chain_format=chain_format,
        scope=scope,
        after=after,
        base=_first_format_base(conn, scope, snapshot_id) if chain_format == CHAIN_VERSION_2 else -1,
    )
    digest = link_digest(previous.digest if previous else genesis(scope), parts, chain_format)
    conn.execute(sa.delete(CHAIN_LINK).where(CHAIN_LINK.c.snapshot_id == snapshot_id))
    values: dict[str, Any] = {
        "scope": scope,
        "snapshot_id": snapshot_id,
        "previous_snapshot_id": previous.snapshot_id if previous else None,
        "digest": digest,
        "parts": parts,
        "counts": {**counts, "segment": len(segment)},
        "sealed_at": datetime.now(UTC),
    }
    if chain_format != CHAIN_VERSION:  # a store sealed in the first format may not have the column yet
        values["format"] = chain_format
    conn.execute(sa.insert(CHAIN_LINK).values(**values))
    return digest


def _first_format_base(conn: Connection, scope: str, before: int) -> int:
    """The snapshot of the scope's last link sealed in the first format before `before`, or -1."""
    found = conn.execute(
        sa.select(sa.func.max(CHAIN_LINK.c.snapshot_id)).where(
            CHAIN_LINK.c.scope == scope, CHAIN_LINK.c.format.is_(None), CHAIN_LINK.c.snapshot_id < before
        )
    ).scalar()
    return -1 if found is None else int(found)


def seal_existing(conn: Connection, *, legacy: bool = False) -> dict[str, int]:
    """Seal every checked complete snapshot not yet in a chain (the upgrade of an older store).

    Returns scope -> number of links written. `legacy`: see `_segment`.
    """
    written: dict[str, int] = {}
    scopes = conn.execute(sa.select(SNAPSHOT.c.scope).distinct().order_by(SNAPSHOT.c.scope)).scalars()
    for scope in list(scopes):
        sealed = set(
            conn.execute(sa.select(CHAIN_LINK.c.snapshot_id).where(CHAIN_LINK.c.scope == scope)).scalars()
        )
        checked = conn.execute(
            sa.select(SNAPSHOT.c.id)
            .where(SNAPSHOT.c.scope == scope, SNAPSHOT.c.complete.is_(True), SNAPSHOT.c.checked.is_(True))
            .order_by(SNAPSHOT.c.id)
        ).scalars()
        for snapshot_id in list(checked):
            if snapshot_id not in sealed:
                seal(conn, scope, snapshot_id, legacy=legacy)
                written[scope] = written.get(scope, 0) + 1
    return written


# -- verification -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChainHead:
    """The newest link: what leaves the store so that a cut-off chain can be noticed."""

    snapshot_id: int
    taken_at: datetime
    digest: str

    def to_json(self) -> dict[str, object]:
        return {"snapshot": self.snapshot_id, "taken_at": isoformat(self.taken_at), "digest": self.digest}


@dataclass(frozen=True, slots=True)
class ChainBreak:
    """The first snapshot whose stored digest does not match the history, and why."""

    snapshot_id: int
    reason: str
    differs: tuple[dict[str, object], ...] = ()

    def to_json(self) -> dict[str, object]:
        return {"snapshot": self.snapshot_id, "reason": self.reason, "differs": list(self.differs)}


@dataclass(slots=True)
class Verification:
    scope: str
    links: int = 0
    snapshots: int = 0
    head: ChainHead | None = None
    broken: ChainBreak | None = None
    unsealed: list[int] = field(default_factory=list)
    verified_digests: dict[str, int] = field(default_factory=dict)  # digest -> snapshot id
    modified_versions: list[dict[str, object]] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return self.broken is None


def _true_hashes(conn: Connection, scope: str) -> tuple[dict[int, str], dict[int, dict[str, object]]]:
    """version id -> hash recomputed from its stored content; and the rows whose column disagrees."""
    hashes: dict[int, str] = {}
    modified: dict[int, dict[str, object]] = {}
    query = sa.select(OBJECT_VERSION).where(OBJECT_VERSION.c.scope == scope).order_by(OBJECT_VERSION.c.id)
    for row in conn.execution_options(yield_per=2000).execute(query):
        record = ObjectRecord(
            kind=row.kind,
            key=row.key,
            dn=row.dn,
            attributes={str(name): tuple(values) for name, values in (row.attributes or {}).items()},
        )
        hashes[row.id] = record.content_hash()
        if hashes[row.id] != row.content_hash:
            modified[row.id] = {"version": row.id, "kind": row.kind, "key": row.key, "dn": row.dn}
    return hashes, modified


def verify_chain(conn: Connection, scope: str) -> Verification:
    """Recompute the chain of a scope from what is stored; stops at the first break."""
    result = Verification(scope=scope)
    hashes, modified = _true_hashes(conn, scope)
    snapshots = {
        row.id: row
        for row in conn.execute(
            sa.select(SNAPSHOT.c.id, SNAPSHOT.c.taken_at, SNAPSHOT.c.complete).where(
                SNAPSHOT.c.scope == scope
            )
        )
    }
    complete = sorted(i for i, row in snapshots.items() if row.complete)
    links = [
        link
        for link in conn.execute(
            sa.select(CHAIN_LINK).where(CHAIN_LINK.c.scope == scope).order_by(CHAIN_LINK.c.snapshot_id)
        )
        if link.snapshot_id in snapshots  # a link whose snapshot row is gone: judged by its successor
    ]
    used: set[int] = set()

    def recomputed(version_id: int, stored: str) -> str:
        used.add(version_id)
        return hashes.get(version_id, stored)

    previous_digest, previous_id = genesis(scope), None
    base = -1  # the last link sealed in the first format (`_finding_events`)
    for link in links:
        if link.snapshot_id not in complete:
            result.broken = ChainBreak(
                link.snapshot_id,
                f"snapshot {link.snapshot_id} is sealed as complete but is stored as incomplete",
            )
            break
        if link.previous_snapshot_id != previous_id:
            result.broken = _out_of_order(link, previous_id, snapshots)
            break
        segment = [i for i in complete if (previous_id is None or previous_id < i) and i <= link.snapshot_id]
        used.clear()
        chain_format = link.format or CHAIN_VERSION
        if chain_format not in FORMATS:
            result.broken = ChainBreak(
                link.snapshot_id,
                f"snapshot {link.snapshot_id} is sealed in an unknown format {chain_format!r}",
            )
            break
        parts, counts = _segment(
            conn,
            segment,
            recomputed,
            chain_format=chain_format,
            scope=scope,
            after=-1 if previous_id is None else previous_id,
            base=base,
        )
        digest = link_digest(previous_digest, parts, chain_format)
        if digest != link.digest:
            touched = [modified[v] for v in sorted(used) if v in modified]
            result.broken = _mismatch(link, parts, counts, touched)
            result.modified_versions = touched
            break
        result.links += 1
        result.snapshots += len(segment)
        result.verified_digests[link.digest] = link.snapshot_id
        result.head = ChainHead(link.snapshot_id, snapshots[link.snapshot_id].taken_at, link.digest)
        previous_digest, previous_id = link.digest, link.snapshot_id
        if chain_format == CHAIN_VERSION:
            base = link.snapshot_id
    if result.broken is None:
        result.unsealed = [i for i in complete if previous_id is None or i > previous_id]
    return result


def _out_of_order(link: Any, previous_id: int | None, snapshots: Mapping[int, Any]) -> ChainBreak:
    sealed_after = link.previous_snapshot_id
    if sealed_after is not None and sealed_after not in snapshots:
        reason = (
            f"snapshot {link.snapshot_id} was sealed after snapshot {sealed_after}, "
            f"which is missing from the history (deleted?)"
        )
    elif sealed_after is not None and not snapshots[sealed_after].complete:
        reason = (
            f"snapshot {link.snapshot_id} was sealed after snapshot {sealed_after}, "
            "which is now stored as incomplete"
        )
    else:
        before = "the start of the history" if previous_id is None else f"snapshot {previous_id}"
        after = "the start of the history" if sealed_after is None else f"snapshot {sealed_after}"
        reason = (
            f"snapshot {link.snapshot_id} was sealed after {after}, but the chain before it ends at {before}"
        )
    return ChainBreak(
        link.snapshot_id, reason, ({"part": "chain", "sealed_after": sealed_after, "now_after": previous_id},)
    )


def _mismatch(
    link: Any, parts: Mapping[str, str], counts: Mapping[str, int], touched: Iterable[dict[str, object]]
) -> ChainBreak:
    stored_parts: Mapping[str, str] = link.parts or {}
    stored_counts: Mapping[str, int] = link.counts or {}
    differs: list[dict[str, object]] = []
    for name in PARTS:
        if stored_parts.get(name) != parts[name]:
            differs.append({"part": name, "sealed": stored_counts.get(name), "now": counts[name]})
    if not differs:
        reason = f"snapshot {link.snapshot_id}: its stored digest does not match (the link itself was edited)"
    else:
        described = []
        for entry in differs:
            noun = _PART_NOUNS[str(entry["part"])]
            sealed, now = entry["sealed"], entry["now"]
            described.append(f"{noun} ({sealed} rows when sealed, {now} now)" if sealed != now else f"{noun}")
        reason = f"snapshot {link.snapshot_id}: {', '.join(described)} differ from what was sealed"
    edited = [f"object_version row {v['version']} ({v['kind']} {v['dn']})" for v in touched]
    if edited:
        reason += "; content no longer matches its hash: " + ", ".join(edited[:5])
        if len(edited) > 5:
            reason += f" and {len(edited) - 5} more"
    return ChainBreak(link.snapshot_id, reason, tuple(differs))
