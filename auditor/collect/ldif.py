"""Reading `ldifde` exports of the domain and Configuration partitions (RFC 2849 content records).

A small strict parser rather than the `ldif` package: that package reads bytes only (no UTF-16,
which `ldifde -u` writes), silently drops a file that ends mid-line, and reports no line numbers.
An audit must refuse a damaged export with the file and line to look at, because a half-read
export would otherwise look like deleted objects and open holes.

What is accepted: `version: 1`, `#` comments, folded lines (continuation starts with one space),
`attr: value`, `attr:: base64`, `changetype: add`, CRLF / LF / CR CR LF line ends, UTF-8 with or
without BOM, UTF-16 with BOM. Everything else stops the pass with an `InputFormatError`.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import re
import time
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from auditor.collect.common import RawValue, guid_from_value, partition_of, record_from_entry
from auditor.errors import InputFormatError
from auditor.records import (
    BINARY_ATTRIBUTES,
    READ_ATTRIBUTES,
    ObjectRecord,
    SourceInfo,
    canonical_attribute,
)
from auditor.relaylist import RelayListDecodeError, RelayListTruncatedError, decode_relay_list

__all__ = ["LdifEntry", "LdifSource", "decode_export_text", "parse_ldif"]

_BINARY_LOWER = frozenset(name.lower() for name in BINARY_ATTRIBUTES)
# An attribute description: a name or OID, then options such as `;binary` or `;range=0-1499`.
_ATTRIBUTE = re.compile(r"^(?:[A-Za-z][A-Za-z0-9-]*|\d+(?:\.\d+)+)(?:;[A-Za-z0-9=*-]+)*$")
_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


@dataclass(slots=True)
class LdifEntry:
    """One content record: its DN, the line it starts on, and its values by attribute (any case)."""

    dn: str
    line: int
    attributes: dict[str, list[RawValue]] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)

    def add(self, name: str, value: RawValue) -> None:
        """Merge spellings (`objectclass` and `objectClass` are one attribute in LDAP)."""
        lower = name.lower()
        spelled = self.names.setdefault(lower, name)
        self.attributes.setdefault(spelled, []).append(value)


def decode_export_text(path: Path, data: bytes) -> str:
    """The file's text, its encoding decided by the BOM (UTF-8 when there is none).

    An undecodable byte is reported with its line number, so the admin can find the damage.
    """
    encoding = "utf-8"
    for bom, name in _BOMS:
        if data.startswith(bom):
            encoding, data = name, data[len(bom) :]
            break
    else:
        if b"\x00" in data[:4096]:
            raise InputFormatError(f"{path}:1", "NUL bytes without a BOM: UTF-16 without BOM is not accepted")
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data[: exc.start].decode(encoding, errors="replace").count("\n") + 1
        raise InputFormatError(
            f"{path}:{line}", f"not valid {encoding.upper()} text ({exc.reason})"
        ) from None


def _physical_lines(path: Path, text: str) -> Iterator[tuple[int, str]]:
    """(line number, line) without its line end; a file must end with a line break."""
    if not text:
        return
    position, number = 0, 0
    while position < len(text):
        number += 1
        end = text.find("\n", position)
        if end < 0:
            raise InputFormatError(f"{path}:{number}", "file does not end with a line break (truncated?)")
        yield number, text[position:end].rstrip("\r")
        position = end + 1


def _logical_lines(path: Path, text: str) -> Iterator[tuple[int, str]]:
    """Unfolded lines with the number of their first physical line; comments dropped, blanks kept."""
    pending: tuple[int, str] | None = None
    in_comment = False
    for number, line in _physical_lines(path, text):
        if line.startswith(" "):
            if in_comment:
                continue
            if pending is None:
                raise InputFormatError(f"{path}:{number}", "continuation line without a line to continue")
            pending = (pending[0], pending[1] + line[1:])
            continue
        if pending is not None:
            yield pending
            pending = None
        in_comment = line.startswith("#")
        if in_comment:
            continue
        if not line:
            yield number, ""
        else:
            pending = (number, line)
    if pending is not None:
        yield pending


def _split_value(path: Path, number: int, line: str) -> tuple[str, RawValue, bool]:
    """(attribute, value, was base64) for `attr: text`, `attr:: base64`; URLs and junk refused."""
    colon = line.find(":")
    if colon <= 0:
        raise InputFormatError(f"{path}:{number}", f"line has no 'attribute: value' form: {line[:60]!r}")
    name, rest = line[:colon], line[colon + 1 :]
    if not _ATTRIBUTE.match(name):
        raise InputFormatError(f"{path}:{number}", f"invalid attribute name {name[:60]!r}")
    if rest.startswith("<"):
        raise InputFormatError(f"{path}:{number}", f"{name}: URL values (':<') are not accepted in an export")
    if rest.startswith(":"):
        encoded = rest[1:].strip()
        try:
            return name, base64.b64decode(encoded, validate=True), True
        except (binascii.Error, ValueError):
            raise InputFormatError(f"{path}:{number}", f"{name}: invalid base64 value") from None
    return name, rest.lstrip(" "), False


def _text_value(path: Path, number: int, name: str, value: RawValue) -> str:
    if isinstance(value, str):
        return value
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        raise InputFormatError(f"{path}:{number}", f"{name}: base64 value is not UTF-8 text") from None


def parse_ldif(path: Path, text: str, *, wanted: Collection[str] | None = None) -> Iterator[LdifEntry]:
    """Yield the content records of one export, strictly; see the module docstring for the grammar.

    `wanted` (lower-case attribute names) keeps only the attributes a collector reads. Every line is
    still checked as LDIF (name, base64), but a value of an attribute auditor does not read is
    never decoded: a full `ldifde` export carries binary attributes (`logonHours`,
    `thumbnailPhoto`, `userCertificate`, ...) that are not text, and they must not stop an audit.
    """
    entry: LdifEntry | None = None
    in_record = False
    seen_record = False
    for number, line in _logical_lines(path, text):
        if not line:
            if entry is not None:
                yield _finished(path, entry)
                entry = None
            in_record = False
            continue
        name, value, _ = _split_value(path, number, line)
        lower = name.lower()
        if not in_record:
            in_record = True
            if lower == "version" and not seen_record:
                if _text_value(path, number, name, value).strip() != "1":
                    raise InputFormatError(f"{path}:{number}", "only LDIF version 1 is supported")
                in_record = False
                seen_record = True
                continue
            if lower != "dn":
                raise InputFormatError(f"{path}:{number}", f"'{name}' value before any 'dn:' line")
            dn = _text_value(path, number, name, value).strip()
            if not dn:
                raise InputFormatError(f"{path}:{number}", "empty DN")
            entry, seen_record = LdifEntry(dn=dn, line=number), True
            continue
        assert entry is not None
        if lower == "dn":
            raise InputFormatError(f"{path}:{number}", "a second 'dn:' line in one record")
        if lower == "changetype":
            kind = _text_value(path, number, name, value).strip().lower()
            if kind != "add":
                raise InputFormatError(f"{path}:{number}", f"changetype {kind!r}: not an export (only 'add')")
            continue
        if lower == "control":
            raise InputFormatError(f"{path}:{number}", "a control line: not an export")
        base_name = lower.split(";", 1)[0]
        if wanted is not None and base_name not in wanted:
            continue
        if isinstance(value, bytes) and base_name not in _BINARY_LOWER:
            value = _text_value(path, number, name, value)
        elif isinstance(value, str) and base_name in _BINARY_LOWER:
            try:
                value = value.encode("latin-1")
            except UnicodeEncodeError:
                raise InputFormatError(f"{path}:{number}", f"{name}: binary value must be base64") from None
        entry.add(name, value)
    if entry is not None:
        yield _finished(path, entry)


def _finished(path: Path, entry: LdifEntry) -> LdifEntry:
    if not entry.attributes:
        raise InputFormatError(f"{path}:{entry.line}", f"record {entry.dn} has no attributes (cut off?)")
    return entry


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
            for entry in parse_ldif(path, decode_export_text(path, _read(path)), wanted=READ_ATTRIBUTES):
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


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputFormatError(str(path), f"cannot read the file ({exc.strerror or exc})") from None


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
