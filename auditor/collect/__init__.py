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

__all__ = ["Baseline", "RawValue", "Source", "TracksChanges"]

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
    """

    snapshot_id: int
    taken_at: datetime
    sources: tuple[SourceInfo, ...]
    records: Callable[[], Iterator[ObjectRecord]]


@runtime_checkable
class TracksChanges(Protocol):
    """A source that may read incrementally (contract "Incremental collection")."""

    def use_baseline(self, baseline: Baseline | None, *, full: bool = False) -> None:
        """Called before `collect()`: the previous complete snapshot, and whether a full read is forced."""
        ...
