"""Findings stored as intervals (`auditor.store.finding_intervals`): a pass writes only the findings
that changed, yet every snapshot reads back exactly what its pass computed, including around a
pass that failed after saving its results, and the chain still covers every finding."""

from __future__ import annotations

import dataclasses

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from auditor_store_testing import at, broken_at, checked, directory_source, execute, finding, save, user

from auditor.errors import StoreError
from auditor.registry import Status
from auditor.results import FindingRecord, RunResult, SnapshotInfo
from auditor.store import HistoryStore
from auditor.store.finding_intervals import span

ALICE = user("guid-a", "CN=Alice,DC=contoso,DC=com", mail="alice@contoso.com")
POP = finding("COEX-301", "pop.contoso.com")
BOB = finding("COEX-302", "CN=Bob")
CAROL = finding("COEX-302", "CN=Carol")


def fresh(findings: list[FindingRecord]) -> list[FindingRecord]:
    """Copies: saving a run sets each finding's streak (`first_seen`, `new`) in place."""
    return [dataclasses.replace(f) for f in findings]


def rows(store: HistoryStore) -> int:
    with store._engine.connect() as conn:
        return int(conn.execute(sa.text("SELECT count(*) FROM finding")).scalar_one())


def verdicts(findings: list[FindingRecord]) -> list[tuple[str, str, str, str, bool]]:
    """What a snapshot holds of each finding, streak included."""
    return sorted(
        (f.check, f.subject, f.message, f.first_seen.isoformat() if f.first_seen else "", f.new)
        for f in findings
    )


def test_unchanged_findings_are_held_by_their_rows_and_only_changes_are_written(store: HistoryStore) -> None:
    first = save(store, [ALICE], 0)
    saved = {first.id: checked(store, first, fresh([POP, BOB])).findings}
    assert rows(store) == 2
    for hours in (4, 8):  # nothing changed: no row written
        snapshot = save(store, [ALICE], hours)
        saved[snapshot.id] = checked(store, snapshot, fresh([POP, BOB])).findings
    assert rows(store) == 2
    changed = save(store, [ALICE], 12)  # Bob fixed, Carol new, the POP3 finding reworded
    reworded = dataclasses.replace(POP, message="COEX-301 fails for pop.contoso.com, reworded")
    saved[changed.id] = checked(store, changed, fresh([reworded, CAROL])).findings
    assert rows(store) == 4  # two rows opened; two closed, kept for the earlier snapshots

    for snapshot_id, findings in saved.items():
        assert verdicts(store.load_findings(snapshot_id)) == verdicts(findings)
    latest = {f.subject: f for f in store.load_findings(changed.id)}
    assert latest["CN=Carol"].new and latest["CN=Carol"].first_seen == at(12)
    assert not latest["pop.contoso.com"].new and latest["pop.contoso.com"].first_seen == at(0)
    assert [f.new for f in store.load_findings(first.id)] == [True, True]
    assert store.verify_chain().intact


def test_history_counts_what_each_snapshot_held(store: HistoryStore) -> None:
    first = save(store, [ALICE], 0)
    checked(store, first, fresh([POP, BOB]))
    unchecked = save(store, [ALICE], 4)  # collected, never checked: holds no findings
    third = save(store, [ALICE], 8)
    checked(store, third, fresh([POP]))
    failing = {s.id: s.failing for s in store.snapshots()}
    assert failing == {first.id: 2, unchecked.id: 0, third.id: 1}
    assert [sum(p.failing.values()) for p in store.failing_trend(at(-1), at(9))] == [2, 1]
    assert store.finding_presence([POP.fingerprint, BOB.fingerprint], until_id=third.id) == {
        POP.fingerprint: [first.id, third.id],
        BOB.fingerprint: [first.id],
    }


def test_a_pass_that_failed_after_saving_results_leaves_every_snapshot_as_computed(
    store: HistoryStore,
) -> None:
    first = save(store, [ALICE], 0)
    checked(store, first, fresh([POP, BOB]))
    failed = store.begin_pass(at(4))  # saved its results (Bob fixed, Carol new), then stopped
    run = RunResult(snapshot=SnapshotInfo(failed, at(4), False, (), 1), findings=fresh([POP, CAROL]))
    store.annotate_findings(run)
    store.save_pass(failed, [ALICE], [directory_source(1)], run)
    store.mark_failed(failed, "report: disk full")
    third = save(store, [ALICE], 8)
    computed = checked(store, third, fresh([POP, CAROL])).findings

    held = {f.subject: f for f in store.load_findings(third.id)}
    # Judged from the last complete snapshot, not the failed pass: Carol is new here, at 8 hours.
    assert held["CN=Carol"].new and held["CN=Carol"].first_seen == at(8)
    assert verdicts(list(held.values())) == verdicts(computed)
    assert verdicts(store.load_findings(first.id)) == verdicts(
        [dataclasses.replace(f, new=True, first_seen=at(0)) for f in (POP, BOB)]
    )
    result = store.verify_chain()
    assert result.intact and result.links == 2


def verdicts_before(findings: list[FindingRecord]) -> list[tuple[object, ...]]:
    """What a diff reads of the previous snapshot's findings."""
    return sorted(
        (f.check, f.subject, f.status, f.severity, f.message, f.fingerprint, f.first_seen) for f in findings
    )


def test_a_save_gives_the_previous_findings_it_replaced_as_stored(store: HistoryStore) -> None:
    first = save(store, [ALICE], 0)
    waived = dataclasses.replace(CAROL, status=Status.WAIVED, waiver_reason="migration")
    checked(store, first, fresh([POP, BOB, waived]))
    second = save(store, [ALICE], 4)  # Bob fixed, Carol failing now, the POP3 finding unchanged
    checked(store, second, fresh([POP, CAROL]))

    replaced = store.findings_replaced(second.id, first.id)
    assert replaced is not None and len(replaced) == 3
    assert verdicts_before(replaced) == verdicts_before(store.load_findings(first.id, evidence=False))
    assert store.findings_replaced(second.id, second.id) is None  # not what that save replaced
    assert store.findings_replaced(first.id, first.id) is None


def test_streaks_read_from_the_open_rows_are_those_of_the_previous_snapshot(store: HistoryStore) -> None:
    first = save(store, [ALICE], 0)
    checked(store, first, fresh([POP, BOB]))
    second = save(store, [ALICE], 4)
    checked(store, second, fresh([POP, CAROL]))
    third = store.begin_pass(at(8))
    with store._engine.connect() as conn:
        from_open_rows = store._streaks_from_open_rows(conn, third)
        assert store._open_rows_read is not None and store._open_rows_read[0] == second.id
        assert from_open_rows == store._streaks(conn, third)
    assert from_open_rows == {POP.fingerprint: at(0), CAROL.fingerprint: at(4)}


def test_a_save_after_a_failed_pass_leaves_the_previous_findings_to_be_read(store: HistoryStore) -> None:
    first = save(store, [ALICE], 0)
    checked(store, first, fresh([POP, BOB]))
    failed = store.begin_pass(at(4))  # saved its results, then stopped: the open rows are its own
    run = RunResult(snapshot=SnapshotInfo(failed, at(4), False, (), 1), findings=fresh([CAROL]))
    store.annotate_findings(run)
    store.save_pass(failed, [ALICE], [directory_source(1)], run)
    store.mark_failed(failed, "report: disk full")
    third = save(store, [ALICE], 8)
    checked(store, third, fresh([POP]))
    assert store.findings_replaced(third.id, first.id) is None


def test_results_are_saved_again_only_while_nothing_later_builds_on_them(store: HistoryStore) -> None:
    first = save(store, [ALICE], 0)
    checked(store, first, fresh([POP, BOB]))
    second = save(store, [ALICE], 4)
    checked(store, second, fresh([POP]))
    checked(store, second, fresh([POP, CAROL]))  # the newest snapshot's results replaced
    assert verdicts(store.load_findings(second.id)) == verdicts(
        [
            dataclasses.replace(POP, new=False, first_seen=at(0)),
            dataclasses.replace(CAROL, new=True, first_seen=at(4)),
        ]
    )
    assert {f.subject for f in store.load_findings(first.id)} == {"pop.contoso.com", "CN=Bob"}
    with pytest.raises(StoreError, match="later snapshots' findings build on them"):
        checked(store, first, fresh([POP]))
    before = rows(store)
    checked(store, first, fresh([POP, BOB]))  # the findings it holds, saved again: allowed, no row written
    assert rows(store) == before
    assert store.verify_chain().intact


def test_a_reopened_finding_breaks_the_snapshot_that_closed_it(store: HistoryStore) -> None:
    snapshots: list[SnapshotInfo] = []
    for hours, findings in ((0, [POP, BOB]), (4, [POP]), (8, [POP])):
        snapshot = save(store, [ALICE], hours)
        checked(store, snapshot, fresh(findings))
        snapshots.append(snapshot)
    execute(store, "UPDATE finding SET valid_to_snapshot = NULL WHERE subject = 'CN=Bob'")
    assert "CN=Bob" in {f.subject for f in store.load_findings(snapshots[2].id)}  # what an attacker wants
    assert broken_at(store) == (snapshots[1].id, ["findings"])


def test_a_store_from_before_intervals_reads_the_same_and_goes_on(store_url: str) -> None:
    with HistoryStore(store_url) as store:
        ids = []
        for hours, findings in ((0, [POP, BOB]), (4, [POP, BOB]), (8, [POP, CAROL])):
            snapshot = save(store, [ALICE], hours)
            checked(store, snapshot, fresh(findings))
            ids.append(snapshot.id)
        before = {i: verdicts(store.load_findings(i)) for i in ids}
    engine = sa.create_engine(store_url)
    config = Config()
    config.set_main_option("script_location", "auditor:migrations")
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0005_incremental_reads")  # one row per finding per snapshot
    with engine.connect() as conn:
        per_snapshot = conn.execute(sa.text("SELECT snapshot_id, count(*) FROM finding GROUP BY snapshot_id"))
        assert dict(per_snapshot.all()) == {ids[0]: 2, ids[1]: 2, ids[2]: 2}
    engine.dispose()

    with HistoryStore(store_url) as upgraded:
        assert {i: verdicts(upgraded.load_findings(i)) for i in ids} == before
        assert upgraded.verify_chain().intact  # links resealed in the first format by the downgrade
        fourth = save(upgraded, [ALICE], 12)
        computed = checked(upgraded, fourth, fresh([POP, CAROL])).findings
        assert verdicts(upgraded.load_findings(fourth.id)) == verdicts(computed)
        assert not any(f.new for f in computed)  # streaks go on across the upgrade
        assert {i: verdicts(upgraded.load_findings(i)) for i in ids} == before
        result = upgraded.verify_chain()
        assert result.intact and result.links == 4


def test_a_finding_waived_today_and_failing_tomorrow_opens_a_row(store: HistoryStore) -> None:
    first = save(store, [ALICE], 0)
    waived = dataclasses.replace(POP, status=Status.WAIVED, waiver_reason="migration")
    checked(store, first, fresh([waived]))
    second = save(store, [ALICE], 4)
    checked(store, second, fresh([POP]))
    assert [f.status for f in store.load_findings(first.id)] == [Status.WAIVED]
    assert [f.status for f in store.load_findings(second.id)] == [Status.FAIL]
    assert rows(store) == 2


def test_reused_results_after_a_failed_pass_hold_the_source_findings(store: HistoryStore) -> None:
    first = save(store, [ALICE], 0)
    computed = checked(store, first, fresh([POP, BOB])).findings
    failed = store.begin_pass(at(4))  # its results differ (Bob fixed, Carol new); it never published
    run = RunResult(snapshot=SnapshotInfo(failed, at(4), False, (), 1), findings=fresh([POP, CAROL]))
    store.annotate_findings(run)
    store.save_pass(failed, [ALICE], [directory_source(1)], run)
    store.mark_failed(failed, "report: disk full")
    reusing = store.begin_pass(at(8))
    store.save_objects(
        reusing, [ALICE], [directory_source(1)], organization=lambda: "Contoso", deletions=lambda: {}
    )
    _checks, reused = store.reuse_results(
        reusing, first.id, results_key="key", auditor_version="", config_fingerprint=""
    )
    store.publish(reusing)
    continued = [dataclasses.replace(f, new=False) for f in computed]
    assert verdicts(reused) == verdicts(continued)
    assert verdicts(store.load_findings(reusing)) == verdicts(continued)
    assert verdicts(store.load_findings(first.id)) == verdicts(computed)
    result = store.verify_chain()
    assert result.intact and result.links == 2


def test_reused_results_of_an_unchanged_forest_write_no_finding_row(store: HistoryStore) -> None:
    first = save(store, [ALICE], 0)
    checked(store, first, fresh([POP, BOB]))
    before = rows(store)
    reusing = store.begin_pass(at(4))
    store.save_objects(
        reusing, [ALICE], [directory_source(1)], organization=lambda: "Contoso", deletions=lambda: {}
    )
    store.reuse_results(reusing, first.id, results_key="key", auditor_version="", config_fingerprint="")
    store.publish(reusing)
    assert rows(store) == before
    assert [f.new for f in store.load_findings(reusing)] == [False, False]
    assert store.verify_chain().intact


@pytest.mark.parametrize(
    ("opened", "closed", "held"),
    [
        (2, None, [2, 5, 7]),  # still open: every listed snapshot from its start
        (2, 7, [2, 5]),  # closed at 7: not held there
        (5, 5, [5]),  # stored before intervals: its own snapshot only
        (3, 7, [5]),  # opened by a pass that is not listed (failed, or unchecked)
        (3, 5, []),  # opened and closed between listed snapshots: held by none of them
    ],
)
def test_the_snapshots_a_row_holds_at(opened: int, closed: int | None, held: list[int]) -> None:
    listed = [2, 5, 7]
    first, last = span(listed, opened, closed)
    assert listed[first:last] == held
