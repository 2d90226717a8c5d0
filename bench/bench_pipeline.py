"""The offline pipeline over a synthetic organization: LDIF read, snapshot, checks, history store.

    .venv/bin/python bench/bench_pipeline.py [--recipients 100000] [--postgres URL] [--ldap-rate N]

bench_checks.py times the checks alone; this puts them next to the parts of a pass that surround
them, so the question "where does a pass spend its time?" has numbers for an answer. It takes
bench_checks.py's synthetic organization (imported, so both benches measure the same data), writes
its directory objects as two `ldifde`-style exports (domain and Configuration partitions: CRLF,
`changetype: add`, base64 `::` values for binary attributes and objectGUID, written with
auditor's one LDIF writer, auditor.collect.ldif_writer, as `auditor export-ldif` writes them), then times, in the order a pass runs them:

  read      LdifSource over both files (records/s)
  save 1    HistoryStore.save_snapshot into an empty store (SQLite in a temp dir, or --postgres)
  snapshot  Snapshot.from_records
  checks    run_checks over discover_checks(), today = date.today()
  save 2    the same records saved again: nothing changed, so no object row may be added

The POP3 side of the organization (servers, domains, mailboxes) stays in memory: it comes from a
separate source (export folders) in a real pass and is not what this bench measures.

Peak memory is measured in a second, untimed pass under tracemalloc (tracing slows Python down
several times, so it is kept out of the timed one); the process's peak RSS is taken before it.
Figures only, no asserts on timings: the machine may be busy with other work.
"""

from __future__ import annotations

import argparse
import base64
import gc
import resource
import sys
import tempfile
import time
import tracemalloc
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_checks import POP_SERVERS, organization, recipients

from auditor.collect.ldif_writer import directory_values, write_records
from auditor.engine import run_checks
from auditor.errors import AuditorError
from auditor.families.exchange.attributes import BINARY_ATTRIBUTES
from auditor.families.exchange.entries import partition_of
from auditor.families.exchange.ldif import LdifSource
from auditor.model import Snapshot
from auditor.records import ObjectKind, ObjectRecord, SourceInfo
from auditor.registry import Status, discover_checks
from auditor.store import HistoryStore
from auditor.tables import OBJECT_INTERVAL, OBJECT_VERSION, SNAPSHOT

# LdapSource's best rate over LDAPS (page size 1000) on the Samba lab DC holding 20,000 generated
# recipients, as bench/bench_ldap.py measured it on this machine in its last run (see
# bench/README.md). run_all.py --ldap passes the figure of the run it just made instead.
MEASURED_LDAP_RATE = 4746.0
LDAP_RATE_SOURCE = "bench_ldap.py's last run: LdapSource, Samba lab, 20,000 users, LDAPS"

# The objectClass values ldifde would write for the configuration kinds (users carry their own).
_OBJECT_CLASSES: dict[ObjectKind, tuple[str, ...]] = {
    ObjectKind.RECIPIENT_POLICY: ("top", "msExchRecipientPolicy"),
    ObjectKind.EXCHANGE_SERVER: ("top", "server", "msExchExchangeServer"),
    ObjectKind.MAILBOX_STORE: ("top", "msExchMDB", "msExchPrivateMDB"),
    ObjectKind.SMTP_VIRTUAL_SERVER: ("top", "protocolCfg", "protocolCfgSMTP", "protocolCfgSMTPServer"),
    ObjectKind.SMTP_CONNECTOR: ("top", "mailGateway", "msExchRoutingSMTPConnector"),
}
_DIRECTORY_KINDS = frozenset({ObjectKind.USER, ObjectKind.CONTACT, *_OBJECT_CLASSES})
_BINARY_LOWER = frozenset(name.lower() for name in BINARY_ATTRIBUTES)
_GUIDS = uuid.UUID("6f3c2a1e-0b7d-4c59-9a64-1d2e3f405162")  # namespace: stable GUIDs per key

T = TypeVar("T")


@dataclass(slots=True)
class Lap:
    label: str
    seconds: float
    objects: int | None = None

    def line(self) -> str:
        rate = f"  {self.objects / self.seconds:>11,.0f} objects/s" if self.objects and self.seconds else ""
        count = f"  ({self.objects:,} objects)" if self.objects is not None else ""
        return f"{self.label:<26} {self.seconds:8.3f} s{rate}{count}"


def timed(function: Callable[[], T]) -> tuple[T, float]:
    started = time.perf_counter()
    value = function()
    return value, time.perf_counter() - started


def ldif_entry(record: ObjectRecord) -> tuple[str, dict[str, list[bytes]]]:
    """(dn, raw attribute values) as a directory would hand them to ldifde: binary values as bytes."""
    attributes: dict[str, list[bytes]] = {}
    if "objectClass" not in record.attributes:
        attributes["objectClass"] = [name.encode() for name in _OBJECT_CLASSES[record.kind]]
    for name, values in record.attributes.items():
        if name in BINARY_ATTRIBUTES:
            attributes[name] = [base64.b64decode(value) for value in values]
        else:
            attributes[name] = [value.encode("utf-8") for value in values]
    attributes["objectGUID"] = [uuid.uuid5(_GUIDS, record.key).bytes_le]
    return record.dn, attributes


def write_exports(records: Iterable[ObjectRecord], folder: Path) -> list[Path]:
    """Both partitions' exports: domain.ldf and configuration.ldf."""
    paths = {"domain": folder / "domain.ldf", "configuration": folder / "configuration.ldf"}
    handles = {key: path.open("w", encoding="utf-8", newline="\r\n") for key, path in paths.items()}
    try:
        for handle in handles.values():
            handle.write("version: 1\n\n")
        for record in records:
            dn, attributes = ldif_entry(record)
            write_records(handles[partition_of(dn)], [(dn, directory_values(attributes, _BINARY_LOWER))])
    finally:
        for handle in handles.values():
            handle.close()
    return list(paths.values())


def pop3_source_info() -> SourceInfo:
    coverage: set[str] = set()
    for n in range(POP_SERVERS):
        coverage |= {f"pop3:POP{n:02d}", f"pop3:POP{n:02d}:MetaBase.xml", f"pop3:POP{n:02d}:winpop-list.txt"}
    return SourceInfo(name="pop3 (in memory)", kind="synthetic", complete=True, coverage=coverage)


def object_rows(url: str, scope: str) -> tuple[int, int]:
    """(object_version, object_interval) rows of the scope, counted through a connection of our own."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            versions = conn.execute(
                sa.select(sa.func.count()).select_from(OBJECT_VERSION).where(OBJECT_VERSION.c.scope == scope)
            ).scalar_one()
            intervals = conn.execute(
                sa.select(sa.func.count())
                .select_from(OBJECT_INTERVAL)
                .where(OBJECT_INTERVAL.c.scope == scope)
            ).scalar_one()
    finally:
        engine.dispose()
    return int(versions), int(intervals)


def drop_scope(url: str, scope: str) -> None:
    """Remove what the bench wrote into a shared PostgreSQL database (its own scope only)."""
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.delete(OBJECT_INTERVAL).where(OBJECT_INTERVAL.c.scope == scope))
            conn.execute(sa.delete(OBJECT_VERSION).where(OBJECT_VERSION.c.scope == scope))
            conn.execute(sa.delete(SNAPSHOT).where(SNAPSHOT.c.scope == scope))
    finally:
        engine.dispose()


@contextmanager
def bench_store(postgres: str | None, folder: Path, label: str) -> Iterator[tuple[str, str]]:
    """(store URL, scope) for one pass, and everything it wrote removed afterwards.

    On PostgreSQL the pass gets a database of its own (CREATE DATABASE, dropped after): deleting
    100,000s of rows from a shared database checks each foreign key by a scan and takes minutes.
    Without the right to create databases it falls back to a scope of its own in the given one.
    """
    if not postgres:
        yield f"sqlite:///{folder / (label + '.db')}", "default"
        return
    name = f"auditor_bench_{label}_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(postgres, isolation_level="AUTOCOMMIT")
    try:
        try:
            with admin.connect() as conn:
                conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        except sa.exc.SQLAlchemyError as exc:
            scope = f"bench-{label}-{uuid.uuid4().hex[:8]}"
            reason = str(getattr(exc, "orig", exc)).splitlines()[0]
            print(f"note: cannot create a database ({reason}); using scope {scope}", file=sys.stderr)
            try:
                yield postgres, scope
            finally:
                print(f"note: deleting scope {scope}'s rows (slow on PostgreSQL) ...", file=sys.stderr)
                try:
                    drop_scope(postgres, scope)
                except sa.exc.SQLAlchemyError as exc:
                    reason = str(getattr(exc, "orig", exc)).splitlines()[0]
                    print(f"note: scope {scope} left behind: {reason}", file=sys.stderr)
            return
        try:
            yield (
                sa.engine.make_url(postgres).set(database=name).render_as_string(hide_password=False),
                "default",
            )
        finally:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


@dataclass(slots=True)
class Pass:
    """What one pass over the exports produced (kept for the consistency check and the report)."""

    laps: list[Lap]
    read_records: list[ObjectRecord]
    added_by_second_save: tuple[int, int]
    rows_after_first: tuple[int, int]
    failing: int
    findings: int


def one_pass(
    exports: list[Path], pop3: list[ObjectRecord], store_url: str, scope: str, *, timed_laps: bool
) -> Pass:
    laps: list[Lap] = []
    source = LdifSource(exports)
    read, seconds = timed(lambda: list(source.collect()))
    laps.append(Lap("LDIF read (LdifSource)", seconds, len(read)))
    pop3_info = pop3_source_info()
    pop3_info.objects = len(pop3)
    sources = [source.info, pop3_info]
    records = [*read, *pop3]

    store, seconds = timed(lambda: HistoryStore(store_url, scope=scope))
    laps.append(Lap("store open (migrations)", seconds))
    try:
        taken_at = datetime.now(UTC)
        _, seconds = timed(lambda: store.save_snapshot(records, sources, taken_at, organization="Contoso"))
        laps.append(Lap("save_snapshot, first", seconds, len(records)))
        first_rows = object_rows(store_url, scope)

        snap, seconds = timed(lambda: Snapshot.from_records(records, sources))
        laps.append(Lap("Snapshot.from_records", seconds, len(records)))
        specs = discover_checks()
        outcome, seconds = timed(lambda: run_checks(snap, specs, today=date.today()))
        laps.append(Lap(f"run_checks ({len(specs)} checks)", seconds, len(snap.recipients)))

        later = taken_at + timedelta(hours=4)
        _, seconds = timed(lambda: store.save_snapshot(records, sources, later, organization="Contoso"))
        laps.append(Lap("save_snapshot, unchanged", seconds, len(records)))
        second_rows = object_rows(store_url, scope)
    finally:
        store.close()
    return Pass(
        laps=laps if timed_laps else [],
        read_records=read,
        added_by_second_save=(second_rows[0] - first_rows[0], second_rows[1] - first_rows[1]),
        rows_after_first=first_rows,
        failing=sum(f.status in (Status.FAIL, Status.ERROR) for f in outcome.findings),
        findings=sum(c.passed for c in outcome.checks) + len(outcome.findings),
    )


def kinds(records: Iterable[ObjectRecord]) -> Counter[str]:
    return Counter(record.kind for record in records)


def ratio(numerator: float, denominator: float) -> str:
    return f"{numerator / denominator:.2f}" if denominator else "n/a"


def main() -> None:
    try:
        bench()
    except AuditorError as exc:  # a store or input problem: one line, as the product reports it
        raise SystemExit(f"bench_pipeline: {exc}") from None


def bench() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=100_000)
    parser.add_argument(
        "--postgres",
        metavar="URL",
        help="run the store part against this PostgreSQL database (in a scope of its own, removed after)",
    )
    parser.add_argument(
        "--ldap-rate",
        type=float,
        default=MEASURED_LDAP_RATE,
        help=f"objects/s of a live LDAP read (default {MEASURED_LDAP_RATE:,.0f}: {LDAP_RATE_SOURCE})",
    )
    parser.add_argument("--ldap-rate-source", default=LDAP_RATE_SOURCE, help=argparse.SUPPRESS)
    parser.add_argument(
        "--no-memory",
        action="store_true",
        help="skip the second (tracemalloc) pass that measures peak memory",
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="auditor-bench-") as temp:
        folder = Path(temp)
        generated = [*organization(), *recipients(args.recipients)]
        directory = [r for r in generated if r.kind in _DIRECTORY_KINDS]
        pop3 = [r for r in generated if r.kind not in _DIRECTORY_KINDS]
        exports, write_seconds = timed(lambda: write_exports(directory, folder))
        size = sum(path.stat().st_size for path in exports)
        del generated

        with bench_store(args.postgres, folder, "timed") as (url, scope):
            timed_pass = one_pass(exports, pop3, url, scope, timed_laps=True)
        peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

        if kinds(timed_pass.read_records) != kinds(directory):
            raise SystemExit(
                f"bench_pipeline: LdifSource read {dict(kinds(timed_pass.read_records))}, "
                f"the exports hold {dict(kinds(directory))}: the figures would mean nothing"
            )
        if timed_pass.added_by_second_save != (0, 0):
            print(
                f"WARNING: the unchanged second save added {timed_pass.added_by_second_save} "
                "object_version/object_interval rows (expected 0, 0)",
                file=sys.stderr,
            )

        peak_traced: int | None = None
        traced_seconds = 0.0
        if not args.no_memory:
            timed_pass.read_records.clear()
            gc.collect()
            with bench_store(args.postgres, folder, "traced") as (url, scope):
                tracemalloc.start()
                try:
                    _, traced_seconds = timed(lambda: one_pass(exports, pop3, url, scope, timed_laps=False))
                    _, peak_traced = tracemalloc.get_traced_memory()
                finally:
                    tracemalloc.stop()

    laps = {lap.label.split(" (")[0]: lap for lap in timed_pass.laps}
    read, checks = laps["LDIF read"], laps["run_checks"]
    first, unchanged = laps["save_snapshot, first"], laps["save_snapshot, unchanged"]
    ldap_read = read.objects / args.ldap_rate if read.objects else 0.0
    store_name = "PostgreSQL" if args.postgres else "SQLite (temp file, WAL)"

    print(
        f"{args.recipients:,} recipients: {len(directory):,} directory objects in "
        f"{size / 2**20:.1f} MiB of LDIF (2 files), + {len(pop3):,} POP3 records in memory; store {store_name}"
    )
    print(f"{'write LDIF (bench setup)':<26} {write_seconds:8.3f} s")
    for lap in timed_pass.laps:
        print(lap.line())
    print(f"{'checks outcome':<26} {timed_pass.findings:,} findings, {timed_pass.failing:,} failing")
    versions, intervals = timed_pass.rows_after_first
    added_versions, added_intervals = timed_pass.added_by_second_save
    print(f"{'rows after first save':<26} object_version {versions:,}, object_interval {intervals:,}")
    print(
        f"{'rows added by 2nd save':<26} object_version {added_versions:,}, "
        f"object_interval {added_intervals:,} (must be 0)"
    )
    if peak_traced is not None:
        print(
            f"{'peak memory':<26} {peak_traced / 2**20:8.1f} MiB traced by tracemalloc (second pass, {traced_seconds:.0f} s)"
        )
    print(f"{'process peak RSS':<26} {peak_rss:8.1f} MiB (ru_maxrss after the timed pass)")
    print("ratios")
    print(f"  checks / LDIF read                      {ratio(checks.seconds, read.seconds)}")
    print(
        f"  checks / read at the measured LDAP rate {ratio(checks.seconds, ldap_read)}"
        f"   ({read.objects:,} objects at {args.ldap_rate:,.0f} objects/s = {ldap_read:.1f} s;"
        f" rate from {args.ldap_rate_source})"
    )
    print(f"  unchanged save / first save             {ratio(unchanged.seconds, first.seconds)}")


if __name__ == "__main__":
    main()
