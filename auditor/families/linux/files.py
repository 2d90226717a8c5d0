"""Reading an exported file safely: regular files only, bounded size, UTF-8 text, numbered lines.

The export folder may come from another machine (or over SSH from a host we do not control), so a
file in it is untrusted: a FIFO would block `open()` forever, `/dev/zero` never ends, a symlink
loop or a folder where a file should be must each be one clear error. We therefore open with
`O_NONBLOCK | O_NOCTTY` (a FIFO opens at once), refuse anything `fstat` does not call a regular
file, and read at most `MAX_FILE_BYTES` + 1 bytes so an oversized file is refused, never slurped.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from auditor.errors import InputFormatError

__all__ = ["MAX_FILE_BYTES", "read_export_text", "text_lines"]

# 64 MiB: `postmap -s` of a large virtual map (a few hundred thousand lines) stays far below it.
MAX_FILE_BYTES = 64 * 1024 * 1024


def read_export_text(path: Path, *, limit: int = MAX_FILE_BYTES) -> str:
    """The file's text (UTF-8, an optional BOM dropped); `InputFormatError` naming the file otherwise."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise InputFormatError(str(path), f"cannot open the file ({exc.strerror or exc})") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise InputFormatError(str(path), "not a regular file (a folder, device, FIFO or socket)")
        if info.st_size > limit:
            raise InputFormatError(str(path), f"larger than the {limit} byte limit ({info.st_size} bytes)")
        chunks: list[bytes] = []
        size = 0
        while True:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            size += len(chunk)
            if size > limit:
                raise InputFormatError(str(path), f"larger than the {limit} byte limit")
            chunks.append(chunk)
    except OSError as exc:
        raise InputFormatError(str(path), f"cannot read the file ({exc.strerror or exc})") from None
    finally:
        os.close(fd)
    data = b"".join(chunks)
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
