"""Reading an exported file: regular files only, a size limit, UTF-8 with the line of a bad byte."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from auditor.errors import InputFormatError
from auditor.families.linux.files import read_export_text, text_lines


def test_a_regular_file_is_read_with_a_bom_dropped(tmp_path: Path) -> None:
    path = tmp_path / "postconf-n.txt"
    path.write_bytes(b"\xef\xbb\xbfrelayhost = [ex16]\r\n")
    text = read_export_text(path)
    assert text_lines(text) == [(1, "relayhost = [ex16]")]


def test_a_fifo_is_refused_at_once_never_a_hang(tmp_path: Path) -> None:
    fifo = tmp_path / "postconf-x.txt"
    os.mkfifo(fifo)
    outcome: list[BaseException] = []

    def read() -> None:
        try:
            read_export_text(fifo)
        except InputFormatError as exc:
            outcome.append(exc)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(timeout=5)
    assert not reader.is_alive(), "reading a FIFO blocked"
    assert len(outcome) == 1
    assert "not a regular file" in str(outcome[0])


@pytest.mark.parametrize("kind", ["folder", "dev-zero", "loop", "missing"])
def test_what_is_not_a_readable_regular_file_is_one_clear_error(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "doveconf-n.txt"
    if kind == "folder":
        path.mkdir()
    elif kind == "dev-zero":
        path.symlink_to("/dev/zero")
    elif kind == "loop":
        path.symlink_to(tmp_path / "other")
        (tmp_path / "other").symlink_to(path)
    with pytest.raises(InputFormatError) as caught:
        read_export_text(path)
    assert caught.value.location == str(path)
    assert "\n" not in str(caught.value)


def test_a_file_over_the_limit_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "maps.txt"
    path.write_bytes(b"a\tb\n" * 100)
    with pytest.raises(InputFormatError, match="limit"):
        read_export_text(path, limit=399)
    assert read_export_text(path, limit=400).count("\n") == 100


def test_bytes_that_are_not_utf8_name_their_line(tmp_path: Path) -> None:
    path = tmp_path / "postconf-n.txt"
    path.write_bytes(b"a = b\nc = d\ne = \xff\n")
    with pytest.raises(InputFormatError) as caught:
        read_export_text(path)
    assert caught.value.location == f"{path}:3"
