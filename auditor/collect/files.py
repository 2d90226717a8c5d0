"""Reading input files: regular files only, within a size limit, one clear line otherwise.

Every family reads its exported files through here, because the ways a path can fail are the
same for all of them and each one must end as one line naming the file, never a hang or an
exhausted machine:

* a FIFO without a writer would block `open()` forever: files are opened non-blocking and
  anything that is not a regular file (FIFO, device such as `/dev/zero`, socket, folder) is
  refused after `fstat` of the opened descriptor, so a swap between check and open cannot
  sneak one in;
* a symbolic-link loop, a dangling link or a permission problem is "cannot open", which is not
  the same as "does not exist" (`exists_at` tells the two apart for optional files);
* a file larger than its kind's limit (a sparse 1.5 GiB "winpop" output) is refused before a
  byte is read, and reading stops at the limit should the file grow meanwhile;
* text is decoded incrementally, line by line (`text_lines`), with a limit on the length of one
  line; a byte sequence that is not valid in the file's encoding is reported with its line.

    with open_regular(path, limit=64 * MiB) as handle: ...    # binary, buffered
    data = read_regular(path, limit=16 * MiB)                  # the whole file
    for number, line in text_lines(path, handle, "utf-8", max_line=4096): ...

Errors are `InputFormatError(location, problem)` unless the caller passes another `error`
factory with the same two arguments (the configuration uses `ConfigError`).
"""

from __future__ import annotations

import codecs
import errno
import io
import os
import stat
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from auditor.errors import AuditorError, InputFormatError

__all__ = ["ErrorFactory", "GiB", "KiB", "MiB", "exists_at", "open_regular", "read_regular", "text_lines"]

KiB = 1024
MiB = 1024 * KiB
GiB = 1024 * MiB

ErrorFactory = Callable[[str, str], AuditorError]
"""Builds the error for (location, problem): `InputFormatError` by default."""

_MARK = "\udfff"  # what an undecodable byte sequence becomes; no valid decoding yields a lone surrogate
_HANDLER = "auditor-undecodable"
_last_reason = threading.local()


def _mark_undecodable(exc: UnicodeError) -> tuple[str, int]:
    if isinstance(exc, UnicodeDecodeError):
        _last_reason.text = exc.reason
        return _MARK, exc.end
    raise exc


codecs.register_error(_HANDLER, _mark_undecodable)

_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def _size(count: int) -> str:
    for unit, name in ((GiB, "GiB"), (MiB, "MiB"), (KiB, "KiB")):
        if count >= unit:
            return f"{count / unit:.1f} {name}".replace(".0 ", " ")
    return f"{count} bytes"


def exists_at(path: Path) -> bool:
    """Whether anything at all is at `path` (a dangling link or a link loop counts): only a name
    that is not there is an absent file; anything else must be readable or is an error."""
    try:
        os.lstat(path)
    except FileNotFoundError:
        return False
    except (OSError, ValueError):
        return True
    return True


def open_regular(path: Path, *, limit: int | None, error: ErrorFactory = InputFormatError) -> BinaryIO:
    """Open a regular file for reading (binary); anything else, or a file over `limit` bytes, is an error."""
    where = str(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | getattr(os, "O_CLOEXEC", 0))
    except ValueError:  # an embedded NUL byte
        raise error(where, "the path contains a NUL byte") from None
    except OSError as exc:
        reason = "a symbolic link loop" if exc.errno == errno.ELOOP else (exc.strerror or str(exc))
        raise error(where, f"cannot read the file ({reason})") from None
    try:
        info = os.fstat(fd)
        for test, kind in _KINDS:
            if test(info.st_mode):
                raise error(where, f"is {kind}, not a regular file")
        if not stat.S_ISREG(info.st_mode):
            raise error(where, "is not a regular file")
        if limit is not None and info.st_size > limit:
            raise error(
                where, f"is {_size(info.st_size)}, over the {_size(limit)} limit for this kind of file"
            )
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_regular(path: Path, *, limit: int, error: ErrorFactory = InputFormatError) -> bytes:
    """The whole content of a regular file of at most `limit` bytes."""
    with open_regular(path, limit=limit, error=error) as handle:
        try:
            data = handle.read(limit + 1)
        except OSError as exc:
            raise error(str(path), f"cannot read the file ({exc.strerror or exc})") from None
    if len(data) > limit:
        raise error(str(path), f"grew past the {_size(limit)} limit while being read")
    return data


def text_lines(
    path: Path,
    handle: BinaryIO,
    encoding: str,
    *,
    max_line: int,
    limit: int | None = None,
    first_line: int = 1,
    error: ErrorFactory = InputFormatError,
) -> Iterator[tuple[int, str]]:
    """(line number, line) of a binary stream decoded incrementally; each line keeps its `\\n`.

    Memory is bounded by `max_line` characters whatever the size of the file; a longer line, or a
    byte sequence that is not valid `encoding`, is an error naming the line. With `limit`, reading
    stops once more than that many bytes were read (a file that grows while it is read).
    """
    reader = io.TextIOWrapper(handle, encoding=encoding, errors=_HANDLER, newline="\n")
    number = first_line - 1
    try:
        while True:
            line = reader.readline(max_line + 1)
            if not line:
                return
            number += 1
            if len(line) > max_line and not line.endswith("\n"):
                raise error(f"{path}:{number}", f"line longer than {max_line:,} characters")
            if _MARK in line:
                reason = getattr(_last_reason, "text", "undecodable bytes")
                raise error(f"{path}:{number}", f"not valid {encoding.upper()} text ({reason})")
            if limit is not None and number % 1024 == 0 and handle.tell() > limit:
                raise error(f"{path}:{number}", f"grew past the {_size(limit)} limit while being read")
            yield number, line
    except OSError as exc:
        raise error(f"{path}:{number + 1}", f"cannot read the file ({exc.strerror or exc})") from None
    finally:
        reader.detach()
