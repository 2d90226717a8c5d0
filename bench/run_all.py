"""Every benchmark in one command (`make bench`), each in its own process, output as it comes.

    .venv/bin/python bench/run_all.py [--recipients 100000] [--postgres URL] [--ldap [--users 20000]]

Runs bench_checks.py (snapshot build + each check), bench_pipeline.py (LDIF read, store, checks,
ratios), bench_history.py (origins, sealing, verify, diff with origins, recheck) and bench_parsers.py
(hostile-input costs: folded LDIF values, big winpop lists, the store health probe). bench_ldap.py
runs only with --ldap: it needs root and the Samba lab, and its first run loads 20,000 users into a
lab DC (a minute or two, cached under .lab/ afterwards). With --ldap it runs first, and the
LdapSource rate it just measured replaces bench_pipeline.py's recorded figure
in the "at the measured LDAP rate" ratio.

Each bench runs in a fresh interpreter (the same one as this script) so that one bench's memory
and frozen objects cannot colour the next one's figures. A bench that fails does not stop the
others; the exit status is 1 if any failed.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
_LDAP_RATE = re.compile(r"^LdapSource\s.*best ([\d,]+) objects/s", re.MULTILINE)


def run_bench(script: str, *arguments: str) -> tuple[int, str, float]:
    """Run one bench, echoing its output line by line; (exit status, its stdout, seconds)."""
    command = [sys.executable, str(BENCH / script), *arguments]
    print(f"\n=== {script} {' '.join(arguments)}".rstrip(), flush=True)
    started = time.monotonic()
    lines: list[str] = []
    with subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, text=True, bufsize=1) as process:
        assert process.stdout is not None
        for line in process.stdout:
            print(line, end="", flush=True)
            lines.append(line)
    seconds = time.monotonic() - started
    print(f"--- {script}: exit {process.returncode}, {seconds:.1f} s wall", flush=True)
    return process.returncode, "".join(lines), seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--recipients", type=int, default=100_000, help="synthetic recipients (default 100,000)"
    )
    parser.add_argument("--postgres", metavar="URL", help="bench_pipeline.py: store part against PostgreSQL")
    parser.add_argument("--ldap", action="store_true", help="also run bench_ldap.py (root, Samba lab)")
    parser.add_argument("--users", type=int, default=20_000, help="bench_ldap.py: users in the lab DC")
    args = parser.parse_args()

    statuses: list[tuple[str, int, float]] = []
    pipeline_arguments = ["--recipients", str(args.recipients)]
    if args.postgres:
        pipeline_arguments += ["--postgres", args.postgres]
    if args.ldap:
        status, output, seconds = run_bench("bench_ldap.py", "--users", str(args.users))
        statuses.append(("bench_ldap.py", status, seconds))
        found = _LDAP_RATE.search(output)
        if status == 0 and found:
            pipeline_arguments += [
                "--ldap-rate",
                found.group(1).replace(",", ""),
                "--ldap-rate-source",
                f"bench_ldap.py just now: LdapSource, Samba lab, {args.users:,} users, LDAPS",
            ]
    status, _, seconds = run_bench("bench_checks.py", str(args.recipients))
    statuses.append(("bench_checks.py", status, seconds))
    status, _, seconds = run_bench("bench_pipeline.py", *pipeline_arguments)
    statuses.append(("bench_pipeline.py", status, seconds))
    status, _, seconds = run_bench("bench_history.py", "--recipients", str(args.recipients))
    statuses.append(("bench_history.py", status, seconds))
    status, _, seconds = run_bench("bench_parsers.py", "--objects", str(args.recipients))
    statuses.append(("bench_parsers.py", status, seconds))

    print("\n=== summary")
    for script, status, seconds in statuses:
        print(f"{script:<20} {'ok' if status == 0 else f'FAILED (exit {status})':<18} {seconds:7.1f} s wall")
    if not args.ldap:
        print("bench_ldap.py        not run (add --ldap; needs root and the Samba lab)")
    return 0 if all(status == 0 for _, status, _ in statuses) else 1


if __name__ == "__main__":
    sys.exit(main())
