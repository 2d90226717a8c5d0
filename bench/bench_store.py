"""The history store on its own, SQLite and PostgreSQL side by side, over the bench organization.

    .venv/bin/python bench/bench_store.py [--recipients 100000] [--variant realistic|lean]
                                          [--postgres URL | --no-postgres] [--days 30]

The records are what a pass over the organization's files collects (LdifSource over the exports
org_files.py writes, plus the POP3 export folders), read once and kept in memory. Then, for each
store (SQLite in a temp folder; PostgreSQL in a database of its own on the lab cluster that
deploy/lab/postgres.sh starts, or on --postgres):

  first save      save_snapshot into an empty store (bulk path: COPY / prepared executemany)
  unchanged save  the same records again: no object row may be added
  1 % save        1 % of the users touched (80 % changed, 10 % removed, 10 % added)
  stream read     load_records of the latest snapshot, consumed one record at a time, in a
                  process of its own (bench/read_only.py): seconds, and that process's peak RSS
  30 days         a fresh store: day 1 saved (with the check results of one run), then one save
                  a day at 1 % daily churn, each with results: store bytes after day 30 / day 1

Figures only, no asserts on timings; ratios are printed as `RATIO` lines (bench/measure.py).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parent))

import sqlalchemy as sa
from lab_postgres import fresh_database, postgres_server, store_bytes
from measure import REPO, peak_rss_mib, python, ratio_line, run_measured
from org_files import VARIANTS, churn_records, write_org

from auditor.config import load_config
from auditor.engine import CheckOutcome, run_checks
from auditor.records import ObjectRecord, SourceInfo
from auditor.registry import discover_checks
from auditor.results import RunResult
from auditor.run import build_snapshot, build_sources
from auditor.store import HistoryStore
from auditor.tables import OBJECT_INTERVAL, OBJECT_VERSION

T = TypeVar("T")
T0 = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)


def timed(function: Callable[[], T]) -> tuple[T, float]:
    started = time.perf_counter()
    value = function()
    return value, time.perf_counter() - started


def object_rows(url: str) -> tuple[int, int]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return (
                int(conn.execute(sa.select(sa.func.count()).select_from(OBJECT_VERSION)).scalar_one()),
                int(conn.execute(sa.select(sa.func.count()).select_from(OBJECT_INTERVAL)).scalar_one()),
            )
    finally:
        engine.dispose()


@dataclass
class StoreFigures:
    backend: str
    first: float = 0.0
    unchanged: float = 0.0
    churned: float = 0.0
    read: float = 0.0
    read_records: int = 0
    read_rss_mib: float = 0.0
    read_base_mib: float = 0.0
    rows_added_unchanged: tuple[int, int] = (0, 0)
    rows_added_churned: tuple[int, int] = (0, 0)
    bytes_day1: int = 0
    bytes_last: int = 0
    days: int = 0
    day_seconds: list[float] = field(default_factory=list)


def stream_read(url: str) -> tuple[int, float, float, float]:
    """(records, seconds, peak RSS MiB, RSS MiB before the read) of a process streaming the latest snapshot."""
    measured = run_measured("stream read", [python(), str(REPO / "bench" / "read_only.py"), url], cwd=REPO)
    _, count, seconds, before = measured.stderr.split()[-4:]
    return int(count), float(seconds), measured.peak_rss_mib, float(before)


def speeds(url: str, backend: str, records: list[ObjectRecord], sources: list[SourceInfo]) -> StoreFigures:
    figures = StoreFigures(backend)
    churned = churn_records(records, day=1)
    with HistoryStore(url) as store:
        _, figures.first = timed(lambda: store.save_snapshot(records, sources, T0))
        before = object_rows(url)
        _, figures.unchanged = timed(lambda: store.save_snapshot(records, sources, T0 + timedelta(hours=4)))
        after = object_rows(url)
        figures.rows_added_unchanged = (after[0] - before[0], after[1] - before[1])
        _, figures.churned = timed(lambda: store.save_snapshot(churned, sources, T0 + timedelta(hours=8)))
        final = object_rows(url)
        figures.rows_added_churned = (final[0] - after[0], final[1] - after[1])
    figures.read_records, figures.read, figures.read_rss_mib, figures.read_base_mib = stream_read(url)
    return figures


def month(
    url: str,
    figures: StoreFigures,
    records: list[ObjectRecord],
    sources: list[SourceInfo],
    outcome: CheckOutcome,
    days: int,
) -> None:
    """A fresh store: day 1, then `days - 1` days at 1 % churn, each day's pass with its results."""
    with HistoryStore(url) as store:
        for day in range(1, days + 1):
            if day > 1:
                records = churn_records(records, day=day)
            started = time.perf_counter()
            info = store.save_snapshot(records, sources, T0 + timedelta(days=day))
            day_run = RunResult(snapshot=info, checks=outcome.checks, findings=outcome.findings)
            store.annotate_findings(day_run)
            store.save_results(info.id, day_run)
            figures.day_seconds.append(time.perf_counter() - started)
            if day == 1:
                figures.bytes_day1 = store_bytes(url)
        figures.days = days
    figures.bytes_last = store_bytes(url)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=100_000)
    parser.add_argument("--variant", choices=VARIANTS, default="realistic")
    parser.add_argument(
        "--postgres", metavar="URL", help="admin URL of a PostgreSQL server (default: lab cluster)"
    )
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    parser.add_argument("--days", type=int, default=30)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="auditor-bench-store-") as temp:
        folder = Path(temp)
        files, seconds = timed(lambda: write_org(folder / "org", args.recipients, args.variant))
        config = load_config(files.config)
        collectors = build_sources(config)
        records, read_seconds = timed(
            lambda: [record for source in collectors for record in source.collect()]
        )
        sources = [source.info for source in collectors]
        snap = build_snapshot(config, records, sources)
        outcome = run_checks(snap, discover_checks(), today=date(2026, 12, 2))
        del snap
        print(
            f"variant {args.variant}: {args.recipients:,} recipients, {len(records):,} records "
            f"({files.ldif_bytes / 2**20:.1f} MiB of LDIF written in {seconds:.0f} s, read in {read_seconds:.1f} s); "
            f"{len(outcome.findings)} non-passing findings per pass"
        )
        backends: list[StoreFigures] = []
        sqlite_url = f"sqlite:///{folder / 'speeds.db'}"
        backends.append(speeds(sqlite_url, "SQLite", records, sources))
        month(f"sqlite:///{folder / 'month.db'}", backends[-1], records, sources, outcome, args.days)
        if not args.no_postgres:
            with postgres_server(args.postgres) as admin:
                with fresh_database(admin, "speeds") as url:
                    backends.append(speeds(url, "PostgreSQL", records, sources))
                with fresh_database(admin, "month") as url:
                    month(url, backends[-1], records, sources, outcome, args.days)

    print(f"{'':<34}" + "".join(f"{f.backend:>16}" for f in backends))
    rows = [
        ("first save (s)", lambda f: f"{f.first:.2f}"),
        ("  objects/s", lambda f: f"{len(records) / f.first:,.0f}"),
        ("unchanged save (s)", lambda f: f"{f.unchanged:.2f}"),
        ("  rows added (versions, intervals)", lambda f: f"{f.rows_added_unchanged}"),
        ("1 % churn save (s)", lambda f: f"{f.churned:.2f}"),
        ("  rows added (versions, intervals)", lambda f: f"{f.rows_added_churned}"),
        ("stream read of latest snapshot (s)", lambda f: f"{f.read:.2f}"),
        ("  records read", lambda f: f"{f.read_records:,}"),
        ("  reader's peak RSS before the read (MiB)", lambda f: f"{f.read_base_mib:.1f}"),
        ("  reader's peak RSS (MiB)", lambda f: f"{f.read_rss_mib:.1f}"),
        ("store after day 1 (MiB)", lambda f: f"{f.bytes_day1 / 2**20:.1f}"),
        (f"store after day {args.days} (MiB)", lambda f: f"{f.bytes_last / 2**20:.1f}"),
        (
            "daily pass save+results, median (s)",
            lambda f: f"{sorted(f.day_seconds)[len(f.day_seconds) // 2]:.2f}",
        ),
    ]
    for label, value in rows:
        print(f"{label:<34}" + "".join(f"{value(f):>16}" for f in backends))
    print(f"process peak RSS {peak_rss_mib():.0f} MiB (records of the whole organization held in memory)")
    for f in backends:
        print(ratio_line(f"{f.backend}: unchanged save / first save", f.unchanged, f.first))
        print(ratio_line(f"{f.backend}: 1 % changed save / first save", f.churned, f.first))
        print(ratio_line(f"{f.backend}: stream read / first save", f.read, f.first))
        print(
            ratio_line(
                f"{f.backend}: store bytes day {f.days} / day 1",
                f.bytes_last,
                f.bytes_day1,
                f"1 % daily churn, {f.bytes_day1 / 2**20:.0f} -> {f.bytes_last / 2**20:.0f} MiB",
            )
        )
    if len(backends) == 2:
        sqlite, postgres = backends
        print(ratio_line("PostgreSQL first save / SQLite first save", postgres.first, sqlite.first))


if __name__ == "__main__":
    main()
