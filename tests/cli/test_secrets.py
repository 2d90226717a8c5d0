"""Known secrets never leave the process, even when a server or a file echoes them (issue 14).

The bind password, the SMTP password and a password in the store URL are registered the moment
they are read; every message printed, logged, stored or put on a span is scrubbed. Here a pass
fails on an export line that holds the store URL's password (as a server's diagnostic repeating
what it was sent would): the password must not reach stderr, the history (PostgreSQL, read back
directly), the drift report, or the spans a real OTLP receiver gets.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from auditor.config import load_config
from auditor.run import build_sources
from auditor.secrets import forget_secrets
from auditor.store.engine import storable
from auditor.telemetry import TelemetrySettings, setup_telemetry
from tests.conftest import RunAuditor
from tests.store.auditor_store_testing import postgres_server
from tests.test_telemetry import collector

__all__ = ["collector"]

SECRET = "Pa55 w0rd! for the store"


@pytest.fixture(autouse=True)
def _forget() -> None:
    forget_secrets()


@pytest.mark.postgres
def test_a_secret_echoed_back_reaches_no_output_no_store_no_span(
    org: Path,
    auditor: RunAuditor,
    request: pytest.FixtureRequest,
    collector: tuple[str, dict[str, list[bytes]]],
) -> None:
    url = postgres_server(request.config).database().replace("//postgres@", f"//postgres:{quote(SECRET)}@")
    config = org / "auditor.toml"
    config.write_text(config.read_text().replace('url = "sqlite:///history.db"', f'url = "{url}"'))
    endpoint, received = collector
    env = {
        "OTEL_TRACES_EXPORTER": "otlp",
        "OTEL_METRICS_EXPORTER": "none",
        "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
        "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
    }
    assert auditor("check", "--once", "-c", "auditor.toml", cwd=org, env=env).returncode == 1
    domain = org / "contoso-domain.ldf"
    domain.write_text(domain.read_text() + f"\n{SECRET}\n")

    failed = auditor("check", "--once", "-c", "auditor.toml", cwd=org, env=env)
    report = auditor("report", "-c", "auditor.toml", "--format", "json", cwd=org, env=env)
    text = auditor("report", "-c", "auditor.toml", cwd=org, env=env)

    assert failed.returncode == 2
    assert failed.stderr.startswith(f"auditor: error: {domain}:"), failed.stderr
    assert "line has no 'attribute: value' form: '***'" in failed.stderr
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        stored = conn.execute(
            "SELECT s.error, src.error FROM snapshot s JOIN snapshot_source src ON src.snapshot_id = s.id "
            "WHERE NOT s.complete"
        ).fetchall()
    assert stored and all("***" in (error or "") for row in stored for error in row if error)
    health = json.loads(report.stdout)["collection"]
    spans = b"".join(received.get("/v1/traces", []))
    assert b"collect.directory" in spans
    everything = [failed.stdout, failed.stderr, report.stdout, report.stderr, text.stdout, json.dumps(stored)]
    for output in [*everything, json.dumps(health)]:
        for form in (SECRET, quote(SECRET), quote(SECRET, safe="")):
            assert form not in output
    assert SECRET.encode() not in spans


def test_an_ldap_diagnostic_repeating_the_bind_password_is_scrubbed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "auditor.toml"
    config.write_text(
        '[directory]\nurl = "ldaps://dc1.contoso.test"\nbind_dn = "CN=svc,DC=contoso,DC=test"\n'
        'password_env = "AUDITOR_TEST_BIND_PASSWORD"\n'
    )
    monkeypatch.setenv("AUDITOR_TEST_BIND_PASSWORD", "bind-Secret-81c2")
    (source,) = build_sources(load_config(config))  # resolves, so registers, the password

    echoed = {"description": "unwillingToPerform", "message": "refusing simple bind 'bind-Secret-81c2'"}
    bind = source._bind_failure(echoed)  # type: ignore[attr-defined]
    with pytest.raises(Exception) as search:
        source._check_result(echoed, "paged search")  # type: ignore[attr-defined]

    for message in (str(bind), str(search.value), storable(str(bind)) or ""):
        assert "bind-Secret-81c2" not in message
        assert "refusing simple bind '***'" in message


def test_every_span_text_is_scrubbed_before_any_exporter_sees_it() -> None:
    from auditor.secrets import register_secret

    exporter = InMemorySpanExporter()
    telemetry = setup_telemetry(
        TelemetrySettings(exporter="none"), span_exporter=exporter, environ={"PATH": os.environ["PATH"]}
    )
    register_secret("span-Secret-5d0e")
    try:
        tracer = trace.get_tracer("test")
        with pytest.raises(RuntimeError), tracer.start_as_current_span("collect.directory") as span:
            span.set_attribute("auditor.source.error", "server said span-Secret-5d0e")
            span.set_attribute("auditor.list", ["a", "span-Secret-5d0e"])
            raise RuntimeError("lost span-Secret-5d0e")
    finally:
        telemetry.shutdown()
    (finished,) = exporter.get_finished_spans()
    exported = json.dumps(json.loads(finished.to_json()))
    assert "span-Secret-5d0e" not in exported
    assert finished.attributes is not None
    assert finished.attributes["auditor.source.error"] == "server said ***"
    assert finished.events[0].attributes is not None
    assert finished.events[0].attributes["exception.message"] == "lost ***"
    assert finished.status.description == "RuntimeError: lost ***"
