"""The store's half of result reuse (`store.reuse`), on SQLite and PostgreSQL: when a pass may copy
the previous snapshot's results, and that the copy reads back as what the pipeline would store.

The pipeline's half (and the comparison with a recomputation) is tests/test_reuse.py.
"""

from __future__ import annotations

from auditor_store_testing import at, directory_source, user

from auditor.model.directory import ObjectRef
from auditor.records import ObjectRecord
from auditor.registry import Severity, Status
from auditor.results import CheckResult, FindingRecord, RunResult, SnapshotInfo
from auditor.store import HistoryStore

KEY = "a" * 64
ALICE = user("guid-a", "CN=Alice,DC=contoso,DC=com", mail="alice@contoso.com")
BOB = user("guid-b", "CN=Bob,DC=contoso,DC=com", mail="bob@contoso.com")


def one_pass(store: HistoryStore, records: list[ObjectRecord], hours: float) -> int:
    """A pass's first steps: its row, then its objects streamed in (no results yet)."""
    snapshot_id = store.begin_pass(at(hours))
    store.save_objects(
        snapshot_id,
        iter(records),
        [directory_source(len(records))],
        organization=lambda: "Contoso",
        deletions=dict,
    )
    return snapshot_id


def computed(store: HistoryStore, snapshot_id: int, hours: float, key: str = KEY) -> RunResult:
    snapshot = SnapshotInfo(snapshot_id, at(hours), True, (directory_source(2),), 2)
    run = RunResult(
        snapshot=snapshot,
        checks=[
            CheckResult("COEX-301", "t1", Severity.HIGH, ("P3",), Status.FAIL, failed=1, passed=1, code="c1"),
            CheckResult(
                "COEX-904", "t2", Severity.INFO, ("all",), Status.SKIPPED, message="no servers", code="c2"
            ),
        ],
        findings=[
            FindingRecord(
                "COEX-301",
                Status.FAIL,
                Severity.HIGH,
                "alice@contoso.com",
                "claimed twice",
                evidence=(ObjectRef("user", "guid-a", ALICE.dn), ObjectRef("user", "guid-b", BOB.dn)),
            ),
            FindingRecord(
                "COEX-301",
                Status.WAIVED,
                Severity.HIGH,
                "bob@contoso.com",
                "waived",
                waiver_reason="why",
                evidence=(ObjectRef("user", "guid-b", BOB.dn),),
            ),
        ],
        auditor_version="1.0",
        config_fingerprint="f" * 64,
    )
    store.annotate_findings(run)
    store.save_pass_results(snapshot_id, run, key)
    store.publish(snapshot_id)
    return run


def test_an_unchanged_pass_copies_results_findings_and_evidence(store: HistoryStore) -> None:
    first = one_pass(store, [ALICE, BOB], 0)
    run = computed(store, first, 0)
    second = one_pass(store, [BOB, ALICE], 4)  # another order, the same objects
    reuse = store.reusable_results(second, [directory_source(2)], KEY)
    assert reuse.source == first, reuse.reason
    checks, findings = store.reuse_results(
        second, first, results_key=KEY, auditor_version="1.0", config_fingerprint="f" * 64
    )
    store.publish(second)
    assert checks == run.checks == store.load_check_results(second)
    assert [(f.check, f.subject, f.status, f.message, f.evidence, f.waiver_reason) for f in findings] == [
        (f.check, f.subject, f.status, f.message, f.evidence, f.waiver_reason) for f in run.findings
    ]
    assert all(not f.new and f.first_seen == at(0) for f in findings)
    assert store.load_findings(second) == sorted(findings, key=lambda f: (f.check, f.subject))
    assert store.checked_with(second) == store.checked_with(first)


def test_a_pass_may_not_reuse_when_objects_key_or_sources_differ(store: HistoryStore) -> None:
    first = one_pass(store, [ALICE, BOB], 0)
    assert store.reusable_results(first, [directory_source(2)], KEY).reason == "no previous complete snapshot"
    computed(store, first, 0)
    changed = one_pass(store, [ALICE], 4)
    reuse = store.reusable_results(changed, [directory_source(1)], KEY)
    assert reuse.source is None and "objects changed" in reuse.reason
    assert store.reusable_results(changed, [directory_source(1)], "b" * 64).source is None
    computed(store, changed, 4)
    same = one_pass(store, [ALICE], 8)
    assert store.reusable_results(same, [directory_source(1)], "b" * 64).source is None
    narrower = directory_source(1)
    narrower.coverage = {"domain"}
    reuse = store.reusable_results(same, [narrower], KEY)
    assert reuse.source is None and "sources" in reuse.reason
    assert store.reusable_results(same, [directory_source(1)], KEY).source == changed
