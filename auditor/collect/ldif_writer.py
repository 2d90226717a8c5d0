"""Writing LDIF the way `ldifde` writes it: the one writer of the project.

`auditor export-ldif` (the live collector's objects as offline exports), the sample generator
(tools/make_sample.py), the pipeline benchmark and the lab's generated organizations all write
their LDIF here, so the files the tests and the benchmark feed to `parse_ldif` are the files
auditor itself writes: one format to keep right, not four.

The format, as `ldifde` writes it: `changetype: add` content records, a value that is binary
(`bytes`), not ASCII, or not an RFC 2849 SAFE-STRING goes out as `name:: base64`, long lines fold
with a one-space continuation, records end with a blank line, CRLF line ends. The fold width is
a parameter: 76 for what auditor writes; the bundled sample was generated at 78 and keeps it so its
committed files do not change (the reader accepts any width).
"""

from __future__ import annotations

import base64
from collections.abc import Collection, Iterable, Iterator, Mapping
from typing import IO

__all__ = [
    "EXPORT_WIDTH",
    "LdifValue",
    "directory_values",
    "fold",
    "ldif_bytes",
    "ldif_record",
    "value_line",
    "write_records",
]

# A value to write: bytes always go out as base64 (binary), text only when it is not LDIF-safe.
LdifValue = str | bytes
Record = tuple[str, Iterable[tuple[str, LdifValue]]]

EXPORT_WIDTH = 76


def _safe(text: str) -> bool:
    """RFC 2849 SAFE-STRING (printable ASCII, no leading space, colon or `<`), and no trailing
    space, which `ldifde` would lose."""
    if not text:
        return True
    if text[0] in " :<" or text[-1] == " ":
        return False
    return all(32 <= ord(char) < 127 for char in text)


def value_line(name: str, value: LdifValue) -> str:
    """`name: text` or `name:: base64`, unfolded."""
    if isinstance(value, str):
        if _safe(value):
            return f"{name}: {value}"
        value = value.encode("utf-8")
    return f"{name}:: {base64.b64encode(value).decode('ascii')}"


def fold(line: str, width: int = EXPORT_WIDTH) -> Iterator[str]:
    """The line cut at `width` characters; each continuation starts with one space."""
    yield line[:width]
    for start in range(width, len(line), width - 1):
        yield " " + line[start : start + width - 1]


def ldif_record(
    dn: str, values: Iterable[tuple[str, LdifValue]], *, width: int = EXPORT_WIDTH
) -> Iterator[str]:
    """One `changetype: add` record as lines without line ends, the closing blank line included."""
    yield from fold(value_line("dn", dn), width)
    yield "changetype: add"
    for name, value in values:
        yield from fold(value_line(name, value), width)
    yield ""


def write_records(handle: IO[str], records: Iterable[Record], *, width: int = EXPORT_WIDTH) -> int:
    """Write records to a text handle opened with `newline="\\r\\n"`; returns how many."""
    count = 0
    for dn, values in records:
        handle.write("\n".join(ldif_record(dn, values, width=width)) + "\n")
        count += 1
    return count


def ldif_bytes(records: Iterable[Record], *, width: int = EXPORT_WIDTH) -> bytes:
    """A whole export in memory, UTF-8 with CRLF line ends."""
    lines = [line for dn, values in records for line in ldif_record(dn, values, width=width)]
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


def directory_values(
    attributes: Mapping[str, Iterable[bytes]], binary: Collection[str]
) -> Iterator[tuple[str, LdifValue]]:
    """Raw values as a directory returns them, ready to write: an attribute in `binary` (lower-case
    names) stays bytes; any other value is text when it is UTF-8, else bytes (base64 either way)."""
    for name, values in attributes.items():
        is_binary = name.lower() in binary
        for raw in values:
            if is_binary:
                yield name, raw
                continue
            try:
                yield name, raw.decode("utf-8")
            except UnicodeDecodeError:
                yield name, raw
