"""A snapshot does not depend on the order its records arrived in.

A full read hands the builder records in the directory's order; a pass that carried unchanged
objects over rebuilds the snapshot from the store, in its order. Both must give the same verdicts
with the same evidence, or every such pass stores a new evidence set for each finding and a
message listing several objects reads differently (issue 12; `auditor.model.snapshot`).
"""

from __future__ import annotations

import random
from datetime import date
from importlib import resources
from pathlib import Path

import pytest

from auditor import config as config_module
from auditor.engine import run_checks
from auditor.model import Snapshot
from auditor.records import ObjectRecord
from auditor.registry import discover_checks
from auditor.run import build_sources


def sample_records(package: str) -> list[ObjectRecord]:
    path = Path(str(resources.files(package))) / "auditor.toml"
    config = config_module.load_config(path)
    return [record for source in build_sources(config) for record in source.collect()]


def verdicts(records: list[ObjectRecord]) -> list[tuple[object, ...]]:
    outcome = run_checks(Snapshot.from_records(records), discover_checks(), today=date(2026, 12, 6))
    return sorted(
        (f.check, f.subject, f.status.value, f.message, tuple(f.evidence or ())) for f in outcome.findings
    )


@pytest.mark.parametrize("package", ["auditor.sample", "auditor.sample_modern"])
def test_records_in_any_order_give_the_same_findings_and_evidence(package: str) -> None:
    records = sample_records(package)
    assert len(records) > 50
    expected = verdicts(records)
    assert any(len(evidence) > 1 for *_, evidence in expected), "no finding names several objects"
    shuffled = list(records)
    random.Random(12).shuffle(shuffled)
    by_key = sorted(records, key=lambda r: r.key)
    assert verdicts(list(reversed(records))) == expected
    assert verdicts(shuffled) == expected
    assert verdicts(by_key) == expected


def test_lists_of_objects_are_ordered_by_name_then_key() -> None:
    records = sample_records("auditor.sample")
    snap = Snapshot.from_records(list(reversed(records)))
    names = [(p.name.casefold(), p.key) for p in snap.recipient_policies]
    assert names == sorted(names)
    recipients = [(r.name.casefold(), r.key) for r in snap.recipients]
    assert recipients == sorted(recipients)
