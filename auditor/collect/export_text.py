"""The text of an exported file as Windows tools write it: encoding from the BOM, read in chunks.

Exports are large (a full `ldifde` export of 100,000 users is about 500 MiB), so the text is handed
on chunk by chunk and never held whole: `stream_export_text`. `decode_export_text` does the same
for bytes already in memory. Both name the line of an undecodable byte, so the admin can find the
damage.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from auditor.errors import InputFormatError

__all__ = ["CHUNK_BYTES", "decode_export_text", "stream_export_text"]

CHUNK_BYTES = 2**20
"""Bytes read at a time: large enough that per-chunk work is negligible, small beside the file."""

_HEAD_BYTES = 4096
_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


def _encoding(path: Path, head: bytes) -> tuple[str, int]:
    """(encoding, BOM length) for a file starting with `head`; UTF-8 when there is no BOM."""
    for bom, name in _BOMS:
        if head.startswith(bom):
            return name, len(bom)
    if b"\x00" in head[:_HEAD_BYTES]:
        raise InputFormatError(f"{path}:1", "NUL bytes without a BOM: UTF-16 without BOM is not accepted")
    return "utf-8", 0


def _undecodable(path: Path, encoding: str, lines_before: int, exc: UnicodeDecodeError) -> InputFormatError:
    prefix = exc.object[: exc.start]
    line = lines_before + bytes(prefix).decode(encoding, errors="replace").count("\n") + 1
    return InputFormatError(f"{path}:{line}", f"not valid {encoding.upper()} text ({exc.reason})")


def decode_export_text(path: Path, data: bytes) -> str:
    """The whole text of `data`, read from `path`, its encoding decided by the BOM."""
    encoding, skip = _encoding(path, data)
    try:
        return data[skip:].decode(encoding)
    except UnicodeDecodeError as exc:
        raise _undecodable(path, encoding, 0, exc) from None


def stream_export_text(path: Path, handle: BinaryIO, chunk_bytes: int = CHUNK_BYTES) -> Iterator[str]:
    """The text of an open file, decoded chunk by chunk (a character split between chunks is kept whole)."""
    try:
        data = handle.read(max(chunk_bytes, _HEAD_BYTES))  # the BOM and the NUL test need the head
    except OSError as exc:
        raise InputFormatError(str(path), f"cannot read the file ({exc.strerror or exc})") from None
    encoding, skip = _encoding(path, data)
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    data = data[skip:]
    lines_before = 0
    while True:
        final = not data
        try:
            text = decoder.decode(data, final=final)
        except UnicodeDecodeError as exc:
            raise _undecodable(path, encoding, lines_before, exc) from None
        if text:
            lines_before += text.count("\n")
            yield text
        if final:
            return
        try:
            data = handle.read(chunk_bytes)
        except OSError as exc:
            raise InputFormatError(str(path), f"cannot read the file ({exc.strerror or exc})") from None
