"""Evidence stored with findings: content-addressed sets of object references (`evidence` table).

A finding's evidence (the stored objects its verdict depends on, `ObjectRef(kind, key, dn)`) is
kept so that the drift report can join a new or resolved finding to the object changes that
touched it (`auditor.causes`). A persisting finding has the same evidence pass after pass, so
each distinct set is stored once per scope and finding rows point at it: evidence costs one
integer per finding row, plus each set once.

`finding.evidence_id` NULL means "stored before auditor recorded evidence", which is not the same
as an empty set; `FindingRecord.evidence` is then None and the drift report recomputes it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from auditor.jsontext import compact
from auditor.model.directory import ObjectRef
from auditor.store.engine import CHUNK
from auditor.tables import EVIDENCE

__all__ = ["evidence_hash", "evidence_refs", "refs_of", "store_evidence"]

Refs = list[list[str]]


def refs_of(evidence: Sequence[ObjectRef]) -> Refs:
    """The stored form of an evidence set: `[kind, key, dn]` per object, in the check's order."""
    return [[ref.kind, ref.key, ref.dn] for ref in evidence]


def evidence_refs(
    stored: Any, shared: dict[tuple[str, str, str], ObjectRef] | None = None
) -> tuple[ObjectRef, ...] | None:
    """The `ObjectRef`s of a stored `refs` value; None for a finding without recorded evidence.

    `shared`, kept by a caller reading many findings, hands out one (immutable) `ObjectRef` per
    object: the same few configuration objects stand in the evidence of thousands of findings.
    """
    if stored is None:
        return None
    if shared is None:
        return tuple(ObjectRef(str(kind), str(key), str(dn)) for kind, key, dn in stored)
    refs = []
    for kind, key, dn in stored:
        ident = (str(kind), str(key), str(dn))
        ref = shared.get(ident)
        if ref is None:
            ref = shared[ident] = ObjectRef(*ident)
        refs.append(ref)
    return tuple(refs)


def evidence_hash(refs: Refs) -> str:
    return hashlib.sha256(compact(refs).encode("utf-8")).hexdigest()


def store_evidence(conn: Connection, scope: str, sets: Mapping[str, Refs]) -> dict[str, int]:
    """Store the sets (content hash -> refs, `evidence_hash`) not stored yet; returns content
    hash -> evidence id for every set given.

    Looks the hashes up first and inserts only the sets the scope does not hold: a pass after a
    small change finds nearly every set of its findings stored already, and sending them all to
    an INSERT ... ON CONFLICT would encode and write thirty thousand of them for nothing. Every
    lookup comes before the first insert, so on PostgreSQL none of them is planned against a
    table that grew inside this transaction. A set stored meanwhile by another writer of the same
    scope (the pass lock makes that rare) is still found: the insert skips it and it is looked up.
    """
    ids: dict[str, int] = {}
    hashes = list(sets)
    for start in range(0, len(hashes), CHUNK):
        ids.update(_lookup(conn, scope, hashes[start : start + CHUNK]))
    missing = [h for h in hashes if h not in ids]
    for start in range(0, len(missing), CHUNK):
        chunk = missing[start : start + CHUNK]
        rows = [{"scope": scope, "content_hash": h, "refs": sets[h]} for h in chunk]
        inserted = conn.execute(
            _insert_new(conn).returning(EVIDENCE.c.content_hash, EVIDENCE.c.id), rows
        ).all()
        ids.update((row.content_hash, row.id) for row in inserted)
        raced = [h for h in chunk if h not in ids]
        if raced:
            ids.update(_lookup(conn, scope, raced))
    return ids


def _lookup(conn: Connection, scope: str, hashes: Sequence[str]) -> Iterable[tuple[str, int]]:
    rows = conn.execute(
        sa.select(EVIDENCE.c.content_hash, EVIDENCE.c.id).where(
            EVIDENCE.c.scope == scope, EVIDENCE.c.content_hash.in_(hashes)
        )
    )
    return [(row.content_hash, row.id) for row in rows]


def _insert_new(conn: Connection) -> Any:
    """INSERT ... ON CONFLICT (scope, content_hash) DO NOTHING, in the connection's dialect."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(EVIDENCE).on_conflict_do_nothing(index_elements=["scope", "content_hash"])
    return sqlite.insert(EVIDENCE).on_conflict_do_nothing(index_elements=["scope", "content_hash"])
