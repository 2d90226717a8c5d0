"""Stream the latest complete snapshot of a store back, records counted and dropped, in a process of its own.

    .venv/bin/python bench/read_only.py STORE_URL [SCOPE]

What the incremental pass will do first (read the previous complete snapshot), measured alone:
bench_store.py runs it as a process so that its peak RSS is the read's own, not that of a bench
holding a whole organization in memory. Prints `READ <records> <seconds> <peak RSS MiB before the read>`
on stderr: the process's peak RSS minus that is what the read itself took.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from measure import peak_rss_mib

from auditor.store import HistoryStore


def main() -> None:
    with HistoryStore(sys.argv[1], scope=sys.argv[2] if len(sys.argv) > 2 else "default") as store:
        snapshot = store.resolve("latest")
        before = peak_rss_mib()
        started = time.perf_counter()
        count = sum(1 for _ in store.load_records(snapshot.id))
        print(f"READ {count} {time.perf_counter() - started:.3f} {before:.1f}", file=sys.stderr)


if __name__ == "__main__":
    main()
