"""Logging and OpenTelemetry set-up: the only module that configures either.

Library code never configures anything; it logs through `logging.getLogger(__name__)` and traces
through the OpenTelemetry API (`get_tracer()` here, or `opentelemetry.trace.get_tracer`). The CLI
calls `setup_telemetry` once, early, and `Telemetry.shutdown()` on the way out.

Why it is shaped this way:

* Logs go to stderr, which systemd hands to journald; every line carries the current trace and span
  id, so a log line can be found from a trace and the other way round. Under journald (detected by
  `JOURNAL_STREAM`) lines start with a `<N>` syslog priority instead of a timestamp, so
  `journalctl -p err` works and time is not written twice.
* Where spans and metrics go follows the standard `OTEL_*` variables unless the config file says
  otherwise, so operators use what they already know. Unlike the OpenTelemetry default, *nothing*
  configured means nothing exported: a cron job on a host without a collector must not log export
  errors every run.
* OpenTelemetry lets a process set its global tracer provider once. Tests (and a long-running
  process that re-reads its config) call `setup_telemetry` more than once, so the global provider is
  set once and the exporter behind it is swapped: spans always reach the newest exporter.
* Metrics belong to `Telemetry` (its own meter provider): library code reports them through its
  methods, so the instrument names and attributes live in one place.
* Nothing secret or hostile leaves through here: every log line has known secrets scrubbed and
  control characters escaped (`auditor.secrets`, `auditor.terminal`), so a value cannot forge a
  log line or hide in one; every span, its attributes, events (recorded exceptions included) and
  status pass through the scrubber on their way to any exporter.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, Final

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.metrics import CallbackOptions, Meter, Observation
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    ConsoleMetricExporter,
    MetricExporter,
    MetricReader,
    PeriodicExportingMetricReader,
)
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import Event, ReadableSpan, Span, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SimpleSpanProcessor,
    SpanExporter,
    SpanExportResult,
)
from opentelemetry.trace import Status, Tracer
from opentelemetry.util.types import Attributes, AttributeValue

from auditor.errors import ConfigError
from auditor.secrets import scrub
from auditor.terminal import printable

__all__ = [
    "EXPORTERS",
    "SafeMessageFilter",
    "SpanContextFilter",
    "Telemetry",
    "TelemetrySettings",
    "get_tracer",
    "scrubbed_span",
    "setup_telemetry",
]

INSTRUMENTATION_NAME: Final = "auditor"
EXPORTERS: Final = ("otlp", "console", "none")
_OTLP_PROTOCOLS: Final = ("http/protobuf", "grpc")
_LOG_FORMAT: Final = "%(name)s [trace_id=%(otelTraceID)s span_id=%(otelSpanID)s] %(message)s"
# syslog priorities journald reads from a "<N>" line prefix (SyslogLevelPrefix=yes, its default).
_SYSLOG_PRIORITY: Final = {
    logging.CRITICAL: 2,
    logging.ERROR: 3,
    logging.WARNING: 4,
    logging.INFO: 6,
    logging.DEBUG: 7,
}


@dataclass(frozen=True)
class TelemetrySettings:
    """What `[telemetry]` in the config file says.

    `exporter` None means: follow the standard `OTEL_*` environment variables, and export nothing
    when none is set.
    """

    exporter: str | None = None
    service_name: str = "auditor"
    log_level: str = "INFO"


def get_tracer() -> Tracer:
    """The tracer library code creates its spans with (a no-op one before `setup_telemetry`)."""
    return trace.get_tracer(INSTRUMENTATION_NAME)


class SpanContextFilter(logging.Filter):
    """Adds `otelTraceID` / `otelSpanID` of the current span to every record (zeros outside a span).

    This is the one thing `opentelemetry-instrumentation-logging` would give us; a filter on our
    handler is enough and keeps that package out.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        ctx = trace.get_current_span().get_span_context()
        record.otelTraceID = format(ctx.trace_id, "032x")
        record.otelSpanID = format(ctx.span_id, "016x")
        return True


class SafeMessageFilter(logging.Filter):
    """Every log line: known secrets scrubbed and control characters escaped, one line per record.

    A server's error text, an attribute value or a file name reaches log messages; written raw,
    a line feed would forge a second log line and an ESC would drive the terminal reading it.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = printable(scrub(record.getMessage()))
        record.args = None
        if record.exc_info and not record.exc_text:
            text = logging.Formatter().formatException(record.exc_info)
            record.exc_text = printable(scrub(text), keep="\n")
        return True


def _scrubbed_value(value: AttributeValue) -> AttributeValue:
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, tuple | list) and all(isinstance(item, str) for item in value):
        return tuple(scrub(str(item)) for item in value)
    return value


def _scrubbed(attributes: Attributes) -> dict[str, AttributeValue]:
    return {key: _scrubbed_value(value) for key, value in (attributes or {}).items()}


def scrubbed_span(span: ReadableSpan) -> ReadableSpan:
    """A copy of `span` with every known secret scrubbed from its texts."""
    status = span.status
    if status.description:
        status = Status(status.status_code, scrub(status.description))
    return ReadableSpan(
        name=scrub(span.name),
        context=span.context,
        parent=span.parent,
        resource=span.resource,
        attributes=_scrubbed(span.attributes),
        events=[Event(scrub(e.name), _scrubbed(e.attributes), e.timestamp) for e in span.events],
        links=span.links,
        kind=span.kind,
        status=status,
        start_time=span.start_time,
        end_time=span.end_time,
        instrumentation_scope=span.instrumentation_scope,
    )


class _ScrubbingSpanExporter(SpanExporter):
    """Hands spans to the real exporter only after `scrubbed_span`."""

    def __init__(self, inner: SpanExporter) -> None:
        self.inner = inner

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return self.inner.export([scrubbed_span(span) for span in spans])

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.inner.force_flush(timeout_millis)


class _PriorityFormatter(logging.Formatter):
    """Prefixes each line with its syslog priority for journald, which stamps the time itself."""

    def format(self, record: logging.LogRecord) -> str:
        priority = _SYSLOG_PRIORITY.get(record.levelno, 6 if record.levelno < logging.WARNING else 3)
        lines = super().format(record).splitlines() or [""]
        return "\n".join(f"<{priority}>{line}" for line in lines)


class _SwitchableSpanProcessor(SpanProcessor):
    """Forwards to the processor of the newest `setup_telemetry`, or drops spans when there is none."""

    def __init__(self) -> None:
        self.delegate: SpanProcessor | None = None

    def on_start(self, span: Span, parent_context: otel_context.Context | None = None) -> None:
        delegate = self.delegate
        if delegate is not None:
            delegate.on_start(span, parent_context=parent_context)

    def on_end(self, span: ReadableSpan) -> None:
        delegate = self.delegate
        if delegate is not None:
            delegate.on_end(span)

    def shutdown(self) -> None:
        delegate, self.delegate = self.delegate, None
        if delegate is not None:
            delegate.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        delegate = self.delegate
        return True if delegate is None else delegate.force_flush(timeout_millis)


_switch = _SwitchableSpanProcessor()
_provider_lock = threading.Lock()
_provider_installed = False


def _install_tracer_provider(service_name: str) -> None:
    """Set the global tracer provider once and hang the switchable processor on it.

    If something else (an auto-instrumentation agent) already set an SDK provider, we add our
    processor to it rather than fight over the global.
    """
    global _provider_installed
    with _provider_lock:
        if _provider_installed:
            return
        current = trace.get_tracer_provider()
        if isinstance(current, TracerProvider):
            current.add_span_processor(_switch)
        else:
            provider = TracerProvider(resource=Resource.create({SERVICE_NAME: service_name}))
            provider.add_span_processor(_switch)
            trace.set_tracer_provider(provider)
        _provider_installed = True


def _env(name: str, environ: Mapping[str, str]) -> str | None:
    value = environ.get(name, "").strip()
    return value or None


def _wanted_exporters(configured: str | None, signal: str, environ: Mapping[str, str]) -> tuple[str, ...]:
    """Which exporters a signal ("traces" or "metrics") goes to: config first, then `OTEL_*`."""
    if configured is not None:
        if configured not in EXPORTERS:
            raise ConfigError(f"telemetry.exporter: {configured!r} is not one of {', '.join(EXPORTERS)}")
        return () if configured == "none" else (configured,)
    if (_env("OTEL_SDK_DISABLED", environ) or "").lower() == "true":
        return ()
    variable = f"OTEL_{signal.upper()}_EXPORTER"
    listed = _env(variable, environ)
    if listed is not None:
        names = tuple(dict.fromkeys(n.strip().lower() for n in listed.split(",") if n.strip()))
        unknown = [n for n in names if n not in EXPORTERS]
        if unknown:
            raise ConfigError(f"{variable}: {unknown[0]!r} is not one of {', '.join(EXPORTERS)}")
        return tuple(n for n in names if n != "none")
    endpoint_set = _env("OTEL_EXPORTER_OTLP_ENDPOINT", environ) or _env(
        f"OTEL_EXPORTER_OTLP_{signal.upper()}_ENDPOINT", environ
    )
    return ("otlp",) if endpoint_set else ()


def _otlp_protocol(signal: str, environ: Mapping[str, str]) -> str:
    variable = f"OTEL_EXPORTER_OTLP_{signal.upper()}_PROTOCOL"
    protocol = _env(variable, environ)
    if protocol is None:
        variable = "OTEL_EXPORTER_OTLP_PROTOCOL"
        protocol = _env(variable, environ) or "http/protobuf"
    if protocol not in _OTLP_PROTOCOLS:
        raise ConfigError(f"{variable}: {protocol!r} is not one of {', '.join(_OTLP_PROTOCOLS)}")
    return protocol


def _span_exporter(name: str, environ: Mapping[str, str], stream: IO[str]) -> SpanExporter:
    if name == "console":
        return ConsoleSpanExporter(out=stream)
    if _otlp_protocol("traces", environ) == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
            OTLPSpanExporter as GrpcSpanExporter,
        )

        return GrpcSpanExporter()
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter()


def _metric_exporter(name: str, environ: Mapping[str, str], stream: IO[str]) -> MetricExporter:
    if name == "console":
        return ConsoleMetricExporter(out=stream)
    if _otlp_protocol("metrics", environ) == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import (
            OTLPMetricExporter as GrpcMetricExporter,
        )

        return GrpcMetricExporter()
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter

    return OTLPMetricExporter()


class _MultiSpanProcessor(SpanProcessor):
    """Several processors behind the one switchable slot (e.g. OTLP and console at once)."""

    def __init__(self, processors: Sequence[SpanProcessor]) -> None:
        self.processors = tuple(processors)

    def on_start(self, span: Span, parent_context: otel_context.Context | None = None) -> None:
        for processor in self.processors:
            processor.on_start(span, parent_context=parent_context)

    def on_end(self, span: ReadableSpan) -> None:
        for processor in self.processors:
            processor.on_end(span)

    def shutdown(self) -> None:
        for processor in self.processors:
            processor.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return all(p.force_flush(timeout_millis) for p in self.processors)


_HANDLER_MARK: Final = "_auditor_telemetry_handler"
_CHATTY_LIBRARIES: Final = ("apscheduler", "alembic")


def _configure_logging(level_name: str, stream: IO[str], environ: Mapping[str, str]) -> int:
    """Replace our stderr handler on the root logger (idempotent across repeated set-ups)."""
    level = logging.getLevelName(level_name.strip().upper())
    if not isinstance(level, int):
        raise ConfigError(
            f"telemetry.log_level: {level_name!r} is not one of DEBUG, INFO, WARNING, ERROR, CRITICAL"
        )
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, _HANDLER_MARK, False)]:
        root.removeHandler(old)
        old.close()
    handler = logging.StreamHandler(stream)
    setattr(handler, _HANDLER_MARK, True)
    handler.addFilter(SpanContextFilter())
    handler.addFilter(SafeMessageFilter())
    if _env("JOURNAL_STREAM", environ):
        handler.setFormatter(_PriorityFormatter(_LOG_FORMAT))
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s " + _LOG_FORMAT))
    root.addHandler(handler)
    root.setLevel(level)
    # Libraries' INFO lines (APScheduler's "Running job ...", Alembic's "Context impl SQLiteImpl")
    # repeat ours or say nothing an operator needs; cron would mail them after every pass.
    for chatty in _CHATTY_LIBRARIES:
        logging.getLogger(chatty).setLevel(max(level, logging.WARNING))
    return level


@dataclass
class _Gauges:
    """Last values of the synchronous readings, reported at each collection."""

    last_complete_epoch: float | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


class Telemetry:
    """Handles to the tracer, the meter and auditor's metric instruments.

    Instruments (attributes in brackets; none of them ever holds a secret or an address):

    * `auditor.objects` gauge [kind, source]: objects of a kind in the last collection from a source
    * `auditor.pass.duration` histogram, seconds [outcome]
    * `auditor.passes` counter [outcome]: passes run, `ok` or `failed`
    * `auditor.findings` gauge [severity, status]: findings of the last pass
    * `auditor.snapshot.last_complete` observable gauge: Unix time of the last complete snapshot;
      `auditor.snapshot.age` observable gauge: seconds since then. An alert on the age is the
      dead-man's switch: it fires when passes stop completing, whatever the reason.
    """

    def __init__(
        self,
        *,
        tracer: Tracer,
        meter_provider: MeterProvider,
        span_processor: SpanProcessor | None,
        exporters: tuple[str, ...],
    ) -> None:
        self.tracer = tracer
        self.meter_provider = meter_provider
        self.meter: Meter = meter_provider.get_meter(INSTRUMENTATION_NAME)
        self.exporters = exporters
        self._span_processor = span_processor
        self._gauges = _Gauges()
        self._objects = self.meter.create_gauge(
            "auditor.objects", unit="{object}", description="Objects of a kind in the last collection"
        )
        self._pass_duration = self.meter.create_histogram(
            "auditor.pass.duration", unit="s", description="Duration of an audit pass"
        )
        self._passes = self.meter.create_counter(
            "auditor.passes", unit="{pass}", description="Audit passes run, by outcome"
        )
        self._findings = self.meter.create_gauge(
            "auditor.findings", unit="{finding}", description="Findings of the last pass"
        )
        self.meter.create_observable_gauge(
            "auditor.snapshot.last_complete",
            callbacks=[self._observe_last_complete],
            unit="s",
            description="Unix time of the last complete snapshot",
        )
        self.meter.create_observable_gauge(
            "auditor.snapshot.age",
            callbacks=[self._observe_age],
            unit="s",
            description="Seconds since the last complete snapshot (the dead-man's signal)",
        )
        self._shut_down = False

    def record_objects(self, kind: str, count: int, source: str) -> None:
        """How many objects of `kind` the source `source` delivered in this pass."""
        self._objects.set(count, {"kind": kind, "source": source})

    def record_pass(self, duration_s: float, ok: bool) -> None:
        """One pass finished; `ok` is False when it could not complete (exit code 2)."""
        attributes = {"outcome": "ok" if ok else "failed"}
        self._pass_duration.record(duration_s, attributes)
        self._passes.add(1, attributes)

    def record_findings(self, counts: Mapping[tuple[str, str], int]) -> None:
        """Findings of the last pass, keyed by (severity, status)."""
        for (severity, status), count in sorted(counts.items()):
            self._findings.set(count, {"severity": severity, "status": status})

    def record_last_complete_snapshot(self, epoch_seconds: float) -> None:
        """When the newest complete snapshot was taken (Unix time)."""
        with self._gauges.lock:
            self._gauges.last_complete_epoch = epoch_seconds

    def _observe_last_complete(self, _options: CallbackOptions) -> Iterable[Observation]:
        value = self._gauges.last_complete_epoch
        return [] if value is None else [Observation(value)]

    def _observe_age(self, _options: CallbackOptions) -> Iterable[Observation]:
        value = self._gauges.last_complete_epoch
        return [] if value is None else [Observation(max(0.0, time.time() - value))]

    def shutdown(self) -> None:
        """Flush and stop the exporters of this set-up (idempotent); logging stays configured."""
        if self._shut_down:
            return
        self._shut_down = True
        processor = self._span_processor
        # A later set-up already swapped this processor out and shut it down.
        if processor is not None and _switch.delegate is processor:
            processor.force_flush()
            _switch.delegate = None
            processor.shutdown()
        self.meter_provider.shutdown()


def setup_telemetry(
    settings: TelemetrySettings,
    *,
    span_exporter: SpanExporter | None = None,
    metric_reader: MetricReader | None = None,
    stream: IO[str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Telemetry:
    """Configure logging, tracing and metrics; returns the handles the pipeline records through.

    `span_exporter` / `metric_reader` are for tests (in-memory); given, they are used in addition
    to whatever the settings select, with a synchronous span processor so a test sees a span as
    soon as it ends. `stream` (default stderr) receives log lines and console exports; `environ`
    (default `os.environ`) is where `OTEL_*` variables are read. Raises ConfigError for an unknown
    exporter, protocol or log level.
    """
    out = stream if stream is not None else sys.stderr
    env = os.environ if environ is None else environ
    trace_exporters = _wanted_exporters(settings.exporter, "traces", env)
    metric_exporters = _wanted_exporters(settings.exporter, "metrics", env)
    _configure_logging(settings.log_level, out, env)

    processors: list[SpanProcessor] = [
        BatchSpanProcessor(_ScrubbingSpanExporter(_span_exporter(name, env, out))) for name in trace_exporters
    ]
    if span_exporter is not None:
        processors.append(SimpleSpanProcessor(_ScrubbingSpanExporter(span_exporter)))
    processor: SpanProcessor | None
    if not processors:
        processor = None
    elif len(processors) == 1:
        processor = processors[0]
    else:
        processor = _MultiSpanProcessor(processors)
    _install_tracer_provider(settings.service_name)
    previous, _switch.delegate = _switch.delegate, processor
    if previous is not None:
        previous.shutdown()

    readers: list[MetricReader] = [
        PeriodicExportingMetricReader(_metric_exporter(name, env, out)) for name in metric_exporters
    ]
    if metric_reader is not None:
        readers.append(metric_reader)
    meter_provider = MeterProvider(
        metric_readers=readers,
        resource=Resource.create({SERVICE_NAME: settings.service_name}),
        shutdown_on_exit=True,
    )
    described = tuple(f"traces:{n}" for n in trace_exporters) + tuple(
        f"metrics:{n}" for n in metric_exporters
    )
    return Telemetry(
        tracer=get_tracer(),
        meter_provider=meter_provider,
        span_processor=processor,
        exporters=described,
    )
