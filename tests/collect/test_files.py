"""The shared reader (auditor.collect.files): regular files only, within limits, one line otherwise.

Every case here is a real object on the file system (FIFO, device, folder, link loop, sparse
file); none may hang, exhaust memory or raise anything but the family's error naming the path.
"""

from __future__ import annotations

import codecs
import os
from pathlib import Path

import pytest

from auditor.collect.files import MiB, exists_at, open_regular, read_regular, text_lines
from auditor.collect.ldif import read_ldif
from auditor.errors import ConfigError, InputFormatError
from auditor.families.exchange.ldif import LdifSource
from tests.collect.test_ldif_hostile import folded

pytestmark = pytest.mark.timeout(60)


def refused(path: Path) -> InputFormatError:
    with pytest.raises(InputFormatError) as caught:
        read_regular(path, limit=MiB)
    assert caught.value.location == str(path)
    return caught.value


def test_a_fifo_without_a_writer_is_refused_at_once(tmp_path: Path) -> None:
    fifo = tmp_path / "export.ldf"
    os.mkfifo(fifo)
    assert "FIFO" in refused(fifo).problem
    with pytest.raises(InputFormatError, match="not a regular file"):
        list(LdifSource([fifo]).collect())


def test_a_device_is_refused_before_a_byte_is_read() -> None:
    assert "character device" in refused(Path("/dev/zero")).problem
    with pytest.raises(InputFormatError, match=r"^/dev/zero: is a character device, not a regular file"):
        list(read_ldif(Path("/dev/zero")))


def test_a_folder_is_refused(tmp_path: Path) -> None:
    assert "is a folder" in refused(tmp_path).problem


def test_a_symbolic_link_loop_and_a_dangling_link_exist_but_cannot_be_read(tmp_path: Path) -> None:
    loop = tmp_path / "loop.xml"
    loop.symlink_to(loop)
    dangling = tmp_path / "dangling.xml"
    dangling.symlink_to(tmp_path / "nowhere")
    assert "symbolic link loop" in refused(loop).problem
    assert "No such file" in refused(dangling).problem
    assert exists_at(loop) and exists_at(dangling)
    assert not exists_at(tmp_path / "nowhere")


def test_a_file_over_the_limit_is_refused_unread(tmp_path: Path) -> None:
    sparse = tmp_path / "winpop-list-big.txt"
    with sparse.open("wb") as handle:
        handle.truncate(3 * 1024 * MiB)  # 3 GiB that take no disk space
    error = refused(sparse)
    assert error.problem == "is 3 GiB, over the 1 MiB limit for this kind of file"


def test_a_link_to_a_regular_file_is_read(tmp_path: Path) -> None:
    target = tmp_path / "real.txt"
    target.write_bytes(b"content\n")
    link = tmp_path / "link.txt"
    link.symlink_to(target)
    assert read_regular(link, limit=MiB) == b"content\n"


def test_other_error_types_can_be_asked_for(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"is a folder"):
        read_regular(tmp_path, limit=MiB, error=lambda where, problem: ConfigError(f"{where}: {problem}"))


def test_text_lines_name_the_line_of_an_undecodable_byte(tmp_path: Path) -> None:
    path = tmp_path / "t.txt"
    path.write_bytes(b"one\n" * 5000 + b"caf\xe9\n" + b"two\n")
    with open_regular(path, limit=MiB) as handle, pytest.raises(InputFormatError) as caught:
        list(text_lines(path, handle, "utf-8", max_line=100))
    assert caught.value.location == f"{path}:5001"
    assert "not valid UTF-8 text" in caught.value.problem


def test_text_lines_refuse_an_overlong_line_without_reading_it_whole(tmp_path: Path) -> None:
    path = tmp_path / "t.txt"
    path.write_bytes(b"short\n" + b"x" * (4 * MiB) + b"\n")
    with open_regular(path, limit=None) as handle, pytest.raises(InputFormatError) as caught:
        list(text_lines(path, handle, "utf-8", max_line=1024))
    assert caught.value.location == f"{path}:2"
    assert "longer than 1,024 characters" in caught.value.problem


def test_utf16_is_decoded_incrementally_with_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "t.txt"
    path.write_bytes("a\r\nb\r\n".encode("utf-16-le") + b"\x00\xd8" + "\r\n".encode("utf-16-le"))
    with open_regular(path, limit=MiB) as handle:
        lines = text_lines(path, handle, "utf-16-le", max_line=100)
        assert next(lines) == (1, "a\r\n")
        assert next(lines) == (2, "b\r\n")
        with pytest.raises(InputFormatError) as caught:
            next(lines)
    assert caught.value.location == f"{path}:3"
    assert codecs.lookup("utf-16-le").name.upper() in caught.value.problem


def test_a_folded_line_longer_than_the_limit_is_refused_naming_its_first_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("auditor.collect.ldif.MAX_LINE", 1000)
    text = "dn: CN=A,DC=contoso,DC=com\nobjectClass: user\n" + folded("description", "x" * 2000)
    path = tmp_path / "long.ldf"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputFormatError) as caught:
        list(read_ldif(path))
    assert caught.value.location == f"{path}:3"
    assert "longer than 1,000 characters" in caught.value.problem
