"""Every benchmark in one command (`make bench`), each in its own process, then every ratio together.

    .venv/bin/python bench/run_all.py [--recipients 100000] [--variant realistic|lean]
                                      [--postgres URL | --no-postgres] [--days 30] [--no-ldap]

  bench_checks.py    Snapshot.from_records and each check alone (linearity of the checks)
  bench_pipeline.py  `auditor check --once` as cron runs it: first, unchanged, 1 % changed passes
                     next to the LDIF parse alone; wall time and peak RSS of each process
  bench_store.py     the store alone, SQLite and PostgreSQL (the lab cluster unless --postgres):
                     first / unchanged / 1 % saves, streaming read, 30 days at 1 % churn
  bench_history.py   origins, sealing, verify, diff with origins and causes, recheck
  bench_parsers.py   hostile-input costs: folded LDIF values, big winpop lists, the store health probe
  bench_incremental.py  live `check --once` passes on a lab DC: no change and 1 % churn (incremental)
                     next to `--full` passes (root only, skipped with --no-ldap; first run builds
                     its own cached DC)
  bench_ldap.py      live read on the Samba lab DC with as many recipients: LdapSource vs raw
                     ldap3 paged search vs ldapsearch (root only; the first run builds the lab DC
                     cache, about 5 minutes for 100,000; skipped with --no-ldap or without root)

Each bench prints its ratios as `RATIO` lines (measured in the same run as their baseline) and
peak RSS figures as `PEAK` lines; this script repeats them all at the end, with the variant. A
bench that fails does not stop the others; the exit status is 1 if any failed.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent


def run_bench(script: str, *arguments: str) -> tuple[int, list[str], float]:
    """Run one bench, echoing its output as it comes; (exit status, its stdout lines, seconds)."""
    command = [sys.executable, str(BENCH / script), *arguments]
    print(f"\n=== {script} {' '.join(arguments)}".rstrip(), flush=True)
    started = time.monotonic()
    lines: list[str] = []
    with subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, text=True, bufsize=1) as process:
        assert process.stdout is not None
        for line in process.stdout:
            print(line, end="", flush=True)
            lines.append(line.rstrip("\n"))
    seconds = time.monotonic() - started
    print(f"--- {script}: exit {process.returncode}, {seconds:.1f} s wall", flush=True)
    return process.returncode, lines, seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--recipients", type=int, default=100_000, help="synthetic recipients (default 100,000)"
    )
    parser.add_argument("--variant", choices=("realistic", "lean"), default="realistic")
    parser.add_argument(
        "--postgres", metavar="URL", help="admin URL of a PostgreSQL server (default: lab cluster)"
    )
    parser.add_argument("--no-postgres", action="store_true", help="bench_store.py: SQLite only")
    parser.add_argument("--days", type=int, default=30, help="bench_store.py: simulated days of churn")
    parser.add_argument("--no-ldap", action="store_true", help="skip bench_ldap.py")
    args = parser.parse_args()

    common = ["--recipients", str(args.recipients), "--variant", args.variant]
    store = [*common, "--days", str(args.days)]
    if args.no_postgres:
        store.append("--no-postgres")
    elif args.postgres:
        store += ["--postgres", args.postgres]
    plan: list[tuple[str, list[str]]] = [
        ("bench_checks.py", [str(args.recipients)]),
        ("bench_pipeline.py", common),
        ("bench_store.py", store),
        ("bench_history.py", ["--recipients", str(args.recipients)]),
        ("bench_parsers.py", ["--objects", str(args.recipients)]),
    ]
    ldap_note = ""
    if args.no_ldap:
        ldap_note = "not run (--no-ldap)"
    elif os.geteuid() != 0:
        ldap_note = "not run (needs root for the Samba lab DC)"
    else:
        plan.append(("bench_ldap.py", ["--users", str(args.recipients), "--variant", args.variant]))
        plan.append(("bench_incremental.py", ["--users", str(args.recipients)]))

    started = datetime.now(UTC)
    statuses: list[tuple[str, int, float]] = []
    collected: list[str] = []
    for script, arguments in plan:
        status, lines, seconds = run_bench(script, *arguments)
        statuses.append((script, status, seconds))
        collected += [line for line in lines if line.startswith(("RATIO ", "PEAK "))]

    print(
        f"\n=== summary: {args.variant} variant, {args.recipients:,} recipients, started {started:%Y-%m-%d %H:%M} UTC"
    )
    for line in collected:
        print(line)
    for script, status, seconds in statuses:
        print(f"{script:<20} {'ok' if status == 0 else f'FAILED (exit {status})':<18} {seconds:7.1f} s wall")
    if ldap_note:
        print(f"{'bench_ldap.py':<20} {ldap_note}")
    return 0 if all(status == 0 for _, status, _ in statuses) else 1


if __name__ == "__main__":
    sys.exit(main())
