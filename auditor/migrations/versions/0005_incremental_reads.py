"""Incremental collection and reused check results (issue 12, phase 2).

`snapshot_source.mode` (`full` | `incremental`) and `changes_read` say how a live directory was read;
`sync_state` is what the next pass needs to read only what changed since this one (the domain
controller, its invocation id and highest committed USN, DirSync cookies, the fingerprint of what
was read, the time of the last full read). `snapshot.results_key` fingerprints everything a pass's
check results depend on besides the objects (auditor's version, the checks' code, the config the
checks read, waivers, the date-dependent thresholds), and `snapshot.results_from` names the
snapshot whose results a pass reused because nothing of that changed. NULL for existing rows;
the chain writes a column into its canonical bytes only when it holds something, so an existing
store's chain verifies unchanged.

Revision ID: 0005_incremental_reads
Revises: 0004_source_export_age
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_incremental_reads"
down_revision = "0004_source_export_age"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("snapshot_source") as batch:
        batch.add_column(sa.Column("mode", sa.String(20), nullable=True))
        batch.add_column(sa.Column("changes_read", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("sync_state", sa.JSON(), nullable=True))
    with op.batch_alter_table("snapshot") as batch:
        batch.add_column(sa.Column("results_key", sa.String(64), nullable=True))
        batch.add_column(sa.Column("results_from", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("snapshot") as batch:
        batch.drop_column("results_from")
        batch.drop_column("results_key")
    with op.batch_alter_table("snapshot_source") as batch:
        batch.drop_column("sync_state")
        batch.drop_column("changes_read")
        batch.drop_column("mode")
