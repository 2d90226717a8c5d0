"""`auditor verify` on a real history (passes of the sample through the CLI), tampered with the way
someone with write access to the database file would: sqlite3, no foreign keys enforced.

Exit codes: 0 intact, 1 a break (naming the first broken snapshot) or an expected digest that is
no longer there, 2 cannot run.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest

VERIFY = json.loads(resources.files("auditor").joinpath("schemas/verify.schema.json").read_text())
HISTORY = json.loads(resources.files("auditor").joinpath("schemas/history.schema.json").read_text())
REPORT = json.loads(resources.files("auditor").joinpath("schemas/report.schema.json").read_text())
SAMPLE = Path(str(resources.files("auditor.sample")))


def edit_target_address(org: Path) -> None:
    """An administrator's edit between two passes: Dave's targetAddress moves to the POP3 domain."""
    path = org / "contoso-domain.ldf"
    with path.open(encoding="utf-8", newline="") as handle:
        text = handle.read()
    start = text.index("dn: CN=Dave Dunn,OU=POP3,DC=contoso,DC=com")
    line = text.index("targetAddress:", start)
    end = text.index("\r\n", line)
    path.write_text(
        text[:line] + "targetAddress: SMTP:dave@pop.contoso.com" + text[end:], encoding="utf-8", newline=""
    )


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict[str, Any]]]:
    """Four passes through the CLI, once per module: the sample, an edit, then two passes with
    nothing changed. Returns the organization folder and its history, newest first."""
    org = tmp_path_factory.mktemp("verify") / "org"
    shutil.copytree(SAMPLE, org, ignore=shutil.ignore_patterns("*.py", "__pycache__", "README.md"))
    config = org / "auditor.toml"
    config.write_text(config.read_text(encoding="utf-8") + '\n[store]\nurl = "sqlite:///history.db"\n')
    env = {**os.environ, "OTEL_TRACES_EXPORTER": "none"}
    for number in range(4):
        if number == 1:
            edit_target_address(org)
        done = subprocess.run(
            [sys.executable, "-m", "auditor.cli", "check", "--once", "-c", str(config)],
            cwd=org,
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
            check=False,
        )
        assert done.returncode == 1, done.stderr  # the sample has findings on purpose
    listed = subprocess.run(
        [sys.executable, "-m", "auditor.cli", "history", "-c", str(config), "--format", "json"],
        cwd=org,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=True,
    )
    document = json.loads(listed.stdout)
    jsonschema.validate(document, HISTORY)
    return org, document["snapshots"]


@pytest.fixture
def history(base: tuple[Path, list[dict[str, Any]]], org: Path) -> list[dict[str, Any]]:
    """A private copy of the module's history in this test's `org` folder."""
    folder, snapshots = base
    shutil.rmtree(org)
    shutil.copytree(folder, org)
    return snapshots


def verify(auditor: Any, org: Path, *args: str, text: bool = False) -> tuple[int, dict[str, Any], str]:
    """(exit code, JSON document, and with `text` the text view, whose exit code must agree)."""
    config = str(org / "auditor.toml")
    as_json = auditor("verify", "-c", config, "--format", "json", *args, cwd=org)
    document: dict[str, Any] = json.loads(as_json.stdout)
    jsonschema.validate(document, VERIFY)
    if not text:
        return as_json.returncode, document, ""
    as_text = auditor("verify", "-c", config, *args, cwd=org)
    assert as_text.returncode == as_json.returncode
    return as_json.returncode, document, as_text.stdout


def tamper(org: Path, *statements: str) -> None:
    with sqlite3.connect(org / "history.db") as conn:  # foreign keys off: nothing cascades
        for statement in statements:
            conn.execute(statement)


def test_an_untouched_history_is_intact_and_history_shows_each_digest(
    auditor: Any, org: Path, history: list[dict[str, Any]]
) -> None:
    code, document, text = verify(auditor, org, text=True)
    assert code == 0 and document["intact"] and document["break"] is None
    assert (document["links"], document["snapshots"]) == (4, 4)
    assert document["head"]["digest"] == history[0]["digest"]
    assert len({s["digest"] for s in history}) == 4
    assert "intact" in text and history[0]["digest"] in text
    listed = auditor("history", "-c", str(org / "auditor.toml"), cwd=org).stdout
    assert all(s["digest"] in listed for s in history)


def test_a_hand_edited_object_version_row_is_exit_1_naming_the_first_snapshot_holding_it(
    auditor: Any, org: Path, history: list[dict[str, Any]]
) -> None:
    second = history[-2]["id"]
    tamper(
        org,
        "UPDATE object_version SET attributes = replace(attributes, 'dave@pop.contoso.com', 'dave@contoso.com') "
        "WHERE attributes LIKE '%dave@pop.contoso.com%'",
    )
    code, document, text = verify(auditor, org, text=True)
    assert code == 1 and document["break"]["snapshot"] == second
    assert [v["dn"] for v in document["break"]["modified_versions"]] == [
        "CN=Dave Dunn,OU=POP3,DC=contoso,DC=com"
    ]
    assert f"BROKEN at snapshot {second}" in text and "object_version row" in text


def test_a_deleted_finding_is_exit_1_naming_the_snapshot_its_row_opened_at(
    auditor: Any, org: Path, history: list[dict[str, Any]]
) -> None:
    third = history[1]["id"]
    with sqlite3.connect(org / "history.db") as conn:  # a finding the third pass held
        row, opened = conn.execute(
            "SELECT id, snapshot_id FROM finding WHERE snapshot_id <= ? "
            "AND (valid_to_snapshot IS NULL OR valid_to_snapshot > ?) ORDER BY id DESC LIMIT 1",
            (third, third),
        ).fetchone()
    tamper(org, f"DELETE FROM finding WHERE id = {row}")
    code, document, text = verify(auditor, org, text=True)
    assert code == 1 and document["break"]["snapshot"] == opened
    assert [d["part"] for d in document["break"]["differs"]] == ["findings"]
    assert f"BROKEN at snapshot {opened}" in text and "the findings" in text


def test_a_deleted_middle_snapshot_is_exit_1_naming_the_next_one_and_the_missing_one(
    auditor: Any, org: Path, history: list[dict[str, Any]]
) -> None:
    after = history[1]["id"]  # the third pass: nothing changed in it, so no object interval refers to it
    tamper(org, f"DELETE FROM snapshot WHERE id = {after}")
    code, document, _ = verify(auditor, org)
    assert code == 1
    assert document["break"]["snapshot"] == history[0]["id"]
    assert f"sealed after snapshot {after}, which is missing" in document["break"]["reason"]


def test_expect_catches_a_history_cut_short(auditor: Any, org: Path, history: list[dict[str, Any]]) -> None:
    published, before = history[0], history[1]
    assert verify(auditor, org, "--expect", published["digest"].upper())[0] == 0
    tamper(org, f"DELETE FROM snapshot WHERE id = {published['id']}")  # the newest pass, gone
    code, document, _ = verify(auditor, org)
    assert code == 0 and document["head"]["snapshot"] == before["id"]  # the chain alone cannot tell
    code, document, text = verify(auditor, org, "--expect", published["digest"], text=True)
    assert code == 1 and document["intact"] and document["expect"]["found"] is False
    assert "NOT in the chain" in text
    assert verify(auditor, org, "--expect", before["digest"])[0] == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [(("--expect", "abc"), "a digest is 64 hexadecimal digits")],
)
def test_what_cannot_run_is_exit_2_with_one_line(
    auditor: Any, org: Path, args: tuple[str, ...], message: str
) -> None:
    done = auditor("verify", "-c", str(org / "auditor.toml"), *args, cwd=org)
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1 and message in done.stderr


def test_an_unreadable_store_is_exit_2(auditor: Any, org: Path) -> None:
    config = org / "auditor.toml"
    config.write_text(config.read_text().replace("sqlite:///history.db", "sqlite:///missing/history.db"))
    done = auditor("verify", "-c", str(config), cwd=org)
    assert done.returncode == 2 and "does not exist" in done.stderr


def test_the_drift_report_carries_the_digest_and_the_trend(
    auditor: Any, org: Path, history: list[dict[str, Any]]
) -> None:
    done = auditor("report", "-c", str(org / "auditor.toml"), "--format", "json", cwd=org)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    jsonschema.validate(report, REPORT)
    assert report["chain"]["digest"] == history[0]["digest"]
    assert [p["id"] for p in report["trend"]["snapshots"]] == [s["id"] for s in reversed(history)]
    assert [sum(p["failing"].values()) for p in report["trend"]["snapshots"]] == [
        s["failing"] for s in reversed(history)
    ]
