"""A pass's own diff (`auditor.run`) is the diff of the two stored snapshots.

The pass builds it from what it holds: its own findings, and the previous snapshot's as its results
save found them (`HistoryStore.findings_replaced`) instead of reading them back. Two real pipeline
passes of the sample organization, with a changed object and an expired waiver in between, must
give the document `diff_between` computes from the store alone.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from auditor.config import load_config
from auditor.diff import diff_between
from auditor.run import open_store, run_pass

START = datetime(2026, 12, 1, 7, 0, tzinfo=UTC)


def test_a_pass_diff_equals_the_diff_read_back_from_the_store(org: Path) -> None:
    config = load_config(org / "auditor.toml")
    first = run_pass(config, now=START)
    domain = org / "contoso-domain.ldf"
    text = domain.read_text(encoding="utf-8")
    assert "sAMAccountName: alice" in text
    domain.write_text(text.replace("sAMAccountName: alice", "sAMAccountName: alice2", 1), encoding="utf-8")
    # Past the sample's waivers' expiry: waived findings fail again, which the diff lists as new.
    second = run_pass(config, now=START + timedelta(days=400))

    assert second.results_from is None and second.diff is not None and second.previous is not None
    assert second.previous.id == first.snapshot.id
    with open_store(config) as store:
        read_back = diff_between(store, store.resolve(str(first.snapshot.id)), store.resolve("latest"))
    assert second.diff == read_back
    assert second.diff.findings.new and second.diff.findings.persisting
    assert second.diff.objects.changed
