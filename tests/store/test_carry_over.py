"""Carry-over: a pass that names unchanged objects instead of streaming them stores the same snapshot.

An incremental source that knows which objects it did not read again (`auditor.collect.
CarriesOver`) hands the store only the changed and new records plus the keys it carried over
(`save_objects(carried=...)`). The stored snapshot must be, object for object and interval for
interval, what streaming every record would have stored; a carried key the store does not hold, or
one that also streamed past, refuses the save whole. SQLite and the PostgreSQL lab server.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Iterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from auditor_store_testing import at, directory_source, user

from auditor.errors import StoreError
from auditor.records import ObjectRecord
from auditor.store import HistoryStore


def forest(count: int) -> list[ObjectRecord]:
    return [
        user(f"guid-{i:03d}", f"CN=user{i:03d},OU=Users,DC=contoso,DC=com", cn=f"user{i:03d}")
        for i in range(count)
    ]


def second_state(first: list[ObjectRecord]) -> tuple[list[ObjectRecord], set[str]]:
    """The forest a pass later: 3 changed, 2 removed, 2 added; and the keys left as they were."""
    records = {r.key: r for r in first}
    for key in ("guid-004", "guid-010", "guid-017"):
        records[key] = dataclasses.replace(records[key], attributes={"cn": ("renamed",), "mail": ("x@y",)})
    for key in ("guid-001", "guid-020"):
        del records[key]
    for i in (100, 101):
        added = user(f"guid-{i:03d}", f"CN=new{i},OU=Users,DC=contoso,DC=com", cn=f"new{i}")
        records[added.key] = added
    unchanged = {r.key for r in first if records.get(r.key) == r}
    return list(records.values()), unchanged


def saved_pass(
    store: HistoryStore, records: list[ObjectRecord], carried: Collection[str] | None = None
) -> tuple[int, int]:
    """(snapshot id, objects) of a pass saved as `auditor.run` saves it (not published)."""
    snapshot_id = store.begin_pass(at(1))
    count = store.save_objects(
        snapshot_id,
        iter(records),
        [directory_source(len(records) + len(carried or ()))],
        organization=lambda: "Contoso",
        deletions=dict,
        carried=(lambda: carried) if carried is not None else None,
    )
    return snapshot_id, count


def stored(store: HistoryStore, snapshot_id: int) -> list[ObjectRecord]:
    """The pass's stored objects in key order (`saved_records` gives them in none)."""
    return sorted(store.saved_records(snapshot_id), key=lambda r: r.key)


def intervals(store: HistoryStore, url: str) -> list[tuple[str, int | None, bool]]:
    """(key, version's position among the scope's versions, still open) of every interval of a scope."""
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT i.key, v.content_hash, i.valid_to_snapshot IS NULL FROM object_interval i "
                "JOIN object_version v ON v.id = i.version_id WHERE i.scope = :scope"
            ),
            {"scope": store.scope},
        ).all()
    engine.dispose()
    return sorted((str(r[0]), str(r[1]), bool(r[2])) for r in rows)  # type: ignore[misc]


@pytest.fixture
def two_scopes(store_url: str) -> Iterator[tuple[HistoryStore, HistoryStore]]:
    with HistoryStore(store_url, scope="streamed") as full, HistoryStore(store_url, scope="carried") as carry:
        yield full, carry


def test_a_carried_over_save_stores_what_streaming_every_record_stores(
    two_scopes: tuple[HistoryStore, HistoryStore], store_url: str
) -> None:
    full, carry = two_scopes
    first = forest(25)
    for store in (full, carry):
        store.save_snapshot(first, [directory_source(len(first))], datetime(2026, 11, 1, tzinfo=UTC))
    records, unchanged = second_state(first)
    assert len(unchanged) == 20

    full_id, full_count = saved_pass(full, records)
    changed = [r for r in records if r.key not in unchanged]
    carry_id, carry_count = saved_pass(carry, changed, unchanged)

    assert carry_count == full_count == len(records)
    assert stored(carry, carry_id) == stored(full, full_id) == sorted(records, key=lambda r: r.key)
    # The same intervals: 5 closed (3 changed, 2 removed), 5 opened (3 changed, 2 added), 20 kept.
    assert intervals(carry, store_url) == intervals(full, store_url)
    assert sum(not still_open for *_rest, still_open in intervals(carry, store_url)) == 5


def test_a_pass_that_carries_everything_over_opens_and_closes_no_interval(
    store: HistoryStore, store_url: str
) -> None:
    first = forest(12)
    store.save_snapshot(first, [directory_source(len(first))], datetime(2026, 11, 1, tzinfo=UTC))
    before = intervals(store, store_url)

    snapshot_id, count = saved_pass(store, [], {r.key for r in first})

    assert count == 12
    assert stored(store, snapshot_id) == first
    assert intervals(store, store_url) == before


@pytest.mark.parametrize(
    ("streamed", "carried", "message"),
    [
        (0, {"guid-999"}, "carried over but holds no stored state"),
        (1, {"guid-000"}, "both read and carried over"),
    ],
)
def test_a_carried_key_the_store_cannot_vouch_for_refuses_the_whole_save(
    store: HistoryStore, store_url: str, streamed: int, carried: set[str], message: str
) -> None:
    first = forest(6)
    store.save_snapshot(first, [directory_source(len(first))], datetime(2026, 11, 1, tzinfo=UTC))
    before = intervals(store, store_url)
    changed = [dataclasses.replace(first[0], attributes={"cn": ("changed",)})][:streamed]

    with pytest.raises(StoreError, match=message):
        saved_pass(store, changed, carried)

    assert intervals(store, store_url) == before


# -- the baseline index an incremental source asks for ---------------------------------------------


def indexed_during_save(
    store: HistoryStore, records: list[ObjectRecord], previous: int
) -> list[tuple[str, str, str]]:
    """What `baseline_index(previous)` gives when asked mid-save, as an incremental source asks."""
    seen: list[tuple[str, str, str]] = []

    def stream() -> Iterator[ObjectRecord]:
        seen.extend(store.baseline_index(previous))
        yield from records

    snapshot_id = store.begin_pass(at(2))
    store.expect_baseline_index(previous)  # as `auditor.run` does for an incremental source
    store.save_objects(
        snapshot_id, stream(), [directory_source(len(records))], organization=lambda: "", deletions=dict
    )
    return sorted(seen)


def test_the_baseline_index_is_the_previous_snapshots_objects(store: HistoryStore) -> None:
    first = forest(6)
    previous = store.save_snapshot(first, [directory_source(len(first))], at(0)).id
    expected = sorted(store.object_index(previous))
    assert indexed_during_save(store, first, previous) == expected
    assert store._open_index is None  # handed over once, never kept past the save


def test_after_a_pass_that_failed_with_its_objects_saved_the_index_is_read_again(store: HistoryStore) -> None:
    first = forest(25)
    previous = store.save_snapshot(first, [directory_source(len(first))], at(0)).id
    records, _ = second_state(first)
    failed, _count = saved_pass(store, records)  # objects saved, never published: its intervals stay
    store.mark_failed(failed, "the report could not be written")
    # The open intervals are the failed pass's; the baseline is still the last complete snapshot.
    assert indexed_during_save(store, first, previous) == sorted(store.object_index(previous))
    assert {key for key, _kind, _dn in store.object_index(previous)} == {r.key for r in first}
