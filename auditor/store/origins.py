"""Attribution kept with the history: the origins of the objects that changed, snapshot by snapshot.

A record's origins (`auditor.attribution`) are volatile: they never make an object a new version.
So they cannot live in `object_version` (one row per distinct state, shared by every snapshot that
held it); they go in `object_origin`, one row per object *change*:

* `changed`: the object took a new state in this snapshot (added, or its content hash changed);
  the row holds the origins the source read with that state. Nothing is written for the first
  complete snapshot of a scope (no diff ever starts before it, so nothing would read them) nor for
  unchanged objects, so the table grows with churn, not with the forest.
* `deleted`: the object vanished in this snapshot and the source read its tombstone; the row holds
  the deletion under `@deleted`.

`origins_between(a, b)` returns, per object key, the latest of each kind of row in `(a, b]`: what
`auditor diff` and the drift report attach to the changes between `a` and `b`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from auditor.attribution import Origin, origin_from_json, origins_json
from auditor.store.engine import CHUNK, StoreBase
from auditor.tables import OBJECT_ORIGIN

__all__ = ["CHANGED", "DELETED", "DELETED_KEY", "ObjectOrigins", "OriginsMixin", "write_origins"]

CHANGED = "changed"
DELETED = "deleted"
DELETED_KEY = "@deleted"


@dataclass(slots=True)
class ObjectOrigins:
    """Per object key: the origins of its latest state in a range, and of its deletion."""

    changed: dict[str, dict[str, Origin]] = field(default_factory=dict)
    deleted: dict[str, Origin] = field(default_factory=dict)


def write_origins(
    conn: Connection,
    scope: str,
    snapshot_id: int,
    changed: Sequence[tuple[str, Mapping[str, Origin]]],
    deleted: Mapping[str, Origin],
) -> None:
    """Insert the rows of one snapshot (inside the snapshot's own transaction)."""
    rows = [
        {"scope": scope, "snapshot_id": snapshot_id, "key": key, "event": CHANGED, "origins": origins_json(o)}
        for key, o in changed
        if o
    ]
    rows += [
        {
            "scope": scope,
            "snapshot_id": snapshot_id,
            "key": key,
            "event": DELETED,
            "origins": {DELETED_KEY: origin.to_json()},
        }
        for key, origin in sorted(deleted.items())
    ]
    for start in range(0, len(rows), CHUNK):
        conn.execute(sa.insert(OBJECT_ORIGIN), rows[start : start + CHUNK])


class OriginsMixin(StoreBase):
    """Reading attribution back."""

    def origins_between(self, from_id: int, to_id: int) -> ObjectOrigins:
        """The latest `changed` and `deleted` origins per key in snapshots `(from_id, to_id]`.

        Empty when `to_id <= from_id`: a diff backwards in time has no writes to attribute.
        """
        found = ObjectOrigins()
        if to_id <= from_id:
            return found
        query = (
            sa.select(OBJECT_ORIGIN.c.key, OBJECT_ORIGIN.c.event, OBJECT_ORIGIN.c.origins)
            .where(
                OBJECT_ORIGIN.c.scope == self.scope,
                OBJECT_ORIGIN.c.snapshot_id > from_id,
                OBJECT_ORIGIN.c.snapshot_id <= to_id,
            )
            .order_by(OBJECT_ORIGIN.c.snapshot_id, OBJECT_ORIGIN.c.id)
        )
        with self._guard("read the change origins"), self._engine.connect() as conn:
            for row in conn.execute(query):
                if row.event == DELETED and DELETED_KEY in row.origins:
                    found.deleted[row.key] = origin_from_json(row.origins[DELETED_KEY])
                elif row.event == CHANGED:
                    found.changed[row.key] = {
                        name: origin_from_json(value) for name, value in row.origins.items()
                    }
        return found
