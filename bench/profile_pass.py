"""Where a pass spends its time and memory: the stages of `run_pass`, one by one, over the bench org.

    .venv/bin/python bench/profile_pass.py [--recipients 100000] [--variant realistic|lean]
                                           [--trace] [--cprofile FILE] [--org FOLDER]

Runs what `auditor.run.run_pass` runs, stage by stage and with the same functions (records
streamed into the store and the snapshot builder, the results key, the reuse decision, then either
the copy of the previous results or the snapshot's finish, the checks and the results' save; diff,
text report), twice: a first pass into an empty SQLite store, then the same files again (which
reuses the first pass's results). After each stage it prints the wall time, the process's RSS and
its peak so far (/proc/self/status VmRSS, VmHWM). With --trace, tracemalloc runs too and each
stage also shows what Python holds after it (so the records list, the snapshot and the results
get a size in MiB); tracing slows Python several times, so times of a --trace run are not figures.
With --cprofile FILE, the first pass runs under cProfile and the top functions are printed.

Not part of `make bench`: a tool for deciding what to change, not a figure to track.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import pstats
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parent))

from measure import peak_rss_mib, rss_mib
from org_files import VARIANTS, write_org

from auditor.records import ObjectRecord

T = TypeVar("T")


class Stages:
    """Prints one line per stage: seconds, RSS now, peak RSS, and (when tracing) Python's holdings."""

    def __init__(self, trace: bool) -> None:
        self.trace = trace
        self.totals: dict[str, float] = {}

    def __call__(self, label: str, function: Callable[[], T]) -> T:
        started = time.perf_counter()
        value = function()
        seconds = time.perf_counter() - started
        self.totals[label] = self.totals.get(label, 0.0) + seconds
        traced = ""
        if self.trace:
            current, peak = tracemalloc.get_traced_memory()
            traced = f"   traced {current / 2**20:7.1f} MiB (peak {peak / 2**20:7.1f})"
            tracemalloc.reset_peak()
        print(
            f"  {label:<28} {seconds:7.2f} s   RSS {rss_mib():7.1f} MiB   peak {peak_rss_mib():7.1f} MiB{traced}",
            flush=True,
        )
        return value


def one_pass(config_path: Path, stage: Stages, now: datetime) -> None:
    """`auditor.run._finish_pass` and the rest of `run_pass`, stage by stage, with the same calls."""
    from auditor.config import load_config
    from auditor.engine import Waiver, run_checks
    from auditor.gcpause import collector_paused
    from auditor.model.snapshot import SnapshotBuilder
    from auditor.provenance import AUDITOR_VERSION, config_fingerprint
    from auditor.registry import discover_checks
    from auditor.reports.render import render_check_run
    from auditor.results import RunResult, SnapshotInfo
    from auditor.reuse import results_key, waiver_notes
    from auditor.run import (
        PassResult,
        _collect,
        _configured,
        _deletions,
        _diff_against_previous,
        _Seen,
        build_sources,
        check_settings,
        open_store,
    )

    config = stage("config + check discovery", lambda: load_config(config_path))
    specs = discover_checks()
    store = stage("store open", lambda: open_store(config))
    with collector_paused(), store.pass_lock(config.store.lock_timeout):  # as run_pass
        snapshot_id = store.begin_pass(now)
        sources = build_sources(config)
        infos = tuple(source.info for source in sources)
        builder = SnapshotBuilder()
        seen = _Seen(config)

        def stream() -> Iterator[ObjectRecord]:
            for record in _collect(sources, None, None):
                seen.add(record)
                builder.add(record)
                yield record

        count = stage(
            "collect -> store + model",
            lambda: store.save_objects(
                snapshot_id,
                stream(),
                infos,
                organization=lambda: seen.organization,
                deletions=lambda: _deletions(sources),
            ),
        )
        snapshot = SnapshotInfo(snapshot_id, now, True, infos, count)
        waivers = [Waiver(w.check, w.subject, w.reason, w.expires) for w in config.checks.waiver]
        settings = check_settings(config)
        key = stage("results key", lambda: results_key(specs, settings, waivers, now.date()))
        run = RunResult(
            snapshot=snapshot,
            organization=seen.organization,
            auditor_version=AUDITOR_VERSION,
            config_fingerprint=config_fingerprint(settings),
        )
        reuse = stage("reusable?", lambda: store.reusable_results(snapshot_id, list(infos), key))
        if reuse.source is not None:
            del builder
            run.checks, run.findings = stage(
                "reuse results",
                lambda: store.reuse_results(
                    snapshot_id,
                    reuse.source or 0,
                    results_key=key,
                    auditor_version=AUDITOR_VERSION,
                    config_fingerprint=run.config_fingerprint,
                ),
            )
            run.waiver_notes = waiver_notes(run.findings, waivers, now.date())
        else:
            snap = stage("snapshot finish", lambda: _configured(config, builder.finish(infos)))
            del builder
            outcome = stage(
                "run_checks",
                lambda: run_checks(
                    snap, specs, disabled=config.checks.disabled, waivers=waivers, today=now.date()
                ),
            )
            del snap
            run.checks, run.findings = outcome.checks, outcome.findings

            def results() -> None:
                store.annotate_findings(run)
                store.save_pass_results(snapshot_id, run, key)

            stage("annotate + save results", results)
        held = PassResult(run=run, snapshot=snapshot, results_from=reuse.source)
        stage("diff vs previous", lambda: _diff_against_previous(store, held))
        stage("text report", lambda: render_check_run(run, "text", color=False))
        store.publish(snapshot_id)
    store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=100_000)
    parser.add_argument("--variant", choices=VARIANTS, default="realistic")
    parser.add_argument(
        "--trace", action="store_true", help="tracemalloc: what Python holds after each stage"
    )
    parser.add_argument("--cprofile", type=Path, help="profile the first pass with cProfile into this file")
    parser.add_argument("--org", type=Path, help="use (or write once) the organization in this folder")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="auditor-profile-") as temp:
        folder = args.org or Path(temp) / "org"
        if not (folder / "auditor.toml").exists():
            write_org(folder, args.recipients, args.variant)
        for stale in folder.glob("history.db*"):
            stale.unlink(missing_ok=True)
        print(f"variant {args.variant}, {args.recipients:,} recipients, {folder}")
        print(
            f"  {'start (imports so far)':<28} {'':>9}   RSS {rss_mib():7.1f} MiB   peak {peak_rss_mib():7.1f} MiB"
        )
        stage = Stages(args.trace)
        if args.trace:
            tracemalloc.start()
        now = datetime.now(UTC)
        print("first pass (empty store)")
        profiler = cProfile.Profile() if args.cprofile else None
        if profiler:
            profiler.enable()
        one_pass(folder / "auditor.toml", stage, now)
        stage("released (gc.collect)", gc.collect)
        if profiler:
            profiler.disable()
            profiler.dump_stats(args.cprofile)
        print("second pass (same files)")
        one_pass(folder / "auditor.toml", stage, now + timedelta(hours=4))
        stage("released (gc.collect)", gc.collect)
        if args.trace:
            tracemalloc.stop()
    if profiler:
        out = io.StringIO()
        pstats.Stats(str(args.cprofile), stream=out).sort_stats("tottime").print_stats(25)
        print(out.getvalue())


if __name__ == "__main__":
    main()
