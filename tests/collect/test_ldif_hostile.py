"""LDIF input that must neither crash nor stall an audit (issue 14).

A value folded at 76 columns (as `ldifde` writes long values) used to cost quadratic time; an
`objectGUID` written as text that is not a GUID used to end in an internal error with no file, no
line and no incomplete snapshot. The time bound here only guards against a hang (a quadratic join
of 8 MiB took 30 s); the figures themselves are in bench/bench_parsers.py.
"""

from __future__ import annotations

import base64
import json
import re
import sqlite3
from pathlib import Path

import pytest

from auditor.collect.ldif import parse_ldif
from auditor.errors import InputFormatError
from auditor.families.exchange.ldif import LdifSource
from tests.conftest import RunAuditor

PHOTO_BYTES = 6 * 1024 * 1024  # 8 MiB once base64-encoded
GUID = base64.b64encode(bytes(range(16))).decode("ascii")


def folded(name: str, value: str, width: int = 76) -> str:
    line = f"{name}:: {value}"
    parts = [line[:width]] + [" " + line[i : i + width - 1] for i in range(width, len(line), width - 1)]
    return "\n".join(parts) + "\n"


@pytest.mark.timeout(20)
def test_a_value_folded_at_76_columns_is_joined_in_linear_time(tmp_path: Path) -> None:
    photo = bytes(range(256)) * (PHOTO_BYTES // 256)
    encoded = base64.b64encode(photo).decode("ascii")
    text = (
        "dn: CN=A,DC=contoso,DC=com\nobjectClass: user\nobjectGUID:: "
        + GUID
        + "\n"
        + folded("thumbnailPhoto", encoded)
    )
    path = tmp_path / "photo.ldf"
    path.write_text(text, encoding="utf-8")

    (from_text,) = parse_ldif(path, text, binary={"thumbnailphoto"})
    (record,) = LdifSource([path]).collect()  # the file, streamed; the photo is not collected

    assert from_text.attributes["thumbnailPhoto"] == [photo]
    assert record.dn == "CN=A,DC=contoso,DC=com"


@pytest.mark.parametrize(
    ("value", "line", "problem"),
    [
        (
            "objectGUID: ------------------------------------",
            1,
            "entry CN=A,DC=contoso,DC=com: objectGUID is not",
        ),
        ("objectGUID: {zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz}", 1, "objectGUID is not a GUID"),
        ("objectGUID:: AAEC", 1, "objectGUID is not a GUID"),
        ("objectGUID: ５０ＧＵＩＤ", 4, "objectGUID: binary value must be base64"),
    ],
)
def test_an_object_guid_that_is_not_a_guid_names_file_and_line(
    tmp_path: Path, value: str, line: int, problem: str
) -> None:
    path = tmp_path / "domain.ldf"
    path.write_text(f"dn: CN=A,DC=contoso,DC=com\nobjectClass: user\ncn: A\n{value}\n", encoding="utf-8")
    with pytest.raises(InputFormatError) as caught:
        list(LdifSource([path]).collect())
    assert caught.value.location == f"{path}:{line}"
    assert problem in caught.value.problem


def test_a_bad_object_guid_in_a_pass_is_one_line_and_an_incomplete_snapshot(
    org: Path, auditor: RunAuditor
) -> None:
    domain = org / "contoso-domain.ldf"
    text = domain.read_text(encoding="utf-8")
    first = re.search(r"^objectGUID:: .*$", text, re.MULTILINE)
    assert first is not None
    domain.write_text(text.replace(first.group(), "objectGUID: " + "-" * 36, 1), encoding="utf-8")

    done = auditor("check", "--once", "-c", "auditor.toml", cwd=org)

    assert done.returncode == 2
    assert done.stderr.count("\n") == 1, done.stderr
    assert re.match(
        r"auditor: error: .*contoso-domain\.ldf:\d+: entry .*objectGUID is not a GUID", done.stderr
    )
    history = auditor("history", "-c", "auditor.toml", "--format", "json", cwd=org)
    (snapshot,) = json.loads(history.stdout)["snapshots"]
    assert snapshot["complete"] is False
    with sqlite3.connect(org / "history.db") as db:
        (error,) = db.execute("SELECT error FROM snapshot").fetchone()
    assert "objectGUID is not a GUID" in error
