"""auditor diff: objects keyed by GUID, directory-aware value comparison, findings by fingerprint."""

from __future__ import annotations

import json
from importlib import resources

import jsonschema
import pytest
from auditor_store_testing import at, checked, directory_source, finding, save, user

from auditor.diff import attribute_changes, diff_snapshots
from auditor.errors import SnapshotError
from auditor.records import ObjectKind, ObjectRecord
from auditor.store import HistoryStore

X400 = "X400:c=US;a= ;p=Contoso;o=Exchange;s=Alice;"
ALICE = user("guid-a", "CN=Alice,OU=Staff,DC=contoso,DC=com", proxyAddresses=("SMTP:alice@contoso.com", X400))
ALICE_2 = user(
    "guid-a",
    "CN=Alice,OU=Staff,DC=contoso,DC=com",
    proxyAddresses=(X400, "smtp:alice.s@contoso.com", "SMTP:alice@contoso.com"),
)
BOB = user("guid-b", "CN=Bob,OU=POP3,DC=contoso,DC=com", targetAddress="SMTP:bob@pop.contoso.com")
BOB_2 = user("guid-b", "CN=Bob,OU=POP3,DC=contoso,DC=com", targetAddress="SMTP:bob@contoso.com")
CAROL = ObjectRecord(
    ObjectKind.CONTACT, "guid-c", "CN=Carol,OU=Partners,DC=contoso,DC=com", {"mail": ("c@f.com",)}
)
DAVE = user("guid-d", "CN=Dave,OU=Staff,DC=contoso,DC=com", mail="dave@contoso.com")
DAVE_MOVED = user("guid-d", "CN=David,OU=Sales,DC=contoso,DC=com", mail="dave@contoso.com")
ERIN = user(
    "guid-e",
    "CN=Erin,OU=POP3,DC=contoso,DC=com",
    objectClass=("top", "person", "user"),
    proxyAddresses=("SMTP:erin@contoso.com", "smtp:erin@pop.contoso.com"),
)
ERIN_2 = user(
    "guid-e",
    "CN=Erin,OU=POP3,DC=contoso,DC=com",
    objectClass=("top", "Person", "user"),  # case only: no drift
    proxyAddresses=("SMTP:erin@pop.contoso.com", "smtp:erin@contoso.com"),
)
FRANK = user(
    "guid-f", "CN=Frank,DC=contoso,DC=com", mail="frank@contoso.com", whenChanged="20261101070000.0Z"
)
FRANK_2 = user(
    "guid-f", "CN=Frank,DC=contoso,DC=com", mail="frank@contoso.com", whenChanged="20261102070000.0Z"
)
GINA = user("guid-g", "CN=Gina,OU=Staff,DC=contoso,DC=com", mail="gina@contoso.com")
HANK = user("guid-h", "CN=Hank,DC=contoso,DC=com", proxyAddresses=("SMTP:Hank@Contoso.com",))
HANK_2 = user("guid-h", "CN=Hank,DC=contoso,DC=com", proxyAddresses=("SMTP:hank@contoso.com",))

SCHEMA = json.loads(resources.files("auditor").joinpath("schemas/diff.schema.json").read_text())


def test_diff_of_two_snapshots(store: HistoryStore) -> None:
    first = save(store, [ALICE, BOB, CAROL, DAVE, ERIN, FRANK, HANK], 0)
    checked(store, first, [finding("COEX-301", "pop.contoso.com"), finding("COEX-302", "CN=Bob")])
    second = save(store, [ALICE_2, BOB_2, DAVE_MOVED, ERIN_2, FRANK_2, GINA, HANK_2], 4)
    checked(store, second, [finding("COEX-302", "CN=Bob"), finding("COEX-302", "CN=Gina")])

    diff = diff_snapshots(store, "previous", "latest").to_json()

    jsonschema.Draft202012Validator(SCHEMA).validate(diff)
    assert diff["schema"] == "auditor.diff/1"
    assert diff["from"] == {"id": first.id, "taken_at": "2026-11-01T07:00:00Z"}
    assert diff["to"] == {"id": second.id, "taken_at": "2026-11-01T11:00:00Z"}
    assert diff["objects"] == {
        "added": [{"kind": "user", "key": "guid-g", "dn": "CN=Gina,OU=Staff,DC=contoso,DC=com"}],
        "removed": [{"kind": "contact", "key": "guid-c", "dn": "CN=Carol,OU=Partners,DC=contoso,DC=com"}],
        "changed": [
            {
                "kind": "user",
                "key": "guid-a",
                "dn": "CN=Alice,OU=Staff,DC=contoso,DC=com",
                "attributes": {"proxyAddresses": {"added": ["smtp:alice.s@contoso.com"], "removed": []}},
            },
            {
                "kind": "user",
                "key": "guid-b",
                "dn": "CN=Bob,OU=POP3,DC=contoso,DC=com",
                "attributes": {
                    "targetAddress": {"before": "SMTP:bob@pop.contoso.com", "after": "SMTP:bob@contoso.com"}
                },
            },
            {
                "kind": "user",
                "key": "guid-d",
                "dn": "CN=David,OU=Sales,DC=contoso,DC=com",
                "attributes": {
                    "dn": {
                        "before": "CN=Dave,OU=Staff,DC=contoso,DC=com",
                        "after": "CN=David,OU=Sales,DC=contoso,DC=com",
                    }
                },
            },
            {
                "kind": "user",
                "key": "guid-e",
                "dn": "CN=Erin,OU=POP3,DC=contoso,DC=com",
                "attributes": {
                    "proxyAddresses": {
                        "added": ["smtp:erin@contoso.com", "SMTP:erin@pop.contoso.com"],
                        "removed": ["SMTP:erin@contoso.com", "smtp:erin@pop.contoso.com"],
                        "primary": {"before": "erin@contoso.com", "after": "erin@pop.contoso.com"},
                    }
                },
            },
        ],
    }
    assert diff["findings"] == {
        "new": [_finding_json("COEX-302", "CN=Gina")],
        "resolved": [_finding_json("COEX-301", "pop.contoso.com")],
        "persisting": [_finding_json("COEX-302", "CN=Bob")],
    }


def _finding_json(check: str, subject: str) -> dict[str, str]:
    f = finding(check, subject)
    return {
        "check": check,
        "subject": subject,
        "status": "fail",
        "severity": "high",
        "message": f.message,
        "fingerprint": f.fingerprint,
    }


def test_diff_backwards_swaps_added_and_removed_and_ignores_transient_states(store: HistoryStore) -> None:
    first = save(store, [ALICE, CAROL], 0)
    save(store, [ALICE, CAROL, GINA, BOB], 4)  # Gina comes and goes between the two ends
    third = save(store, [ALICE, BOB_2], 8)

    forward = diff_snapshots(store, first.id, third.id).to_json()["objects"]
    backward = diff_snapshots(store, third.id, first.id).to_json()["objects"]

    assert [e["key"] for e in forward["added"]] == ["guid-b"]
    assert [e["key"] for e in forward["removed"]] == ["guid-c"]
    assert forward["changed"] == []
    assert (backward["added"], backward["removed"]) == (forward["removed"], forward["added"])
    assert diff_snapshots(store, third.id, third.id).to_json()["objects"] == {
        "added": [],
        "removed": [],
        "changed": [],
    }


def test_diff_refuses_an_incomplete_snapshot(store: HistoryStore) -> None:
    save(store, [ALICE], 0)
    failed = store.save_incomplete(
        [directory_source(0, complete=False, error="connection lost")], at(4), "directory: connection lost"
    )
    save(store, [ALICE_2], 8)

    with pytest.raises(SnapshotError) as caught:
        diff_snapshots(store, failed.id, "latest")
    assert str(caught.value) == (
        f"snapshot {failed.id} is incomplete (directory: connection lost); an incomplete collection cannot be diffed"
    )
    assert (
        diff_snapshots(store).to_json()["from"]["taken_at"] == "2026-11-01T07:00:00Z"
    )  # never the incomplete one


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        pytest.param(
            {"mail": ("Alice@contoso.com",)},
            {"mail": ("alice@contoso.com",)},
            {"mail": {"before": "Alice@contoso.com", "after": "alice@contoso.com"}},
            id="single-valued-exact",
        ),
        pytest.param(
            {"mail": ("a@contoso.com",)},
            {},
            {"mail": {"before": "a@contoso.com", "after": None}},
            id="single-valued-removed",
        ),
        pytest.param(
            {"msExchPolicyOptionList": ("/BxJJlCeV0iGGwy43yK11w==",)},
            {"msExchPolicyOptionList": ("/BXJJLCEV0IGGWY43YK11W==",)},
            {
                "msExchPolicyOptionList": {
                    "added": ["/BXJJLCEV0IGGWY43YK11W=="],
                    "removed": ["/BxJJlCeV0iGGwy43yK11w=="],
                }
            },
            id="binary-exact",
        ),
        pytest.param(
            {"routingList": ("SMTP:pop.contoso.com;1", "SMTP:*;10")},
            {"routinglist": ("smtp:*;10", "SMTP:POP.contoso.com;1")},
            {},
            id="set-order-and-case",
        ),
        pytest.param(
            {"uSNChanged": ("100",), "lastLogonTimestamp": ("1",)},
            {"uSNChanged": ("200",)},
            {},
            id="volatile",
        ),
        pytest.param(
            {"pop3Mailboxes": ("a", "b")},
            {"pop3Mailboxes": ("b", "c")},
            {"pop3Mailboxes": {"added": ["c"], "removed": ["a"]}},
            id="unknown-multi-valued",
        ),
    ],
)
def test_attribute_comparison(
    before: dict[str, tuple[str, ...]], after: dict[str, tuple[str, ...]], expected: dict[str, object]
) -> None:
    old = ObjectRecord(ObjectKind.USER, "guid", "CN=X,DC=contoso,DC=com", before)
    new = ObjectRecord(ObjectKind.USER, "guid", "CN=X,DC=contoso,DC=com", after)
    assert {name: change.to_json() for name, change in attribute_changes(old, new).items()} == expected
