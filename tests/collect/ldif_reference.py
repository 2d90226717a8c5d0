"""The LDIF grammar as it read exports before the fast path (commit 64a2fdb): the oracle for it.

`test_ldif_fast_path.py` parses generated exports with both and requires the same entries, in
the same order, and the same error at the same line. Kept verbatim (decoding aside) so that the
comparison means "nothing accepted, refused or read differently".
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Collection, Iterator
from pathlib import Path

from auditor.collect import RawValue
from auditor.collect.ldif import LdifEntry
from auditor.errors import InputFormatError

_ATTRIBUTE = re.compile(r"^(?:[A-Za-z][A-Za-z0-9-]*|\d+(?:\.\d+)+)(?:;[A-Za-z0-9=*-]+)*$")


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
