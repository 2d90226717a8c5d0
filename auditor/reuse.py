"""Nothing changed, nothing recomputed: when a pass may reuse the previous snapshot's check results.

Checks are pure functions of the snapshot, the configuration they read, the date and their own
code (style.md, contract.md "Incremental collection"). So a pass whose objects are the previous
complete snapshot's, object for object, and for which nothing else a result depends on changed,
would compute exactly the results that snapshot holds. The pass then records its own complete
snapshot (history shows the forest was checked, the hash chain seals it as usual) and copies those
results (`HistoryStore.reuse_results`); `snapshot.results_from` names the snapshot they came from.

"Nothing else changed" is one fingerprint, `results_key`, stored with every pass's results:

* auditor's version (it covers what checks reach through auditor: the model, routing);
* each check that runs, in order, with its code fingerprint (`auditor.provenance`): a check
  enabled or disabled, edited, re-severitied or added by a plugin changes it;
* the configuration the checks read (`auditor.run.check_settings`);
* the waivers, each with its state on the day (active, expiring within `EXPIRY_WARNING`, expired):
  a waiver added, edited, coming close to or past its expiry changes the findings or the notes;
* the date boundaries the checks judge at (`DATED_CHECKS`): for COEX-904, which Exchange support
  end dates the day is past. An unchanged forest is judged anew the day a server leaves support.

What "the objects did not change" means, and the rest of what the store compares (sources and
what they covered; no check raised on the previous snapshot, since a crash need not repeat), is in
`auditor.store.reuse`. The tests recompute and compare (tests/test_reuse.py).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from auditor.engine import EXPIRY_WARNING, Waiver, _waiver_notes
from auditor.provenance import AUDITOR_VERSION, check_fingerprint
from auditor.registry import CheckSpec, Status
from auditor.results import FindingRecord, WaiverNote

__all__ = ["DATED_CHECKS", "date_boundaries", "results_key", "waiver_notes", "waiver_state"]

DATED_CHECKS = frozenset({"COEX-904"})
"""Checks that read the snapshot's date (`Snapshot.as_of`); `date_boundaries` holds their dates.
A check added here must have its boundaries in `date_boundaries` (a test holds every check that
reads `as_of` to this set)."""


def date_boundaries() -> tuple[date, ...]:
    """Every date at which a check's verdict on unchanged objects can change (`DATED_CHECKS`)."""
    from auditor.families.exchange.versions import SUPPORT

    return tuple(sorted({support.end for support in SUPPORT.values() if support.end is not None}))


def waiver_state(waiver: Waiver, today: date) -> str:
    """What of a waiver the results show on `today`: expired, expiring (soon) or active."""
    if waiver.expires < today:
        return "expired"
    if waiver.expires - today <= EXPIRY_WARNING:
        return "expiring"
    return "active"


def results_key(
    specs: Sequence[CheckSpec],
    settings: Mapping[str, Any],
    waivers: Sequence[Waiver],
    today: date,
    *,
    version: str = AUDITOR_VERSION,
) -> str:
    """sha256 of everything a pass's results depend on besides its objects (module docstring).

    `specs` are the checks that run (disabled ones left out), in the order they run; `version`
    is auditor's.
    """
    payload = {
        "auditor": version,
        "checks": [[spec.id, check_fingerprint(spec)] for spec in specs],
        "settings": settings,
        "waivers": [
            [w.check, w.subject, w.reason, w.expires.isoformat(), waiver_state(w, today)] for w in waivers
        ],
        "dates_passed": [d.isoformat() for d in date_boundaries() if d <= today],
    }
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def waiver_notes(
    findings: Sequence[FindingRecord], waivers: Sequence[Waiver], today: date
) -> list[WaiverNote]:
    """The engine's waiver notes for reused findings: a waiver is used when it waived one of them.

    The engine waives a failing finding with the first active waiver matching it; the same rule
    over the copied `waived` findings finds the same waivers, so the notes equal a recomputation's.
    """
    active = [w for w in waivers if w.expires >= today]
    used: set[int] = set()
    for finding in findings:
        if finding.status is not Status.WAIVED:
            continue
        for index, waiver in enumerate(active):
            if waiver.matches(finding.check, finding.subject):
                used.add(index)
                break
    return _waiver_notes(waivers, active, used, today)
