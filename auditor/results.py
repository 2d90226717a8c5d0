"""What one pass produced: the snapshot's identity, each check's result and the findings.

These are the objects the store saves, the differ compares and every report renders; the JSON of
`contract.md` (`auditor.check-run/1`) is `RunResult.to_json()`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from auditor.model.directory import ObjectRef
from auditor.records import SourceInfo
from auditor.registry import Severity, Status

__all__ = [
    "CHECK_RUN_SCHEMA",
    "CheckResult",
    "FindingRecord",
    "RunResult",
    "SnapshotInfo",
    "WaiverNote",
    "fingerprint",
    "isoformat",
]

CHECK_RUN_SCHEMA = "auditor.check-run/1"


def isoformat(moment: datetime | None) -> str | None:
    """UTC times as `2026-11-27T07:00:02Z`, the form every output uses."""
    if moment is None:
        return None
    text = moment.isoformat().replace("+00:00", "Z")
    return text if moment.tzinfo else text + "Z"


def fingerprint(check_id: str, subject: str) -> str:
    """Stable identity of a finding: check ID and subject only, never the message."""
    return hashlib.sha256(f"{check_id}\x00{subject}".encode()).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class SnapshotInfo:
    id: int
    taken_at: datetime
    complete: bool
    sources: tuple[SourceInfo, ...] = ()
    objects: int = 0

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "taken_at": isoformat(self.taken_at),
            "complete": self.complete,
            "sources": [s.to_json() for s in self.sources],
        }


@dataclass(slots=True)
class FindingRecord:
    """A non-passing (check, subject) as reported: `fail`, `waived` or `error`."""

    check: str
    status: Status
    severity: Severity
    subject: str
    message: str
    first_seen: datetime | None = None
    new: bool = True
    waiver_reason: str | None = None
    waiver_expires: date | None = None
    # The stored objects the verdict depends on; None only for a finding read back from a store
    # that kept it before auditor recorded evidence (unknown, not "none").
    evidence: tuple[ObjectRef, ...] | None = ()
    # `fingerprint` once computed: a pass asks for it of every finding several times (its diff,
    # its report), a hash each time. Not an argument, so `dataclasses.replace` starts afresh.
    _fingerprint: str | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def fingerprint(self) -> str:
        if self._fingerprint is None:
            self._fingerprint = fingerprint(self.check, self.subject)
        return self._fingerprint

    @property
    def failing(self) -> bool:
        """`fail` and `error` count as failing; `waived` does not."""
        return self.status in (Status.FAIL, Status.ERROR)

    def to_json(self) -> dict[str, object]:
        data: dict[str, object] = {
            "check": self.check,
            "status": self.status.value,
            "severity": self.severity.value,
            "subject": self.subject,
            "message": self.message,
            "fingerprint": self.fingerprint,
            "first_seen": isoformat(self.first_seen),
            "new": self.new,
            "evidence": [{"kind": ref.kind, "key": ref.key, "dn": ref.dn} for ref in self.evidence or ()],
        }
        if self.waiver_reason is not None:
            data["waiver"] = {
                "reason": self.waiver_reason,
                "expires": self.waiver_expires.isoformat() if self.waiver_expires else None,
            }
        return data


@dataclass(slots=True)
class CheckResult:
    id: str
    title: str
    severity: Severity
    principles: tuple[str, ...]
    status: Status
    failed: int = 0
    passed: int = 0
    waived: int = 0
    errors: int = 0
    message: str = ""  # why skipped, or what raised
    code: str = ""  # fingerprint of the check's code and spec (`auditor.provenance`); "" unknown

    def to_json(self) -> dict[str, object]:
        data: dict[str, object] = {
            "id": self.id,
            "title": self.title,
            "severity": self.severity.value,
            "principles": list(self.principles),
            "status": self.status.value,
            "failed": self.failed,
            "passed": self.passed,
            "waived": self.waived,
            "errors": self.errors,
        }
        if self.message:
            data["message"] = self.message
        return data


def within_check(finding: FindingRecord) -> tuple[str, str, str]:
    """Where a finding goes among its check's findings: by subject (then status and message).

    A check's findings are listed in this order, not in the order the check happened to produce
    them, so that results read back from the store (`HistoryStore.reuse_results`), where rows kept
    from several passes have no order of their own, list exactly as a recomputation does.
    """
    return (finding.subject, finding.status.value, finding.message)


def in_check_order(checks: Sequence[CheckResult], findings: Iterable[FindingRecord]) -> list[FindingRecord]:
    """`findings` in the engine's order: by the position of their check in `checks`, then
    `within_check`; findings of a check not listed come last, by check ID."""
    position = {check.id: index for index, check in enumerate(checks)}
    unlisted = len(position)
    return sorted(findings, key=lambda f: (position.get(f.check, unlisted), f.check, *within_check(f)))


@dataclass(frozen=True, slots=True)
class WaiverNote:
    """A waiver worth telling the reader about: expired, expiring soon, or matching nothing."""

    check: str
    subject: str
    reason: str
    expires: date
    state: str  # "expired" | "stale" | "expiring"

    def to_json(self) -> dict[str, object]:
        return {
            "check": self.check,
            "subject": self.subject,
            "reason": self.reason,
            "expires": self.expires.isoformat(),
            "state": self.state,
        }


@dataclass(slots=True)
class RunResult:
    snapshot: SnapshotInfo
    checks: list[CheckResult] = field(default_factory=list)
    findings: list[FindingRecord] = field(default_factory=list)
    waiver_notes: list[WaiverNote] = field(default_factory=list)
    organization: str = ""
    # What checked the snapshot, stored with the results (`auditor.provenance`); "" unknown.
    auditor_version: str = ""
    config_fingerprint: str = ""

    def summary(self) -> dict[str, int]:
        return {
            "checks": len(self.checks),
            "passed": sum(c.status is Status.PASS for c in self.checks),
            "failed": sum(c.status is Status.FAIL for c in self.checks),
            "skipped": sum(c.status is Status.SKIPPED for c in self.checks),
            "errors": sum(c.status is Status.ERROR for c in self.checks),
            "waived": sum(f.status is Status.WAIVED for f in self.findings),
        }

    def failing_at_or_above(self, threshold: Severity) -> list[FindingRecord]:
        return [f for f in self.findings if f.failing and f.severity >= threshold]

    def to_json(self) -> dict[str, object]:
        data: dict[str, object] = {
            "schema": CHECK_RUN_SCHEMA,
            "snapshot": self.snapshot.to_json(),
            "checks": [c.to_json() for c in self.checks],
            "findings": [f.to_json() for f in self.findings],
            "summary": self.summary(),
        }
        if self.organization:
            data["organization"] = self.organization
        if self.waiver_notes:
            data["waivers"] = [w.to_json() for w in self.waiver_notes]
        return data
