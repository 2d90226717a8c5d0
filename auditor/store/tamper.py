"""The history's tamper evidence as the store exposes it: the chain's head, each snapshot's digest,
and a full verification (the chain itself: `auditor.store.chain`)."""

from __future__ import annotations

import sqlalchemy as sa

from auditor.store.chain import ChainHead, Verification, verify_chain
from auditor.store.engine import StoreBase
from auditor.tables import CHAIN_LINK, SNAPSHOT

__all__ = ["TamperEvidenceMixin"]


class TamperEvidenceMixin(StoreBase):
    """`chain_head()`, `digests()`, `verify_chain()`."""

    def chain_head(self) -> ChainHead | None:
        """The newest link as stored (not verified): the digest to publish after a pass."""
        with self._guard("read the hash chain"), self._engine.connect() as conn:
            row = conn.execute(
                sa.select(CHAIN_LINK.c.snapshot_id, CHAIN_LINK.c.digest, SNAPSHOT.c.taken_at)
                .select_from(CHAIN_LINK.join(SNAPSHOT, CHAIN_LINK.c.snapshot_id == SNAPSHOT.c.id))
                .where(CHAIN_LINK.c.scope == self.scope)
                .order_by(CHAIN_LINK.c.snapshot_id.desc())
                .limit(1)
            ).first()
        return ChainHead(row.snapshot_id, row.taken_at, row.digest) if row else None

    def digests(self) -> dict[int, str]:
        """snapshot id -> the digest sealing it, for every sealed snapshot of this scope."""
        with self._guard("read the hash chain"), self._engine.connect() as conn:
            rows = conn.execute(
                sa.select(CHAIN_LINK.c.snapshot_id, CHAIN_LINK.c.digest).where(
                    CHAIN_LINK.c.scope == self.scope
                )
            )
            return {row.snapshot_id: row.digest for row in rows}

    def verify_chain(self) -> Verification:
        """Recompute the whole chain from what is stored (read-only)."""
        with self._guard("verify the hash chain"), self._engine.connect() as conn:
            return verify_chain(conn, self.scope)
