"""The one readable pipeline: collect → validate completeness → store → check → diff → report.

Completeness is the invariant everything else leans on: a snapshot is stored as complete only when
every configured source was read to its end. A source that fails (or a shutdown that interrupts the
pass) leaves an *incomplete* snapshot row (for collection health) and no objects, so neither a diff
nor a report can ever read a failed collection as "everything was deleted".

The snapshot, its check results and its findings are one unit, and so is the pass's report: the
snapshot row is committed first, incomplete ("has not finished"); the records stream into the store
as they are read (one transaction: a read that fails leaves no object), then the results are
computed, or copied from the previous snapshot when nothing they depend on changed
(`auditor.reuse`), and saved in a second transaction; the report is rendered and written; only
then is the snapshot marked complete (`HistoryStore.publish`, which refuses one without results).
Whatever stops the pass in between — a full disk, a locked or damaged store, a report that cannot
be written, an internal error, SIGKILL — leaves it incomplete, with the reason where one could be
recorded, and the command exits 2. A store found damaged gets
nothing more written to it, and one found damaged before the pass starts gets nothing at all.
"""

from __future__ import annotations

import contextlib
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from opentelemetry import trace

from auditor import families
from auditor.attribution import Origin
from auditor.collect import Baseline, CarriesOver, Source, TracksChanges
from auditor.config import AuditorConfig
from auditor.diff import diff_between
from auditor.documents import DiffDocument
from auditor.engine import Waiver, run_checks
from auditor.errors import AuditorError, CollectorError, SnapshotError, StoreDamagedError
from auditor.gcpause import collector_paused
from auditor.model import Snapshot
from auditor.model.snapshot import SnapshotBuilder
from auditor.provenance import AUDITOR_VERSION, config_fingerprint
from auditor.records import ObjectRecord, SourceInfo
from auditor.registry import CheckSpec, Severity, Status, discover_checks
from auditor.results import RunResult, SnapshotInfo
from auditor.reuse import results_key, waiver_notes
from auditor.store import HistoryStore
from auditor.store.engine import utc

__all__ = [
    "PassAbandoned",
    "PassResult",
    "ProgressHook",
    "build_snapshot",
    "build_sources",
    "check_settings",
    "exit_code",
    "open_store",
    "organization_name",
    "run_pass",
]

_tracer = trace.get_tracer("auditor.run")


class ProgressHook(Protocol):
    """What `auditor.progress` provides: `with reporter.source(name) as tick: tick(n_objects)`."""

    def source(self, name: str) -> AbstractContextManager[Callable[[int], None]]: ...


class PassAbandoned(AuditorError):
    """A shutdown was requested while the pass was collecting; nothing complete was stored."""


@dataclass
class PassResult:
    """What a pass produced. The records themselves are not kept (they streamed into the store):
    `object_kinds` counts them by kind; `results_from` names the snapshot whose results were
    reused (`auditor.reuse`), None when the checks ran."""

    run: RunResult
    snapshot: SnapshotInfo
    previous: SnapshotInfo | None = None
    diff: DiffDocument | None = None
    object_kinds: dict[str, int] = field(default_factory=dict)
    results_from: int | None = None
    reuse_reason: str = ""


def build_sources(config: AuditorConfig) -> list[Source]:
    """Every configured source, each built by the source family that reads its config section."""
    return families.build_sources(config)


def open_store(config: AuditorConfig) -> HistoryStore:
    """The configured store; a locked SQLite database is waited for as long as the pass lock."""
    return HistoryStore(
        config.store.url, scope=config.store.scope, busy_timeout=max(1.0, config.store.lock_timeout)
    )


_ORG_DN = re.compile(r"CN=([^,]+),CN=Microsoft Exchange,CN=Services,", re.IGNORECASE)


def organization_name(config: AuditorConfig, records: Sequence[ObjectRecord]) -> str:
    """The configured name, else the Exchange organization's CN from any Configuration DN."""
    if config.organization:
        return config.organization
    for record in records:
        match = _ORG_DN.search(record.dn)
        if match:
            return match.group(1)
    return ""


def check_settings(config: AuditorConfig) -> dict[str, Any]:
    """The configuration values the checks read (beside the snapshot's objects), as plain data.

    `build_snapshot` hands exactly these to the checks, and their fingerprint is stored with each
    pass's results (`auditor.provenance`), so a verdict changed by the configuration alone can say so.
    """
    return {
        "exchange_hosts": {
            server.name.lower(): sorted({*server.addresses, *([server.fqdn] if server.fqdn else [])})
            for server in config.exchange_server
        },
        "relay_allowlist": list(config.checks.relay_allowlist),
    }


def build_snapshot(
    config: AuditorConfig, records: Iterable[ObjectRecord], sources: Sequence[SourceInfo]
) -> Snapshot:
    """The typed snapshot the checks read, with the config's extra names for Exchange servers."""
    return _configured(config, Snapshot.from_records(records, sources))


def _configured(config: AuditorConfig, snap: Snapshot) -> Snapshot:
    settings = check_settings(config)
    snap.configured_exchange_hosts = {
        name: frozenset(addresses) for name, addresses in settings["exchange_hosts"].items()
    }
    snap.relay_allowlist = tuple(settings["relay_allowlist"])
    return snap


def exit_code(run: RunResult, fail_on: Severity) -> int:
    """0 clean, 1 un-waived failing findings at or above `fail_on` (errors count as failing)."""
    return 1 if run.failing_at_or_above(fail_on) else 0


def _collect(
    sources: Sequence[Source], stop: threading.Event | None, progress: ProgressHook | None
) -> Iterator[ObjectRecord]:
    """Every source's records, as they are read; raises when a source could not be read in full."""
    for source in sources:
        if stop is not None and stop.is_set():
            raise PassAbandoned("shutdown requested during collection; pass abandoned")
        started = time.monotonic()
        with ExitStack() as stack:
            tick = stack.enter_context(progress.source(source.info.name)) if progress else None
            span = stack.enter_context(_tracer.start_as_current_span(f"collect.{source.info.name}"))
            span.set_attribute("auditor.source.kind", source.info.kind)
            count = 0
            try:
                for count, record in enumerate(source.collect(), start=1):
                    yield record
                    if tick is not None and count % 100 == 0:
                        tick(100)
                    if stop is not None and count % 1000 == 0 and stop.is_set():
                        raise PassAbandoned("shutdown requested during collection; pass abandoned")
            except AuditorError as exc:
                source.info.complete = False
                source.info.error = str(exc)
                span.set_attribute("auditor.source.error", str(exc))
                raise
            finally:
                source.info.duration_seconds = time.monotonic() - started
            if tick is not None and count % 100:
                tick(count % 100)
            span.set_attribute("auditor.source.objects", source.info.objects)
        if not source.info.complete:
            raise CollectorError(f"{source.info.name}: the source stopped without reading everything")


def run_pass(
    config: AuditorConfig,
    *,
    checks: Sequence[CheckSpec] | None = None,
    stop: threading.Event | None = None,
    progress: ProgressHook | None = None,
    now: datetime | None = None,
    on_result: Callable[[PassResult], None] | None = None,
    with_diff: bool = True,
    full: bool = False,
) -> PassResult:
    """One pass over every configured source. Raises `AuditorError` (exit 2) when it cannot complete.

    `full` (`check --once --full`): every source reads in full even where it could read only what
    changed since the previous complete snapshot.

    `on_result` (the report) runs before the snapshot is marked complete: if it raises, the pass
    fails and its snapshot stays incomplete (see the module docstring).
    """
    specs = list(checks) if checks is not None else discover_checks()
    taken_at = utc(now or datetime.now(UTC))
    store = open_store(config)
    with (
        collector_paused(),  # the pass's objects are many and acyclic (`auditor.gcpause`)
        _tracer.start_as_current_span("audit.run") as root,
        store.pass_lock(config.store.lock_timeout),
    ):
        store.check_health()
        snapshot_id = store.begin_pass(taken_at)
        root.set_attribute("auditor.snapshot.id", snapshot_id)
        try:
            sources = build_sources(config)
        except AuditorError as exc:  # an export folder no one family can read (mixed files), ...
            _record_failure(store, snapshot_id, exc, [])
            raise
        try:
            _offer_baseline(store, sources, full)
            result = _finish_pass(config, store, specs, sources, snapshot_id, taken_at, stop, progress)
            if with_diff:
                with _tracer.start_as_current_span("diff"):
                    result.previous, result.diff = _diff_against_previous(store, result)
            if on_result is not None:
                with _tracer.start_as_current_span("report.render"):
                    on_result(result)
            store.publish(snapshot_id)
        except BaseException as exc:
            _record_failure(store, snapshot_id, exc, sources)
            raise
        # The chain's newest digest leaves the store with every pass, so a history cut short
        # afterwards can be caught (`auditor verify --expect`).
        head = store.chain_head()
        if head is not None:
            root.set_attribute("auditor.history.digest", head.digest)
            root.set_attribute("auditor.history.digest_snapshot", head.snapshot_id)
        root.set_attribute("auditor.findings.failing", sum(f.failing for f in result.run.findings))
        return result


def _finish_pass(
    config: AuditorConfig,
    store: HistoryStore,
    specs: Sequence[CheckSpec],
    sources: Sequence[Source],
    snapshot_id: int,
    taken_at: datetime,
    stop: threading.Event | None,
    progress: ProgressHook | None,
) -> PassResult:
    """Collect into the store and the typed snapshot at once, then check (or reuse) and save results.

    Records stream from the sources into the store and into the snapshot builder and are dropped:
    no pass holds every record beside the typed snapshot (issue 12, memory). Only once the objects
    are saved does the store know whether anything changed; if nothing did and nothing else the
    results depend on changed (`auditor.reuse`), the previous results are copied instead of
    computed. Either way the snapshot stays incomplete until `run_pass` publishes it.
    """
    infos = tuple(s.info for s in sources)
    builder: SnapshotBuilder | None = SnapshotBuilder()
    seen = _Seen(config)

    def stream() -> Iterator[ObjectRecord]:
        for record in _collect(sources, stop, progress):
            seen.add(record)
            if builder is not None:
                builder.add(record)
            yield record

    # The objects are written as they are read: their time is in the `collect.<source>` spans.
    count = store.save_objects(
        snapshot_id,
        stream(),
        infos,
        organization=lambda: seen.organization,
        deletions=lambda: _deletions(sources),
        carried=lambda: seen.carry(sources),
    )
    if seen.carried:
        # The builder saw only the objects read again: the snapshot, if the checks need it, is
        # built from what was stored (`_built_from_store`).
        builder = None
    # What the pass reports; the stored row becomes complete only when the pass is published.
    snapshot = SnapshotInfo(snapshot_id, taken_at, True, infos, count)
    today = taken_at.date()
    waivers = [Waiver(w.check, w.subject, w.reason, w.expires) for w in config.checks.waiver]
    settings = check_settings(config)
    disabled = set(config.checks.disabled)
    key = results_key([s for s in specs if s.id not in disabled], settings, waivers, today)
    run = RunResult(
        snapshot=snapshot,
        organization=seen.organization,
        auditor_version=AUDITOR_VERSION,
        config_fingerprint=config_fingerprint(settings),
    )
    reuse = store.reusable_results(snapshot_id, list(infos), key)
    if reuse.source is not None:
        builder = None  # the typed snapshot is not needed: free it before copying
        with _tracer.start_as_current_span("store.save") as span:
            span.set_attribute("auditor.snapshot.id", snapshot_id)
            span.set_attribute("auditor.results.from", reuse.source)
            run.checks, run.findings = store.reuse_results(
                snapshot_id,
                reuse.source,
                results_key=key,
                auditor_version=run.auditor_version,
                config_fingerprint=run.config_fingerprint,
            )
        run.waiver_notes = waiver_notes(run.findings, waivers, today)
    else:
        if builder is None:
            builder = _built_from_store(store, snapshot_id)
        snap = _configured(config, builder.finish(infos))
        builder = None
        outcome = run_checks(snap, specs, disabled=disabled, waivers=waivers, today=today)
        del snap
        run.checks, run.findings, run.waiver_notes = outcome.checks, outcome.findings, outcome.waiver_notes
        store.annotate_findings(run)
        with _tracer.start_as_current_span("store.save") as span:
            span.set_attribute("auditor.snapshot.id", snapshot_id)
            store.save_pass_results(snapshot_id, run, key)
    return PassResult(
        run=run,
        snapshot=snapshot,
        object_kinds=dict(seen.kinds),
        results_from=reuse.source,
        reuse_reason=reuse.reason,
    )


def _built_from_store(store: HistoryStore, snapshot_id: int) -> SnapshotBuilder:
    """The typed snapshot of a pass whose sources carried objects over, from its stored objects
    (one streaming read): the store holds the only complete copy of them."""
    builder = SnapshotBuilder()
    with _tracer.start_as_current_span("snapshot.from_store"):
        for record in store.saved_records(snapshot_id):
            builder.add(record)
    return builder


class _Seen:
    """What a pass learns of its records as they stream past: counts by kind, the organization."""

    def __init__(self, config: AuditorConfig) -> None:
        self.organization = config.organization
        self.kinds: Counter[str] = Counter()
        self.carried = 0

    def add(self, record: ObjectRecord) -> None:
        self._count(record.kind, record.dn)

    def _count(self, kind: str, dn: str) -> None:
        self.kinds[kind] += 1
        if not self.organization:
            match = _ORG_DN.search(dn)
            if match:
                self.organization = match.group(1)

    def carry(self, sources: Sequence[Source]) -> list[str]:
        """The keys the sources carried over (`CarriesOver`), counted as if they had streamed past;
        read once the stream has ended (`HistoryStore.save_objects`)."""
        keys: list[str] = []
        for source in sources:
            if not isinstance(source, CarriesOver):
                continue
            # Taken, not copied: its 100,000 entries need not live through the snapshot's rebuild
            # and the checks (every page the pass does not hold is one it need not fault in).
            carried, source.carried = source.carried, {}
            for key, (kind, dn) in carried.items():
                self._count(kind, dn)
                keys.append(key)
        self.carried = len(keys)
        return keys


def _offer_baseline(store: HistoryStore, sources: Sequence[Source], full: bool) -> None:
    """Sources that can read only what changed get the previous complete snapshot to start from."""
    tracking = [source for source in sources if isinstance(source, TracksChanges)]
    if not tracking:
        return
    try:
        previous = store.resolve("latest")
    except SnapshotError:
        previous = None
    baseline = None
    if previous is not None:
        snapshot_id = previous.id
        if not full:
            store.expect_baseline_index(snapshot_id)
        baseline = Baseline(
            previous.id,
            previous.taken_at,
            previous.sources,
            lambda: store.load_records(snapshot_id),
            index=lambda: store.baseline_index(snapshot_id),
        )
    for source in tracking:
        source.use_baseline(baseline, full=full)


def _record_failure(
    store: HistoryStore, snapshot_id: int, exc: BaseException, sources: Sequence[Source]
) -> None:
    """Say why the pass stopped on its (incomplete) row; never write to a damaged store."""
    if isinstance(exc, StoreDamagedError):
        return
    if isinstance(exc, AuditorError):
        reason = str(exc)
    elif isinstance(exc, KeyboardInterrupt | SystemExit):
        reason = "the pass was interrupted"
    else:
        reason = f"internal error: {type(exc).__name__}: {exc}"
    # If even this fails, the row already says the pass did not finish; the original error counts.
    with contextlib.suppress(AuditorError):
        store.mark_failed(snapshot_id, reason, [s.info for s in sources])


def _deletions(sources: Sequence[Source]) -> dict[str, Origin]:
    """Origins of deletions the sources read (tombstones of a live directory), by object key."""
    found: dict[str, Origin] = {}
    for source in sources:
        found.update(getattr(source, "deletions", None) or {})
    return found


def _diff_against_previous(
    store: HistoryStore, result: PassResult
) -> tuple[SnapshotInfo | None, DiffDocument | None]:
    """The diff against the last complete snapshot before this one (None for the first pass).

    This pass's findings are the ones it holds (what it stored of them, without reading them
    back); when it copied that snapshot's results (`auditor.reuse`), they are that snapshot's too,
    finding for finding, and nothing is read back at all.
    """
    snapshot = result.snapshot
    # The newest complete snapshot (this pass's is not complete yet; the pass lock keeps others
    # out), read alone: `store.snapshots()` would count the failing findings of every snapshot.
    try:
        info = store.resolve("latest")
    except SnapshotError:
        return None, None
    if info.id >= snapshot.id:
        return None, None
    previous = info
    # What the store keeps of this pass's findings (`save_pass_results` drops passing ones), in order.
    findings = [f for f in result.run.findings if f.status is not Status.PASS]
    # The diff compares verdicts, not evidence: the previous findings are read without it.
    if result.results_from == previous.id:
        before = findings
    else:
        replaced = store.findings_replaced(snapshot.id, previous.id)
        before = replaced if replaced is not None else store.load_findings(previous.id, evidence=False)
    return info, diff_between(store, info, snapshot, held=(before, findings))
