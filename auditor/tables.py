"""The history store's tables, as SQLModel classes (the schema) and Core tables (what the store uses).

The store writes in bulk through SQLAlchemy Core, because saving 100,000 objects row by row through
an ORM session is slow; the SQLModel classes exist so the schema is declared once, typed, and can be
compared against the Alembic migrations (`tests/store/test_migrations.py` does exactly that).

Times are stored as naive UTC (`UtcDateTime`) so that SQLite and PostgreSQL keep the same value;
the API only ever sees timezone-aware UTC datetimes.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlmodel import Field, SQLModel

__all__ = [
    "CHAIN_LINK",
    "CHECK_RESULT",
    "EVIDENCE",
    "FINDING",
    "OBJECT_INTERVAL",
    "OBJECT_ORIGIN",
    "OBJECT_VERSION",
    "REPORT_DELIVERY",
    "SNAPSHOT",
    "SNAPSHOT_SOURCE",
    "ChainLinkRow",
    "CheckResultRow",
    "EvidenceRow",
    "FindingRow",
    "ObjectIntervalRow",
    "ObjectOriginRow",
    "ObjectVersionRow",
    "ReportDeliveryRow",
    "SnapshotRow",
    "SnapshotSourceRow",
    "UtcDateTime",
    "metadata",
]


class UtcDateTime(sa.types.TypeDecorator[datetime]):
    """A timezone-aware UTC datetime in Python, a naive UTC timestamp in the database.

    Storing naive UTC is the one representation SQLite and PostgreSQL agree on; converting at the
    boundary means a naive value never leaks out and a non-UTC one never goes in unconverted.
    """

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class SnapshotRow(SQLModel, table=True):
    """One pass: complete (its objects are in the intervals) or not (error says why)."""

    __tablename__ = "snapshot"
    __table_args__ = (sa.Index("ix_snapshot_scope_taken_at", "scope", "taken_at"),)

    id: int | None = Field(default=None, primary_key=True)
    scope: str = Field(sa_column=sa.Column(sa.String(200), nullable=False))
    taken_at: datetime = Field(sa_column=sa.Column(UtcDateTime(), nullable=False))
    complete: bool = Field(sa_column=sa.Column(sa.Boolean(), nullable=False))
    checked: bool = Field(default=False, sa_column=sa.Column(sa.Boolean(), nullable=False))
    objects: int = Field(default=0, sa_column=sa.Column(sa.Integer(), nullable=False))
    error: str | None = Field(default=None, sa_column=sa.Column(sa.Text(), nullable=True))
    organization: str = Field(default="", sa_column=sa.Column(sa.String(500), nullable=False))
    # What checked it (written with its results; NULL before auditor recorded them): the auditor
    # version and a fingerprint of the configuration the checks read, so that a verdict that
    # changed while its evidence did not can say why (`auditor.causes`).
    auditor_version: str | None = Field(default=None, sa_column=sa.Column(sa.String(100), nullable=True))
    config_fingerprint: str | None = Field(default=None, sa_column=sa.Column(sa.String(64), nullable=True))
    # Everything its results depend on besides the objects (`auditor.reuse.results_key`), and the
    # snapshot whose results this pass reused because neither that nor the objects changed.
    results_key: str | None = Field(default=None, sa_column=sa.Column(sa.String(64), nullable=True))
    results_from: int | None = Field(default=None, sa_column=sa.Column(sa.Integer(), nullable=True))


class SnapshotSourceRow(SQLModel, table=True):
    """How one source fared in one pass (`SourceInfo`)."""

    __tablename__ = "snapshot_source"

    id: int | None = Field(default=None, primary_key=True)
    snapshot_id: int = Field(
        sa_column=sa.Column(
            sa.Integer(), sa.ForeignKey("snapshot.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    position: int = Field(sa_column=sa.Column(sa.Integer(), nullable=False))
    name: str = Field(sa_column=sa.Column(sa.String(200), nullable=False))
    kind: str = Field(sa_column=sa.Column(sa.String(100), nullable=False))
    complete: bool = Field(sa_column=sa.Column(sa.Boolean(), nullable=False))
    objects: int = Field(sa_column=sa.Column(sa.Integer(), nullable=False))
    duration_seconds: float = Field(sa_column=sa.Column(sa.Float(), nullable=False))
    error: str | None = Field(default=None, sa_column=sa.Column(sa.Text(), nullable=True))
    coverage: list[str] = Field(default_factory=list, sa_column=sa.Column(sa.JSON(), nullable=False))
    exported_at: datetime | None = Field(default=None, sa_column=sa.Column(UtcDateTime(), nullable=True))
    stale: str | None = Field(default=None, sa_column=sa.Column(sa.Text(), nullable=True))
    # A live directory: how it was read (`full` | `incremental`), the changed entries an
    # incremental read was told of, and what the next pass needs to read only what changed.
    mode: str | None = Field(default=None, sa_column=sa.Column(sa.String(20), nullable=True))
    changes_read: int | None = Field(default=None, sa_column=sa.Column(sa.Integer(), nullable=True))
    sync_state: dict[str, Any] | None = Field(default=None, sa_column=sa.Column(sa.JSON(), nullable=True))


class ObjectVersionRow(SQLModel, table=True):
    """One distinct state of one object, stored once per scope however many snapshots share it."""

    __tablename__ = "object_version"
    __table_args__ = (sa.UniqueConstraint("scope", "content_hash", name="uq_object_version_scope_hash"),)

    id: int | None = Field(default=None, primary_key=True)
    scope: str = Field(sa_column=sa.Column(sa.String(200), nullable=False))
    kind: str = Field(sa_column=sa.Column(sa.String(50), nullable=False))
    key: str = Field(sa_column=sa.Column(sa.String(500), nullable=False))
    dn: str = Field(sa_column=sa.Column(sa.Text(), nullable=False))
    content_hash: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    attributes: dict[str, list[str]] = Field(
        default_factory=dict, sa_column=sa.Column(sa.JSON(), nullable=False)
    )


class ObjectIntervalRow(SQLModel, table=True):
    """An object held one version from complete snapshot `valid_from` up to (not including) `valid_to`."""

    __tablename__ = "object_interval"
    __table_args__ = (
        sa.Index("ix_object_interval_scope_from", "scope", "valid_from_snapshot"),
        sa.Index("ix_object_interval_scope_to", "scope", "valid_to_snapshot"),
        sa.Index("ix_object_interval_scope_key", "scope", "key"),
    )

    id: int | None = Field(default=None, primary_key=True)
    scope: str = Field(sa_column=sa.Column(sa.String(200), nullable=False))
    key: str = Field(sa_column=sa.Column(sa.String(500), nullable=False))
    version_id: int = Field(
        sa_column=sa.Column(sa.Integer(), sa.ForeignKey("object_version.id"), nullable=False)
    )
    valid_from_snapshot: int = Field(
        sa_column=sa.Column(sa.Integer(), sa.ForeignKey("snapshot.id"), nullable=False)
    )
    valid_to_snapshot: int | None = Field(
        default=None, sa_column=sa.Column(sa.Integer(), sa.ForeignKey("snapshot.id"), nullable=True)
    )


class CheckResultRow(SQLModel, table=True):
    """One check's outcome in one snapshot."""

    __tablename__ = "check_result"

    id: int | None = Field(default=None, primary_key=True)
    snapshot_id: int = Field(
        sa_column=sa.Column(
            sa.Integer(), sa.ForeignKey("snapshot.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    check_id: str = Field(sa_column=sa.Column(sa.String(50), nullable=False))
    title: str = Field(default="", sa_column=sa.Column(sa.Text(), nullable=False))
    principles: list[str] = Field(default_factory=list, sa_column=sa.Column(sa.JSON(), nullable=False))
    status: str = Field(sa_column=sa.Column(sa.String(20), nullable=False))
    severity: str = Field(sa_column=sa.Column(sa.String(20), nullable=False))
    failed: int = Field(default=0, sa_column=sa.Column(sa.Integer(), nullable=False))
    passed: int = Field(default=0, sa_column=sa.Column(sa.Integer(), nullable=False))
    waived: int = Field(default=0, sa_column=sa.Column(sa.Integer(), nullable=False))
    errors: int = Field(default=0, sa_column=sa.Column(sa.Integer(), nullable=False))
    message: str = Field(default="", sa_column=sa.Column(sa.Text(), nullable=False))
    # A fingerprint of the check's code and spec when it ran (`auditor.provenance`); NULL before
    # auditor recorded it.
    code_fingerprint: str | None = Field(default=None, sa_column=sa.Column(sa.String(64), nullable=True))


class EvidenceRow(SQLModel, table=True):
    """One distinct evidence set (the objects a verdict depends on), stored once per scope.

    Content-addressed like `object_version`: a finding that persists for months with the same
    evidence points at one row, so evidence costs a column per finding row, not its references.
    `refs` is a list of `[kind, key, dn]`, in the order the check gave them.
    """

    __tablename__ = "evidence"
    __table_args__ = (sa.UniqueConstraint("scope", "content_hash", name="uq_evidence_scope_hash"),)

    id: int | None = Field(default=None, primary_key=True)
    scope: str = Field(sa_column=sa.Column(sa.String(200), nullable=False))
    content_hash: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    refs: list[list[str]] = Field(default_factory=list, sa_column=sa.Column(sa.JSON(), nullable=False))


class FindingRow(SQLModel, table=True):
    """A non-passing (check, subject) held unchanged from snapshot `snapshot_id` up to (not
    including) `valid_to_snapshot` (NULL: still held), as object intervals hold objects.

    `first_seen` is the start of its streak; `new` is true at `snapshot_id` only (where the streak
    started). A row stored before findings became intervals (revision 0006) holds at its own
    snapshot only and says so with `valid_to_snapshot == snapshot_id`. Rows only open and close at
    checked snapshots, so a pass whose findings did not change writes no finding row at all
    (`auditor.store.finding_intervals`).
    """

    __tablename__ = "finding"
    __table_args__ = (
        sa.Index("ix_finding_fingerprint", "fingerprint"),
        sa.Index("ix_finding_scope_from", "scope", "snapshot_id"),
        # With the start: a snapshot's rows opened before it and still open are found in the index.
        sa.Index("ix_finding_scope_to", "scope", "valid_to_snapshot", "snapshot_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    scope: str = Field(sa_column=sa.Column(sa.String(200), nullable=False))
    # Where the row starts to hold (the name predates intervals; the chain's oldest links read it).
    snapshot_id: int = Field(
        sa_column=sa.Column(
            sa.Integer(), sa.ForeignKey("snapshot.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    valid_to_snapshot: int | None = Field(default=None, sa_column=sa.Column(sa.Integer(), nullable=True))
    check_id: str = Field(sa_column=sa.Column(sa.String(50), nullable=False))
    subject: str = Field(sa_column=sa.Column(sa.Text(), nullable=False))
    fingerprint: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    status: str = Field(sa_column=sa.Column(sa.String(20), nullable=False))
    severity: str = Field(sa_column=sa.Column(sa.String(20), nullable=False))
    message: str = Field(default="", sa_column=sa.Column(sa.Text(), nullable=False))
    first_seen: datetime | None = Field(default=None, sa_column=sa.Column(UtcDateTime(), nullable=True))
    new: bool = Field(default=True, sa_column=sa.Column(sa.Boolean(), nullable=False))
    waiver_reason: str | None = Field(default=None, sa_column=sa.Column(sa.Text(), nullable=True))
    waiver_expires: date | None = Field(default=None, sa_column=sa.Column(sa.Date(), nullable=True))
    # The evidence of the verdict; NULL: stored before auditor recorded evidence (not "none").
    evidence_id: int | None = Field(
        default=None,
        sa_column=sa.Column(
            sa.Integer(), sa.ForeignKey("evidence.id", name="fk_finding_evidence_id_evidence"), nullable=True
        ),
    )


class ReportDeliveryRow(SQLModel, table=True):
    """One attempt to send the drift report, so the next one can tell the reader about a gap."""

    __tablename__ = "report_delivery"

    id: int | None = Field(default=None, primary_key=True)
    scope: str = Field(sa_column=sa.Column(sa.String(200), nullable=False, index=True))
    period_from: datetime = Field(sa_column=sa.Column(UtcDateTime(), nullable=False))
    period_to: datetime = Field(sa_column=sa.Column(UtcDateTime(), nullable=False))
    sent_at: datetime = Field(sa_column=sa.Column(UtcDateTime(), nullable=False))
    status: str = Field(sa_column=sa.Column(sa.String(20), nullable=False))
    error: str | None = Field(default=None, sa_column=sa.Column(sa.Text(), nullable=True))


class ObjectOriginRow(SQLModel, table=True):
    """Attribution of one object's change in one complete snapshot (`auditor.store.origins`).

    `event` `changed`: `origins` maps attribute names (and `dn`, `@created`) to the last originating
    write as the source read it when the object took its new state; `deleted`: `origins` holds the
    deletion under `@deleted`. Written only for objects that changed, and only by sources that can
    tell (live LDAP).
    """

    __tablename__ = "object_origin"
    __table_args__ = (sa.Index("ix_object_origin_scope_key", "scope", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    scope: str = Field(sa_column=sa.Column(sa.String(200), nullable=False))
    snapshot_id: int = Field(
        sa_column=sa.Column(
            sa.Integer(), sa.ForeignKey("snapshot.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    key: str = Field(sa_column=sa.Column(sa.String(500), nullable=False))
    event: str = Field(sa_column=sa.Column(sa.String(20), nullable=False))
    origins: dict[str, dict[str, object]] = Field(
        default_factory=dict, sa_column=sa.Column(sa.JSON(), nullable=False)
    )


class ChainLinkRow(SQLModel, table=True):
    """One link of the tamper-evidence chain (`auditor.store.chain`): the digest that seals a
    complete snapshot (and any unsealed complete snapshots just before it) onto the one before.

    `previous_snapshot_id` deliberately has no foreign key: it must outlive a deleted snapshot so
    that `auditor verify` can name what went missing. `parts` holds the digest of each part
    (snapshots, objects, results, findings, origins) and `counts` their sizes, so a break can say
    what differs.
    """

    __tablename__ = "chain_link"
    __table_args__ = (sa.Index("ix_chain_link_scope_snapshot", "scope", "snapshot_id"),)

    id: int | None = Field(default=None, primary_key=True)
    scope: str = Field(sa_column=sa.Column(sa.String(200), nullable=False))
    snapshot_id: int = Field(
        sa_column=sa.Column(
            sa.Integer(), sa.ForeignKey("snapshot.id", ondelete="CASCADE"), nullable=False, unique=True
        )
    )
    previous_snapshot_id: int | None = Field(default=None, sa_column=sa.Column(sa.Integer(), nullable=True))
    # The chain format the link was sealed in (`auditor.store.chain.FORMATS`); NULL: the first.
    format: str | None = Field(default=None, sa_column=sa.Column(sa.String(40), nullable=True))
    digest: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    parts: dict[str, str] = Field(default_factory=dict, sa_column=sa.Column(sa.JSON(), nullable=False))
    counts: dict[str, int] = Field(default_factory=dict, sa_column=sa.Column(sa.JSON(), nullable=False))
    sealed_at: datetime = Field(sa_column=sa.Column(UtcDateTime(), nullable=False))


metadata: sa.MetaData = SQLModel.metadata

SNAPSHOT: sa.Table = SnapshotRow.__table__  # type: ignore[attr-defined]
SNAPSHOT_SOURCE: sa.Table = SnapshotSourceRow.__table__  # type: ignore[attr-defined]
OBJECT_VERSION: sa.Table = ObjectVersionRow.__table__  # type: ignore[attr-defined]
OBJECT_INTERVAL: sa.Table = ObjectIntervalRow.__table__  # type: ignore[attr-defined]
CHECK_RESULT: sa.Table = CheckResultRow.__table__  # type: ignore[attr-defined]
FINDING: sa.Table = FindingRow.__table__  # type: ignore[attr-defined]
EVIDENCE: sa.Table = EvidenceRow.__table__  # type: ignore[attr-defined]
REPORT_DELIVERY: sa.Table = ReportDeliveryRow.__table__  # type: ignore[attr-defined]
OBJECT_ORIGIN: sa.Table = ObjectOriginRow.__table__  # type: ignore[attr-defined]
CHAIN_LINK: sa.Table = ChainLinkRow.__table__  # type: ignore[attr-defined]
