"""Collectors: every way auditor reads an organization, behind one `Source` protocol.

A source yields `ObjectRecord`s and fills in its `SourceInfo` (objects, coverage, completeness).
A source that cannot read everything it was asked to read raises a `CollectorError` (never returns
a short list): the pipeline then stores no complete snapshot, so a failed read can never look like
"everything was deleted".

The sources themselves belong to their source family (`auditor/families/<family>/`); this package
holds what every family shares: the `Source` protocol and the strict LDIF grammar (`ldif.py`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol, runtime_checkable

from auditor.records import ObjectRecord, SourceInfo

__all__ = ["RawValue", "Source"]

# A directory value as a source hands it over: bytes (binary, base64 in LDIF) or text.
RawValue = bytes | str


@runtime_checkable
class Source(Protocol):
    """One place objects come from. `info` is complete only after `collect()` ran to its end."""

    info: SourceInfo

    def collect(self) -> Iterator[ObjectRecord]:
        """Yield every object; raise `CollectorError` rather than stop early."""
        ...
