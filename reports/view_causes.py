"""The causes of the finding changes (`cause_groups` of a diff or a drift report), for people.

Each group reads as one line of what happened and one of why: "13 new COEX-303 failures, 1 new
COEX-601 failure" because of "1 change: SMTP connector 'To POP01' removed 2026-12-05 14:44 UTC on
DC1" (or a reason: "check added: ..."), with its subjects. Groups stay in the document's order
(biggest first) and are capped like every other list; so are the changes and subjects of a group.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from auditor import documents as doc

from .view_common import CHANGES_SHOWN, Group, capped, change_text, plural, reason_text, severity_rank

__all__ = ["SUBJECTS_SHOWN", "CauseGroupRow", "cause_groups"]

SUBJECTS_SHOWN = 6

_SECTION_WORDS = {
    "new": ("new", "failure"),
    "reopened": ("reopened", "finding"),
    "resolved": ("resolved", "finding"),
}


@dataclass(frozen=True, slots=True)
class CauseGroupRow:
    """One group: what happened (counts per list and check), why (changes or a reason), to what."""

    severity: str
    what: str
    why: str
    changes: tuple[str, ...]
    more_changes: int
    reason: str
    subjects: tuple[str, ...]
    more_subjects: int
    findings: int


def _what(findings: Sequence[doc.GroupedFinding]) -> str:
    """`13 new COEX-303 failures, 1 resolved COEX-401 finding`, in the group's order."""
    counts: dict[tuple[str, str], int] = {}
    for finding in findings:
        counts[(finding.section, finding.check)] = counts.get((finding.section, finding.check), 0) + 1
    parts = []
    for (section, check), count in counts.items():
        adjective, noun = _SECTION_WORDS[section]
        parts.append(f"{count:,} {adjective} {check} {noun if count == 1 else noun + 's'}")
    return ", ".join(parts)


def _row(group: doc.CauseGroup) -> CauseGroupRow:
    changes = tuple(change_text(c) for c in group.changes[:CHANGES_SHOWN])
    more_changes = max(0, len(group.changes) - CHANGES_SHOWN)
    if group.changes:
        why = f"{plural(len(group.changes), 'change')}: " + "; ".join(changes)
        if more_changes:
            why += f"; and {more_changes:,} more"
    else:
        why = reason_text(group.reason) if group.reason is not None else ""
    severity = min((f.severity.value for f in group.findings), key=severity_rank, default="")
    return CauseGroupRow(
        severity=severity,
        what=_what(group.findings),
        why=why,
        changes=changes,
        more_changes=more_changes,
        reason=reason_text(group.reason) if group.reason is not None else "",
        subjects=tuple(f.subject for f in group.findings[:SUBJECTS_SHOWN]),
        more_subjects=max(0, len(group.findings) - SUBJECTS_SHOWN),
        findings=len(group.findings),
    )


def cause_groups(groups: Sequence[doc.CauseGroup] | None) -> Group[CauseGroupRow] | None:
    """The groups as rows, capped like every list; None when the producer did not explain the changes."""
    if groups is None:
        return None
    return capped("causes", "Why findings changed", [_row(g) for g in groups])
