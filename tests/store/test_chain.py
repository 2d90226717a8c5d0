"""The tamper-evidence chain: sealed with every checked snapshot, recomputed by verify, broken by
an edited object version, a deleted finding or a deleted snapshot, and built for older stores on
upgrade."""

from __future__ import annotations

import logging

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from auditor_store_testing import at, broken_at, checked, directory_source, execute, finding, save, user

from auditor.records import ObjectRecord
from auditor.results import RunResult, SnapshotInfo
from auditor.store import HistoryStore
from auditor.store.chain import genesis, link_digest

ALICE = user("guid-a", "CN=Alice,DC=contoso,DC=com", mail="alice@contoso.com")
BOB = user("guid-b", "CN=Bob,DC=contoso,DC=com", targetAddress="SMTP:bob@pop.contoso.com")
BOB_2 = user("guid-b", "CN=Bob,DC=contoso,DC=com", targetAddress="SMTP:bob@contoso.com")
CAROL = user("guid-c", "CN=Carol,DC=contoso,DC=com", mail="carol@contoso.com")


def history(store: HistoryStore) -> list[SnapshotInfo]:
    """Five checked passes: Bob changes at 2, nothing at 3, Carol arrives at 4, Alice leaves at 5."""
    states: list[list[ObjectRecord]] = [
        [ALICE, BOB],
        [ALICE, BOB_2],
        [ALICE, BOB_2],
        [ALICE, BOB_2, CAROL],
        [BOB_2, CAROL],
    ]
    snapshots = []
    for hours, records in enumerate(states):
        snapshot = save(store, records, 4 * hours)
        checked(
            store,
            snapshot,
            [finding("COEX-301", "pop.contoso.com")] + ([finding("COEX-302", "CN=Bob")] if hours % 2 else []),
        )
        snapshots.append(snapshot)
    return snapshots


def downgrade(store_url: str, revision: str) -> None:
    engine = sa.create_engine(store_url)
    config = Config()
    config.set_main_option("script_location", "auditor:migrations")
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, revision)
    engine.dispose()


def stored_digests(store_url: str) -> dict[int, str]:
    """Each link's digest as stored, read without opening (and so upgrading) the store."""
    engine = sa.create_engine(store_url)
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT snapshot_id, digest FROM chain_link")).all()
    engine.dispose()
    return {int(row[0]): str(row[1]) for row in rows}


def test_an_untouched_history_verifies_and_publishes_its_head(store: HistoryStore) -> None:
    snapshots = history(store)
    store.save_incomplete([], snapshots[-1].taken_at, "directory: unreachable")  # not in the chain
    result = store.verify_chain()
    assert result.intact and result.broken is None
    assert (result.links, result.snapshots, result.unsealed) == (5, 5, [])
    head = store.chain_head()
    assert head is not None and result.head == head and head.snapshot_id == snapshots[-1].id
    digests = store.digests()
    assert sorted(digests) == [s.id for s in snapshots]
    assert result.verified_digests == {digest: snapshot_id for snapshot_id, digest in digests.items()}
    assert len(set(digests.values())) == 5


def test_the_first_link_is_chained_to_the_scope(store_url: str) -> None:
    with HistoryStore(store_url, scope="forest-a") as a, HistoryStore(store_url, scope="forest-b") as b:
        for store in (a, b):
            checked(store, save(store, [ALICE], 0), [])
        head_a, head_b = a.chain_head(), b.chain_head()
        assert head_a is not None and head_b is not None
        assert head_a.digest != head_b.digest  # same content, different scope
        assert a.verify_chain().intact and b.verify_chain().intact
    assert genesis("forest-a") != genesis("forest-b")


def test_a_pass_that_stopped_before_its_checks_is_sealed_with_the_next_one(store: HistoryStore) -> None:
    first = save(store, [ALICE], 0)
    checked(store, first, [])
    unchecked = save(store, [ALICE, BOB], 4)
    assert store.verify_chain().unsealed == [unchecked.id]
    last = save(store, [ALICE, BOB_2], 8)
    checked(store, last, [])
    result = store.verify_chain()
    assert result.intact and (result.links, result.snapshots, result.unsealed) == (2, 3, [])
    assert unchecked.id not in store.digests()


def test_a_hand_edited_object_version_breaks_the_first_snapshot_holding_it(store: HistoryStore) -> None:
    snapshots = history(store)
    execute(
        store,
        "UPDATE object_version SET attributes = :value WHERE key = 'guid-b' AND CAST(attributes AS TEXT) LIKE '%bob@contoso.com%'",
        value='{"targetAddress": ["SMTP:bob@evil.example"]}',
    )
    result = store.verify_chain()
    assert not result.intact and result.broken is not None
    assert result.broken.snapshot_id == snapshots[1].id  # where BOB_2 first appeared
    assert "object_version row" in result.broken.reason and "CN=Bob" in result.broken.reason
    assert [d["part"] for d in result.broken.differs] == ["objects"]
    assert result.head is not None and result.head.snapshot_id == snapshots[0].id


def test_a_deleted_finding_breaks_its_snapshot(store: HistoryStore) -> None:
    snapshots = history(store)
    execute(
        store,
        "DELETE FROM finding WHERE snapshot_id = :id AND check_id = 'COEX-302'",
        id=snapshots[3].id,
    )
    result = store.verify_chain()
    assert result.broken is not None and result.broken.snapshot_id == snapshots[3].id
    # The link holds the finding rows that opened or closed at its snapshot: Bob's COEX-302 opened.
    assert result.broken.differs == ({"part": "findings", "sealed": 1, "now": 0},)
    assert "the findings (1 rows when sealed, 0 now)" in result.broken.reason


def test_a_deleted_middle_snapshot_breaks_the_next_one_and_is_named(store: HistoryStore) -> None:
    snapshots = history(store)
    execute(store, "DELETE FROM snapshot WHERE id = :id", id=snapshots[2].id)  # nothing changed in it
    result = store.verify_chain()
    assert result.broken is not None and result.broken.snapshot_id == snapshots[3].id
    assert f"sealed after snapshot {snapshots[2].id}, which is missing" in result.broken.reason


def test_a_history_cut_short_still_verifies_but_no_longer_holds_the_published_digest(
    store: HistoryStore,
) -> None:
    snapshots = history(store)
    published = store.chain_head()
    assert published is not None
    execute(store, "DELETE FROM object_interval WHERE valid_from_snapshot = :id", id=snapshots[-1].id)
    execute(
        store,
        "UPDATE object_interval SET valid_to_snapshot = NULL WHERE valid_to_snapshot = :id",
        id=snapshots[-1].id,
    )
    execute(store, "DELETE FROM snapshot WHERE id = :id", id=snapshots[-1].id)
    result = store.verify_chain()
    assert result.intact  # a chain alone cannot see its end cut off ...
    assert published.digest not in result.verified_digests  # ... the digest that left the store can


def test_an_edited_link_is_caught(store: HistoryStore) -> None:
    snapshots = history(store)
    digests = store.digests()
    execute(
        store, "UPDATE chain_link SET digest = :d WHERE snapshot_id = :id", d="0" * 64, id=snapshots[1].id
    )
    result = store.verify_chain()
    assert result.broken is not None and result.broken.snapshot_id == snapshots[1].id
    assert "the link itself was edited" in result.broken.reason
    assert (
        link_digest(
            genesis(store.scope),
            {p: "00" * 32 for p in ("snapshots", "objects", "results", "findings", "origins")},
        )
        != digests[snapshots[0].id]
    )


def test_upgrading_an_older_store_computes_the_same_chain_and_says_so(
    store_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    with HistoryStore(store_url) as store:
        history(store)
    downgrade(store_url, "0005_incremental_reads")  # sealed as auditor sealed it before revision 0006
    sealed = stored_digests(store_url)
    downgrade(store_url, "0001")  # the store as auditor left it before the chain
    with caplog.at_level(logging.WARNING, logger="auditor.store"), HistoryStore(store_url) as upgraded:
        assert upgraded.digests() == sealed
        assert upgraded.verify_chain().intact
    lines = [r.getMessage() for r in caplog.records if r.name == "auditor.store"]
    assert lines == [
        "history store: sealed 5 existing snapshots into the tamper-evidence chain (scope 'default'); "
        "`auditor verify` checks it from now on"
    ]


def failed_pass(store: HistoryStore, records: list[ObjectRecord], hours: float) -> int:
    """A pass that saved its objects and results, then stopped before it was published."""
    snapshot_id = store.begin_pass(at(hours))
    run = RunResult(snapshot=SnapshotInfo(snapshot_id, at(hours), False, (), len(records)))
    store.save_pass(snapshot_id, records, [directory_source(len(records))], run)
    store.mark_failed(snapshot_id, "report: disk full")
    return snapshot_id


def test_an_interval_a_failed_pass_opened_is_sealed_with_the_pass_that_holds_it(store: HistoryStore) -> None:
    first = save(store, [ALICE, BOB], 0)
    checked(store, first, [finding("COEX-301", "pop.contoso.com")])
    failed = failed_pass(store, [ALICE, BOB_2], 4)  # Bob's new version opens here
    held = save(store, [ALICE, BOB_2], 8)  # reads the same Bob: holds the failed pass's interval
    checked(store, held, [finding("COEX-301", "pop.contoso.com")])
    assert store.verify_chain().intact
    execute(
        store,
        "UPDATE object_interval SET version_id = (SELECT version_id FROM object_interval "
        "WHERE valid_from_snapshot = :first AND key = 'guid-b') "
        "WHERE valid_from_snapshot = :failed AND key = 'guid-b'",
        first=first.id,
        failed=failed,
    )
    assert broken_at(store) == (held.id, ["objects"])


def test_a_finding_row_slipped_in_before_the_second_format_is_caught(store_url: str) -> None:
    with HistoryStore(store_url) as store:
        first = save(store, [ALICE], 0)
        checked(store, first, [finding("COEX-301", "pop.contoso.com")])
        failed = store.begin_pass(at(2))  # never sealed by any link
        store.mark_failed(failed, "directory: unreachable")
        second = save(store, [ALICE], 4)
        checked(store, second, [finding("COEX-301", "pop.contoso.com")])
    downgrade(store_url, "0005_incremental_reads")  # links in the first format, as before intervals
    with HistoryStore(store_url) as store:
        third = save(store, [ALICE], 8)
        checked(store, third, [finding("COEX-301", "pop.contoso.com")])
        assert store.verify_chain().intact
        execute(
            store,
            "INSERT INTO finding (scope, snapshot_id, valid_to_snapshot, check_id, subject, fingerprint, "
            "status, severity, message, first_seen, new) VALUES ('default', :failed, NULL, 'COEX-301', "
            "'slipped.example', 'f00d', 'fail', 'high', 'slipped in', :at, :new)",
            failed=failed,
            at=at(2),
            new=False,
        )
        assert "slipped.example" in {f.subject for f in store.load_findings(third.id)}
        assert broken_at(store) == (third.id, ["findings"])


def test_a_link_in_an_unknown_format_is_a_break_naming_it(store: HistoryStore) -> None:
    snapshots = history(store)
    execute(
        store, "UPDATE chain_link SET format = 'auditor.chain/9' WHERE snapshot_id = :id", id=snapshots[2].id
    )
    result = store.verify_chain()
    assert result.broken is not None and result.broken.snapshot_id == snapshots[2].id
    assert "unknown format 'auditor.chain/9'" in result.broken.reason
    assert result.head is not None and result.head.snapshot_id == snapshots[1].id
