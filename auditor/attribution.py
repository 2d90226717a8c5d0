"""Who changed what, when and where: the origin of an attribute's value, as a source can tell it.

A live directory knows, per attribute, its last *originating* write: the time, the domain
controller it was made on and the attribute's version (AD's replication metadata). Offline
sources (LDIF exports without metadata, POP3 export folders) cannot tell, and then a record simply
carries no origins: auditor never invents one.

Origins are *volatile* data. They ride on an `ObjectRecord` beside its attributes, never inside
them: they take no part in the record's content hash or equality, so an object whose only change
is its metadata (an attribute rewritten with the same value, a different DC read) is not a new
version of the object and never shows as drift. The store keeps them only for the objects that did
change (see `auditor.store.origins`), and `auditor diff` shows them beside each change.

Keys of an origin mapping are attribute names as the record spells them, plus two reserved ones:
`ORIGIN_DN` (`dn`: the last rename or move) and `ORIGIN_CREATED` (`@created`: the creation).
A deletion's origin travels separately (a removed object has no record), keyed by object key.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

__all__ = ["ORIGIN_CREATED", "ORIGIN_DN", "Origin", "origin_from_json", "origins_json"]

ORIGIN_DN = "dn"
ORIGIN_CREATED = "@created"


@dataclass(frozen=True, slots=True)
class Origin:
    """The last originating write: when (UTC, to the second), on which DC, and the version it made."""

    time: datetime
    dc: str
    version: int

    def to_json(self) -> dict[str, Any]:
        return {
            "time": self.time.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "dc": self.dc,
            "version": self.version,
        }


def origin_from_json(data: Mapping[str, Any]) -> Origin:
    """The inverse of `Origin.to_json` (what the store keeps)."""
    moment = datetime.fromisoformat(str(data["time"]).replace("Z", "+00:00"))
    return Origin(time=moment.astimezone(UTC), dc=str(data["dc"]), version=int(data["version"]))


def origins_json(origins: Mapping[str, Origin]) -> dict[str, dict[str, Any]]:
    """name -> origin JSON, names sorted (a stable form for the store and the hash chain)."""
    return {name: origins[name].to_json() for name in sorted(origins)}
