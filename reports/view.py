"""Turn the three JSON documents into complete, ordered, capped views for the text and HTML renderers.

The renderers read only these views, never the raw dicts: every optional key is resolved here
once (so templates can run with StrictUndefined), lists are sorted and grouped the same way in
every format, and long groups are cut to their first `CAP` entries with the remainder counted.
Malformed input raises `ReportError` naming what is wrong instead of rendering a partial report.

This module only re-exports, so callers keep one import path; the work lives in
`view_common` (formatting, input access, groups, finding/waiver/source rows, the appendix),
`view_objects` (object changes by kind), `view_causes` (the causes of finding changes), `view_check_run`, `view_diff` and `view_drift`.
"""

from __future__ import annotations

from .view_causes import CauseGroupRow, cause_groups
from .view_check_run import CheckRow, CheckRunView, SeverityBlock, all_findings, check_run_view
from .view_common import (
    CAP,
    FINDING_SECTIONS,
    SEVERITIES,
    WAIVER_STATES,
    FindingRow,
    FindingSection,
    Group,
    SnapshotRef,
    SourceRow,
    WaiverRow,
    appendix,
    day,
    duration,
    group_by_check,
    plural,
    severity_rank,
    short_time,
)
from .view_diff import DiffView, diff_view
from .view_drift import (
    CollectionHealth,
    DriftView,
    MissedDelivery,
    SnapshotRow,
    SourceHealth,
    collection_health,
    drift_view,
)
from .view_objects import (
    KIND_LABELS,
    KIND_ORDER,
    AttributeChange,
    KindChanges,
    ObjectChanges,
    ObjectRow,
    kind_label,
    object_changes,
)

__all__ = [
    "CAP",
    "FINDING_SECTIONS",
    "KIND_LABELS",
    "KIND_ORDER",
    "SEVERITIES",
    "WAIVER_STATES",
    "AttributeChange",
    "CauseGroupRow",
    "CheckRow",
    "CheckRunView",
    "CollectionHealth",
    "DiffView",
    "DriftView",
    "FindingRow",
    "FindingSection",
    "Group",
    "KindChanges",
    "MissedDelivery",
    "ObjectChanges",
    "ObjectRow",
    "SeverityBlock",
    "SnapshotRef",
    "SnapshotRow",
    "SourceHealth",
    "SourceRow",
    "WaiverRow",
    "all_findings",
    "appendix",
    "cause_groups",
    "check_run_view",
    "collection_health",
    "day",
    "diff_view",
    "drift_view",
    "duration",
    "group_by_check",
    "kind_label",
    "object_changes",
    "plural",
    "severity_rank",
    "short_time",
]
