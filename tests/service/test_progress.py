"""Progress output: drawn on a terminal, silent on anything else, same API either way."""

from __future__ import annotations

import io
import os
import pty
import re
from pathlib import Path

import pytest

from auditor.progress import ProgressReporter, RichProgressReporter, progress_for

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def test_a_pipe_or_file_gets_a_silent_reporter_that_still_counts(tmp_path: Path) -> None:
    with (tmp_path / "log.txt").open("w") as stream:
        reporter = progress_for(stream)
        assert type(reporter) is ProgressReporter
        with reporter.source("directory") as tick:
            tick(100)
            tick(23)
        with reporter.source("pop3:POP01") as tick:
            tick(7)
    assert (tmp_path / "log.txt").read_text() == ""
    assert reporter.counts == {"directory": 123, "pop3:POP01": 7}


def test_a_string_buffer_is_not_a_terminal() -> None:
    stream = io.StringIO()
    reporter = progress_for(stream)
    with reporter.source("directory") as tick:
        tick(5)
    assert type(reporter) is ProgressReporter
    assert stream.getvalue() == ""


def read_all(fd: int) -> str:
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks).decode("utf-8", "replace")


def test_a_terminal_gets_one_line_per_source_with_its_final_count() -> None:
    controller, terminal = pty.openpty()
    try:
        with os.fdopen(terminal, "w", encoding="utf-8", closefd=True) as stream:
            reporter = progress_for(stream)
            assert isinstance(reporter, RichProgressReporter)
            with reporter.source("directory") as tick:
                for _ in range(12):
                    tick(100)
            with reporter.source("pop3:POP01") as tick:
                tick(40)
        os.set_blocking(controller, False)
        screen = ANSI.sub("", read_all(controller))
    finally:
        os.close(controller)
    assert reporter.counts == {"directory": 1200, "pop3:POP01": 40}
    assert re.search(r"directory\s+1,200 objects", screen), screen
    assert re.search(r"pop3:POP01\s+40 objects", screen), screen


def test_a_failing_source_is_marked_failed_and_the_error_goes_through() -> None:
    controller, terminal = pty.openpty()
    try:
        with os.fdopen(terminal, "w", encoding="utf-8", closefd=True) as stream:
            reporter = progress_for(stream)
            with pytest.raises(RuntimeError, match="connection lost"), reporter.source("directory") as tick:
                tick(300)
                raise RuntimeError("connection lost")
        os.set_blocking(controller, False)
        screen = ANSI.sub("", read_all(controller))
    finally:
        os.close(controller)
    assert re.search(r"directory \(failed\)\s+300 objects", screen), screen
