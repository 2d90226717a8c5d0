"""Attribution through the store: origins are kept for changed objects only, never make a new
version by themselves, and show beside the changes of `auditor diff` (and only there)."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from importlib import resources

import jsonschema
import sqlalchemy as sa
from auditor_store_testing import at, directory_source, user

from auditor.attribution import ORIGIN_CREATED, ORIGIN_DN, Origin
from auditor.diff import diff_snapshots
from auditor.drift import build_drift_report
from auditor.records import ObjectRecord
from auditor.store import HistoryStore

SCHEMA = json.loads(resources.files("auditor").joinpath("schemas/diff.schema.json").read_text())
CREATED = Origin(datetime(2026, 10, 1, 9, 0, 0, tzinfo=UTC), "DC1", 1)
EDITED = Origin(datetime(2026, 11, 1, 8, 30, 5, tzinfo=UTC), "DC2", 2)
DELETED = Origin(datetime(2026, 11, 1, 9, 15, 0, tzinfo=UTC), "DC2", 1)


def live(record: ObjectRecord, **origins: Origin) -> ObjectRecord:
    names = {"created": ORIGIN_CREATED, "dn": ORIGIN_DN}
    return dataclasses.replace(record, origins={names.get(k, k): v for k, v in origins.items()})


BOB = live(
    user("guid-b", "CN=Bob,OU=POP3,DC=contoso,DC=com", targetAddress="SMTP:bob@pop.contoso.com"),
    created=CREATED,
    targetAddress=CREATED,
)
BOB_2 = live(
    user("guid-b", "CN=Robert,OU=POP3,DC=contoso,DC=com", targetAddress="SMTP:bob@contoso.com"),
    created=CREATED,
    targetAddress=EDITED,
    dn=EDITED,
)
CAROL = live(
    user("guid-c", "CN=Carol,DC=contoso,DC=com", mail="carol@contoso.com"), created=CREATED, mail=CREATED
)
# Carol read again from another DC after a rewrite of the same value: new metadata, same content.
CAROL_AGAIN = live(
    user("guid-c", "CN=Carol,DC=contoso,DC=com", mail="carol@contoso.com"), created=CREATED, mail=EDITED
)
DAVE = live(user("guid-d", "CN=Dave,DC=contoso,DC=com", mail="dave@contoso.com"), created=CREATED)
ERIN = live(user("guid-e", "CN=Erin,DC=contoso,DC=com", mail="erin@contoso.com"), created=EDITED, mail=EDITED)


def save(
    store: HistoryStore, records: list[ObjectRecord], hours: float, deletions: dict[str, Origin] | None = None
):  # type: ignore[no-untyped-def]
    return store.save_snapshot(records, [directory_source(len(records))], at(hours), deletions=deletions)


def rows(store: HistoryStore, table: str) -> int:
    with store._engine.connect() as conn:
        return int(conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())


def test_origins_are_kept_for_changes_only_and_shown_beside_them(store: HistoryStore) -> None:
    first = save(store, [BOB, CAROL, DAVE], 0)
    assert rows(store, "object_origin") == 0  # no diff ever starts before the first snapshot
    versions = rows(store, "object_version")
    second = save(store, [BOB_2, CAROL_AGAIN, ERIN], 4, deletions={"guid-d": DELETED, "guid-x": DELETED})
    # Bob changed and Erin is new: two version rows; Carol's metadata alone made none.
    assert rows(store, "object_version") == versions + 2
    assert rows(store, "object_origin") == 3  # Bob, Erin, Dave's deletion (guid-x never existed here)

    diff = diff_snapshots(store, first.id, second.id).to_json()
    jsonschema.validate(diff, SCHEMA)
    [bob] = diff["objects"]["changed"]
    assert bob["attributes"]["targetAddress"] == {
        "before": "SMTP:bob@pop.contoso.com",
        "after": "SMTP:bob@contoso.com",
        "origin": {"time": "2026-11-01T08:30:05Z", "dc": "DC2", "version": 2},
    }
    assert bob["attributes"]["dn"]["origin"] == EDITED.to_json()
    assert diff["objects"]["added"] == [{**_identity(ERIN), "origin": EDITED.to_json()}]
    assert diff["objects"]["removed"] == [{**_identity(DAVE), "origin": DELETED.to_json()}]

    backwards = diff_snapshots(store, second.id, first.id).to_json()
    assert "origin" not in json.dumps(backwards)

    report = build_drift_report(store, since=at(5) - at(-1), now=at(5)).to_json()
    assert report["objects"] == diff["objects"]


def test_sources_without_metadata_never_get_an_origin(store: HistoryStore) -> None:
    plain = [dataclasses.replace(r, origins=None) for r in (BOB, CAROL, DAVE)]
    first = save(store, plain, 0)
    second = save(store, [dataclasses.replace(BOB_2, origins=None), plain[1]], 4, deletions={})
    diff = diff_snapshots(store, first.id, second.id).to_json()
    assert "origin" not in json.dumps(diff)
    assert rows(store, "object_origin") == 0


def test_origins_follow_the_latest_change_in_the_period(store: HistoryStore) -> None:
    first = save(store, [BOB, CAROL], 0)
    save(store, [BOB_2, CAROL], 4)
    later = Origin(datetime(2026, 11, 2, 10, 0, 0, tzinfo=UTC), "DC3", 3)
    bob_3 = live(
        user("guid-b", "CN=Robert,OU=POP3,DC=contoso,DC=com", targetAddress="SMTP:b@contoso.com"),
        created=CREATED,
        targetAddress=later,
        dn=EDITED,
    )
    third = save(store, [bob_3, CAROL], 8)
    [bob] = diff_snapshots(store, first.id, third.id).to_json()["objects"]["changed"]
    assert bob["attributes"]["targetAddress"]["origin"] == later.to_json()
    assert bob["attributes"]["dn"]["origin"] == EDITED.to_json()


def _identity(record: ObjectRecord) -> dict[str, str]:
    return {"kind": record.kind, "key": record.key, "dn": record.dn}
