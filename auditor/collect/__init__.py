"""Collectors: every way auditor reads an organization, behind one `Source` protocol.

A source yields `ObjectRecord`s and fills in its `SourceInfo` (objects, coverage, completeness).
A source that cannot read everything it was asked to read raises a `CollectorError` (never returns
a short list): the pipeline then stores no complete snapshot, so a failed read can never look like
"everything was deleted".

The sources themselves belong to their source family (`auditor/families/<family>/`); this package
holds what every family shares: the `Source` protocol and the strict LDIF grammar (`ldif.py`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

from auditor.records import ObjectRecord, SourceInfo

__all__ = ["Baseline", "CarriesOver", "RawValue", "Source", "TracksChanges"]

# A directory value as a source hands it over: bytes (binary, base64 in LDIF) or text.
RawValue = bytes | str


@runtime_checkable
class Source(Protocol):
    """One place objects come from. `info` is complete only after `collect()` ran to its end."""

    info: SourceInfo

    def collect(self) -> Iterator[ObjectRecord]:
        """Yield every object; raise `CollectorError` rather than stop early."""
        ...


@dataclass(frozen=True)
class Baseline:
    """The previous complete snapshot, for a source that can read only what changed since it.

    `sources` are its source entries (with the `sync_state` each left); `records()` streams its
    objects back from the store (every source's: a source keeps the kinds it produces).

    `index`, when given, lists the same objects as (key, kind, DN) without their attributes, and
    says the consumer (the pass, `auditor.run`) keeps the objects a source does not hand back: a
    source that learns most objects did not change may then yield only the changed ones and name
    the others in `carried` (see `CarriesOver`), so an unchanged object is neither read back from
    the store nor hashed again. Without `index`, a source yields every object, as `Source` says.
    """

    snapshot_id: int
    taken_at: datetime
    sources: tuple[SourceInfo, ...]
    records: Callable[[], Iterator[ObjectRecord]]
    index: Callable[[], Iterator[tuple[str, str, str]]] | None = None


@runtime_checkable
class TracksChanges(Protocol):
    """A source that may read incrementally (contract "Incremental collection")."""

    def use_baseline(self, baseline: Baseline | None, *, full: bool = False) -> None:
        """Called before `collect()`: the previous complete snapshot, and whether a full read is forced."""
        ...


@runtime_checkable
class CarriesOver(Protocol):
    """A source that, given a `Baseline` with an `index`, may yield only what changed.

    After `collect()` ran to its end, `carried` maps the key of every object it did not yield but
    that is in the snapshot unchanged (the baseline's stored state, not read again) to its
    (kind, DN). The store keeps those objects' open intervals as they are (`save_objects`);
    together with the yielded records they are exactly what a full read would give. The pass
    takes the map once the stream has ended (`run._Seen.carry`), leaving an empty one.
    """

    carried: dict[str, tuple[str, str]]
