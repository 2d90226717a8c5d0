"""What the history features cost: origins in the store, sealing, verify, diff with origins, recheck,
and the drift report with the causes of its finding changes.

    .venv/bin/python bench/bench_history.py [--recipients 100000] [--passes 5] [--churn 0.01]

The organization is bench_checks.py's (synthetic recipients), every record carrying origins as a
live read gives them. The first pass saves everything; each later pass changes `--churn` of the
recipients (a new targetAddress, with a newer origin), deletes a tenth of that (with deletion
origins, as tombstones give) and adds as many. Every pass runs the checks and saves the results,
which seals the snapshot into the chain. Printed: per pass, save / checks / save_results (with the
seal and the findings' evidence) / the seal alone, and the object_origin rows and bytes it added;
the evidence rows and bytes of the whole history; then `verify_chain` over the whole history,
`diff_snapshots` first -> last (with origins), the drift report over the whole history without and
with causes (the ratio, and what explaining rebuilt and reran), and `recheck` over every snapshot.
SQLite in a temporary folder. Figures, no asserts.
"""

from __future__ import annotations

import argparse
import dataclasses
import resource
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_checks import organization, recipients

from auditor.attribution import ORIGIN_CREATED, Origin
from auditor.causes import Explainer, explain
from auditor.config import AuditorConfig
from auditor.diff import diff_snapshots
from auditor.drift import build_drift_report
from auditor.engine import run_checks
from auditor.provenance import AUDITOR_VERSION, config_fingerprint
from auditor.recheck import recheck
from auditor.records import ObjectKind, ObjectRecord, SourceInfo
from auditor.registry import discover_checks
from auditor.results import RunResult, SnapshotInfo
from auditor.run import build_snapshot, check_settings
from auditor.store import HistoryStore
from auditor.store.chain import seal

T = TypeVar("T")
START = datetime.now(UTC).replace(microsecond=0) - timedelta(days=2)
CREATED = Origin(START - timedelta(days=400), "DC1", 1)


def timed(function: Callable[[], T]) -> tuple[T, float]:
    started = time.perf_counter()
    result = function()
    return result, time.perf_counter() - started


def with_origins(record: ObjectRecord, changed: Origin | None = None) -> ObjectRecord:
    """The record as a live read gives it: every attribute's origin (shared objects, as in a pass)."""
    origins = {name: CREATED for name in record.attributes}
    origins[ORIGIN_CREATED] = CREATED
    if changed is not None:
        origins["targetAddress"] = changed
    return dataclasses.replace(record, origins=origins)


def sources(count: int) -> list[SourceInfo]:
    coverage = {"domain", "configuration"} | {f"pop3:POP{n:02d}" for n in range(4)}
    coverage |= {f"pop3:POP{n:02d}:{f}" for n in range(4) for f in ("MetaBase.xml", "winpop-list.txt")}
    return [SourceInfo("directory", "ldap", True, count, 0.0, None, coverage)]


def origin_bytes(store: HistoryStore) -> tuple[int, int]:
    with store._engine.connect() as conn:
        rows, size = conn.execute(
            sa.text("SELECT count(*), coalesce(sum(length(origins)), 0) FROM object_origin")
        ).one()
    return int(rows), int(size)


def table_bytes(store: HistoryStore, table: str, column: str) -> tuple[int, int]:
    with store._engine.connect() as conn:
        rows, size = conn.execute(
            sa.text(f"SELECT count(*), coalesce(sum(length({column})), 0) FROM {table}")
        ).one()
    return int(rows), int(size)


def drift_with_causes(
    store: HistoryStore, config: AuditorConfig, snapshots: Sequence[SnapshotInfo], now: datetime
) -> None:
    """The drift report over the whole history without and with causes, and what explaining cost."""
    since = now - snapshots[0].taken_at + timedelta(minutes=1)
    plain, without = timed(lambda: build_drift_report(store, since=since, now=now))
    explainer = Explainer(config, discover_checks())
    explained, with_causes = timed(
        lambda: build_drift_report(store, since=since, now=now, explainer=explainer)
    )
    counts = explained.summary
    print(
        f"drift report     {without:.2f} s without causes, {with_causes:.2f} s with "
        f"(ratio {with_causes / without:.2f}); {counts['new']:,} new, {counts['resolved']:,} resolved, "
        f"{counts['reopened']:,} reopened, {counts['object_changes']:,} object changes; "
        f"{len(explained.cause_groups or []):,} cause groups"
    )
    # What explaining did, measured apart: the end snapshots rebuilt and the checks rerun on each.
    first, last = snapshots[0], snapshots[-1]
    at_first = {f.fingerprint: f for f in store.load_findings(first.id)}
    at_last = {f.fingerprint: f for f in store.load_findings(last.id)}
    sections = {
        "new": [at_last[f.fingerprint] for f in [*plain.findings.new, *plain.findings.reopened]],
        "resolved": [at_first[f.fingerprint] for f in plain.findings.resolved],
    }
    explanation, seconds = timed(
        lambda: explain(store, first, last, sections, plain.objects, explainer, at_first=at_first)
    )
    reran = {snapshot: len(checks) for snapshot, checks in explanation.rechecked.items()}
    print(
        f"explain alone    {seconds:.2f} s: rebuilt snapshots {explanation.rebuilt} of {len(snapshots)}, "
        f"checks rerun per snapshot {reran} of {len(discover_checks())}, redated {explanation.redated or 'none'}"
    )


def one_pass(
    store: HistoryStore,
    config: AuditorConfig,
    records: Sequence[ObjectRecord],
    hour: int,
    deletions: dict[str, Origin],
) -> tuple[SnapshotInfo, dict[str, float]]:
    figures: dict[str, float] = {}
    taken_at = START + timedelta(hours=hour)
    snapshot, figures["save"] = timed(
        lambda: store.save_snapshot(records, sources(len(records)), taken_at, deletions=deletions)
    )
    specs = discover_checks()
    snap = build_snapshot(config, records, sources(len(records)))
    outcome, figures["checks"] = timed(lambda: run_checks(snap, specs, today=taken_at.date()))
    run = RunResult(
        snapshot=snapshot,
        checks=outcome.checks,
        findings=outcome.findings,
        auditor_version=AUDITOR_VERSION,
        config_fingerprint=config_fingerprint(check_settings(config)),
    )
    store.annotate_findings(run)
    _, figures["results"] = timed(lambda: store.save_results(snapshot.id, run))

    def reseal() -> None:
        with store._writing() as conn:
            seal(conn, store.scope, snapshot.id)

    _, figures["seal"] = timed(reseal)
    return snapshot, figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=100_000)
    parser.add_argument("--passes", type=int, default=5, help="passes after the first")
    parser.add_argument("--churn", type=float, default=0.01)
    args = parser.parse_args()

    config = AuditorConfig.model_validate({"directory": {"ldif": ["unused.ldf"]}})
    base = [with_origins(r) for r in organization()]
    users = [with_origins(r) for r in recipients(args.recipients)]
    changed_per_pass = max(1, int(args.recipients * args.churn))
    print(
        f"organization     {len(base) + len(users):,} records, {args.passes} passes after the first, "
        f"{changed_per_pass:,} recipients changed per pass (+{changed_per_pass // 10:,} deleted, "
        f"+{changed_per_pass // 10:,} added)"
    )
    with tempfile.TemporaryDirectory(prefix="auditor-bench-history-") as folder:
        store = HistoryStore(f"sqlite:///{Path(folder) / 'history.db'}")
        snapshots = []
        current = base + users
        first, figures = one_pass(store, config, current, 0, {})
        snapshots.append(first)
        print(
            f"pass 1           save {figures['save']:.2f} s, checks {figures['checks']:.2f} s, "
            f"save_results {figures['results']:.2f} s (seal alone {figures['seal']:.2f} s)"
        )
        origin_rows, origin_size = origin_bytes(store)
        for number in range(1, args.passes + 1):
            moment = Origin(START + timedelta(hours=number, minutes=-10), "DC2", 1 + number)
            mailboxes = [r for r in current if r.kind == ObjectKind.USER]
            step = max(1, len(mailboxes) // changed_per_pass)
            changed_keys = {r.key for r in mailboxes[number % step :: step][:changed_per_pass]}
            deleted_keys = set(list(sorted(changed_keys))[: changed_per_pass // 10])
            updated = []
            for record in current:
                if record.key in deleted_keys:
                    continue
                if record.key in changed_keys:
                    attributes = dict(record.attributes)
                    attributes["targetAddress"] = (f"SMTP:moved{number}.{record.key}@contoso.com",)
                    record = with_origins(dataclasses.replace(record, attributes=attributes), moment)
                updated.append(record)
            template = mailboxes[0]
            extra = [
                dataclasses.replace(
                    template,
                    key=f"added-{number}-{i}",
                    dn=f"CN=added{number}-{i},OU=Users,DC=contoso,DC=com",
                    attributes={
                        **template.attributes,
                        "mailNickname": (f"added{number}-{i}",),
                        "proxyAddresses": (f"SMTP:added{number}-{i}@contoso.com",),
                    },
                )
                for i in range(changed_per_pass // 10)
            ]
            updated += [with_origins(r, moment) for r in extra]
            current = updated
            snapshot, figures = one_pass(
                store, config, current, 4 * number, {key: moment for key in deleted_keys}
            )
            snapshots.append(snapshot)
            rows, size = origin_bytes(store)
            print(
                f"pass {number + 1:<11} save {figures['save']:.2f} s, checks {figures['checks']:.2f} s, "
                f"save_results {figures['results']:.2f} s (seal alone {figures['seal']:.3f} s); "
                f"+{rows - origin_rows:,} origin rows, +{(size - origin_size) / 2**10:,.0f} KiB"
            )
            origin_rows, origin_size = rows, size
        rows, size = table_bytes(store, "evidence", "refs")
        print(f"evidence         {rows:,} distinct sets, {size / 2**10:,.0f} KiB in all")
        result, seconds = timed(store.verify_chain)
        print(f"verify_chain     {seconds:.2f} s, intact={result.intact}, {result.links} links")
        document, seconds = timed(lambda: diff_snapshots(store, snapshots[0].id, snapshots[-1].id))
        diff = document.to_json()
        attributed = sum(
            "origin" in change
            for entry in diff["objects"]["changed"]
            for change in entry["attributes"].values()
        )
        print(
            f"diff first->last {seconds:.2f} s: {len(diff['objects']['changed']):,} changed "
            f"({attributed:,} attribute changes with an origin), {len(diff['objects']['removed']):,} removed, "
            f"{len(diff['objects']['added']):,} added"
        )
        drift_with_causes(store, config, snapshots, START + timedelta(hours=4 * args.passes, minutes=1))
        rechecked, seconds = timed(
            lambda: recheck(store, config, now=START + timedelta(days=1), since=timedelta(days=30))
        )
        summary = rechecked["summary"]
        print(
            f"recheck          {seconds:.2f} s over {summary['snapshots']} snapshots "
            f"({summary['rechecked']} rechecked), {summary['failing']:,} failing today"
        )
        store.close()
    print(f"process peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
