"""The Exchange directory family's offline source: `ldifde` exports of the domain and Configuration
partitions, read with the strict LDIF grammar of `auditor.collect.ldif`.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from auditor.collect.ldif import LdifEntry, read_ldif
from auditor.errors import InputFormatError
from auditor.families.exchange.entries import guid_from_value, partition_of, record_from_entry
from auditor.families.iis_relaylist import RelayListDecodeError, RelayListTruncatedError, decode_relay_list
from auditor.records import BINARY_ATTRIBUTES, READ_ATTRIBUTES, ObjectRecord, SourceInfo, canonical_attribute

__all__ = ["LdifSource"]

_BINARY_LOWER = frozenset(name.lower() for name in BINARY_ATTRIBUTES)


class LdifSource:
    """`ldifde` exports of one forest's partitions as a `Source` (kind `ldif`).

    Objects are yielded file by file as they are parsed; `info` is complete only once every file
    was read to its end. The same `objectGUID` twice (say, the domain export given twice) is an
    error, since the snapshot would otherwise silently keep one of two differing versions.
    """

    def __init__(self, paths: Sequence[Path], *, name: str = "directory") -> None:
        self.paths = [Path(p) for p in paths]
        self.info = SourceInfo(name=name, kind="ldif")

    def collect(self) -> Iterator[ObjectRecord]:
        self.info.complete, self.info.objects, self.info.error = False, 0, None
        try:
            yield from self._collect()
        except InputFormatError as exc:
            self.info.error = str(exc)
            raise

    def _collect(self) -> Iterator[ObjectRecord]:
        started = time.monotonic()
        coverage: set[str] = set()
        seen: dict[str, str] = {}
        objects = 0
        if not self.paths:
            raise InputFormatError(self.info.name, "no LDIF files given")
        for path in self.paths:
            entries = 0
            for entry in read_ldif(path, binary=_BINARY_LOWER, wanted=READ_ATTRIBUTES):
                entries += 1
                location = f"{path}:{entry.line}"
                coverage.add(partition_of(entry.dn))
                if not any(key.lower() == "objectclass" for key in entry.attributes):
                    raise InputFormatError(location, f"entry {entry.dn} has no objectClass")
                _check_relay_list(location, entry)
                _check_guid(location, entry, seen)
                record = record_from_entry(entry.dn, entry.attributes)
                if record is None:
                    continue
                if record.key.startswith("dn:"):
                    if record.key in seen:
                        raise InputFormatError(location, f"entry {entry.dn} also at {seen[record.key]}")
                    seen[record.key] = location
                objects += 1
                yield record
            if entries == 0:
                raise InputFormatError(str(path), "contains no entries (empty or failed export)")
        self.info.objects = objects
        self.info.coverage = coverage
        self.info.duration_seconds = time.monotonic() - started
        self.info.complete = True


def _check_guid(location: str, entry: LdifEntry, seen: dict[str, str]) -> None:
    for name, values in entry.attributes.items():
        if canonical_attribute(name) == "objectGUID" and values:
            guid = guid_from_value(values[0])
            if guid is None:
                raise InputFormatError(location, f"entry {entry.dn}: objectGUID is not a GUID")
            if guid in seen:
                raise InputFormatError(location, f"entry {entry.dn}: objectGUID {guid} also at {seen[guid]}")
            seen[guid] = location


def _check_relay_list(location: str, entry: LdifEntry) -> None:
    """A relay list cut short is a damaged export; an unknown but complete layout is the checks' call."""
    for name, values in entry.attributes.items():
        if canonical_attribute(name.split(";", 1)[0]) != "msExchSmtpRelayIpList":
            continue
        for value in values:
            blob = value if isinstance(value, bytes) else value.encode("latin-1", errors="replace")
            try:
                decode_relay_list(blob)
            except RelayListTruncatedError as exc:
                raise InputFormatError(
                    location, f"entry {entry.dn}: msExchSmtpRelayIpList is cut short ({exc})"
                ) from None
            except RelayListDecodeError:
                continue
