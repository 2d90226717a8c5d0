"""A file that is there but cannot be read is not a missing file (issue 14).

A `MetaBase.xml` that was a folder or a symbolic-link loop used to be treated as absent: its
checks became `skipped` and an open relay passed with exit 0. Only a name that is not in the
folder is "not exported"; anything else at a known name must be a readable regular file.
Limits keep hostile files from exhausting the machine: a 1.5 GiB sparse "winpop" output used to
be read whole.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from auditor.errors import InputFormatError
from auditor.families.windows_pop3.source import Pop3ExportSource
from tests.conftest import RunAuditor

POP01 = Path(__file__).parent / "data" / "pop01"

pytestmark = pytest.mark.timeout(60)


def as_folder(path: Path) -> None:
    path.mkdir()


def as_link_loop(path: Path) -> None:
    path.symlink_to(path.name)


def as_dangling_link(path: Path) -> None:
    path.symlink_to(path.with_name("gone.xml"))


def as_fifo(path: Path) -> None:
    os.mkfifo(path)


KINDS: dict[str, tuple[Callable[[Path], None], str]] = {
    "folder": (as_folder, "is a folder, not a regular file"),
    "link loop": (as_link_loop, "symbolic link loop"),
    "dangling link": (as_dangling_link, "No such file or directory"),
    "fifo": (as_fifo, "is a FIFO (named pipe), not a regular file"),
}


@pytest.mark.parametrize("name", ["MetaBase.xml", "pop3.reg", "winpop-auth.txt", "winpop-list.txt"])
@pytest.mark.parametrize("kind", list(KINDS))
def test_a_known_name_that_is_not_a_readable_file_stops_the_pass(
    tmp_path: Path, name: str, kind: str
) -> None:
    folder = tmp_path / "pop01"
    shutil.copytree(POP01, folder)
    (folder / name).unlink()
    make, problem = KINDS[kind]
    make(folder / name)
    source = Pop3ExportSource(name="POP01", folder=folder)
    with pytest.raises(InputFormatError) as caught:
        list(source.collect())
    assert caught.value.location == str(folder / name)
    assert problem in caught.value.problem
    assert source.info.complete is False


def test_only_a_name_that_is_not_there_is_a_missing_file(tmp_path: Path) -> None:
    folder = tmp_path / "pop01"
    shutil.copytree(POP01, folder)
    (folder / "MetaBase.xml").unlink()
    (folder / "notes").mkdir()  # an unknown name stays ignored, whatever it is
    source = Pop3ExportSource(name="POP01", folder=folder)
    (server, *_) = list(source.collect())
    assert "MetaBase.xml" not in server.attributes["exportFiles"]
    assert source.info.complete is True


def test_a_sparse_winpop_file_of_1_5_gib_is_refused_unread(tmp_path: Path) -> None:
    folder = tmp_path / "pop01"
    shutil.copytree(POP01, folder)
    big = folder / "winpop-list-pop.contoso.com.txt"
    with big.open("r+b") as handle:
        handle.truncate(1536 * 1024 * 1024)
    with pytest.raises(InputFormatError) as caught:
        list(Pop3ExportSource(name="POP01", folder=folder).collect())
    assert caught.value.location == str(big)
    assert caught.value.problem == "is 1.5 GiB, over the 64 MiB limit for this kind of file"


def test_a_winpop_line_longer_than_any_name_is_refused_naming_it(tmp_path: Path) -> None:
    folder = tmp_path / "pop01"
    shutil.copytree(POP01, folder)
    big = folder / "winpop-list-pop.contoso.com.txt"
    big.write_bytes(
        b"List of mailboxes: pop.contoso.com\r\r\n" + b"a" * 100_000 + b"\r\r\n1 mailbox(es)\r\r\n"
    )
    with pytest.raises(InputFormatError) as caught:
        list(Pop3ExportSource(name="POP01", folder=folder).collect())
    assert caught.value.location == f"{big}:2"
    assert "longer than 1,024 characters" in caught.value.problem


def test_a_folder_named_metabase_fails_the_pass_instead_of_skipping_its_checks(
    org: Path, auditor: RunAuditor
) -> None:
    metabase = org / "pop01" / "MetaBase.xml"
    metabase.unlink()
    metabase.mkdir()

    done = auditor("check", "--once", "-c", "auditor.toml", "--format", "json", cwd=org)

    assert done.returncode == 2, done.stdout
    assert done.stderr == f"auditor: error: {metabase}: is a folder, not a regular file\n"
    history = auditor("history", "-c", "auditor.toml", "--format", "json", cwd=org)
    assert [s["complete"] for s in json.loads(history.stdout)["snapshots"]] == [False]
