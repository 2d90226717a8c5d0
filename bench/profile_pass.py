"""Where a pass spends its time and memory: the stages of `run_pass`, one by one, over the bench org.

    .venv/bin/python bench/profile_pass.py [--recipients 100000] [--variant realistic|lean]
                                           [--trace] [--cprofile FILE] [--org FOLDER]

Runs what `auditor.run.run_pass` runs, stage by stage and with the same functions (collect, save,
snapshot build, checks, results, diff, text report), twice: a first pass into an empty SQLite
store, then the same files again. After each stage it prints the wall time, the process's RSS and
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
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parent))

from measure import peak_rss_mib, rss_mib
from org_files import VARIANTS, write_org

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
    from auditor.config import load_config
    from auditor.engine import Waiver, run_checks
    from auditor.registry import discover_checks
    from auditor.reports.render import render_check_run
    from auditor.results import RunResult
    from auditor.run import (
        PassResult,
        _collect,
        _diff_against_previous,
        build_snapshot,
        build_sources,
        open_store,
        organization_name,
    )

    config = stage("config + check discovery", lambda: load_config(config_path))
    specs = discover_checks()
    store = stage("store open", lambda: open_store(config))
    with store.pass_lock(config.store.lock_timeout):
        sources = build_sources(config)
        records = stage("collect (records list)", lambda: _collect(sources, None, None))
        organization = organization_name(config, records)
        infos = [source.info for source in sources]
        snapshot = stage(
            "store.save_snapshot", lambda: store.save_snapshot(records, infos, now, organization=organization)
        )
        snap = stage("build_snapshot", lambda: build_snapshot(config, records, infos))
        waivers = [Waiver(w.check, w.subject, w.reason, w.expires) for w in config.checks.waiver]
        outcome = stage(
            "run_checks",
            lambda: run_checks(
                snap, specs, disabled=config.checks.disabled, waivers=waivers, today=now.date()
            ),
        )
        run = RunResult(
            snapshot=snapshot, checks=outcome.checks, findings=outcome.findings, organization=organization
        )

        def results() -> None:
            store.annotate_findings(run)
            store.save_results(snapshot.id, run)

        stage("annotate + save_results", results)
        result = PassResult(run=run, snapshot=snapshot, records=records)
        result.previous, result.diff = stage(
            "diff vs previous", lambda: _diff_against_previous(store, snapshot)
        )
        stage("text report", lambda: render_check_run(run.to_json(), "text", color=False))
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
