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
import json
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

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
    return hashlib.sha256(
        json.dumps(refs, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    ).hexdigest()


def store_evidence(conn: Connection, scope: str, sets: Iterable[Refs]) -> dict[str, int]:
    """Store the sets not stored yet; returns content hash -> evidence id for every set given.

    Inserts first and looks up only the sets that already existed, as the object writer does
    (`store.snapshots`): on PostgreSQL a lookup inside the growing transaction would plan a
    sequential scan.
    """
    by_hash: dict[str, Refs] = {}
    for refs in sets:
        by_hash.setdefault(evidence_hash(refs), refs)
    ids: dict[str, int] = {}
    hashes = list(by_hash)
    for start in range(0, len(hashes), CHUNK):
        chunk = hashes[start : start + CHUNK]
        rows = [{"scope": scope, "content_hash": h, "refs": by_hash[h]} for h in chunk]
        inserted = conn.execute(
            _insert_new(conn).returning(EVIDENCE.c.content_hash, EVIDENCE.c.id), rows
        ).all()
        ids.update((row.content_hash, row.id) for row in inserted)
        known = [h for h in chunk if h not in ids]
        if known:
            ids.update(
                (row.content_hash, row.id)
                for row in conn.execute(
                    sa.select(EVIDENCE.c.content_hash, EVIDENCE.c.id).where(
                        EVIDENCE.c.scope == scope, EVIDENCE.c.content_hash.in_(known)
                    )
                )
            )
    return ids


def _insert_new(conn: Connection) -> Any:
    """INSERT ... ON CONFLICT (scope, content_hash) DO NOTHING, in the connection's dialect."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(EVIDENCE).on_conflict_do_nothing(index_elements=["scope", "content_hash"])
    return sqlite.insert(EVIDENCE).on_conflict_do_nothing(index_elements=["scope", "content_hash"])
