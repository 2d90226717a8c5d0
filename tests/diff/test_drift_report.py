"""The drift report's data over a week: findings new / reopened / resolved / persisting, objects,
collection health, waivers and missed deliveries."""

from __future__ import annotations

import json
from datetime import date, timedelta
from importlib import resources
from typing import Any

import jsonschema
from auditor_store_testing import at, checked, directory_source, finding, save, user

from auditor.drift import build_drift_report
from auditor.store import HistoryStore

SCHEMA = json.loads(resources.files("auditor").joinpath("schemas/report.schema.json").read_text())
ALICE = user("guid-a", "CN=Alice,DC=contoso,DC=com", mail="alice@contoso.com")
ALICE_2 = user("guid-a", "CN=Alice,DC=contoso,DC=com", mail="alice@pop.contoso.com")
CAROL = user("guid-c", "CN=Carol,DC=contoso,DC=com")
GINA = user("guid-g", "CN=Gina,DC=contoso,DC=com")
A, R, X, N = ("COEX-301", "a.com"), ("COEX-302", "r.com"), ("COEX-303", "x.com"), ("COEX-304", "n.com")


def week(store: HistoryStore) -> list[int]:
    """Seven days ending at(168); the period starts at(0). Returns the snapshot ids in order."""
    ids = []
    for hours, objects, failing in (
        (-48, [ALICE, CAROL], [A, X]),
        (-24, [ALICE, CAROL], [A, R]),  # "from": the last complete snapshot before the period
        (24, [ALICE, CAROL], [A, R]),
        (96, [ALICE_2, GINA], [A, X, N]),  # R resolved, X reopened, N new
        (144, [ALICE_2, GINA], [A, X, N]),  # "to"
        (200, [ALICE], [A]),  # after the report's "now": ignored
    ):
        snapshot = save(store, objects, hours)
        checked(store, snapshot, [finding(*f) for f in failing])
        ids.append(snapshot.id)
        if hours == 24:
            failed = store.save_incomplete(
                [directory_source(0, complete=False, error="connection lost")],
                at(48),
                "directory: connection lost",
            )
            ids.append(failed.id)
    return ids


def entry(check_subject: tuple[str, str], first_seen: str, days: int, **extra: Any) -> dict[str, Any]:
    f = finding(*check_subject)
    return {
        "check": f.check,
        "subject": f.subject,
        "status": "fail",
        "severity": "high",
        "message": f.message,
        "fingerprint": f.fingerprint,
        "first_seen": first_seen,
        "failing_for_days": days,
        **extra,
    }


def test_drift_report_over_a_week(store: HistoryStore) -> None:
    ids = week(store)
    store.record_delivery(at(-336), at(-168), sent=True, error=None, sent_at=at(-168))
    store.record_delivery(at(-168), at(0), sent=False, error="smtp.contoso.com:587: timed out", sent_at=at(0))
    waivers = [
        ("COEX-301", "a.com", "migration in progress", date(2026, 11, 20)),
        ("COEX-302", "r.com", "accepted", date(2026, 11, 1)),
        ("COEX-303", "x.com", "long term", date(2027, 1, 1)),
    ]

    report = build_drift_report(store, since=timedelta(days=7), now=at(168), waivers=waivers).to_json()

    jsonschema.Draft202012Validator(SCHEMA).validate(report)
    assert report["organization"] == "Contoso"
    assert report["generated_at"] == "2026-11-08T07:00:00Z"
    assert report["period"] == {"since": "2026-11-01T07:00:00Z", "until": "2026-11-08T07:00:00Z"}
    assert report["from"] == {"id": ids[1], "taken_at": "2026-10-31T07:00:00Z"}
    assert report["to"] == {"id": ids[5], "taken_at": "2026-11-07T07:00:00Z"}
    assert report["findings"] == {
        "new": [entry(N, "2026-11-05T07:00:00Z", 3)],
        "resolved": [entry(R, "2026-10-31T07:00:00Z", 5, resolved_at="2026-11-05T07:00:00Z")],
        "persisting": [entry(A, "2026-10-30T07:00:00Z", 9)],
        "reopened": [entry(X, "2026-11-05T07:00:00Z", 3)],
        "waived": [],
    }
    assert report["objects"] == {
        "added": [{"kind": "user", "key": "guid-g", "dn": "CN=Gina,DC=contoso,DC=com"}],
        "removed": [{"kind": "user", "key": "guid-c", "dn": "CN=Carol,DC=contoso,DC=com"}],
        "changed": [
            {
                "kind": "user",
                "key": "guid-a",
                "dn": "CN=Alice,DC=contoso,DC=com",
                "attributes": {"mail": {"before": "alice@contoso.com", "after": "alice@pop.contoso.com"}},
            }
        ],
    }
    assert report["summary"] == {
        "new": 1,
        "resolved": 1,
        "persisting": 1,
        "reopened": 1,
        "waived": 0,
        "object_changes": 3,
        "snapshots": 4,
        "incomplete_snapshots": 1,
    }
    assert [
        (s["id"], s["complete"], s["objects"], s["error"]) for s in report["collection"]["snapshots"]
    ] == [
        (ids[2], True, 2, None),
        (ids[3], False, 0, "directory: connection lost"),
        (ids[4], True, 2, None),
        (ids[5], True, 2, None),
    ]
    assert report["collection"]["snapshots"][1]["sources"][0]["error"] == "connection lost"
    assert report["waivers"] == {
        "expiring": [
            {
                "check": "COEX-301",
                "subject": "a.com",
                "reason": "migration in progress",
                "expires": "2026-11-20",
                "days_left": 12,
            }
        ],
        "expired": [
            {
                "check": "COEX-302",
                "subject": "r.com",
                "reason": "accepted",
                "expires": "2026-11-01",
                "days_left": -7,
            }
        ],
    }
    assert report["delivery"] == {
        "last_sent": "2026-10-25T07:00:00Z",
        "missed": [
            {
                "period_from": "2026-10-25T07:00:00Z",
                "period_to": "2026-11-01T07:00:00Z",
                "error": "smtp.contoso.com:587: timed out",
            }
        ],
    }


def test_drift_report_of_a_new_store_has_no_ends(store: HistoryStore) -> None:
    store.save_incomplete(
        [directory_source(0, complete=False, error="bind failed")], at(1), "directory: bind failed"
    )

    report = build_drift_report(store, since=timedelta(days=7), now=at(24), organization="Fabrikam").to_json()

    jsonschema.Draft202012Validator(SCHEMA).validate(report)
    assert (report["from"], report["to"], report["organization"]) == (None, None, "Fabrikam")
    assert report["summary"] == {
        "new": 0,
        "resolved": 0,
        "persisting": 0,
        "reopened": 0,
        "waived": 0,
        "object_changes": 0,
        "snapshots": 1,
        "incomplete_snapshots": 1,
    }
    assert report["delivery"] == {"last_sent": None, "missed": []}


def test_first_complete_snapshot_inside_the_period_is_the_start(store: HistoryStore) -> None:
    first = save(store, [ALICE], 24)
    checked(store, first, [finding(*A)])
    last = save(store, [ALICE_2], 48)
    checked(store, last, [finding(*N)])

    report = build_drift_report(store, since=timedelta(days=7), now=at(168)).to_json()

    assert (report["from"]["id"], report["to"]["id"]) == (first.id, last.id)
    assert [f["check"] for f in report["findings"]["new"]] == ["COEX-304"]
    assert [f["check"] for f in report["findings"]["resolved"]] == ["COEX-301"]
    assert [e["key"] for e in report["objects"]["changed"]] == ["guid-a"]


def test_waived_findings_are_listed_apart_not_as_new_or_still_failing(store: HistoryStore) -> None:
    from auditor.registry import Status

    before = save(store, [ALICE], -24)
    checked(store, before, [finding(*A), finding(*R)])
    after = save(store, [ALICE], 24)
    # A stays failing; R is now waived; N appears already waived.
    checked(store, after, [finding(*A), finding(*R, status=Status.WAIVED), finding(*N, status=Status.WAIVED)])

    report = build_drift_report(store, since=timedelta(days=7), now=at(48)).to_json()

    jsonschema.Draft202012Validator(SCHEMA).validate(report)
    listed = {key: {(f["check"], f["subject"]) for f in value} for key, value in report["findings"].items()}
    assert listed == {"new": set(), "resolved": set(), "persisting": {A}, "reopened": set(), "waived": {R, N}}
    assert (report["summary"]["persisting"], report["summary"]["waived"]) == (1, 2)
