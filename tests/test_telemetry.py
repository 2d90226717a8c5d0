"""Telemetry: the span tree of a pass, log correlation, metrics, exporter choice, and no secrets anywhere."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.metrics.export import InMemoryMetricReader, MetricsData
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from auditor.errors import ConfigError
from auditor.telemetry import Telemetry, TelemetrySettings, get_tracer, setup_telemetry

CLEAN_ENV = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "JOURNAL_STREAM"))}
BIND_SECRET = "Bind-S3cret-9f1c77"
SMTP_SECRET = "Smtp-S3cret-4be021"


def fake_pass() -> None:
    """The span shape the pipeline produces, created the way library code creates it."""
    import logging

    tracer = get_tracer()
    log = logging.getLogger("auditor.run")
    with tracer.start_as_current_span("audit.run"):
        for source in ("directory", "pop3:POP01"):
            with tracer.start_as_current_span(f"collect.{source}") as span:
                span.set_attribute("auditor.source.objects", 12)
                log.info("collected %s", source)
        with tracer.start_as_current_span("store.save"):
            pass
        for check_id in ("COEX-101", "COEX-301"):
            with tracer.start_as_current_span(f"check.{check_id}"):
                pass
        with tracer.start_as_current_span("diff"):
            pass
        with tracer.start_as_current_span("report.render"):
            pass


def tree(spans: tuple[ReadableSpan, ...]) -> dict[str, list[str]]:
    by_id = {span.context.span_id: span for span in spans}
    children: dict[str, list[str]] = {}
    for span in spans:
        parent = by_id[span.parent.span_id].name if span.parent else ""
        children.setdefault(parent, []).append(span.name)
    return {parent: sorted(names) for parent, names in children.items()}


@pytest.fixture
def in_memory() -> Iterator[tuple[Telemetry, InMemorySpanExporter, InMemoryMetricReader, io.StringIO]]:
    exporter, reader, stream = InMemorySpanExporter(), InMemoryMetricReader(), io.StringIO()
    telemetry = setup_telemetry(
        TelemetrySettings(), span_exporter=exporter, metric_reader=reader, stream=stream, environ=CLEAN_ENV
    )
    yield telemetry, exporter, reader, stream
    telemetry.shutdown()


def test_one_pass_makes_the_span_tree_audit_run_over_its_stages(
    in_memory: tuple[Telemetry, InMemorySpanExporter, InMemoryMetricReader, io.StringIO],
) -> None:
    _telemetry, exporter, _reader, _stream = in_memory
    fake_pass()
    spans = exporter.get_finished_spans()
    assert tree(spans) == {
        "": ["audit.run"],
        "audit.run": sorted(
            [
                "collect.directory",
                "collect.pop3:POP01",
                "store.save",
                "check.COEX-101",
                "check.COEX-301",
                "diff",
                "report.render",
            ]
        ),
    }
    assert len({span.context.trace_id for span in spans}) == 1
    assert {span.resource.attributes["service.name"] for span in spans} == {"auditor"}


def test_log_lines_carry_the_trace_and_span_of_the_current_span(
    in_memory: tuple[Telemetry, InMemorySpanExporter, InMemoryMetricReader, io.StringIO],
) -> None:
    _telemetry, exporter, _reader, stream = in_memory
    fake_pass()
    collect = next(s for s in exporter.get_finished_spans() if s.name == "collect.directory")
    expected = (
        f"INFO auditor.run [trace_id={collect.context.trace_id:032x} "
        f"span_id={collect.context.span_id:016x}] collected directory"
    )
    lines = stream.getvalue().splitlines()
    assert [line.split(" ", 2)[2] for line in lines if "collected directory" in line] == [expected]


def test_log_lines_outside_a_span_carry_zero_ids(
    in_memory: tuple[Telemetry, InMemorySpanExporter, InMemoryMetricReader, io.StringIO],
) -> None:
    import logging

    _telemetry, _exporter, _reader, stream = in_memory
    logging.getLogger("auditor.cli").warning("no span here")
    assert stream.getvalue().split(" ", 2)[2] == (
        f"WARNING auditor.cli [trace_id={'0' * 32} span_id={'0' * 16}] no span here\n"
    )


def test_under_journald_lines_start_with_their_syslog_priority() -> None:
    import logging

    stream = io.StringIO()
    telemetry = setup_telemetry(
        TelemetrySettings(), stream=stream, environ={**CLEAN_ENV, "JOURNAL_STREAM": "8:12345"}
    )
    try:
        log = logging.getLogger("auditor.service")
        log.info("audit pass started")
        log.error("audit pass could not complete")
    finally:
        telemetry.shutdown()
    zero = f"[trace_id={'0' * 32} span_id={'0' * 16}]"
    assert stream.getvalue().splitlines() == [
        f"<6>auditor.service {zero} audit pass started",
        f"<3>auditor.service {zero} audit pass could not complete",
    ]


def test_a_second_setup_sends_spans_to_the_new_exporter_only() -> None:
    first, second = InMemorySpanExporter(), InMemorySpanExporter()
    one = setup_telemetry(TelemetrySettings(), span_exporter=first, stream=io.StringIO(), environ=CLEAN_ENV)
    with get_tracer().start_as_current_span("before"):
        pass
    two = setup_telemetry(TelemetrySettings(), span_exporter=second, stream=io.StringIO(), environ=CLEAN_ENV)
    with get_tracer().start_as_current_span("after"):
        pass
    one.shutdown()
    with get_tracer().start_as_current_span("still after"):
        pass
    two.shutdown()
    with get_tracer().start_as_current_span("after shutdown"):
        pass
    assert [s.name for s in first.get_finished_spans()] == ["before"]
    assert [s.name for s in second.get_finished_spans()] == ["after", "still after"]


def points(data: MetricsData | None) -> dict[str, list[tuple[tuple[tuple[str, object], ...], object]]]:
    """Metric name -> sorted (attributes, value) pairs; histograms give (count, sum)."""
    assert data is not None
    found: dict[str, list[tuple[tuple[tuple[str, object], ...], object]]] = {}
    for resource_metrics in data.resource_metrics:
        for scope in resource_metrics.scope_metrics:
            for metric in scope.metrics:
                for point in metric.data.data_points:
                    value = (point.count, point.sum) if hasattr(point, "bucket_counts") else point.value
                    attributes = tuple(sorted((point.attributes or {}).items()))
                    found.setdefault(metric.name, []).append((attributes, value))
    return {name: sorted(values, key=repr) for name, values in found.items()}


def test_metrics_record_objects_passes_findings_and_the_last_complete_snapshot(
    in_memory: tuple[Telemetry, InMemorySpanExporter, InMemoryMetricReader, io.StringIO],
) -> None:
    import time

    telemetry, _exporter, reader, _stream = in_memory
    telemetry.record_objects("user", 120, "directory")
    telemetry.record_objects("pop3_mailbox", 30, "pop3:POP01")
    telemetry.record_pass(2.5, ok=True)
    telemetry.record_pass(0.5, ok=False)
    telemetry.record_pass(1.5, ok=True)
    telemetry.record_findings({("high", "fail"): 2, ("low", "waived"): 1})
    taken = time.time() - 3600
    telemetry.record_last_complete_snapshot(taken)
    found = points(reader.get_metrics_data())
    age = found.pop("auditor.snapshot.age")
    assert found == {
        "auditor.objects": [
            ((("kind", "pop3_mailbox"), ("source", "pop3:POP01")), 30),
            ((("kind", "user"), ("source", "directory")), 120),
        ],
        "auditor.pass.duration": [((("outcome", "failed"),), (1, 0.5)), ((("outcome", "ok"),), (2, 4.0))],
        "auditor.passes": [((("outcome", "failed"),), 1), ((("outcome", "ok"),), 2)],
        "auditor.findings": [
            ((("severity", "high"), ("status", "fail")), 2),
            ((("severity", "low"), ("status", "waived")), 1),
        ],
        "auditor.snapshot.last_complete": [((), taken)],
    }
    assert len(age) == 1
    assert 3600 <= float(age[0][1]) < 3660  # type: ignore[arg-type]


def test_no_complete_snapshot_yet_means_no_dead_mans_reading(
    in_memory: tuple[Telemetry, InMemorySpanExporter, InMemoryMetricReader, io.StringIO],
) -> None:
    telemetry, _exporter, reader, _stream = in_memory
    telemetry.record_pass(1.0, ok=False)
    found = points(reader.get_metrics_data())
    assert set(found) == {"auditor.pass.duration", "auditor.passes"}


def run_isolated(code: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60, check=False
    )


PASS_AND_METRICS = """
import sys
from auditor.telemetry import TelemetrySettings, setup_telemetry, get_tracer
t = setup_telemetry(TelemetrySettings(exporter=EXPORTER, log_level="WARNING"))
with get_tracer().start_as_current_span("audit.run"):
    pass
t.record_pass(1.0, ok=True)
t.record_last_complete_snapshot(1.0)
print(",".join(t.exporters), file=sys.stderr)
t.shutdown()
"""


def test_nothing_configured_exports_nothing_and_prints_nothing() -> None:
    result = run_isolated(PASS_AND_METRICS.replace("EXPORTER", "None"), CLEAN_ENV)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "\n")


def test_console_exporter_writes_spans_and_metrics_to_stderr_never_stdout() -> None:
    result = run_isolated(
        PASS_AND_METRICS.replace("EXPORTER", "None"),
        {**CLEAN_ENV, "OTEL_TRACES_EXPORTER": "console", "OTEL_METRICS_EXPORTER": "console"},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert '"name": "audit.run"' in result.stderr
    assert '"name": "auditor.passes"' in result.stderr
    assert "traces:console,metrics:console" in result.stderr


@pytest.mark.parametrize(
    ("exporter", "env", "expected"),
    [
        (None, {}, ()),
        ("none", {"OTEL_TRACES_EXPORTER": "console"}, ()),
        (None, {"OTEL_TRACES_EXPORTER": "none", "OTEL_METRICS_EXPORTER": "none"}, ()),
        (None, {"OTEL_SDK_DISABLED": "true", "OTEL_TRACES_EXPORTER": "console"}, ()),
        ("console", {}, ("traces:console", "metrics:console")),
        (None, {"OTEL_TRACES_EXPORTER": "console"}, ("traces:console",)),
        (
            None,
            {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9", "OTEL_METRICS_EXPORTER": "none"},
            ("traces:otlp",),
        ),
        (
            None,
            {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:9/v1/traces"},
            ("traces:otlp",),
        ),
    ],
)
def test_exporters_follow_the_config_then_the_standard_otel_variables(
    exporter: str | None, env: dict[str, str], expected: tuple[str, ...]
) -> None:
    telemetry = setup_telemetry(
        TelemetrySettings(exporter=exporter), stream=io.StringIO(), environ={**CLEAN_ENV, **env}
    )
    try:
        assert telemetry.exporters == expected
    finally:
        telemetry.shutdown()


@pytest.mark.parametrize(
    ("settings", "env", "message"),
    [
        (
            TelemetrySettings(exporter="jaeger"),
            {},
            "telemetry.exporter: 'jaeger' is not one of otlp, console, none",
        ),
        (
            TelemetrySettings(),
            {"OTEL_TRACES_EXPORTER": "zipkin"},
            "OTEL_TRACES_EXPORTER: 'zipkin' is not one of",
        ),
        (
            TelemetrySettings(exporter="otlp"),
            {"OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"},
            "OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' is not one of http/protobuf, grpc",
        ),
        (TelemetrySettings(log_level="LOUD"), {}, "telemetry.log_level: 'LOUD' is not one of DEBUG"),
    ],
)
def test_bad_telemetry_settings_are_one_line_config_errors(
    settings: TelemetrySettings, env: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        setup_telemetry(settings, stream=io.StringIO(), environ={**CLEAN_ENV, **env})
    assert str(caught.value).startswith(message)


class _Collector(BaseHTTPRequestHandler):
    """A minimal OTLP/HTTP receiver: keeps every request body by path."""

    received: dict[str, list[bytes]]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.setdefault(self.path, []).append(body)
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def collector() -> Iterator[tuple[str, dict[str, list[bytes]]]]:
    received: dict[str, list[bytes]] = {}
    handler = type("Handler", (_Collector,), {"received": received})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", received
    server.shutdown()
    server.server_close()


SECRET_PASS = """
import logging, os
from auditor.telemetry import TelemetrySettings, setup_telemetry, get_tracer
t = setup_telemetry(TelemetrySettings(log_level="DEBUG"))
log = logging.getLogger("auditor.run")
with get_tracer().start_as_current_span("audit.run") as span:
    span.set_attribute("auditor.config.password_env", "AUDITOR_BIND_PASSWORD")
    log.debug("bind as %s with the password from %s", "CN=svc-audit", "AUDITOR_BIND_PASSWORD")
t.record_objects("user", 3, "directory")
t.record_pass(0.1, ok=True)
t.shutdown()
print("done")
"""


def test_otlp_http_export_reaches_a_collector_and_carries_no_secret(
    collector: tuple[str, dict[str, list[bytes]]],
) -> None:
    endpoint, received = collector
    env = {
        **CLEAN_ENV,
        "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
        "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
        "AUDITOR_BIND_PASSWORD": BIND_SECRET,
        "AUDITOR_SMTP_PASSWORD": SMTP_SECRET,
    }
    result = run_isolated(SECRET_PASS, env)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "done\n"
    assert sorted(received) == ["/v1/metrics", "/v1/traces"]
    traces = b"".join(received["/v1/traces"])
    assert b"audit.run" in traces
    assert b"auditor.passes" in b"".join(received["/v1/metrics"])
    everything = traces + b"".join(received["/v1/metrics"]) + result.stderr.encode()
    for secret in (BIND_SECRET, SMTP_SECRET):
        assert secret.encode() not in everything
    assert "bind as CN=svc-audit with the password from AUDITOR_BIND_PASSWORD" in result.stderr


@pytest.fixture
def grpc_collector() -> Iterator[tuple[str, dict[str, list[bytes]]]]:
    """A real OTLP/gRPC receiver on a free loopback port, keeping the serialized requests."""
    from concurrent import futures

    import grpc
    from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2, metrics_service_pb2_grpc
    from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc

    received: dict[str, list[bytes]] = {}

    class Traces(trace_service_pb2_grpc.TraceServiceServicer):  # type: ignore[misc]
        def Export(self, request: object, context: object) -> object:  # noqa: N802
            received.setdefault("traces", []).append(request.SerializeToString())  # type: ignore[attr-defined]
            return trace_service_pb2.ExportTraceServiceResponse()

    class Metrics(metrics_service_pb2_grpc.MetricsServiceServicer):  # type: ignore[misc]
        def Export(self, request: object, context: object) -> object:  # noqa: N802
            received.setdefault("metrics", []).append(request.SerializeToString())  # type: ignore[attr-defined]
            return metrics_service_pb2.ExportMetricsServiceResponse()

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(Traces(), server)
    metrics_service_pb2_grpc.add_MetricsServiceServicer_to_server(Metrics(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield f"http://127.0.0.1:{port}", received
    server.stop(grace=None)


def test_otlp_grpc_is_chosen_by_the_standard_protocol_variable(
    grpc_collector: tuple[str, dict[str, list[bytes]]],
) -> None:
    endpoint, received = grpc_collector
    env = {
        **CLEAN_ENV,
        "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
        "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
        "OTEL_EXPORTER_OTLP_INSECURE": "true",
        "AUDITOR_BIND_PASSWORD": BIND_SECRET,
    }
    result = run_isolated(SECRET_PASS, env)
    assert result.returncode == 0, result.stderr
    assert sorted(received) == ["metrics", "traces"]
    assert b"audit.run" in b"".join(received["traces"])
    assert BIND_SECRET.encode() not in b"".join(received["traces"] + received["metrics"])


def test_chatty_libraries_log_warnings_only_at_info_level() -> None:
    import logging

    stream = io.StringIO()
    telemetry = setup_telemetry(TelemetrySettings(log_level="INFO"), stream=stream, environ=CLEAN_ENV)
    try:
        logging.getLogger("alembic.runtime.migration").info("Context impl SQLiteImpl.")
        logging.getLogger("apscheduler.executors.default").info('Running job "audit pass"')
        logging.getLogger("apscheduler.scheduler").warning("Execution of job skipped")
        logging.getLogger("auditor.service").info("audit pass started")
    finally:
        telemetry.shutdown()
    assert [line.split("] ", 1)[1] for line in stream.getvalue().splitlines()] == [
        "Execution of job skipped",
        "audit pass started",
    ]


# --- the real pipeline on the bundled sample organization --------------------------------------


def sample_config(tmp_path: Path) -> Any:
    config_module = pytest.importorskip("auditor.config")
    from importlib import resources

    sample = Path(str(resources.files("auditor.sample").joinpath("auditor.toml")))
    if not sample.is_file():
        pytest.skip("the sample organization is not installed")
    config = config_module.load_config(sample)
    store = config_module.StoreConfig(url=f"sqlite:///{tmp_path / 'history.db'}")
    return config.model_copy(update={"store": store})


def test_real_pass_on_the_sample_makes_the_span_tree(tmp_path: Path) -> None:
    run = pytest.importorskip("auditor.run")
    from auditor.registry import discover_checks

    config = sample_config(tmp_path)
    exporter = InMemorySpanExporter()
    telemetry = setup_telemetry(
        TelemetrySettings(), span_exporter=exporter, stream=io.StringIO(), environ=CLEAN_ENV
    )
    try:
        run.run_pass(config, on_result=lambda _result: None)
    finally:
        telemetry.shutdown()
    check_spans = [f"check.{spec.id}" for spec in discover_checks()]
    assert len(check_spans) >= 19
    assert all(name.startswith("check.COEX-") for name in check_spans)
    assert tree(exporter.get_finished_spans()) == {
        "": ["audit.run"],
        "audit.run": sorted(
            [
                "collect.directory",
                "collect.pop3:POP01",
                "collect.pop3:POP02",
                "store.save",
                *check_spans,
                "diff",
                "report.render",
            ]
        ),
    }


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    cert, key = folder / "smtp-cert.pem", folder / "smtp-key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return cert, key


@pytest.fixture
def smtp_server(tmp_path: Path) -> Iterator[tuple[int, Path, list[tuple[str, str]], list[bytes]]]:
    """aiosmtpd on a free loopback port: STARTTLS, AUTH required; records logins and messages."""
    import ssl

    aiosmtpd_controller = pytest.importorskip("aiosmtpd.controller")
    from aiosmtpd.smtp import AuthResult, LoginPassword

    cert, key = self_signed_certificate(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    logins: list[tuple[str, str]] = []
    messages: list[bytes] = []

    def authenticator(
        _server: object, _session: object, _envelope: object, _mechanism: str, data: object
    ) -> AuthResult:
        assert isinstance(data, LoginPassword)
        logins.append((data.login.decode(), data.password.decode()))
        return AuthResult(success=data.password.decode() == SMTP_SECRET)

    class Handler:
        async def handle_DATA(self, _server: object, _session: object, envelope: Any) -> str:  # noqa: N802
            messages.append(envelope.content)
            return "250 OK"

    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = aiosmtpd_controller.Controller(
        Handler(),
        hostname="127.0.0.1",
        port=port,
        tls_context=context,
        require_starttls=True,
        authenticator=authenticator,
        auth_required=True,
        auth_require_tls=True,
    )
    controller.start()
    try:
        yield port, cert, logins, messages
    finally:
        controller.stop()


def test_no_secret_in_spans_metrics_or_logs_of_a_check_and_an_emailed_report(
    tmp_path: Path, smtp_server: tuple[int, Path, list[tuple[str, str]], list[bytes]]
) -> None:
    """The SMTP password is really used (the server checks it), yet no telemetry output holds it."""
    pytest.importorskip("auditor.cli")
    port, cert, logins, messages = smtp_server
    config = sample_config(tmp_path)
    folder = Path(str(config.path)).parent
    text = Path(str(config.path)).read_text()
    text = text.replace('= "pop0', f'= "{folder}/pop0').replace('"contoso-', f'"{folder}/contoso-')
    text += (
        f'\n[store]\nurl = "sqlite:///{tmp_path / "history.db"}"\n'
        '\n[report]\nemail_to = ["admins@contoso.com"]\nemail_from = "auditor@contoso.com"\n'
        f'smtp_url = "smtp://127.0.0.1:{port}"\nstarttls = "require"\nca_file = "{cert}"\n'
        'smtp_username = "auditor"\nsmtp_password_env = "AUDITOR_SMTP_PASSWORD"\nretries = 0\n'
        '\n[telemetry]\nexporter = "console"\nlog_level = "DEBUG"\n'
    )
    config_file = tmp_path / "auditor.toml"
    config_file.write_text(text)
    env = {**CLEAN_ENV, "AUDITOR_BIND_PASSWORD": BIND_SECRET, "AUDITOR_SMTP_PASSWORD": SMTP_SECRET}
    auditor = str(Path(sys.executable).with_name("auditor"))
    outputs: list[str] = []
    codes: list[int] = []
    for args in (
        ["check", "--once", "-c", str(config_file), "--format", "json"],
        ["report", "-c", str(config_file), "--email"],
    ):
        result = subprocess.run(
            [auditor, *args], capture_output=True, text=True, env=env, timeout=120, check=False
        )
        codes.append(result.returncode)
        outputs.append(result.stdout + result.stderr)
    for secret in (BIND_SECRET, SMTP_SECRET):
        for output in outputs:
            assert secret not in output
    assert codes[0] == 1, outputs[0]  # the sample has failing findings
    assert '"name": "audit.run"' in outputs[0]  # spans were exported (console, to stderr)
    assert '"name": "auditor.findings"' in outputs[0]  # and metrics
    assert logins == [("auditor", SMTP_SECRET)]
    assert len(messages) == 1
    assert codes[1] == 0, outputs[1]
    assert '"name": "report.send"' in outputs[1]
