"""Offline passes through the CLI, as cron runs them, over the bench organization's files.

    .venv/bin/python bench/bench_pipeline.py [--recipients 100000] [--variant realistic|lean]

org_files.py writes the organization (ldifde exports, POP3 export folders, auditor.toml with a
SQLite store beside it). Each step below is a process of its own, timed from start to exit, with
the kernel's peak RSS of that process (os.wait4):

  parse      the baseline: LdifSource over both exports, records counted and dropped
             (`bench/parse_only.py`): what any offline pass must at least do
  first      `auditor check --once`, empty store
  unchanged  `auditor check --once` again, the same files
  1 %        the exports rewritten with 1 % of the users touched (80 % changed, 10 % removed,
             10 % added) and the POP3 folders to match; `auditor check --once`

Ratios (printed as `RATIO` lines): first pass / parse, unchanged / first, 1 % / first.
Figures only, no asserts on timings; other work on the machine moves them by tens of percent.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from measure import REPO, Measured, python, ratio_line, run_measured
from org_files import VARIANTS, daily_churn, write_org


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=100_000)
    parser.add_argument("--variant", choices=VARIANTS, default="realistic")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="auditor-bench-pipeline-") as temp:
        folder = Path(temp) / "org"
        started = time.perf_counter()
        files = write_org(folder, args.recipients, args.variant)
        written = time.perf_counter() - started
        print(
            f"variant {args.variant}: {args.recipients:,} recipients = {files.directory_objects:,} directory "
            f"objects in {files.ldif_bytes / 2**20:.1f} MiB of LDIF + {files.pop3_mailboxes:,} POP3 mailboxes "
            f"in 4 export folders (written in {written:.0f} s); store SQLite beside the config"
        )
        check = [python(), "-m", "auditor.cli", "check", "--once", "-c", str(files.config)]
        parse = run_measured(
            "LDIF parse alone (LdifSource)",
            [python(), str(REPO / "bench" / "parse_only.py"), *map(str, files.exports)],
            cwd=folder,
        )
        passes: list[Measured] = [parse]
        passes.append(run_measured("check --once, first (empty store)", check, cwd=folder, ok=(0, 1)))
        passes.append(run_measured("check --once, unchanged", check, cwd=folder, ok=(0, 1)))
        churn = daily_churn(args.recipients)
        write_org(folder, args.recipients, args.variant, churn)
        passes.append(
            run_measured(f"check --once, 1 % changed ({churn.touched:,})", check, cwd=folder, ok=(0, 1))
        )

    for measured in passes:
        print(measured.line())
    parse, first, unchanged, churned = passes
    detail = f"{args.variant}, {args.recipients:,} recipients"
    print(ratio_line("offline: first pass / LDIF parse alone", first.seconds, parse.seconds, detail))
    print(ratio_line("offline: unchanged pass / first pass", unchanged.seconds, first.seconds, detail))
    print(ratio_line("offline: 1 % changed pass / first pass", churned.seconds, first.seconds, detail))
    print(
        ratio_line(
            "offline: first pass peak RSS / parse peak RSS",
            first.peak_rss_mib,
            parse.peak_rss_mib,
            f"{first.peak_rss_mib:.0f} MiB / {parse.peak_rss_mib:.0f} MiB",
        )
    )
    for measured in passes[1:]:
        print(f"PEAK {measured.label:<40} {measured.peak_rss_mib:7.1f} MiB")


if __name__ == "__main__":
    main()
