"""Command line (contract.md): check, diff, report, history, checks, trace, recheck, verify, export-ldif.

Exit codes: 0 success (and, for `check`, nothing failing at or above `--fail-on`); 1 `check`
found such findings; 2 the command could not do its job. Exit 2 always comes with exactly one line
on stderr naming the cause, never a traceback (`--debug` shows one for developers).

Everything printed goes through `auditor.terminal.printable` (control characters, bytes of
non-UTF-8 file names and bidirectional overrides shown as escapes) and every error line through
`auditor.secrets.scrub` too, whatever raised it.
"""

from __future__ import annotations

import functools
import json
import os
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

import click

from auditor import __version__
from auditor.config import AuditorConfig, StoreConfig, checked_file, find_config, load_config, parse_duration
from auditor.errors import AuditorError, ConfigError, ReportError, SnapshotError
from auditor.registry import Severity, discover_checks
from auditor.secrets import scrub
from auditor.terminal import printable

if TYPE_CHECKING:
    from auditor.causes import Explainer
    from auditor.documents import DiffDocument, DriftReport
    from auditor.run import PassResult

P = ParamSpec("P")
R = TypeVar("R")

SAMPLE_STORE = "auditor-sample.db"
_debug = False


def _fail(message: str) -> None:
    click.echo(f"auditor: error: {printable(scrub(' '.join(message.split())))}", err=True)


def _say(text: str, *, err: bool = False) -> None:
    """Print text meant for a terminal: control characters escaped, line breaks kept."""
    click.echo(printable(text, keep="\n"), err=err)


def handle_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Every failure becomes one stderr line and exit 2."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except AuditorError as exc:
            _fail(str(exc) or type(exc).__name__)
            if _debug:
                raise
            sys.exit(2)
        except KeyboardInterrupt:
            _fail("interrupted")
            sys.exit(2)
        except BrokenPipeError:
            # The reader went away (`auditor checks | head`): not an error worth a message.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(141)
        except (click.exceptions.Exit, click.ClickException, SystemExit):
            raise
        except Exception as exc:
            if _debug:
                raise
            _fail(f"internal error: {type(exc).__name__}: {str(exc)[:500]} (rerun with --debug)")
            sys.exit(2)

    return wrapper


SAMPLES = ("contoso", "modern")
# Each bundled sample keeps its own history in the current directory (its folder may be read-only).
SAMPLE_STORES = {"contoso": SAMPLE_STORE, "modern": "auditor-sample-modern.db"}


def _sample_config_path(name: str = "contoso") -> Path:
    if name == "modern":
        from auditor.sample_modern import sample_config_path
    else:
        from auditor.sample import sample_config_path

    path = sample_config_path()
    if not path.is_file():
        raise ConfigError(f"{path}: the bundled sample organization is missing from this installation")
    return path


def _config(config_path: Path | None, sample: str | None) -> AuditorConfig:
    if sample:
        config = load_config(_sample_config_path(sample))
        store = StoreConfig(url=f"sqlite:///{Path.cwd() / SAMPLE_STORES[sample]}")
        return config.model_copy(update={"store": store})
    return load_config(find_config(config_path))


def _setup_telemetry(config: AuditorConfig | None) -> Any:
    from auditor.telemetry import TelemetrySettings, setup_telemetry

    settings = TelemetrySettings(
        exporter=config.telemetry.exporter if config else None,
        log_level=config.telemetry.log_level if config else "INFO",
    )
    return setup_telemetry(settings)


def _emit(text: str, output: Path | None) -> None:
    """The report to stdout, or whole to `--output` (see `auditor.output.write_report`)."""
    if output is None:
        try:
            click.echo(text, nl=not text.endswith("\n"))
            sys.stdout.flush()
        except BrokenPipeError:
            raise
        except (OSError, UnicodeError) as exc:
            raise ReportError(f"standard output: cannot write the report: {exc}") from None
        return
    from auditor.output import write_report

    write_report(text, output)


def _check_output(output: Path | None, config: AuditorConfig) -> None:
    from auditor.output import check_output_path

    check_output_path(output, config)


def _color(output: Path | None) -> bool:
    return output is None and sys.stdout.isatty()


config_option = click.option(
    "-c",
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="config file (TOML)",
)
sample_option = click.option(
    "--sample",
    "sample",
    is_flag=False,
    flag_value="contoso",
    default=None,
    type=click.Choice(SAMPLES),
    help="use a bundled sample organization: contoso (the default, Exchange 2003; store "
    "./auditor-sample.db) or modern (Exchange 2016 / SE; store ./auditor-sample-modern.db)",
)
output_option = click.option("--output", type=click.Path(path_type=Path, dir_okay=False), help="write here")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="auditor")
@click.option("--debug", is_flag=True, hidden=True, help="show tracebacks")
def main(debug: bool) -> None:
    """Audit Exchange / POP3 coexistence in Active Directory and track its drift."""
    global _debug
    _debug = debug


# -- check ---------------------------------------------------------------------------------------


@main.command()
@config_option
@sample_option
@click.option("--once", is_flag=True, help="one pass, then exit (for cron); without it: run as a service")
@click.option(
    "--full",
    is_flag=True,
    help="with --once: read every source in full, even where only changes could be read",
)
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json", "html", "junit", "sarif"]), default="text"
)
@output_option
@click.option(
    "--fail-on", type=click.Choice([s.value for s in Severity]), default=None, help="exit 1 at this severity"
)
@handle_errors
def check(
    config_path: Path | None,
    sample: str | None,
    once: bool,
    full: bool,
    fmt: str,
    output: Path | None,
    fail_on: str | None,
) -> None:
    """Collect, store, check and report (contract: exit 0 / 1 / 2)."""
    if full and not once:
        raise ConfigError("--full applies to one pass: use it with --once")
    config = _config(config_path, sample)
    _check_output(output, config)
    telemetry = _setup_telemetry(config)
    threshold = Severity(fail_on) if fail_on else config.checks.fail_on
    try:
        if once:
            code = _check_once(
                config, fmt=fmt, output=output, threshold=threshold, telemetry=telemetry, full=full
            )
        else:
            code = _serve(config, telemetry=telemetry)
    finally:
        telemetry.shutdown()
    sys.exit(code)


def _check_once(
    config: AuditorConfig,
    *,
    fmt: str,
    output: Path | None,
    threshold: Severity,
    telemetry: Any,
    full: bool = False,
) -> int:
    from auditor.progress import progress_for
    from auditor.run import exit_code, run_pass

    reporter = progress_for(sys.stderr)

    def render(result: PassResult) -> None:
        _render_pass(result, fmt, output)

    result = run_pass(config, progress=reporter, on_result=render, full=full)
    _record_metrics(telemetry, result)
    return exit_code(result.run, threshold)


def _render_pass(result: PassResult, fmt: str, output: Path | None) -> None:
    from auditor.reports.render import render_check_run

    text = render_check_run(result.run, fmt, color=_color(output))
    if fmt == "text" and result.diff is not None and result.previous is not None:
        text = text.rstrip("\n") + "\n\n" + _changes_line(result.previous.id, result.diff) + "\n"
    _emit(text, output)


def _changes_line(previous_id: int, diff: DiffDocument) -> str:
    """One line on what changed since the last complete snapshot; `auditor diff` has the detail."""
    objects, findings = diff.objects, diff.findings
    return (
        f"Since snapshot {previous_id}: {len(objects.added)} objects added, {len(objects.removed)} removed, "
        f"{len(objects.changed)} changed; {len(findings.new)} new findings, "
        f"{len(findings.resolved)} resolved (details: auditor diff)"
    )


def _serve(config: AuditorConfig, *, telemetry: Any) -> int:
    from auditor import service
    from auditor.service import ScheduleSettings, run_service

    schedule = ScheduleSettings(
        check=config.schedule.check, report=config.schedule.report, tz=config.schedule.tz
    )

    def one_pass() -> int:
        return _pass_for_service(config, telemetry=telemetry, stop=service.stop_requested)

    def weekly_report() -> int:
        return _send_drift_report(config, since=parse_duration(config.report.since))

    return run_service(
        schedule, run_pass=one_pass, send_report=weekly_report, record_pass=telemetry.record_pass
    )


def _pass_for_service(config: AuditorConfig, *, telemetry: Any, stop: threading.Event) -> int:
    from auditor.run import exit_code, run_pass

    result = run_pass(config, stop=stop)
    _record_metrics(telemetry, result)
    return exit_code(result.run, config.checks.fail_on)


def _record_metrics(telemetry: Any, result: Any) -> None:
    from collections import Counter

    for kind, count in result.object_kinds.items():
        telemetry.record_objects(kind, count, "all")
    counts = Counter((f.severity.value, f.status.value) for f in result.run.findings)
    telemetry.record_findings(counts)
    telemetry.record_last_complete_snapshot(result.snapshot.taken_at.timestamp())


# -- diff / report / history / checks / trace ------------------------------------------------------


@main.command()
@config_option
@sample_option
@click.option(
    "--from",
    "from_ref",
    default="previous",
    show_default=True,
    help="snapshot id, latest, previous, or ISO date",
)
@click.option("--to", "to_ref", default="latest", show_default=True)
@click.option("--format", "fmt", type=click.Choice(["text", "json", "html"]), default="text")
@output_option
@handle_errors
def diff(
    config_path: Path | None, sample: str | None, from_ref: str, to_ref: str, fmt: str, output: Path | None
) -> None:
    """What changed between two stored complete snapshots (objects and findings)."""
    from auditor.diff import diff_snapshots
    from auditor.reports.render import render_diff
    from auditor.run import open_store

    config = _config(config_path, sample)
    _check_output(output, config)
    store = open_store(config)
    document = diff_snapshots(store, from_ref, to_ref, explainer=_explainer(config))
    _emit(render_diff(document, fmt, color=_color(output)), output)


def _explainer(config: AuditorConfig) -> Explainer:
    """Today's config and enabled checks: what the causes of finding changes are recomputed with."""
    from auditor.causes import Explainer
    from auditor.registry import discover_checks

    disabled = set(config.checks.disabled)
    return Explainer(config, [spec for spec in discover_checks() if spec.id not in disabled])


@main.command()
@config_option
@sample_option
@click.option("--since", default=None, help="period, e.g. 7d (default: [report] since, else 7d)")
@click.option("--format", "fmt", type=click.Choice(["html", "json", "text"]), default="text")
@output_option
@click.option("--email", is_flag=True, help="send the report to [report] email_to")
@handle_errors
def report(
    config_path: Path | None,
    sample: str | None,
    since: str | None,
    fmt: str,
    output: Path | None,
    email: bool,
) -> None:
    """The drift report over a period: findings new / resolved / still failing, changes, health."""
    config = _config(config_path, sample)
    _check_output(output, config)
    period = parse_duration(since or config.report.since)
    if email:
        telemetry = _setup_telemetry(config)
        try:
            code = _send_drift_report(config, since=period, fmt=fmt, output=output)
        finally:
            telemetry.shutdown()
        sys.exit(code)
    from auditor.reports.render import render_drift_report

    document = _drift_document(config, period)
    _emit(render_drift_report(document, fmt, color=_color(output)), output)


def _drift_document(config: AuditorConfig, period: timedelta) -> DriftReport:
    from auditor.drift import build_drift_report
    from auditor.run import open_store

    store = open_store(config)
    waivers = [(w.check, w.subject, w.reason, w.expires) for w in config.checks.waiver]
    return build_drift_report(
        store,
        since=period,
        now=datetime.now(UTC),
        waivers=waivers,
        organization=config.organization,
        explainer=_explainer(config),
    )


def _send_drift_report(
    config: AuditorConfig, *, since: timedelta, fmt: str | None = None, output: Path | None = None
) -> int:
    from auditor.mail import MailSettings, build_report_message, send_message
    from auditor.run import open_store

    report_config = config.report
    if not report_config.smtp_url or not report_config.email_to or not report_config.email_from:
        raise ConfigError("report.smtp_url, report.email_from and report.email_to are needed to send e-mail")
    document = _drift_document(config, since)
    if output is not None and fmt is not None:
        from auditor.reports.render import render_drift_report

        _emit(render_drift_report(document, fmt), output)
    settings = MailSettings(
        smtp_url=report_config.smtp_url,
        starttls=report_config.starttls,
        username=report_config.smtp_username,
        password=report_config.smtp_password() if report_config.smtp_username else None,
        ca_file=checked_file(report_config.ca_file, "report.ca_file"),
        sender=report_config.email_from,
        recipients=tuple(report_config.email_to),
        timeout=report_config.timeout,
        retries=report_config.retries,
    )
    message = build_report_message(document, settings)
    store = open_store(config)
    period_from, period_to = document.period.since, document.period.until
    from opentelemetry import trace as otel_trace

    try:
        with otel_trace.get_tracer("auditor.cli").start_as_current_span("report.send") as span:
            span.set_attribute("auditor.report.recipients", len(settings.recipients))
            send_message(message, settings)
    except AuditorError as exc:
        store.record_delivery(period_from, period_to, sent=False, error=str(exc))
        raise
    store.record_delivery(period_from, period_to, sent=True, error=None)
    _say(f"report sent to {', '.join(report_config.email_to)}", err=True)
    return 0


@main.command()
@config_option
@sample_option
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@handle_errors
def history(config_path: Path | None, sample: str | None, fmt: str) -> None:
    """Stored snapshots: id, time, complete or not, object count, failing findings."""
    from auditor.results import isoformat
    from auditor.run import open_store

    store = open_store(_config(config_path, sample))
    rows = store.snapshots()
    digests = store.digests()
    if fmt == "json":
        document = {
            "schema": "auditor.history/1",
            "snapshots": [
                {
                    "id": row.id,
                    "taken_at": isoformat(row.taken_at),
                    "complete": row.complete,
                    "objects": row.objects,
                    "failing": row.failing,
                    "digest": digests.get(row.id),
                    **({"stale": list(row.stale)} if row.stale else {}),
                }
                for row in rows
            ],
        }
        click.echo(json.dumps(document, indent=2))
        return
    if not rows:
        click.echo("no snapshots stored yet")
        return
    click.echo(
        f"{'id':>6}  {'taken at (UTC)':<20}  {'complete':<8}  {'objects':>8}  {'failing':>7}  digest (auditor verify)"
    )
    for row in rows:
        _say(
            f"{row.id:>6}  {row.taken_at.strftime('%Y-%m-%d %H:%M:%S'):<20}  {'yes' if row.complete else 'NO':<8}  "
            f"{row.objects:>8}  {row.failing:>7}  {digests.get(row.id, '-')}"
        )
        for stale in row.stale:
            _say(f"{'':>6}  stale export: {stale}")


@main.command(name="checks")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@handle_errors
def checks_command(fmt: str) -> None:
    """The check catalogue: id, severity, principles, title."""
    specs = discover_checks()
    if fmt == "json":
        document = {
            "schema": "auditor.checks/1",
            "checks": [
                {
                    "id": s.id,
                    "severity": s.severity.value,
                    "principles": list(s.principles),
                    "title": s.title,
                    "remediation": s.remediation,
                }
                for s in specs
            ],
        }
        click.echo(json.dumps(document, indent=2))
        return
    for s in specs:
        _say(f"{s.id:<9} {s.severity.value:<8} {','.join(s.principles):<6} {s.title}")


@main.command()
@click.argument("address")
@config_option
@sample_option
@click.option(
    "--from", "start", default="exchange", show_default=True, help="exchange or a POP3 server's name"
)
@handle_errors
def trace(address: str, config_path: Path | None, sample: str | None, start: str) -> None:
    """The path a message to ADDRESS takes in the latest complete snapshot, hop by hop."""
    from auditor.routing import systems
    from auditor.routing import trace as trace_route
    from auditor.run import build_snapshot, open_store

    config = _config(config_path, sample)
    store = open_store(config)
    snapshot = store.resolve("latest")
    snap = build_snapshot(config, store.load_records(snapshot.id), store.load_sources(snapshot.id))
    known = systems(snap)
    if start != "exchange" and start.lower() not in {name.lower() for name in known}:
        raise SnapshotError(f"unknown system {start!r}: use exchange or one of {', '.join(known)}")
    _say(trace_route(snap, address, start).render())


@main.command()
@config_option
@sample_option
@click.option("--since", default=None, help="period, e.g. 90d (default 30d)")
@click.option("--from", "from_ref", default=None, help="first snapshot: id, latest, previous, or ISO date")
@click.option("--check", "check_ids", multiple=True, metavar="ID", help="only this check (repeatable)")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@output_option
@handle_errors
def recheck(
    config_path: Path | None,
    sample: str | None,
    since: str | None,
    from_ref: str | None,
    check_ids: tuple[str, ...],
    fmt: str,
    output: Path | None,
) -> None:
    """Today's checks over the stored history (read-only): since when each failure has been failing."""
    from auditor.recheck import recheck as recheck_history
    from auditor.recheck import recheck_text
    from auditor.run import open_store

    if since is not None and from_ref is not None:
        raise ConfigError("give --since or --from, not both")
    config = _config(config_path, sample)
    document = recheck_history(
        open_store(config),
        config,
        now=datetime.now(UTC),
        since=parse_duration(since) if since is not None else None,
        from_ref=from_ref,
        check_ids=check_ids,
    )
    _emit(json.dumps(document, indent=2) + "\n" if fmt == "json" else recheck_text(document), output)


@main.command()
@config_option
@sample_option
@click.option(
    "--expect",
    default=None,
    metavar="DIGEST",
    help="a digest published earlier (weekly e-mail, telemetry): the chain must still contain it",
)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@handle_errors
def verify(config_path: Path | None, sample: str | None, expect: str | None, fmt: str) -> None:
    """Recompute the history's hash chain: exit 0 intact, 1 a break (or --expect not found), 2 cannot run."""
    from auditor.run import open_store
    from auditor.verify import parse_digest, verify_document, verify_exit_code, verify_text

    wanted = parse_digest(expect) if expect is not None else None
    store = open_store(_config(config_path, sample))
    document = verify_document(store, store.verify_chain(), wanted)
    click.echo(json.dumps(document, indent=2) if fmt == "json" else verify_text(document), nl=fmt == "json")
    sys.exit(verify_exit_code(document))


@main.command(name="export-ldif")
@config_option
@click.option("--domain-out", type=click.Path(path_type=Path, dir_okay=False), required=True)
@click.option("--configuration-out", type=click.Path(path_type=Path, dir_okay=False), required=True)
@handle_errors
def export_ldif_command(config_path: Path | None, domain_out: Path, configuration_out: Path) -> None:
    """Write ldifde-style exports of what the live collector reads (for offline audits)."""
    from auditor.families.exchange.ldif_export import export_ldif
    from auditor.run import build_sources

    config = load_config(find_config(config_path))
    if config.directory is None or not config.directory.url:
        raise ConfigError("export-ldif reads a live directory: set [directory] url")
    from auditor.output import check_output_path

    check_output_path(domain_out, config, option="--domain-out", exports=False)
    check_output_path(configuration_out, config, option="--configuration-out", exports=False)
    source = build_sources(config.model_copy(update={"pop3_server": []}))[0]
    domain_count, configuration_count = export_ldif(source.settings, domain_out, configuration_out)  # type: ignore[attr-defined]
    _say(
        f"wrote {domain_count} entries to {domain_out}, {configuration_count} to {configuration_out}",
        err=True,
    )


if __name__ == "__main__":  # pragma: no cover
    main()
