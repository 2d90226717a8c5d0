"""Reading `ldifde` exports of the domain and Configuration partitions (RFC 2849 content records).

A small strict parser rather than the `ldif` package: that package reads bytes only (no UTF-16,
which `ldifde -u` writes), silently drops a file that ends mid-line, and reports no line numbers.
An audit must refuse a damaged export with the file and line to look at, because a half-read
export would otherwise look like deleted objects and open holes.

What is accepted: `version: 1`, `#` comments, folded lines (continuation starts with one space),
`attr: value`, `attr:: base64`, `changetype: add`, CRLF / LF / CR CR LF line ends, UTF-8 with or
without BOM, UTF-16 with BOM. Everything else stops the pass with an `InputFormatError`.

`read_ldif` streams a file: only regular files are read (`auditor.collect.files`), text is decoded
line by line, and folded lines are joined in linear time, so memory is bounded by one entry and
one line (`MAX_LINE` characters, folded or not) whatever the size of the export, and a value that
`ldifde` folded at 76 columns costs what the same value unfolded costs.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import re
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from auditor.collect import RawValue
from auditor.collect.files import MiB, open_regular, text_lines
from auditor.errors import InputFormatError

__all__ = ["MAX_LINE", "LdifEntry", "decode_export_text", "parse_ldif", "read_ldif"]

MAX_LINE = 64 * MiB
"""Longest line, folded or not, in characters: far above any real value (a photo is ~100 KiB)."""

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


def _streamed_lines(path: Path) -> Iterator[tuple[int, str]]:
    """The physical lines of an export file, read and decoded incrementally (see the module doc)."""
    with open_regular(path, limit=None) as handle:
        head = handle.read(4096)
        encoding, skip = "utf-8", 0
        for bom, name in _BOMS:
            if head.startswith(bom):
                encoding, skip = name, len(bom)
                break
        else:
            if b"\x00" in head:
                raise InputFormatError(
                    f"{path}:1", "NUL bytes without a BOM: UTF-16 without BOM is not accepted"
                )
        handle.seek(skip)
        for number, line in text_lines(path, handle, encoding, max_line=MAX_LINE):
            if not line.endswith("\n"):
                raise InputFormatError(f"{path}:{number}", "file does not end with a line break (truncated?)")
            yield number, line[:-1].rstrip("\r")


def _logical_lines(path: Path, physical: Iterable[tuple[int, str]]) -> Iterator[tuple[int, str]]:
    """Unfolded lines with the number of their first physical line; comments dropped, blanks kept.

    Continuations are collected and joined once, so unfolding is linear in the value's length.
    """
    start = 0
    parts: list[str] = []
    size = 0
    in_comment = False
    for number, line in physical:
        if line.startswith(" "):
            if in_comment:
                continue
            if not parts:
                raise InputFormatError(f"{path}:{number}", "continuation line without a line to continue")
            size += len(line) - 1
            if size > MAX_LINE:
                raise InputFormatError(f"{path}:{start}", f"folded line longer than {MAX_LINE:,} characters")
            parts.append(line[1:])
            continue
        if parts:
            yield start, "".join(parts)
            parts = []
        in_comment = line.startswith("#")
        if in_comment:
            continue
        if not line:
            yield number, ""
        else:
            start, parts, size = number, [line], len(line)
    if parts:
        yield start, "".join(parts)


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


def read_ldif(
    path: Path, *, binary: Collection[str] = frozenset(), wanted: Collection[str] | None = None
) -> Iterator[LdifEntry]:
    """`parse_ldif` over a file, streamed: regular files only, decoded and parsed line by line."""
    return _parse(path, _streamed_lines(path), binary=binary, wanted=wanted)


def parse_ldif(
    path: Path, text: str, *, binary: Collection[str] = frozenset(), wanted: Collection[str] | None = None
) -> Iterator[LdifEntry]:
    """Yield the content records of one export, strictly; see the module docstring for the grammar.

    `binary` (lower-case attribute names) stay bytes; every other value is UTF-8 text.
    `wanted` (lower-case attribute names) keeps only the attributes a collector reads. Every line is
    still checked as LDIF (name, base64), but a value of an attribute auditor does not read is
    never decoded: a full `ldifde` export carries binary attributes (`logonHours`,
    `thumbnailPhoto`, `userCertificate`, ...) that are not text, and they must not stop an audit.
    """
    return _parse(path, _physical_lines(path, text), binary=binary, wanted=wanted)


def _parse(
    path: Path,
    physical: Iterable[tuple[int, str]],
    *,
    binary: Collection[str],
    wanted: Collection[str] | None,
) -> Iterator[LdifEntry]:
    entry: LdifEntry | None = None
    in_record = False
    seen_record = False
    for number, line in _logical_lines(path, physical):
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
        if isinstance(value, bytes) and base_name not in binary:
            value = _text_value(path, number, name, value)
        elif isinstance(value, str) and base_name in binary:
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
