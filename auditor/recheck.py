"""`auditor recheck`: today's checks over the stored history, read-only (`auditor.recheck/1`).

The question it answers: for each (check, subject) failing *today*, since when has it been failing
by *today's* rules? The stored findings say what the checks of the day said; a check added last
week, a fixed check, or a new waiver changes the answer. Checks are pure functions of a snapshot,
the config and the date, and raw records stay raw in the store, so re-running today's code, config
and waivers over each stored complete snapshot (oldest first) gives that answer.

How it stays cheap and read-only:

- Snapshots are rebuilt from stored records with `auditor.run.build_snapshot`, the pipeline's own
  function (`rebuild_snapshot`, which the drift report's causes use too); the object set is carried forward from one snapshot to the next by applying only the
  intervals that changed (`HistoryStore.object_changes`), never re-read in full.
- A snapshot whose objects and sources equal its predecessor's gets its predecessor's verdicts:
  the checks would say the same (same input, same code, same config, same date).
- Nothing is written: only the store's read methods are called.

"Today" is the latest complete snapshot; waivers are judged at today's date for every snapshot (a
waiver that covers a finding today covers its whole past too, which is today's rule).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from auditor.config import AuditorConfig
from auditor.engine import Waiver, run_checks
from auditor.errors import ConfigError, SnapshotError
from auditor.model import Snapshot
from auditor.records import ObjectRecord, SourceInfo
from auditor.registry import CheckSpec, discover_checks
from auditor.results import FindingRecord, SnapshotInfo, isoformat
from auditor.run import build_snapshot
from auditor.store import HistoryStore

__all__ = ["DEFAULT_PERIOD", "RECHECK_SCHEMA", "rebuild_snapshot", "recheck", "recheck_text"]

RECHECK_SCHEMA = "auditor.recheck/1"
DEFAULT_PERIOD = timedelta(days=30)


@dataclass(slots=True)
class _Verdicts:
    """One snapshot rechecked: its failing findings (fail + error, not waived) by fingerprint."""

    snapshot: SnapshotInfo
    failing: dict[str, FindingRecord]
    reused: bool


def _specs(
    checks: Sequence[CheckSpec] | None, wanted: Sequence[str], disabled: Sequence[str]
) -> list[CheckSpec]:
    specs = list(checks) if checks is not None else discover_checks()
    known = {spec.id for spec in specs}
    unknown = sorted(set(wanted) - known)
    if unknown:
        raise ConfigError(f"--check {', '.join(unknown)}: no such check (see `auditor checks`)")
    off = sorted(set(wanted) & set(disabled))
    if off:
        raise ConfigError(
            f"--check {', '.join(off)}: disabled in [checks] disabled, so not one of today's checks"
        )
    return [s for s in specs if (not wanted or s.id in wanted) and s.id not in disabled]


def _period(
    store: HistoryStore, since: timedelta | None, from_ref: str | None, now: datetime
) -> tuple[list[SnapshotInfo], datetime | None]:
    latest = store.resolve("latest", purpose="rechecked")
    if from_ref is not None:
        first = store.resolve(from_ref, purpose="rechecked")
        start = None
        snapshots = [s for s in store.complete_snapshots() if first.id <= s.id <= latest.id]
    else:
        start = now - (since or DEFAULT_PERIOD)
        snapshots = [s for s in store.complete_snapshots(since=start) if s.id <= latest.id]
    if not snapshots:
        raise SnapshotError(f"no complete snapshot from {isoformat(start)} on; widen --since or use --from")
    return snapshots, start


def rebuild_snapshot(
    store: HistoryStore,
    config: AuditorConfig,
    snapshot: SnapshotInfo,
    records: Mapping[str, ObjectRecord] | None = None,
    sources: Sequence[SourceInfo] | None = None,
) -> Snapshot:
    """The typed snapshot the checks read, rebuilt from a stored complete snapshot with today's
    adapters and config, exactly as the pipeline built it (`records` by key, when the caller
    already holds them; else read from the store). Reads only."""
    if records is None:
        records = {record.key: record for record in store.load_records(snapshot.id)}
    if sources is None:
        sources = store.load_sources(snapshot.id)
    return build_snapshot(config, [records[k] for k in sorted(records)], sources)


def _same_sources(a: Sequence[SourceInfo], b: Sequence[SourceInfo]) -> bool:
    def key(sources: Sequence[SourceInfo]) -> list[tuple[str, str, bool, tuple[str, ...]]]:
        return [(s.name, s.kind, s.complete, tuple(sorted(s.coverage))) for s in sources]

    return key(a) == key(b)


def _walk(
    store: HistoryStore,
    config: AuditorConfig,
    snapshots: Sequence[SnapshotInfo],
    specs: Sequence[CheckSpec],
    today: datetime,
) -> list[_Verdicts]:
    waivers = [Waiver(w.check, w.subject, w.reason, w.expires) for w in config.checks.waiver]
    records: dict[str, ObjectRecord] = {}
    sources: list[SourceInfo] = []
    verdicts: list[_Verdicts] = []
    previous: SnapshotInfo | None = None
    for snapshot in snapshots:
        current_sources = store.load_sources(snapshot.id)
        if previous is None:
            records = {record.key: record for record in store.load_records(snapshot.id)}
            changed = True
        else:
            changes = store.object_changes(previous.id, snapshot.id)
            for key in changes.before.keys() - changes.after.keys():
                del records[key]
            records.update(changes.after)
            changed = bool(changes.before or changes.after)
        if verdicts and not changed and _same_sources(sources, current_sources):
            verdicts.append(_Verdicts(snapshot, verdicts[-1].failing, reused=True))
        else:
            snap = rebuild_snapshot(store, config, snapshot, records, current_sources)
            outcome = run_checks(snap, specs, disabled=(), waivers=waivers, today=today.date())
            failing = {f.fingerprint: f for f in outcome.findings if f.failing}
            verdicts.append(_Verdicts(snapshot, failing, reused=False))
        sources, previous = current_sources, snapshot
    return verdicts


def recheck(
    store: HistoryStore,
    config: AuditorConfig,
    *,
    now: datetime,
    since: timedelta | None = None,
    from_ref: str | None = None,
    check_ids: Sequence[str] = (),
    checks: Sequence[CheckSpec] | None = None,
) -> dict[str, Any]:
    """The `auditor.recheck/1` document (raises `SnapshotError` / `ConfigError` for exit 2)."""
    now = now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)
    specs = _specs(checks, check_ids, config.checks.disabled)
    snapshots, start = _period(store, since, from_ref, now)
    verdicts = _walk(store, config, snapshots, specs, now)
    today = verdicts[-1]
    recorded = {f.fingerprint: f for f in store.load_findings(today.snapshot.id)}
    findings: list[dict[str, Any]] = []
    for fingerprint, finding in today.failing.items():
        streak = 0
        for verdict in reversed(verdicts):
            if fingerprint not in verdict.failing:
                break
            streak += 1
        since_snapshot = verdicts[-streak].snapshot
        stored = recorded.get(fingerprint)
        findings.append(
            {
                "check": finding.check,
                "severity": finding.severity.value,
                "subject": finding.subject,
                "status": finding.status.value,
                "message": finding.message,
                "fingerprint": fingerprint,
                "failing_since": _ref(since_snapshot),
                "since_period_start": streak == len(verdicts),
                "snapshots_failing": streak,
                "recorded_first_seen": isoformat(stored.first_seen) if stored and stored.failing else None,
            }
        )
    findings.sort(key=lambda f: (str(f["check"]), str(f["subject"]).lower(), str(f["subject"])))
    return {
        "schema": RECHECK_SCHEMA,
        "generated_at": isoformat(now),
        "today": now.date().isoformat(),
        "period": {"since": isoformat(start), "from": _ref(snapshots[0]), "to": _ref(snapshots[-1])},
        "checks": [spec.id for spec in specs],
        "snapshots": [{**_ref(v.snapshot), "failing": len(v.failing), "reused": v.reused} for v in verdicts],
        "findings": findings,
        "summary": {
            "snapshots": len(verdicts),
            "rechecked": sum(not v.reused for v in verdicts),
            "failing": len(findings),
            "since_period_start": sum(f["since_period_start"] for f in findings),
            "earlier_than_recorded": sum(_earlier(f) for f in findings),
        },
    }


def _ref(snapshot: SnapshotInfo) -> dict[str, Any]:
    return {"id": snapshot.id, "taken_at": isoformat(snapshot.taken_at)}


def _earlier(finding: Mapping[str, Any]) -> bool:
    """Failing by today's rules since before the history recorded it (or it never recorded it)."""
    recorded = finding["recorded_first_seen"]
    return recorded is None or _parse(finding["failing_since"]["taken_at"]) < _parse(recorded)


def _parse(value: object) -> datetime:
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def _when(value: object) -> str:
    text = str(value or "")
    return text.replace("T", " ").replace("Z", " UTC") if text else "-"


def recheck_text(document: Mapping[str, Any]) -> str:
    period = document["period"]
    lines = [
        f"Recheck with today's checks, config and waivers ({document['today']}) of "
        f"{document['summary']['snapshots']} complete snapshots: snapshot {period['from']['id']} "
        f"({_when(period['from']['taken_at'])}) to snapshot {period['to']['id']} ({_when(period['to']['taken_at'])})",
        f"{document['summary']['rechecked']} rechecked, the others unchanged since the one before; "
        f"{document['summary']['failing']} findings fail today",
    ]
    current = None
    for finding in document["findings"]:
        if finding["check"] != current:
            current = finding["check"]
            lines += ["", f"{finding['severity'].upper()} {current}"]
        since = finding["failing_since"]
        bound = " or earlier (the period starts there)" if finding["since_period_start"] else ""
        lines.append(f"  {' '.join(finding['subject'].split())}")
        lines.append(f"    failing since snapshot {since['id']} ({_when(since['taken_at'])}){bound}")
        recorded = finding["recorded_first_seen"]
        if recorded is None:
            lines.append("    the history never recorded it: the check, its config or a waiver changed since")
        elif _earlier(finding):
            lines.append(f"    the history recorded it from {_when(recorded)}")
    return "\n".join(lines) + "\n"
