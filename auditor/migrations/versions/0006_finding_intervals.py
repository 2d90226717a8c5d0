"""Findings stored as intervals, and the chain format that seals them (issue 12).

A finding row now holds from the snapshot it opened at (`snapshot_id`) up to `valid_to_snapshot`
(`auditor.store.finding_intervals`); `finding.scope` lets a pass find its scope's open rows by
index. Every existing row held at its own snapshot only: it gets `valid_to_snapshot =
snapshot_id`, which says exactly that, and it is never open, so the chain's existing links (which
list every finding of each snapshot) verify unchanged. `chain_link.format` names the format of
each link; NULL is the first, in which every existing link was sealed.

Downgrading writes each interval back as one row per checked snapshot it held at, and reseals in
the first format every link sealed in the second, so that auditor before this revision reads and
verifies the store.

Revision ID: 0006_finding_intervals
Revises: 0005_incremental_reads
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_finding_intervals"
down_revision = "0005_incremental_reads"
branch_labels = None
depends_on = None

# The finding's own columns at this revision, spelled out rather than imported from the store
# (`finding_intervals`): a migration describes the table as it was then, whatever the code says later.
_CONTENT = (
    "check_id",
    "subject",
    "fingerprint",
    "status",
    "severity",
    "message",
    "waiver_reason",
    "waiver_expires",
    "evidence_id",
)


def upgrade() -> None:
    with op.batch_alter_table("finding") as batch:
        batch.add_column(sa.Column("scope", sa.String(200), nullable=True))
        batch.add_column(sa.Column("valid_to_snapshot", sa.Integer(), nullable=True))
    op.execute(
        "UPDATE finding SET valid_to_snapshot = snapshot_id, "
        "scope = (SELECT snapshot.scope FROM snapshot WHERE snapshot.id = finding.snapshot_id)"
    )
    with op.batch_alter_table("finding") as batch:
        batch.alter_column("scope", existing_type=sa.String(200), nullable=False)
        batch.create_index("ix_finding_scope_from", ["scope", "snapshot_id"])
        batch.create_index("ix_finding_scope_to", ["scope", "valid_to_snapshot", "snapshot_id"])
    with op.batch_alter_table("chain_link") as batch:
        batch.add_column(sa.Column("format", sa.String(40), nullable=True))


def downgrade() -> None:
    from auditor.store.chain import CHAIN_VERSION, seal

    bind = op.get_bind()
    content = ", ".join(_CONTENT)
    copied = ", ".join(f"f.{name}" for name in _CONTENT)
    # One row per checked snapshot an interval held at after its first (the first is the row itself).
    op.execute(
        f"INSERT INTO finding (scope, snapshot_id, valid_to_snapshot, {content}, first_seen, new) "
        f"SELECT f.scope, s.id, s.id, {copied}, COALESCE(f.first_seen, o.taken_at), "
        f"{'false' if bind.dialect.name == 'postgresql' else '0'} "
        "FROM finding f JOIN snapshot o ON o.id = f.snapshot_id "
        "JOIN snapshot s ON s.scope = f.scope AND s.id > f.snapshot_id AND s.checked "
        "AND (f.valid_to_snapshot IS NULL OR s.id < f.valid_to_snapshot) "
        "WHERE f.valid_to_snapshot IS NULL OR f.valid_to_snapshot <> f.snapshot_id"
    )
    links = sa.table(
        "chain_link",
        sa.column("scope", sa.String()),
        sa.column("snapshot_id", sa.Integer()),
        sa.column("format", sa.String()),
    )
    snapshots = sa.table(
        "snapshot",
        sa.column("id", sa.Integer()),
        sa.column("scope", sa.String()),
        sa.column("complete", sa.Boolean()),
        sa.column("checked", sa.Boolean()),
    )
    for scope, first in list(
        bind.execute(
            sa.select(links.c.scope, sa.func.min(links.c.snapshot_id))
            .where(links.c.format.is_not(None))
            .group_by(links.c.scope)
        )
    ):
        bind.execute(sa.delete(links).where(links.c.scope == scope, links.c.snapshot_id >= first))
        for (snapshot_id,) in list(
            bind.execute(
                sa.select(snapshots.c.id)
                .where(
                    snapshots.c.scope == scope,
                    snapshots.c.id >= first,
                    snapshots.c.complete.is_(True),
                    snapshots.c.checked.is_(True),
                )
                .order_by(snapshots.c.id)
            )
        ):
            seal(bind, scope, snapshot_id, chain_format=CHAIN_VERSION)
    with op.batch_alter_table("chain_link") as batch:
        batch.drop_column("format")
    with op.batch_alter_table("finding") as batch:
        batch.drop_index("ix_finding_scope_to")
        batch.drop_index("ix_finding_scope_from")
        batch.drop_column("valid_to_snapshot")
        batch.drop_column("scope")
