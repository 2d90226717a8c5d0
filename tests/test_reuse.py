"""Nothing changed, nothing recomputed (issue 12; `auditor.reuse`, `auditor.store.reuse`).

Real pipeline passes (`run_pass`) over a copy of the sample organization into a SQLite store. A
pass whose objects and results key equal the previous complete snapshot's copies its results; the
copy is compared with a recomputation of the very same pass (the organization and its store copied
before the pass, the copy's previous results made unkeyed so that it must recompute). Every reason
to refuse reuse is then exercised once, each through what a user would change.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from auditor.config import load_config
from auditor.engine import Waiver
from auditor.registry import CheckSpec, Finding, Severity, check, discover_checks
from auditor.reuse import DATED_CHECKS, date_boundaries, results_key
from auditor.run import PassResult, open_store, run_pass

START = datetime(2026, 12, 1, 7, 0, tzinfo=UTC)


def one_pass(org: Path, when: datetime, **options: Any) -> PassResult:
    return run_pass(load_config(org / "auditor.toml"), now=when, with_diff=False, **options)


def stored(org: Path, snapshot_id: int) -> tuple[list[Any], list[Any], Any]:
    """What the store holds as the snapshot's results: check results, findings, what checked it."""
    with open_store(load_config(org / "auditor.toml")) as store:
        return (
            store.load_check_results(snapshot_id),
            store.load_findings(snapshot_id),
            store.checked_with(snapshot_id),
        )


def edit_config(org: Path, old: str, new: str) -> None:
    config = org / "auditor.toml"
    text = config.read_text(encoding="utf-8")
    assert old in text
    config.write_text(text.replace(old, new, 1), encoding="utf-8")


def add_waiver(org: Path, check_id: str, subject: str, expires: date) -> None:
    with (org / "auditor.toml").open("a", encoding="utf-8") as handle:
        handle.write(
            f'\n[[checks.waiver]]\ncheck = "{check_id}"\nsubject = "{subject}"\n'
            f'reason = "test waiver"\nexpires = {expires.isoformat()}\n'
        )


def timeless(document: dict[str, Any]) -> dict[str, Any]:
    """A check-run document without how long each source took to read (never equal twice)."""
    for source in document["snapshot"]["sources"]:
        source.pop("duration_seconds")
    return document


def copy_org(org: Path, target: Path) -> Path:
    shutil.copytree(org, target)
    return target


def test_an_unchanged_pass_reuses_results_equal_to_a_recomputation(org: Path, tmp_path: Path) -> None:
    first = one_pass(org, START)
    assert first.results_from is None
    assert first.run.findings and any(f.status.value == "waived" for f in first.run.findings)
    assert any(f.evidence for f in first.run.findings)
    twin = copy_org(org, tmp_path / "twin")
    with sqlite3.connect(twin / "history.db") as db:  # the twin's results carry no key: it recomputes
        db.execute("update snapshot set results_key = null")

    reused = one_pass(org, START + timedelta(hours=4))
    recomputed = one_pass(twin, START + timedelta(hours=4))

    assert reused.results_from == first.snapshot.id, reused.reuse_reason
    assert recomputed.results_from is None
    assert "before results were keyed" in recomputed.reuse_reason
    assert reused.snapshot.id == recomputed.snapshot.id
    # Everything the pass reports: statuses, counts, findings with their messages, evidence,
    # streaks (first_seen, new), waivers and their notes, in the same order.
    assert timeless(reused.run.to_json()) == timeless(recomputed.run.to_json())
    assert [f.evidence for f in reused.run.findings] == [f.evidence for f in recomputed.run.findings]
    assert reused.run.waiver_notes == recomputed.run.waiver_notes
    assert not any(f.new for f in reused.run.findings)
    # And what the store keeps of it.
    assert stored(org, reused.snapshot.id) == stored(twin, recomputed.snapshot.id)


def test_a_reused_pass_is_recorded_complete_and_chained(org: Path) -> None:
    first = one_pass(org, START)
    second = one_pass(org, START + timedelta(hours=4))
    third = one_pass(org, START + timedelta(hours=8))
    assert second.results_from == first.snapshot.id
    assert third.results_from == second.snapshot.id  # reuse chains through reused snapshots
    with sqlite3.connect(org / "history.db") as db:
        rows = db.execute("select id, complete, checked, results_key, results_from from snapshot").fetchall()
    assert [(r[0], r[1], r[2], r[4]) for r in rows] == [
        (first.snapshot.id, 1, 1, None),
        (second.snapshot.id, 1, 1, first.snapshot.id),
        (third.snapshot.id, 1, 1, second.snapshot.id),
    ]
    assert len({r[3] for r in rows}) == 1
    done = subprocess.run(
        [sys.executable, "-m", "auditor.cli", "verify", "-c", "auditor.toml"],
        cwd=org,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_reusing_pass_that_fails_is_never_stored_complete(org: Path) -> None:
    first = one_pass(org, START)

    def broken_report(_result: PassResult) -> None:
        raise OSError("disk full")

    with pytest.raises(OSError):
        one_pass(org, START + timedelta(hours=4), on_result=broken_report)
    with sqlite3.connect(org / "history.db") as db:
        rows = db.execute("select id, complete, results_from from snapshot order by id").fetchall()
    assert rows[0] == (first.snapshot.id, 1, None)
    assert rows[1][1] == 0 and rows[1][2] == first.snapshot.id
    # The next pass still reuses the last *complete* snapshot's results.
    assert one_pass(org, START + timedelta(hours=8)).results_from == first.snapshot.id


# -- every reason to refuse recomputes ---------------------------------------------------------


def test_changed_objects_recompute(org: Path) -> None:
    one_pass(org, START)
    domain = org / "contoso-domain.ldf"
    text = domain.read_text(encoding="utf-8")
    assert "sAMAccountName: alice" in text
    domain.write_text(text.replace("sAMAccountName: alice", "sAMAccountName: alice2", 1), encoding="utf-8")
    second = one_pass(org, START + timedelta(hours=4))
    assert second.results_from is None
    assert "objects changed" in second.reuse_reason


def test_objects_saved_by_a_failed_pass_in_between_recompute(org: Path) -> None:
    """A pass saved changed objects and then failed: the next pass reads those same objects (no
    interval of its own opened), yet they are not the last complete snapshot's."""
    one_pass(org, START)
    domain = org / "contoso-domain.ldf"
    domain.write_text(
        domain.read_text(encoding="utf-8").replace("sAMAccountName: alice", "sAMAccountName: alice2", 1),
        encoding="utf-8",
    )

    def broken_report(_result: PassResult) -> None:
        raise OSError("disk full")

    with pytest.raises(OSError):
        one_pass(org, START + timedelta(hours=4), on_result=broken_report)
    third = one_pass(org, START + timedelta(hours=8))
    assert third.results_from is None
    assert "objects changed" in third.reuse_reason


def test_changed_check_configuration_recomputes(org: Path) -> None:
    one_pass(org, START)
    edit_config(org, "[checks]\n", '[checks]\nrelay_allowlist = ["10.9.9.9"]\n')
    second = one_pass(org, START + timedelta(hours=4))
    assert second.results_from is None and "configuration" in second.reuse_reason


def test_a_disabled_check_recomputes(org: Path) -> None:
    one_pass(org, START)
    edit_config(org, "disabled = []", 'disabled = ["COEX-301"]')
    second = one_pass(org, START + timedelta(hours=4))
    assert second.results_from is None
    assert "COEX-301" not in {c.id for c in second.run.checks}


def test_a_changed_waiver_recomputes(org: Path) -> None:
    first = one_pass(org, START)
    edit_config(org, 'reason = "shared help-desk mailbox', 'reason = "the shared help-desk mailbox')
    second = one_pass(org, START + timedelta(hours=4))
    assert second.results_from is None
    waived = [f for f in second.run.findings if f.check == "COEX-403" and f.status.value == "waived"]
    assert waived and waived[0].waiver_reason is not None and waived[0].waiver_reason.startswith("the shared")
    assert first.run.findings != second.run.findings


def test_a_waiver_nearing_then_past_its_expiry_recomputes(org: Path) -> None:
    # COEX-301 fails on sales.contoso.com in the sample; its waiver expires 20 days after START.
    add_waiver(org, "COEX-301", "sales.contoso.com", (START + timedelta(days=20)).date())
    first = one_pass(org, START)
    assert [n.state for n in first.run.waiver_notes if n.check == "COEX-301"] == []
    assert one_pass(org, START + timedelta(hours=4)).results_from == first.snapshot.id
    expiring = one_pass(org, START + timedelta(days=10))  # within the 14 days' warning
    assert expiring.results_from is None
    assert [n.state for n in expiring.run.waiver_notes if n.check == "COEX-301"] == ["expiring"]
    expired = one_pass(org, START + timedelta(days=21))
    assert expired.results_from is None
    finding = next(
        f for f in expired.run.findings if (f.check, f.subject) == ("COEX-301", "sales.contoso.com")
    )
    assert finding.status.value == "fail" and "waiver expired" in finding.message


def test_a_support_date_crossed_recomputes(org: Path) -> None:
    """The sample's EX01 is Exchange 2003, out of support since 2014-04-08: an unchanged forest is
    judged anew on that day (COEX-904), and only then."""
    eve = datetime(2014, 4, 7, 7, 0, tzinfo=UTC)
    first = one_pass(org, eve)
    assert one_pass(org, eve + timedelta(hours=4)).results_from == first.snapshot.id
    day = one_pass(org, datetime(2014, 4, 8, 7, 0, tzinfo=UTC))
    assert day.results_from is None

    def coex_904(result: PassResult) -> set[str]:
        return {f.status.value for f in result.run.findings if f.check == "COEX-904" and "EX01" in f.subject}

    assert coex_904(first) == set() and coex_904(day) == {"fail"}


def _version_one(snap: Any) -> Iterator[Finding]:
    """Test check, first version."""
    yield Finding.passed("org", "fine")


def _version_two(snap: Any) -> Iterator[Finding]:
    """Test check, second version: the same verdict, different code."""
    verdict = "fine"
    yield Finding.passed("org", verdict)


def _raises(snap: Any) -> Iterator[Finding]:
    """Test check that crashes."""
    raise RuntimeError("boom")
    yield Finding.passed("org", "never")


def spec_of(function: Any) -> CheckSpec:
    made: CheckSpec = check("TEST-001", title="a test check", severity=Severity.LOW, principles=("all",))(
        function
    )
    return made


def test_changed_check_code_recomputes(org: Path) -> None:
    builtin = discover_checks()
    first = one_pass(org, START, checks=[*builtin, spec_of(_version_one)])
    again = one_pass(org, START + timedelta(hours=4), checks=[*builtin, spec_of(_version_one)])
    assert again.results_from == first.snapshot.id
    edited = one_pass(org, START + timedelta(hours=8), checks=[*builtin, spec_of(_version_two)])
    assert edited.results_from is None
    resevered = replace(spec_of(_version_two), severity=Severity.HIGH)
    assert one_pass(org, START + timedelta(hours=12), checks=[*builtin, resevered]).results_from is None


def test_a_check_that_raised_recomputes(org: Path) -> None:
    specs = [*discover_checks(), spec_of(_raises)]
    one_pass(org, START, checks=specs)
    second = one_pass(org, START + timedelta(hours=4), checks=specs)
    assert second.results_from is None and "raised" in second.reuse_reason
    assert next(c for c in second.run.checks if c.id == "TEST-001").status.value == "error"


def test_results_key_covers_version_code_settings_waivers_and_date_boundaries() -> None:
    """The pure part: each input of the key changes it (the auditor version cannot change within
    one installed test run, so it is exercised here only)."""
    specs = discover_checks()[:3]
    settings: dict[str, Any] = {"relay_allowlist": []}
    waiver = Waiver("COEX-301", "x", "why", date(2027, 1, 31))
    today = date(2026, 12, 1)
    base = results_key(specs, settings, [waiver], today)
    assert results_key(specs, settings, [waiver], today) == base
    assert results_key(specs, settings, [waiver], today, version="0.0.0-other") != base
    assert results_key(specs[:2], settings, [waiver], today) != base
    assert results_key(list(reversed(specs)), settings, [waiver], today) != base
    assert results_key(specs, {"relay_allowlist": ["h"]}, [waiver], today) != base
    assert results_key(specs, settings, [replace(waiver, reason="other")], today) != base
    assert results_key(specs, settings, [waiver], today + timedelta(days=1)) == base  # nothing crossed
    assert results_key(specs, settings, [waiver], date(2027, 1, 20)) != base  # expiring
    boundary = date_boundaries()[-1]
    before = results_key(specs, settings, [], boundary - timedelta(days=1))
    assert results_key(specs, settings, [], boundary) != before


def test_every_check_that_reads_the_snapshot_date_is_dated() -> None:
    """A check judging `Snapshot.as_of` must be in DATED_CHECKS with its dates in date_boundaries,
    or an unchanged forest would keep an outdated verdict."""
    reading = {spec.id for spec in discover_checks() if "as_of" in _reached_source(spec)}
    assert "COEX-904" in reading
    assert reading <= DATED_CHECKS, reading - DATED_CHECKS


def _reached_source(spec: CheckSpec) -> str:
    from auditor.provenance import _reached

    module = spec.function.__module__
    package = module.rpartition(".")[0] or module
    return "".join(text.decode("utf-8", "replace") for _, text in _reached(spec.function, package))
