"""`auditor recheck`: today's checks over the stored history, read-only.

The done-when test of issue 13: a check added after five snapshots reports the first of those five
as "failing since" for a subject broken from the start (the history itself recorded it only from
the sixth). The passes are real pipeline passes over a copy of the sample organization.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from auditor.config import load_config
from auditor.registry import discover_checks
from auditor.results import isoformat
from auditor.run import open_store, run_pass

SCHEMA = json.loads(resources.files("auditor").joinpath("schemas/recheck.schema.json").read_text())
START = datetime.now(UTC).replace(microsecond=0) - timedelta(days=3)


def run_passes(org: Path, count: int, *, without: str | None = None, first: int = 0) -> list[int]:
    config = load_config(org / "auditor.toml")
    specs = [s for s in discover_checks() if s.id != without]
    return [
        run_pass(
            config, checks=specs, now=START + timedelta(hours=4 * (first + i)), with_diff=False
        ).snapshot.id
        for i in range(count)
    ]


def recheck(auditor: Any, org: Path, *args: str) -> dict[str, Any]:
    done = auditor("recheck", "-c", str(org / "auditor.toml"), "--format", "json", *args, cwd=org)
    assert done.returncode == 0, done.stderr
    document: dict[str, Any] = json.loads(done.stdout)
    jsonschema.validate(document, SCHEMA)
    return document


def delete_entry(path: Path, dn_start: str) -> None:
    """Remove one entry from an ldifde export (CRLF, blank-line separated, folded lines)."""
    with path.open(encoding="utf-8", newline="") as handle:
        entries = handle.read().split("\r\n\r\n")
    kept = [e for e in entries if not e.startswith(f"dn: {dn_start}")]
    assert len(kept) == len(entries) - 1
    path.write_text("\r\n\r\n".join(kept), encoding="utf-8", newline="")


def test_a_check_added_after_five_snapshots_reports_the_first_of_them(auditor: Any, org: Path) -> None:
    early = run_passes(org, 5, without="COEX-301")
    late = run_passes(org, 2, first=5)
    document = recheck(auditor, org)
    assert [s["id"] for s in document["snapshots"]] == early + late
    by_id = {(f["check"], f["subject"]): f for f in document["findings"]}
    broken = by_id[("COEX-301", "sales.contoso.com")]  # authoritative in Exchange since the start
    assert broken["failing_since"]["id"] == early[0]
    assert broken["since_period_start"] is True and broken["snapshots_failing"] == 7
    with open_store(load_config(org / "auditor.toml")) as store:
        sixth = store.snapshot_info(late[0])
    assert broken["recorded_first_seen"] == isoformat(sixth.taken_at)  # what the history said
    assert document["summary"]["earlier_than_recorded"] >= 1
    # Nothing else changed between the passes: one recheck, six verdicts carried forward.
    assert [s["reused"] for s in document["snapshots"]] == [False] + [True] * 6

    text = auditor("recheck", "-c", str(org / "auditor.toml"), cwd=org).stdout
    assert f"failing since snapshot {early[0]} " in text
    assert (
        f"the history recorded it from {isoformat(sixth.taken_at).replace('T', ' ').replace('Z', ' UTC')}"
        in text
    )


def test_a_failure_that_starts_mid_period_is_dated_from_its_first_snapshot(auditor: Any, org: Path) -> None:
    before = run_passes(org, 2)
    delete_entry(org / "contoso-configuration.ldf", "CN=To POP01,CN=Connections,")
    after = run_passes(org, 2, first=2)
    document = recheck(auditor, org)
    with open_store(load_config(org / "auditor.toml")) as store:
        history = {s.id: s.failing for s in store.snapshots()}
        new_at_third = {(f.check, f.subject) for f in store.load_findings(after[0]) if f.new and f.failing}
    # Today's rules are the rules of every pass here: the recheck equals the stored history ...
    assert {s["id"]: s["failing"] for s in document["snapshots"]} == {i: history[i] for i in before + after}
    assert [s["reused"] for s in document["snapshots"]] == [False, True, False, True]
    # ... and what broke when the connector went is failing since that snapshot, not before.
    assert new_at_third and ("COEX-601", "pop.contoso.com") in new_at_third
    for finding in document["findings"]:
        key = (finding["check"], finding["subject"])
        expected = after[0] if key in new_at_third else before[0]
        assert finding["failing_since"]["id"] == expected, key
        assert finding["since_period_start"] is (expected == before[0])


def test_recheck_writes_nothing(auditor: Any, org: Path) -> None:
    run_passes(org, 3)
    database = org / "history.db"

    def dump() -> str:
        with sqlite3.connect(database) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            return hashlib.sha256("\n".join(conn.iterdump()).encode()).hexdigest()

    before = dump()
    recheck(auditor, org)
    recheck(auditor, org, "--check", "COEX-301", "--from", "1")
    assert dump() == before


def test_check_and_from_narrow_what_is_rechecked(auditor: Any, org: Path) -> None:
    ids = run_passes(org, 3)
    document = recheck(auditor, org, "--check", "COEX-301", "--check", "COEX-902", "--from", str(ids[1]))
    assert document["checks"] == ["COEX-301", "COEX-902"]
    assert [s["id"] for s in document["snapshots"]] == ids[1:]
    assert {f["check"] for f in document["findings"]} <= {"COEX-301", "COEX-902"}
    assert all(f["failing_since"]["id"] == ids[1] for f in document["findings"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--check", "COEX-000"), "--check COEX-000: no such check"),
        (("--since", "7d", "--from", "1"), "give --since or --from, not both"),
        (("--from", "99"), "no snapshot 99"),
    ],
)
def test_what_cannot_be_rechecked_is_exit_2_with_one_line(
    auditor: Any, org: Path, args: tuple[str, ...], message: str
) -> None:
    run_passes(org, 1)
    done = auditor("recheck", "-c", str(org / "auditor.toml"), *args, cwd=org)
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1 and message in done.stderr
