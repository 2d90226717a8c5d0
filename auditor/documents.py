"""The documents auditor writes, as types: `auditor.check-run/1`, `auditor.diff/1`, `auditor.report/1`.

Producers build them (the pipeline's `RunResult`, `diff.diff_snapshots`, `drift.build_drift_report`)
and every report format reads them as they are (`auditor.reports`): nothing re-validates a dict
by hand, and a field a renderer reads exists because the type says so. Each document has one way
to become JSON: `to_json()` gives the JSON value, `dumps()` below the text every command prints.

- The check run is `auditor.results.RunResult`, the dataclasses the store and the engine share.
- The diff and the drift report are frozen pydantic models. Keys are written in field order, the
  order contract.md shows; a field with a default is optional in the document and is written
  only when the producer set it (`SetChange.primary`, `DriftFinding.resolved_at`, ...), while a
  field without one is always written, `None` as `null`. Reading a document back (tests, tools) is
  `DiffDocument.model_validate(data)`: unknown keys and wrong types are refused.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, model_validator

from auditor.records import SourceInfo
from auditor.registry import Severity, Status
from auditor.results import CHECK_RUN_SCHEMA, RunResult

__all__ = [
    "CHECK_RUN_SCHEMA",
    "DIFF_SCHEMA",
    "REPORT_SCHEMA",
    "AttributeChange",
    "Cause",
    "CauseGroup",
    "ChainEntry",
    "Collection",
    "Delivery",
    "DiffDocument",
    "Document",
    "DriftFinding",
    "DriftFindings",
    "DriftReport",
    "FindingChange",
    "FindingChanges",
    "GroupedFinding",
    "MissedDelivery",
    "ObjectChanges",
    "ObjectEntry",
    "OriginEntry",
    "Period",
    "Reason",
    "RunResult",
    "SetChange",
    "SnapshotHealth",
    "SnapshotRef",
    "SourceEntry",
    "Trend",
    "TrendPoint",
    "ValueChange",
    "WaiverEntry",
    "Waivers",
    "dumps",
]

DIFF_SCHEMA = "auditor.diff/1"
REPORT_SCHEMA = "auditor.report/1"


class Document(Protocol):
    """What every document offers: its JSON value, keys in the contract's order."""

    def to_json(self) -> dict[str, Any]: ...


def dumps(document: Document) -> str:
    """The JSON text of a document, as every command prints it (UTF-8 kept readable, 2-space indent)."""
    return json.dumps(document.to_json(), indent=2, ensure_ascii=False) + "\n"


class _Part(BaseModel):
    """A part of a document: immutable, no unknown keys, `from`/`to` spelled by alias."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, exclude_unset=True)


class _TopLevel(_Part):
    """A whole document: its `schema` key comes first and is checked when one is read back."""

    SCHEMA: ClassVar[str]

    @model_validator(mode="before")
    @classmethod
    def _drop_schema(cls, data: Any) -> Any:
        if isinstance(data, dict) and "schema" in data:
            if data["schema"] != cls.SCHEMA:
                raise ValueError(f"schema {data['schema']!r} is not {cls.SCHEMA!r}")
            data = {key: value for key, value in data.items() if key != "schema"}
        return data

    def to_json(self) -> dict[str, Any]:
        return {"schema": self.SCHEMA, **super().to_json()}


# -- shared parts ---------------------------------------------------------------------------------


class SnapshotRef(_Part):
    id: int
    taken_at: str


class OriginEntry(_Part):
    """The last originating write of a change (live LDAP replication metadata): `auditor.attribution`.

    Written only where the source could tell; a document never carries an invented one.
    """

    time: str
    dc: str
    version: int


ChangeKind = Literal["added", "removed", "changed"]
Section = Literal["new", "reopened", "resolved"]
ReasonCode = Literal[
    "waiver-expired",
    "check-added",
    "check-removed",
    "check-skipped",
    "check-error",
    "check-changed",
    "auditor-upgraded",
    "config-changed",
    "not-recorded",
    "date",
    "unexplained",
]


class Cause(_Part):
    """An object change of the period that touched a finding's evidence at either end of it
    (`auditor.causes`): the object, how it changed, which attributes (a changed object's), and
    the `origin` of the change where the source could tell (for a changed object, the newest of
    its changed attributes' origins)."""

    kind: str
    key: str
    dn: str
    change: ChangeKind
    attributes: list[str]
    origin: OriginEntry | None = None


class Reason(_Part):
    """Why a verdict changed while none of its evidence did: `code` for scripts, `text` for people."""

    code: ReasonCode
    text: str


class FindingChange(_Part):
    """A finding as the diff lists it: identity (check, subject, fingerprint) and its verdict.

    A new, reopened or resolved one carries its `causes` when the producer explained the changes
    (`auditor diff` and `auditor report` do), and a `reason` when `causes` is empty.
    """

    check: str
    subject: str
    status: Status
    severity: Severity
    message: str
    fingerprint: str
    causes: list[Cause] | None = None
    reason: Reason | None = None


class GroupedFinding(_Part):
    """A finding named in a cause group: which list it is in, and its identity."""

    section: Section
    check: str
    severity: Severity
    subject: str
    fingerprint: str


class CauseGroup(_Part):
    """Findings that share their causes (the same set of changes) or, without one, their reason."""

    changes: list[Cause]
    reason: Reason | None = None
    findings: list[GroupedFinding]


class ValueChange(_Part):
    """A single value that changed (or a rename: `dn`); `origin` where the source could tell."""

    before: str | None
    after: str | None
    origin: OriginEntry | None = None


class SetChange(_Part):
    """A multi-valued attribute's values added and removed; `primary` when the primary SMTP moved."""

    added: list[str]
    removed: list[str]
    primary: ValueChange | None = None
    origin: OriginEntry | None = None


AttributeChange = SetChange | ValueChange


class ObjectEntry(_Part):
    """An added, removed or changed object; only a changed one has `attributes`. An added one may
    carry the `origin` of its creation, a removed one that of its deletion (its tombstone)."""

    kind: str
    key: str
    dn: str
    origin: OriginEntry | None = None
    attributes: dict[str, AttributeChange] = Field(default_factory=dict)


class ObjectChanges(_Part):
    added: list[ObjectEntry]
    removed: list[ObjectEntry]
    changed: list[ObjectEntry]

    @property
    def total(self) -> int:
        return len(self.added) + len(self.removed) + len(self.changed)


# -- auditor.diff/1 -------------------------------------------------------------------------------


class FindingChanges(_Part):
    new: list[FindingChange]
    resolved: list[FindingChange]
    persisting: list[FindingChange]


class DiffDocument(_TopLevel):
    """`auditor diff`: what changed between two complete snapshots; `cause_groups` (and each new or
    resolved finding's `causes` / `reason`) when the producer explained the changes."""

    SCHEMA: ClassVar[str] = DIFF_SCHEMA

    source: SnapshotRef = Field(alias="from")
    target: SnapshotRef = Field(alias="to")
    objects: ObjectChanges
    findings: FindingChanges
    cause_groups: list[CauseGroup] | None = None


# -- auditor.report/1 -----------------------------------------------------------------------------


class DriftFinding(FindingChange):
    """A finding of the period, with the start of its current streak; `resolved_at` when resolved."""

    first_seen: str | None
    failing_for_days: int | None
    resolved_at: str | None = None


class DriftFindings(_Part):
    new: list[DriftFinding]
    resolved: list[DriftFinding]
    persisting: list[DriftFinding]
    reopened: list[DriftFinding]
    waived: list[DriftFinding] = Field(default_factory=list)


class Period(_Part):
    since: str
    until: str


class SourceEntry(_Part):
    """One source of one pass, as `SourceInfo.to_json()` writes it (`exported_at` / `stale`: an
    export made elsewhere, and why it is older than its `max_age`; `mode` / `changes_read`: how a
    live directory was read, in full or only what changed; only when set)."""

    name: str
    kind: str
    complete: bool
    objects: int
    duration_seconds: int | float
    error: str | None
    coverage: list[str]
    exported_at: str | None = None
    stale: str | None = None
    mode: str | None = None
    changes_read: int | None = None

    @classmethod
    def of(cls, info: SourceInfo) -> SourceEntry:
        return cls.model_validate(info.to_json())


class SnapshotHealth(_Part):
    """One pass of the period, complete or not, for collection health."""

    id: int
    taken_at: str
    complete: bool
    objects: int
    error: str | None
    sources: list[SourceEntry]


class Collection(_Part):
    snapshots: list[SnapshotHealth]


class WaiverEntry(_Part):
    check: str
    subject: str
    reason: str
    expires: str
    days_left: int


class Waivers(_Part):
    expiring: list[WaiverEntry]
    expired: list[WaiverEntry]


class MissedDelivery(_Part):
    period_from: str | None
    period_to: str | None
    error: str | None


class Delivery(_Part):
    last_sent: str | None
    missed: list[MissedDelivery]


class TrendPoint(_Part):
    """One checked complete snapshot: failing (fail + error) findings per severity."""

    id: int
    taken_at: str
    failing: dict[str, int]


class Trend(_Part):
    """Failing findings by severity for every checked complete snapshot of the chart's window."""

    since: str
    until: str
    snapshots: list[TrendPoint]


class ChainEntry(_Part):
    """The history's newest digest when the report was made (`auditor verify --expect`)."""

    snapshot: int
    taken_at: str
    digest: str


class DriftReport(_TopLevel):
    """`auditor report`: drift over a period. `summary` holds the producer's totals by name.

    `trend` and `chain` (the 12-week chart's numbers, the hash chain's newest digest) are written
    when the producer set them: `build_drift_report` always does, `chain` being null before the
    first sealed snapshot. `cause_groups` (and `causes` / `reason` on the new, reopened and resolved
    findings) when the producer explained the changes (`auditor.causes`), biggest group first.
    """

    SCHEMA: ClassVar[str] = REPORT_SCHEMA

    organization: str
    generated_at: str
    period: Period
    source: SnapshotRef | None = Field(alias="from")
    target: SnapshotRef | None = Field(alias="to")
    summary: dict[str, int]
    findings: DriftFindings
    objects: ObjectChanges
    collection: Collection
    waivers: Waivers
    delivery: Delivery
    trend: Trend | None = None
    chain: ChainEntry | None = None
    cause_groups: list[CauseGroup] | None = None
