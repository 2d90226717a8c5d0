"""The drift report's trend data: failing findings by severity per checked complete snapshot of
the last 12 weeks (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

from auditor_store_testing import at, checked, finding, save, user

from auditor.drift import build_drift_report
from auditor.registry import Severity, Status
from auditor.results import FindingRecord
from auditor.store import HistoryStore

ALICE = user("guid-a", "CN=Alice,DC=contoso,DC=com", mail="alice@contoso.com")
WEEK = 7 * 24


def test_trend_counts_failing_findings_by_severity_for_the_last_12_weeks(store: HistoryStore) -> None:
    too_old = save(store, [ALICE], 0)
    checked(store, too_old, [finding("COEX-301", "a.example")])
    inside = []
    for week in range(1, 4):
        snapshot = save(store, [ALICE], 10 * WEEK + week * WEEK)
        findings = [finding("COEX-301", f"d{i}.example") for i in range(week)]  # high, failing
        findings.append(FindingRecord("COEX-901", Status.ERROR, Severity.CRITICAL, "EX01", "undecodable"))
        findings.append(finding("COEX-302", "w.example", Status.WAIVED))  # accepted risk: not counted
        checked(store, snapshot, findings)
        inside.append(snapshot)
    save(store, [ALICE], 10 * WEEK + 3 * WEEK + 1)  # complete but never checked: no verdict to plot
    store.save_incomplete([], at(10 * WEEK + 3 * WEEK + 2), "directory: unreachable")
    now = at(10 * WEEK + 3 * WEEK + 3)

    trend = build_drift_report(store, since=timedelta(days=7), now=now).to_json()["trend"]
    assert trend["since"] == (now - timedelta(weeks=12)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert [p["id"] for p in trend["snapshots"]] == [s.id for s in inside]
    assert [p["failing"] for p in trend["snapshots"]] == [
        {"critical": 1, "high": week, "medium": 0, "low": 0, "info": 0} for week in range(1, 4)
    ]
    assert {s.id: s.failing for s in store.snapshots() if s.id in {p["id"] for p in trend["snapshots"]}} == {
        p["id"]: sum(p["failing"].values()) for p in trend["snapshots"]
    }
