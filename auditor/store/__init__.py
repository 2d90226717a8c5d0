"""The history store: every pass's snapshot, results and findings, in SQLite or PostgreSQL.

Why it is shaped this way
-------------------------
A forest of 100,000 objects collected every four hours barely changes between passes. Storing each
snapshot in full would grow the database by 100,000 rows a pass for nothing, so the store keeps an
object's state only when it changed:

* `object_version` holds each distinct state of an object once (per `scope`), identified by its
  content hash (`ObjectRecord.content_hash()`: kind, key, DN and attributes).
* `object_interval` says which version an object (by `key`) held over which *complete* snapshots:
  the object is in complete snapshot S iff `valid_from_snapshot <= S < valid_to_snapshot` (or
  `valid_to_snapshot` is NULL: still current). Saving a snapshot closes the intervals of objects
  that changed or vanished and opens intervals for new states; an unchanged object costs nothing.
  A snapshot of an unchanged organization therefore adds a handful of rows (itself, its sources,
  its results) and not one object row.
* Only snapshots whose collection completed open or close intervals. An incomplete pass is
  recorded (`complete` false, `error` says why) so the history shows the gap; it is never offered
  as a diff base and never makes objects look removed. (A pass that collected everything but then
  failed to finish, say its report could not be written, keeps its intervals; intervals only
  order snapshots, so diffs between complete snapshots around it stay exact.)

`snapshot_source`, `check_result` and `finding` (non-passing findings only, each with the start of
its failing streak and its evidence, each distinct evidence set stored once in `evidence`) hang off
a snapshot; `report_delivery` remembers each attempt to send the weekly
report so the next report can tell its reader about one that never arrived.

`scope` (default "default") lets several agents, one per forest, share one PostgreSQL database:
every query is confined to the store's scope. Snapshot ids are global, increasing in the order
passes were saved, and that order is what the intervals use.

One pass at a time: `pass_lock()` serializes passes across processes (a file lock beside a SQLite
database, a PostgreSQL advisory lock derived from the scope otherwise). The schema is managed by
Alembic; opening a store upgrades it to the newest revision.

Every failure of the database (cannot connect, locked, disk full) surfaces as one `StoreError` line
that names the store by its URL without the password.

Where things live
-----------------
`HistoryStore` is composed here from one mixin per concern, each over `engine.StoreBase`:

* `engine`: URL checks (`safe_url`), engine creation, SQLite pragmas, errors -> `StoreError`,
  the Alembic upgrade, the scope-confined snapshot lookup every part shares.
* `lock`: `pass_lock()`.
* `snapshots`: a pass's `begin_pass` / `save_objects` / `save_pass_results` / `publish` / `mark_failed` (see there: the
  snapshot, its results and findings are one unit), `save_snapshot` / `save_incomplete`, and the
  interval writer.
* `reuse`: may a pass whose objects did not change copy the previous snapshot's results
  (`reusable_results`), and the copy (`reuse_results`); `auditor.reuse` says when.
* `bulk`: how the interval writer writes in bulk: COPY on PostgreSQL, prepared executemany on
  SQLite, ids of new versions chosen before they are written (nothing is read back).
* `identity`: is the database auditor's, of a known schema, undamaged (`check_health`).
* `findings`: check results, findings (with their evidence: `evidence`), streaks, finding
  presence, and what checked each snapshot (`checked_with`).
* `queries`: `snapshots()`, `resolve()`, snapshot listings and sources.
* `objects`: `load_records()` (a snapshot streamed in keyset-paged batches) and `object_changes()`.
* `origins`: attribution of object changes (`object_origin`), written with each snapshot.
* `deliveries`: report delivery attempts.
* `chain` / `tamper`: the tamper-evidence hash chain, sealed with each snapshot's results.
* `trend`: failing findings by severity per snapshot (the drift report's chart).
"""

from __future__ import annotations

from auditor.store.deliveries import DeliveriesMixin, DeliveryRecord
from auditor.store.engine import safe_url
from auditor.store.findings import CheckedWith
from auditor.store.lock import PassLockMixin
from auditor.store.objects import ObjectChanges, ObjectsMixin
from auditor.store.origins import ObjectOrigins, OriginsMixin
from auditor.store.queries import QueriesMixin, SnapshotSummary
from auditor.store.reuse import ResultReuseMixin, Reuse
from auditor.store.snapshots import SnapshotWriterMixin
from auditor.store.tamper import TamperEvidenceMixin
from auditor.store.trend import TrendMixin, TrendPoint

__all__ = [
    "CheckedWith",
    "DeliveryRecord",
    "HistoryStore",
    "ObjectChanges",
    "ObjectOrigins",
    "Reuse",
    "SnapshotSummary",
    "TrendPoint",
    "safe_url",
]


class HistoryStore(
    PassLockMixin,
    SnapshotWriterMixin,
    ResultReuseMixin,
    QueriesMixin,
    ObjectsMixin,
    OriginsMixin,
    TamperEvidenceMixin,
    TrendMixin,
    DeliveriesMixin,
):
    """Snapshots, results and findings of past passes; see the package docstring for the design.

    `HistoryStore(url, *, scope="default", busy_timeout=30.0)` opens (and upgrades) the store; use
    it as a context manager or call `close()`.
    """
