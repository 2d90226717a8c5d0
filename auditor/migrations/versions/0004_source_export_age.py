"""Sources of exports made elsewhere: when the export was made, and why it is stale (max_age).

Revision ID: 0004_source_export_age
Revises: 0003_finding_evidence
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_source_export_age"
down_revision = "0003_finding_evidence"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("snapshot_source") as batch:
        batch.add_column(sa.Column("exported_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("stale", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("snapshot_source") as batch:
        batch.drop_column("stale")
        batch.drop_column("exported_at")
