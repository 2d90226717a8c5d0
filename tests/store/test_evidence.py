"""Evidence stored with findings: read back as it was given, each distinct set stored once, covered
by the hash chain; what checked each snapshot recorded with its results; an older store upgraded
keeps its chain and reads its findings' evidence as not recorded."""

from __future__ import annotations

import dataclasses
import json

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from auditor_store_testing import broken_at, checked, execute, finding, save, user

from auditor.model.directory import ObjectRef
from auditor.registry import Status
from auditor.results import CheckResult, FindingRecord, RunResult
from auditor.store import CheckedWith, HistoryStore

BOB = user("guid-b", "CN=Bob,DC=contoso,DC=com", targetAddress="SMTP:bob@pop.contoso.com")
BOB_2 = user("guid-b", "CN=Bob,DC=contoso,DC=com", targetAddress="SMTP:bob@contoso.com")
CONNECTOR = ObjectRef("smtp_connector", "guid-k", "CN=To POP01,CN=Connections,DC=contoso,DC=com")
BOB_REF = ObjectRef("user", "guid-b", "CN=Bob,DC=contoso,DC=com")


def with_evidence(record: FindingRecord, *refs: ObjectRef) -> FindingRecord:
    return dataclasses.replace(record, evidence=refs)


def count(store: HistoryStore, table: str) -> int:
    with store._engine.connect() as conn:
        return int(conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())


def three_passes(store: HistoryStore) -> list[int]:
    """The same two findings (one with a two-object evidence, one with none) three times over."""
    ids = []
    for hours in (0, 4, 8):
        snapshot = save(store, [BOB], hours)
        checked(
            store,
            snapshot,
            [
                with_evidence(finding("COEX-303", "bob@pop.contoso.com"), BOB_REF, CONNECTOR),
                finding("COEX-301", "pop.contoso.com"),  # evidence (): none
            ],
        )
        ids.append(snapshot.id)
    return ids


def test_evidence_is_read_back_as_given_and_each_set_stored_once(store: HistoryStore) -> None:
    ids = three_passes(store)
    for snapshot_id in ids:
        by_check = {f.check: f for f in store.load_findings(snapshot_id)}
        assert by_check["COEX-303"].evidence == (BOB_REF, CONNECTOR)  # in the check's order
        assert by_check["COEX-301"].evidence == ()  # recorded as none, not unknown
    assert count(store, "finding") == 2  # one row per finding, held over the three passes
    assert count(store, "evidence") == 2  # the two distinct sets, however many passes share them
    assert store.verify_chain().intact


def test_what_checked_a_snapshot_is_recorded_with_its_results(store: HistoryStore) -> None:
    snapshot = save(store, [BOB], 0)
    result = CheckResult("COEX-303", "routing", finding("COEX-303", "x").severity, ("P3",), Status.FAIL, 1)
    skipped = CheckResult(
        "COEX-201", "auth", result.severity, ("P2",), Status.SKIPPED, message="no POP3 export"
    )
    run = RunResult(
        snapshot=snapshot,
        checks=[dataclasses.replace(result, code="c0de" * 16), skipped],
        findings=[finding("COEX-303", "bob@pop.contoso.com")],
        auditor_version="9.8.7",
        config_fingerprint="f" * 64,
    )
    store.save_results(snapshot.id, run)
    recorded = store.checked_with(snapshot.id)
    assert recorded.checked
    assert (recorded.auditor_version, recorded.config_fingerprint) == ("9.8.7", "f" * 64)
    assert recorded.checks == {
        "COEX-303": (Status.FAIL, "c0de" * 16, ""),
        "COEX-201": (Status.SKIPPED, None, "no POP3 export"),  # its code was not given: not recorded
    }
    assert [r.code for r in store.load_check_results(snapshot.id)] == ["c0de" * 16, ""]
    unchecked = save(store, [BOB_2], 4)
    assert store.checked_with(unchecked.id) == CheckedWith(False, None, None, {})


def test_edited_evidence_breaks_the_first_snapshot_that_used_it(store: HistoryStore) -> None:
    ids = three_passes(store)
    execute(
        store,
        "UPDATE evidence SET refs = :refs WHERE CAST(refs AS TEXT) LIKE '%guid-k%'",
        refs=json.dumps([["user", "guid-b", BOB_REF.dn]]),  # the connector left out
    )
    assert broken_at(store) == (ids[0], ["findings"])


def test_a_finding_pointed_at_other_evidence_breaks_the_snapshot_its_row_opened_at(
    store: HistoryStore,
) -> None:
    ids = three_passes(store)
    execute(
        store,
        "UPDATE finding SET evidence_id = (SELECT f.evidence_id FROM finding f WHERE f.check_id = 'COEX-303') "
        "WHERE check_id = 'COEX-301'",
    )
    # One row holds each finding over the three passes: the first pass's link sealed it.
    assert broken_at(store) == (ids[0], ["findings"])


def test_upgrading_a_store_from_before_evidence_keeps_its_chain(store_url: str) -> None:
    with HistoryStore(store_url) as store:
        first = save(store, [BOB], 0)
        checked(store, first, [finding("COEX-303", "bob@pop.contoso.com")])
        second = save(store, [BOB_2], 4)
        checked(store, second, [finding("COEX-303", "bob@pop.contoso.com"), finding("COEX-301", "x.com")])
    engine = sa.create_engine(store_url)
    config = Config()
    config.set_main_option("script_location", "auditor:migrations")
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0005_incremental_reads")  # sealed as before revision 0006
    with engine.connect() as conn:
        sealed = {
            int(r[0]): str(r[1]) for r in conn.execute(sa.text("SELECT snapshot_id, digest FROM chain_link"))
        }
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0002_attribution_chain")  # the store as auditor left it before
    with engine.connect() as conn:
        columns = {c["name"] for c in sa.inspect(conn).get_columns("finding")}
    engine.dispose()
    assert "evidence_id" not in columns

    with HistoryStore(store_url) as upgraded:
        assert upgraded.digests() == sealed
        assert upgraded.verify_chain().intact
        assert [f.evidence for f in upgraded.load_findings(second.id)] == [None, None]  # not recorded
        assert upgraded.checked_with(second.id).auditor_version is None
        third = save(upgraded, [BOB_2], 8)
        checked(upgraded, third, [with_evidence(finding("COEX-303", "bob@pop.contoso.com"), BOB_REF)])
        result = upgraded.verify_chain()
        assert result.intact and result.links == 3
        assert [f.evidence for f in upgraded.load_findings(third.id)] == [(BOB_REF,)]
