"""History store: snapshots, versioned objects with validity intervals, results, deliveries.

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "snapshot",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("scope", sa.String(200), nullable=False),
        sa.Column("taken_at", sa.DateTime(), nullable=False),
        sa.Column("complete", sa.Boolean(), nullable=False),
        sa.Column("checked", sa.Boolean(), nullable=False),
        sa.Column("objects", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("organization", sa.String(500), nullable=False),
    )
    op.create_index("ix_snapshot_scope_taken_at", "snapshot", ["scope", "taken_at"])

    op.create_table(
        "snapshot_source",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "snapshot_id", sa.Integer(), sa.ForeignKey("snapshot.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(100), nullable=False),
        sa.Column("complete", sa.Boolean(), nullable=False),
        sa.Column("objects", sa.Integer(), nullable=False),
        sa.Column("duration_seconds", sa.Float(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("coverage", sa.JSON(), nullable=False),
    )
    op.create_index("ix_snapshot_source_snapshot_id", "snapshot_source", ["snapshot_id"])

    op.create_table(
        "object_version",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("scope", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(50), nullable=False),
        sa.Column("key", sa.String(500), nullable=False),
        sa.Column("dn", sa.Text(), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("attributes", sa.JSON(), nullable=False),
        sa.UniqueConstraint("scope", "content_hash", name="uq_object_version_scope_hash"),
    )

    op.create_table(
        "object_interval",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("scope", sa.String(200), nullable=False),
        sa.Column("key", sa.String(500), nullable=False),
        sa.Column("version_id", sa.Integer(), sa.ForeignKey("object_version.id"), nullable=False),
        sa.Column("valid_from_snapshot", sa.Integer(), sa.ForeignKey("snapshot.id"), nullable=False),
        sa.Column("valid_to_snapshot", sa.Integer(), sa.ForeignKey("snapshot.id"), nullable=True),
    )
    op.create_index("ix_object_interval_scope_from", "object_interval", ["scope", "valid_from_snapshot"])
    op.create_index("ix_object_interval_scope_to", "object_interval", ["scope", "valid_to_snapshot"])
    op.create_index("ix_object_interval_scope_key", "object_interval", ["scope", "key"])

    op.create_table(
        "check_result",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "snapshot_id", sa.Integer(), sa.ForeignKey("snapshot.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("check_id", sa.String(50), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("principles", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("severity", sa.String(20), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("passed", sa.Integer(), nullable=False),
        sa.Column("waived", sa.Integer(), nullable=False),
        sa.Column("errors", sa.Integer(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
    )
    op.create_index("ix_check_result_snapshot_id", "check_result", ["snapshot_id"])

    op.create_table(
        "finding",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "snapshot_id", sa.Integer(), sa.ForeignKey("snapshot.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("check_id", sa.String(50), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("severity", sa.String(20), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("first_seen", sa.DateTime(), nullable=True),
        sa.Column("new", sa.Boolean(), nullable=False),
        sa.Column("waiver_reason", sa.Text(), nullable=True),
        sa.Column("waiver_expires", sa.Date(), nullable=True),
    )
    op.create_index("ix_finding_snapshot_id", "finding", ["snapshot_id"])
    op.create_index("ix_finding_fingerprint", "finding", ["fingerprint"])

    op.create_table(
        "report_delivery",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("scope", sa.String(200), nullable=False),
        sa.Column("period_from", sa.DateTime(), nullable=False),
        sa.Column("period_to", sa.DateTime(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
    )
    op.create_index("ix_report_delivery_scope", "report_delivery", ["scope"])


def downgrade() -> None:
    for table in (
        "report_delivery",
        "finding",
        "check_result",
        "object_interval",
        "object_version",
        "snapshot_source",
        "snapshot",
    ):
        op.drop_table(table)
