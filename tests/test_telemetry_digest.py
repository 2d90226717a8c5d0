"""Each pass carries the history's newest digest out of the store as a span attribute, so a
monitoring system holds a copy that `auditor verify --expect` can be checked against."""

from __future__ import annotations

import io
import os
from importlib import resources
from pathlib import Path

from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from auditor import config as config_module
from auditor.run import open_store, run_pass
from auditor.telemetry import TelemetrySettings, setup_telemetry

CLEAN_ENV = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "JOURNAL_STREAM"))}


def test_every_pass_publishes_the_digest_that_seals_it(tmp_path: Path) -> None:
    sample = Path(str(resources.files("auditor.sample"))) / "auditor.toml"
    config = config_module.load_config(sample).model_copy(
        update={"store": config_module.StoreConfig(url=f"sqlite:///{tmp_path / 'history.db'}")}
    )
    exporter = InMemorySpanExporter()
    telemetry = setup_telemetry(
        TelemetrySettings(), span_exporter=exporter, stream=io.StringIO(), environ=CLEAN_ENV
    )
    try:
        passes = [run_pass(config, with_diff=False) for _ in range(2)]
    finally:
        telemetry.shutdown()
    runs = [span for span in exporter.get_finished_spans() if span.name == "audit.run"]
    with open_store(config) as store:
        digests = store.digests()
        assert store.verify_chain().intact
    published = [(span.attributes or {}).get("auditor.history.digest") for span in runs]
    assert published == [digests[p.snapshot.id] for p in passes]
    assert [(span.attributes or {}).get("auditor.history.digest_snapshot") for span in runs] == [
        p.snapshot.id for p in passes
    ]
    assert len(set(published)) == 2
