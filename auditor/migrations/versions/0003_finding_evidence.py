"""Evidence stored with findings, and what checked each snapshot (auditor version, config, check code).

`evidence` holds each distinct evidence set once per scope; `finding.evidence_id` points at it
(NULL for findings stored before this revision: their evidence was not recorded, which is not the
same as "none"). `snapshot.auditor_version` / `config_fingerprint` and
`check_result.code_fingerprint` let the drift report tell why a verdict changed while its evidence
did not. Every new column is NULL for existing rows, and the chain writes a column into its
canonical bytes only when it holds something, so an existing store's chain verifies unchanged.

Revision ID: 0003_finding_evidence
Revises: 0002_attribution_chain
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_finding_evidence"
down_revision = "0002_attribution_chain"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "evidence",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("scope", sa.String(200), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("refs", sa.JSON(), nullable=False),
        sa.UniqueConstraint("scope", "content_hash", name="uq_evidence_scope_hash"),
    )
    with op.batch_alter_table("finding") as batch:
        batch.add_column(sa.Column("evidence_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_finding_evidence_id_evidence", "evidence", ["evidence_id"], ["id"])
    op.add_column("check_result", sa.Column("code_fingerprint", sa.String(64), nullable=True))
    op.add_column("snapshot", sa.Column("auditor_version", sa.String(100), nullable=True))
    op.add_column("snapshot", sa.Column("config_fingerprint", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("snapshot") as batch:
        batch.drop_column("config_fingerprint")
        batch.drop_column("auditor_version")
    with op.batch_alter_table("check_result") as batch:
        batch.drop_column("code_fingerprint")
    with op.batch_alter_table("finding") as batch:
        batch.drop_constraint("fk_finding_evidence_id_evidence", type_="foreignkey")
        batch.drop_column("evidence_id")
    op.drop_table("evidence")
