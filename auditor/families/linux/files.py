"""Reading an exported file safely: regular files only, bounded size, UTF-8 text, numbered lines.

The export folder may come from another machine (or over SSH from a host we do not control), so a
file in it is untrusted: a FIFO would block `open()` forever, `/dev/zero` never ends, a symlink
loop or a folder where a file should be must each be one clear error: `auditor.collect.files`
(the reader every family shares) refuses anything that is not a regular file and any file over
`MAX_FILE_BYTES`, before reading it.
"""

from __future__ import annotations

from pathlib import Path

from auditor.collect.files import read_regular
from auditor.errors import InputFormatError

__all__ = ["MAX_FILE_BYTES", "read_export_text", "text_lines"]

# 64 MiB: `postmap -s` of a large virtual map (a few hundred thousand lines) stays far below it.
MAX_FILE_BYTES = 64 * 1024 * 1024


def read_export_text(path: Path, *, limit: int = MAX_FILE_BYTES) -> str:
    """The file's text (UTF-8, an optional BOM dropped); `InputFormatError` naming the file otherwise.

    Reading goes through the one safe reader every family uses (`auditor.collect.files`).
    """
    data = read_regular(path, limit=limit)
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputFormatError(f"{path}:{line}", f"not UTF-8 text ({exc.reason})") from None


def text_lines(text: str) -> list[tuple[int, str]]:
    """Every line with its 1-based number, CR LF accepted, trailing blanks removed (empty lines kept)."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [(number, raw.rstrip(" \t\r")) for number, raw in enumerate(lines, start=1)]
