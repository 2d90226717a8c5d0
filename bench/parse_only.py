"""The baseline of an offline pass: LdifSource over the given exports, records counted and dropped.

    .venv/bin/python bench/parse_only.py domain.ldf configuration.ldf

What any pass over these files must at least do (read, check the grammar, build the records), run
as a process of its own so bench_pipeline.py can put its wall time and peak RSS beside a pass's.
"""

from __future__ import annotations

import sys
from pathlib import Path

from auditor.families.exchange.ldif import LdifSource


def main() -> None:
    source = LdifSource([Path(arg) for arg in sys.argv[1:]])
    count = sum(1 for _ in source.collect())
    print(f"{count} records, complete={source.info.complete}")


if __name__ == "__main__":
    main()
