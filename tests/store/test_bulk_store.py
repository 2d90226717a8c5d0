"""The bulk save path and the streaming read, on SQLite and on the PostgreSQL lab server.

Saves go through COPY (PostgreSQL) or prepared executemany (SQLite) in batches: what comes back
must be exactly what went in, whatever the values hold (tabs, backslashes, line breaks and quotes
are what COPY's text format must escape), across batch boundaries. A 1 % change must touch only
the rows of the objects that changed. The read streams in keyset-paged batches: any batch size
gives the same records in key order, and what it holds in memory is one batch, not the snapshot.
"""

from __future__ import annotations

import gc
import tracemalloc
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from auditor_store_testing import save, user

from auditor.records import ObjectKind, ObjectRecord
from auditor.store import HistoryStore
from auditor.store.engine import CHUNK

AWKWARD = ("tab\there", "back\\slash", "line\nbreak", 'quote"s', "Zoë Müller", "\\N", "", "§ ünïcödé ✓")


def many(count: int, *, size: int = 0, tag: str = "") -> list[ObjectRecord]:
    """`count` users with awkward values and, with `size`, a value of about that many characters."""
    records = []
    for i in range(count):
        attributes: dict[str, tuple[str, ...]] = {
            "cn": (f"user{i:05d}{tag}",),
            "proxyAddresses": (f"SMTP:user{i:05d}@contoso.com", AWKWARD[i % len(AWKWARD)]),
        }
        if size:
            attributes["displayName"] = (f"{i:05d}" + "x" * size,)
        if i % 97 == 0:
            attributes = {}
        records.append(
            ObjectRecord(
                ObjectKind.USER, f"guid-{i:05d}", f"CN=user{i:05d},OU=Users,DC=contoso,DC=com", attributes
            )
        )
    return records


def interval_rows(url: str) -> set[tuple[int, str, int, int, int | None]]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT id, key, version_id, valid_from_snapshot, valid_to_snapshot FROM object_interval")
        )
        found = {(r[0], r[1], r[2], r[3], r[4]) for r in rows}
    engine.dispose()
    return found


def test_a_save_larger_than_a_batch_reads_back_exactly_in_any_batch_size(store: HistoryStore) -> None:
    records = many(2 * CHUNK + 123)
    first = save(store, records, 0)
    expected = sorted(records, key=lambda record: record.key)

    assert first.objects == len(records)
    assert list(store.load_records(first.id)) == expected
    assert list(store.load_records(first.id, batch=7)) == expected
    assert list(store.load_records(first.id, batch=len(records))) == expected


def test_an_earlier_snapshot_streams_back_as_it_was_after_later_changes(store: HistoryStore) -> None:
    before = many(500)
    first = save(store, before, 0)
    after = [
        *before[100:],
        *many(50, tag="-new")[-1:],
        user("guid-zzz", "CN=Late,DC=contoso,DC=com", cn="Late"),
    ]
    after[0] = user(after[0].key, after[0].dn, cn="renamed")
    second = save(store, after, 4)

    assert list(store.load_records(first.id, batch=33)) == sorted(before, key=lambda r: r.key)
    assert list(store.load_records(second.id, batch=33)) == sorted(after, key=lambda r: r.key)


def test_one_percent_churn_touches_only_the_rows_of_what_changed(store: HistoryStore) -> None:
    records = many(2000)
    save(store, records, 0)
    untouched_before = interval_rows(store.url)

    churned = list(records)
    for i in range(0, 2000, 100):  # 20 changed
        churned[i] = user(records[i].key, records[i].dn, cn=f"changed {i}")
    removed = {records[i].key for i in range(50, 2000, 400)}  # 5 removed
    churned = [r for r in churned if r.key not in removed]
    churned += [
        user(f"guid-new-{n}", f"CN=new{n},DC=contoso,DC=com", cn=f"new{n}") for n in range(5)
    ]  # 5 added
    second = save(store, churned, 4)

    rows = interval_rows(store.url)
    closed = {row for row in rows if row[4] == second.id}
    opened = {row for row in rows if row[3] == second.id}
    assert len(closed) == 25 and len(opened) == 25
    assert {row[1] for row in closed} == {records[i].key for i in range(0, 2000, 100)} | removed
    # Every other interval row is byte for byte what the first save wrote.
    assert rows - closed - opened == {row for row in untouched_before if row[1] not in {r[1] for r in closed}}
    assert list(store.load_records(second.id)) == sorted(churned, key=lambda r: r.key)


def test_the_streaming_read_holds_one_batch_not_the_snapshot(store: HistoryStore) -> None:
    snapshot = save(store, many(3000, size=2000), 0)
    gc.collect()

    tracemalloc.start()
    try:
        everything = list(store.load_records(snapshot.id))
        _, whole = tracemalloc.get_traced_memory()
        del everything
        gc.collect()
        tracemalloc.reset_peak()
        count = sum(1 for _ in store.load_records(snapshot.id, batch=50))
        _, streamed = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert count == 3000
    assert whole > 6_000_000  # 3,000 records of about 2 KB each, all held at once
    assert streamed < whole / 10


def test_saves_reuse_versions_across_scopes_without_id_clashes(store_url: str) -> None:
    records = many(300)
    with (
        HistoryStore(store_url, scope="forest-a") as forest_a,
        HistoryStore(store_url, scope="forest-b") as forest_b,
    ):
        a1 = save(forest_a, records, 0)
        b1 = save(forest_b, records, 1)
        a2 = save(forest_a, records[:150], 2)
        b2 = save(forest_b, [*records, user("guid-b-only", "CN=B,DC=contoso,DC=com", cn="B")], 3)

        assert list(forest_a.load_records(a1.id)) == sorted(records, key=lambda r: r.key)
        assert list(forest_a.load_records(a2.id)) == sorted(records[:150], key=lambda r: r.key)
        assert len(list(forest_b.load_records(b1.id))) == 300
        assert len(list(forest_b.load_records(b2.id))) == 301


def test_stored_content_hashes_are_the_records_own(store: HistoryStore) -> None:
    """Versions stored before the bulk path keep matching: the hash is `ObjectRecord.content_hash`."""
    records = [
        *many(120),
        ObjectRecord("pop3_mailbox", "pop3:POP01/zoë@pop.contoso.com", "POP01/zoë", {"mailbox": ("zoë",)}),
        ObjectRecord(ObjectKind.CONTACT, "guid-empty", "CN=Empty,DC=contoso,DC=com", {}),
    ]
    save(store, records, 0)
    engine = sa.create_engine(store.url)
    with engine.connect() as conn:
        stored = dict(conn.execute(sa.text("SELECT key, content_hash FROM object_version")).all())
    engine.dispose()
    assert stored == {record.key: record.content_hash() for record in records}


def test_a_stream_that_fails_midway_stores_no_object_and_keeps_its_own_error(store: HistoryStore) -> None:
    """`save_objects` reads the collection as it goes (auditor.run streams records into it): a
    source that fails after a few batches rolls everything back, and its error comes out as it
    was raised, never dressed as a failure (or damage) of the store."""
    from datetime import UTC, datetime

    from auditor_store_testing import directory_source

    records = many(CHUNK * 2 + 5)

    def collection() -> Iterator[ObjectRecord]:
        yield from records[: CHUNK * 2]
        raise ValueError("the export ends in the middle of an entry")

    snapshot_id = store.begin_pass(datetime(2026, 12, 1, tzinfo=UTC))
    source = directory_source(0)
    with pytest.raises(ValueError, match="middle of an entry"):
        store.save_objects(
            snapshot_id, collection(), [source], organization=lambda: "Contoso", deletions=dict
        )
    assert interval_rows(store.url) == set()
    assert store.save_objects(
        snapshot_id, iter(records), [source], organization=lambda: "Contoso", deletions=dict
    ) == len(records)
    assert len(interval_rows(store.url)) == len(records)
