"""Change attribution (object_origin) and the tamper-evidence hash chain (chain_link).

An existing store gets its chain computed here: every checked complete snapshot is sealed, oldest
first, exactly as a pass would have sealed it, and one line says so per scope.

Revision ID: 0002_attribution_chain
Revises: 0001
Create Date: 2026-12-06
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from alembic import op

from auditor.store.chain import seal_existing

revision = "0002_attribution_chain"
down_revision = "0001"
branch_labels = None
depends_on = None

log = logging.getLogger("auditor.store")


def upgrade() -> None:
    op.create_table(
        "object_origin",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("scope", sa.String(200), nullable=False),
        sa.Column(
            "snapshot_id", sa.Integer(), sa.ForeignKey("snapshot.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("key", sa.String(500), nullable=False),
        sa.Column("event", sa.String(20), nullable=False),
        sa.Column("origins", sa.JSON(), nullable=False),
    )
    op.create_index("ix_object_origin_snapshot_id", "object_origin", ["snapshot_id"])
    op.create_index("ix_object_origin_scope_key", "object_origin", ["scope", "key"])

    op.create_table(
        "chain_link",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("scope", sa.String(200), nullable=False),
        sa.Column(
            "snapshot_id",
            sa.Integer(),
            sa.ForeignKey("snapshot.id", ondelete="CASCADE"),
            nullable=False,
            unique=True,
        ),
        sa.Column("previous_snapshot_id", sa.Integer(), nullable=True),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("parts", sa.JSON(), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("sealed_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_chain_link_scope_snapshot", "chain_link", ["scope", "snapshot_id"])

    # The store has no column of later revisions yet: the chain reads the rows as they are now.
    for scope, count in seal_existing(op.get_bind(), legacy=True).items():
        log.warning(
            "history store: sealed %d existing snapshot%s into the tamper-evidence chain (scope %r); "
            "`auditor verify` checks it from now on",
            count,
            "" if count == 1 else "s",
            scope,
        )


def downgrade() -> None:
    op.drop_table("chain_link")
    op.drop_table("object_origin")
