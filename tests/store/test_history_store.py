"""HistoryStore: change-only storage, incomplete snapshots, references, findings history, deliveries."""

from __future__ import annotations

import json
from collections.abc import Iterator
from importlib import resources

import jsonschema
import pytest
import sqlalchemy as sa
from auditor_store_testing import at, checked, directory_source, finding, save, user

from auditor.errors import CollectorError, SnapshotError, StoreError
from auditor.records import ObjectRecord
from auditor.registry import Status
from auditor.store import HistoryStore

HISTORY_SCHEMA = json.loads(resources.files("auditor").joinpath("schemas/history.schema.json").read_text())
ALICE = user("guid-a", "CN=Alice,OU=Staff,DC=contoso,DC=com", proxyAddresses=("SMTP:alice@contoso.com",))
BOB = user("guid-b", "CN=Bob,OU=Staff,DC=contoso,DC=com", targetAddress="SMTP:bob@pop.contoso.com")
CAROL = user("guid-c", "CN=Carol,OU=Staff,DC=contoso,DC=com", mail="carol@contoso.com")


def row_counts(url: str) -> dict[str, int]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        counts = {
            table: int(conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())
            for table in ("snapshot", "snapshot_source", "object_version", "object_interval")
        }
    engine.dispose()
    return counts


def records_of(store: HistoryStore, snapshot_id: int) -> list[ObjectRecord]:
    return list(store.load_records(snapshot_id))


def test_unchanged_second_snapshot_adds_no_object_rows(store: HistoryStore) -> None:
    save(store, [ALICE, BOB, CAROL], 0)
    before = row_counts(store.url)
    second = save(store, [CAROL, BOB, ALICE], 4)
    after = row_counts(store.url)

    assert before == {"snapshot": 1, "snapshot_source": 1, "object_version": 3, "object_interval": 3}
    assert after == {"snapshot": 2, "snapshot_source": 2, "object_version": 3, "object_interval": 3}
    assert records_of(store, second.id) == [ALICE, BOB, CAROL]


def test_a_change_adds_one_version_and_keeps_the_old_state_readable(store: HistoryStore) -> None:
    first = save(store, [ALICE, BOB], 0)
    bob_moved = user("guid-b", "CN=Bob,DC=contoso,DC=com", targetAddress="SMTP:bob@contoso.com")
    second = save(store, [ALICE, bob_moved, CAROL], 4)
    third = save(store, [ALICE, CAROL], 8)

    assert row_counts(store.url)["object_version"] == 4
    assert records_of(store, first.id) == [ALICE, BOB]
    assert records_of(store, second.id) == [ALICE, bob_moved, CAROL]
    assert records_of(store, third.id) == [ALICE, CAROL]
    assert (second.objects, third.objects) == (3, 2)


def test_an_object_returning_to_an_earlier_state_reuses_its_version(store: HistoryStore) -> None:
    save(store, [ALICE], 0)
    save(store, [user("guid-a", ALICE.dn, proxyAddresses=("SMTP:alice@pop.contoso.com",))], 4)
    latest = save(store, [ALICE], 8)

    assert row_counts(store.url)["object_version"] == 2
    assert row_counts(store.url)["object_interval"] == 3
    assert records_of(store, latest.id) == [ALICE]


def test_incomplete_snapshot_is_recorded_but_never_complete(store: HistoryStore) -> None:
    first = save(store, [ALICE, BOB], 0)
    counts = row_counts(store.url)
    failed = store.save_incomplete(
        [directory_source(1, complete=False, error="connection lost")], at(4), "directory: connection lost"
    )

    assert [(s.id, s.complete, s.objects) for s in store.snapshots()] == [
        (failed.id, False, 0),
        (first.id, True, 2),
    ]
    assert store.snapshots()[0].error == "directory: connection lost"
    assert row_counts(store.url)["object_interval"] == counts["object_interval"]
    assert store.resolve("latest").id == first.id
    with pytest.raises(SnapshotError, match=r"^snapshot \d+ is incomplete \(directory: connection lost\)"):
        store.resolve(str(failed.id))
    with pytest.raises(SnapshotError, match="incomplete and holds no objects"):
        store.load_records(failed.id)
    assert store.load_sources(failed.id)[0].error == "connection lost"

    third = save(store, [ALICE, BOB], 8)
    assert store.resolve("previous").id == first.id
    assert records_of(store, third.id) == [ALICE, BOB]
    assert row_counts(store.url)["object_interval"] == counts["object_interval"]


def test_resolve_every_reference_form(store: HistoryStore) -> None:
    with pytest.raises(SnapshotError, match="no complete snapshot yet"):
        store.resolve("latest")
    first = save(store, [ALICE], 0)  # 2026-11-01T07:00Z
    with pytest.raises(SnapshotError, match="only one complete snapshot"):
        store.resolve("previous")
    second = save(store, [ALICE, BOB], 24)  # 2026-11-02T07:00Z
    failed = store.save_incomplete([], at(30), "directory: bind failed")
    third = save(store, [BOB], 48)  # 2026-11-03T07:00Z

    assert store.resolve(first.id).id == first.id
    assert store.resolve(str(second.id)).id == second.id
    assert store.resolve("latest").id == third.id
    assert store.resolve("LATEST").id == third.id
    assert store.resolve("previous").id == second.id
    assert store.resolve("2026-11-02T07:00:00Z").id == second.id
    assert store.resolve("2026-11-02T06:59:59+00:00").id == first.id
    assert store.resolve("2026-11-02T08:00:00+01:00").id == second.id
    assert store.resolve("2026-11-02T12:00").id == second.id  # naive = UTC
    assert store.resolve("2026-11-02").id == second.id  # a date = the end of that day
    assert store.resolve("2026-11-02T13:00:00Z").id == second.id  # the incomplete one at 13:00 is skipped
    assert store.resolve("2026-12-31").id == third.id
    resolved = store.resolve("latest")
    assert resolved.taken_at == at(48)
    assert [s.name for s in resolved.sources] == ["directory"]

    with pytest.raises(SnapshotError, match="no complete snapshot at or before 2026-10-31T23:59:59"):
        store.resolve("2026-10-31")
    with pytest.raises(SnapshotError, match="no snapshot 999 in the history store"):
        store.resolve("999")
    with pytest.raises(SnapshotError, match=r"is incomplete \(directory: bind failed\); .* cannot be diffed"):
        store.resolve(failed.id, purpose="diffed")
    with pytest.raises(SnapshotError, match="cannot read snapshot reference 'yesterday'"):
        store.resolve("yesterday")


def test_annotate_findings_tracks_streaks_through_resolve_and_reopen(store: HistoryStore) -> None:
    a, b, c = "CN=A,DC=contoso,DC=com", "pop.contoso.com", "CN=C,DC=contoso,DC=com"
    s1 = save(store, [ALICE], 0)
    run1 = checked(store, s1, [finding("COEX-301", a), finding("COEX-302", b)])
    s2 = save(store, [ALICE], 4)
    run2 = checked(store, s2, [finding("COEX-301", a), finding("COEX-302", c, Status.WAIVED)])
    store.save_incomplete([], at(6), "directory: timeout")  # neither breaks nor extends a streak
    s3 = save(store, [ALICE], 8)
    run3 = checked(store, s3, [finding("COEX-301", a), finding("COEX-302", b), finding("COEX-302", c)])

    assert [(f.subject, f.new, f.first_seen) for f in run1.findings] == [(a, True, at(0)), (b, True, at(0))]
    assert [(f.subject, f.new, f.first_seen) for f in run2.findings] == [(a, False, at(0)), (c, True, at(4))]
    assert [(f.subject, f.new, f.first_seen) for f in run3.findings] == [
        (a, False, at(0)),
        (b, True, at(8)),  # reopened: its streak starts again
        (c, False, at(4)),  # waived then failing: still the same streak
    ]
    stored = store.load_findings(s3.id)
    assert [(f.check, f.subject, f.status, f.new, f.first_seen) for f in stored] == [
        ("COEX-301", a, Status.FAIL, False, at(0)),
        ("COEX-302", c, Status.FAIL, False, at(4)),
        ("COEX-302", b, Status.FAIL, True, at(8)),
    ]
    assert [c.id for c in store.load_check_results(s3.id)] == ["COEX-301", "COEX-302"]


def test_history_counts_failing_findings_without_waived(store: HistoryStore) -> None:
    s1 = save(store, [ALICE], 0)
    checked(store, s1, [finding("COEX-301", "x"), finding("COEX-302", "y", Status.WAIVED)])
    s2 = save(store, [ALICE], 4)
    checked(store, s2, [finding("COEX-301", "x"), finding("COEX-302", "y", Status.ERROR)])
    s3 = save(store, [ALICE], 8)

    assert [(s.id, s.failing) for s in store.snapshots()] == [(s3.id, 0), (s2.id, 2), (s1.id, 1)]
    history = {"schema": "auditor.history/1", "snapshots": [s.to_json() for s in store.snapshots()]}
    jsonschema.Draft202012Validator(HISTORY_SCHEMA).validate(history)
    assert store.snapshots()[0].to_json() == {
        "id": s3.id,
        "taken_at": "2026-11-01T15:00:00Z",
        "complete": True,
        "objects": 1,
        "failing": 0,
    }


def test_failing_record_stream_stores_nothing(store: HistoryStore) -> None:
    save(store, [ALICE], 0)
    counts = row_counts(store.url)

    def broken() -> Iterator[ObjectRecord]:
        yield BOB
        raise CollectorError("domain.ldf line 12: truncated entry")

    with pytest.raises(CollectorError, match="truncated entry"):
        store.save_snapshot(broken(), [directory_source(1)], at(4))
    with pytest.raises(StoreError, match="two objects share the key 'guid-a'"):
        store.save_snapshot([ALICE, BOB, ALICE], [directory_source(3)], at(8))
    assert row_counts(store.url) == counts


def test_scopes_sharing_one_database_do_not_see_each_other(store_url: str) -> None:
    with (
        HistoryStore(store_url, scope="forest-a") as forest_a,
        HistoryStore(store_url, scope="forest-b") as forest_b,
    ):
        a1 = save(forest_a, [ALICE, BOB], 0)
        b1 = save(forest_b, [ALICE], 1)
        a2 = save(forest_a, [ALICE], 2)

        assert [s.id for s in forest_a.snapshots()] == [a2.id, a1.id]
        assert [s.id for s in forest_b.snapshots()] == [b1.id]
        assert records_of(forest_b, b1.id) == [ALICE]
        assert records_of(forest_a, a2.id) == [ALICE]
        with pytest.raises(
            SnapshotError, match=f"no snapshot {b1.id} in the history store \\(scope 'forest-a'\\)"
        ):
            forest_a.resolve(b1.id)


def test_deliveries_remember_the_gap_since_the_last_report_sent(store: HistoryStore) -> None:
    assert store.last_delivery() is None
    store.record_delivery(
        at(-168), at(0), sent=False, error="smtp.contoso.com:587: connection refused", sent_at=at(0)
    )
    store.record_delivery(at(-168), at(0), sent=True, error=None, sent_at=at(1))
    store.record_delivery(
        at(0), at(168), sent=False, error="smtp.contoso.com:587: timed out", sent_at=at(168)
    )
    store.record_delivery(  # as the CLI passes them: the report's ISO strings
        "2026-11-08T07:00:00Z",
        "2026-11-15T07:00:00Z",
        sent=False,
        error="smtp.contoso.com:587: 535 auth",
        sent_at=at(336),
    )

    last_sent = store.last_delivery(sent=True)
    assert last_sent is not None and last_sent.sent_at == at(1)
    last = store.last_delivery()
    assert last is not None and (last.sent, last.period_to) == (False, at(336))
    assert [(m.period_from, m.error) for m in store.missed_deliveries()] == [
        (at(0), "smtp.contoso.com:587: timed out"),
        (at(168), "smtp.contoso.com:587: 535 auth"),
    ]


def test_unreachable_postgresql_is_one_store_error_without_the_password() -> None:
    with pytest.raises(StoreError) as caught:
        HistoryStore("postgresql+psycopg://auditor:s3cret-pw@127.0.0.1:1/auditor")
    message = str(caught.value)
    assert message.startswith("history store postgresql+psycopg://auditor@127.0.0.1:1/auditor: cannot open: ")
    assert "s3cret" not in message and "\n" not in message


def test_unusable_sqlite_files_are_store_errors(tmp_path: pytest.TempPathFactory) -> None:
    missing = tmp_path / "nowhere" / "history.db"  # type: ignore[operator]
    with pytest.raises(StoreError, match=f"folder {tmp_path}/nowhere does not exist"):
        HistoryStore(f"sqlite:///{missing}")
    garbage = tmp_path / "garbage.db"  # type: ignore[operator]
    garbage.write_bytes(b"this is not a database, it is a text file that is long enough" * 20)
    with pytest.raises(
        StoreError, match=r"^history store sqlite:///.*garbage.db: cannot open: .*not a database"
    ):
        HistoryStore(f"sqlite:///{garbage}")
    with pytest.raises(StoreError, match="only sqlite:// and postgresql:// are supported"):
        HistoryStore("mysql://root:pw@localhost/auditor")


def test_an_exports_time_and_staleness_are_kept_with_its_source(store: HistoryStore) -> None:
    """`exported_at` and `stale` (max_age) survive the store on SQLite and PostgreSQL alike."""
    from datetime import UTC, datetime

    from auditor.records import SourceInfo

    exported = datetime(2026, 11, 30, 6, 0, 5, tzinfo=UTC)
    stale = SourceInfo(
        name="pop3:LNX01",
        kind="linux-ssh",
        complete=True,
        objects=1,
        exported_at=exported,
        stale="exported 2026-11-30T06:00:05Z, 3d ago, older than max_age 2d",
    )
    fresh = SourceInfo(name="directory", kind="ldif", complete=True, objects=1)
    record = ObjectRecord("postfix_host", "postfix:lnx01", "LNX01", {"relayhost": ("[ex16]",)})
    info = store.save_snapshot([record], [fresh, stale], at(3))
    loaded = store.load_sources(info.id)
    assert [(s.name, s.exported_at, s.stale) for s in loaded] == [
        ("directory", None, None),
        ("pop3:LNX01", exported, stale.stale),
    ]
    assert loaded[1].to_json()["exported_at"] == "2026-11-30T06:00:05Z"
    (summary,) = store.snapshots()
    assert summary.stale == (f"pop3:LNX01: {stale.stale}",)
    assert summary.to_json()["stale"] == [f"pop3:LNX01: {stale.stale}"]
