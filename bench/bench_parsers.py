"""Hostile-input costs (issue 14): folded LDIF values, big winpop lists, the store health probe.

    .venv/bin/python bench/bench_parsers.py [--mailboxes 300000] [--objects 100000]

* LDIF: one `thumbnailPhoto` of 1, 4 and 16 MiB (base64), folded at 76 columns as `ldifde`
  writes it, next to the same value unfolded, read by `read_ldif`. Folding must cost a constant
  factor, not a power: the old join was quadratic (30 s at 8 MiB).
* winpop: `winpop list DOMAIN` of N mailboxes (UTF-16LE, CR CR LF, as a redirected winpop writes
  it), streamed (`read_winpop_mailboxes`) next to read-whole-then-parse (`read_windows_text` +
  `parse_winpop_mailboxes`); time and tracemalloc peak of each.
* store: `HistoryStore.check_health()` (PRAGMA quick_check and the typed scan of every row) on
  a SQLite store holding N objects: what every pass now pays before it writes.

Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import base64
import codecs
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from auditor.collect.ldif import read_ldif
from auditor.families.windows_pop3.winpop import (
    parse_winpop_mailboxes,
    read_windows_text,
    read_winpop_mailboxes,
)
from auditor.records import ObjectKind, ObjectRecord, SourceInfo
from auditor.store import HistoryStore

T = TypeVar("T")


def timed(action: Callable[[], T]) -> tuple[T, float]:
    started = time.perf_counter()
    result = action()
    return result, time.perf_counter() - started


def peak(action: Callable[[], object]) -> int:
    tracemalloc.start()
    try:
        action()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def ldif(folder: Path) -> None:
    print("LDIF: one thumbnailPhoto value, read_ldif (best of 3)")
    print(f"  {'value':>8}  {'folded at 76':>12}  {'unfolded':>9}  {'ratio':>5}")
    for mib in (1, 4, 16):
        encoded = base64.b64encode(b"\x89PNG" * (mib * 1024 * 1024 * 3 // 16)).decode("ascii")
        line = f"thumbnailPhoto:: {encoded}"
        folded = "\n".join([line[:76]] + [" " + line[i : i + 75] for i in range(76, len(line), 75)])
        head = "dn: CN=A,DC=contoso,DC=com\nobjectClass: user\n"
        times = []
        for name, body in (("folded.ldf", folded), ("unfolded.ldf", line)):
            path = folder / name
            path.write_text(head + body + "\n", encoding="utf-8")
            times.append(
                min(timed(lambda p=path: list(read_ldif(p, binary={"thumbnailphoto"})))[1] for _ in range(3))
            )
        print(f"  {mib:>5} MiB  {times[0]:>10.2f} s  {times[1]:>7.2f} s  {times[0] / times[1]:>5.1f}")


def winpop(folder: Path, mailboxes: int) -> None:
    path = folder / "winpop-list-pop.contoso.com.txt"
    lines = ["List of mailboxes: pop.contoso.com", *(f"   user{n:07d}" for n in range(mailboxes))]
    lines.append(f"{mailboxes} mailbox(es)")
    path.write_bytes(codecs.BOM_UTF16_LE + "\r\r\n".join([*lines, ""]).encode("utf-16-le"))
    size = path.stat().st_size / 1024 / 1024
    print(f"\nwinpop list DOMAIN: {mailboxes:,} mailboxes, {size:.1f} MiB UTF-16LE")

    def streamed() -> list[str]:
        return read_winpop_mailboxes(path, "pop.contoso.com")

    def whole() -> list[str]:
        return parse_winpop_mailboxes(path, read_windows_text(path), "pop.contoso.com")

    for label, action in (("streamed (read_winpop_mailboxes)", streamed), ("whole text, then parsed", whole)):
        result, seconds = timed(action)
        assert len(result) == mailboxes
        print(f"  {label:<34} {seconds:6.2f} s   peak {peak(action) / 1024 / 1024:7.1f} MiB")


def store(folder: Path, objects: int) -> None:
    url = f"sqlite:///{folder / 'history.db'}"
    records = (
        ObjectRecord(
            ObjectKind.USER,
            f"{n:032x}",
            f"CN=User {n},OU=Staff,DC=contoso,DC=com",
            {
                "mail": (f"user{n}@contoso.com",),
                "proxyAddresses": (f"SMTP:user{n}@contoso.com", f"smtp:u{n}@pop.contoso.com"),
            },
        )
        for n in range(objects)
    )
    with HistoryStore(url) as history:
        history.save_snapshot(records, [SourceInfo("directory", "ldif", True, objects)], datetime.now(UTC))
        size = (folder / "history.db").stat().st_size / 1024 / 1024
        _, seconds = timed(history.check_health)
        _, again = timed(history.check_health)
    print(
        f"\nstore health probe: {objects:,} objects, {size:.1f} MiB SQLite: {seconds:.2f} s (again: {again:.2f} s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mailboxes", type=int, default=300_000)
    parser.add_argument("--objects", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="auditor-bench-") as name:
        folder = Path(name)
        ldif(folder)
        winpop(folder, args.mailboxes)
        store(folder, args.objects)


if __name__ == "__main__":
    main()
