"""Where a report may be written (`--output`), and writing it whole or not at all.

`--output` naming the history store overwrote the database and broke every later command; naming
an input (an LDIF export, a file of an export folder, the config) destroys the evidence the next
pass reads. `check_output_path` refuses, before anything runs, an output that is the store (or its
lock, WAL or journal), the config file, a secret or CA file, an LDIF export, or lies inside a POP3
export folder; paths are compared after resolving links, and hard links to the same file are
caught too.

`write_report` writes through a temporary file in the same folder, flushed to disk, then renamed
over the target: a reader (or the next cron run) sees the old report or the new one, never half
of one, and a full disk leaves the old report in place. Any failure is one `ReportError` line.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.exc import ArgumentError

from auditor.config import AuditorConfig
from auditor.errors import ReportError
from auditor.terminal import printable

__all__ = ["check_output_path", "protected_paths", "write_report"]

_STORE_COMPANIONS = ("", "-wal", "-shm", "-journal", ".lock")


def _store_file(url: str) -> Path | None:
    try:
        parsed = sa.engine.make_url(url)
    except (ArgumentError, ValueError):
        return None
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def protected_paths(config: AuditorConfig, *, exports: bool = True) -> Iterator[tuple[Path, str, bool]]:
    """(path, what it is, whether it is a folder whose whole content is protected).

    `exports=False` leaves out the LDIF exports and export folders (`auditor export-ldif` writes
    exactly those).
    """
    store = _store_file(config.store.url)
    if store is not None:
        for suffix in _STORE_COMPANIONS:
            yield store.with_name(store.name + suffix), "the history store", False
    if config.path is not None:
        yield config.path, "the config file", False
    directory = config.directory
    if directory is not None:
        for ldif in directory.ldif if exports else ():
            yield ldif, "an LDIF export read by the pass", False
        for secret in (directory.password_file, directory.ca_file):
            if secret is not None:
                yield secret, "a file the config names", False
    for secret in (config.report.smtp_password_file, config.report.ca_file):
        if secret is not None:
            yield secret, "a file the config names", False
    for server in config.pop3_server if exports else ():
        if server.export is not None:
            yield server.export, f"the export folder of POP3 server {server.name}", True


def _same(output: Path, other: Path) -> bool:
    try:
        return output.samefile(other)
    except (OSError, ValueError):
        return os.path.realpath(output) == os.path.realpath(other)


def _inside(output: Path, folder: Path) -> bool:
    real_output, real_folder = os.path.realpath(output), os.path.realpath(folder)
    return real_output == real_folder or real_output.startswith(real_folder.rstrip(os.sep) + os.sep)


def check_output_path(
    output: Path | None, config: AuditorConfig, *, option: str = "--output", exports: bool = True
) -> None:
    """Refuse an output that would overwrite the store, the config or an input (see module doc)."""
    if output is None:
        return
    candidates = list(protected_paths(config, exports=exports))
    for path, what, folder in candidates:
        if (folder and _inside(output, path)) or (not folder and _same(output, path)):
            raise ReportError(
                f"{option} {printable(output)}: refusing to write over {what} ({printable(path)})"
            )


def write_report(text: str, output: Path) -> None:
    """Write `text` to `output` whole (temporary file, fsync, rename) or raise one `ReportError`."""
    data = (text if text.endswith("\n") else text + "\n").encode("utf-8", "backslashreplace")
    where = printable(output)
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=f".{output.name}.", suffix=".tmp", dir=output.parent)
    except OSError as exc:
        raise ReportError(f"{where}: cannot write the report: {exc.strerror or exc}") from None
    try:
        umask = os.umask(0o022)
        os.umask(umask)
        os.fchmod(handle, 0o666 & ~umask)  # as a plain open() would have created it
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        if output.is_dir():
            raise ReportError(f"{where}: cannot write the report: it is a folder")
        Path(temporary).replace(output)
    except OSError as exc:
        with contextlib.suppress(OSError):
            Path(temporary).unlink()
        raise ReportError(f"{where}: cannot write the report: {exc.strerror or exc}") from None
    except BaseException:
        with contextlib.suppress(OSError):
            Path(temporary).unlink()
        raise
