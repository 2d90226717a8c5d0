"""The view of a diff between two snapshots (auditor.diff/1, a `DiffDocument`): finding changes,
then object changes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from auditor.documents import DiffDocument

from .catalog import CheckInfo
from .view_causes import CauseGroupRow, cause_groups
from .view_common import (
    FindingSection,
    Group,
    SnapshotRef,
    appendix,
    finding_sections,
    plural,
    snapshot_ref,
)
from .view_objects import ObjectChanges, object_changes

__all__ = [
    "DiffView",
    "diff_view",
]


# -- the diff -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DiffView:
    source: SnapshotRef
    target: SnapshotRef
    findings: tuple[FindingSection, ...]
    objects: ObjectChanges
    appendix: tuple[CheckInfo, ...]
    causes: Group[CauseGroupRow] | None = None

    def count(self, key: str) -> int:
        return next((s.total for s in self.findings if s.key == key), 0)

    @property
    def headline(self) -> str:
        parts = [plural(self.count("new"), "new failure"), f"{self.count('resolved'):,} resolved"]
        if self.count("persisting"):
            parts.append(f"{self.count('persisting'):,} still failing")
        objects = self.objects
        parts.append(
            f"{plural(objects.total, 'object change')} ({objects.added:,} added, {objects.removed:,} removed, {objects.changed:,} changed)"
        )
        return ", ".join(parts)


def diff_view(diff: DiffDocument, catalog: Mapping[str, CheckInfo]) -> DiffView:
    findings = finding_sections(diff.findings, ("new", "persisting", "resolved"), catalog)
    linked = {g.key for s in findings for g in s.groups}
    return DiffView(
        source=snapshot_ref(diff.source),
        target=snapshot_ref(diff.target),
        findings=findings,
        objects=object_changes(diff.objects),
        appendix=appendix(linked, catalog),
        causes=cause_groups(diff.cause_groups),
    )
