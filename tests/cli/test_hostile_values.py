"""Hostile values on a terminal: every text output and stderr line shows control characters as escapes.

`auditor trace $'\\e[2J\\e]0;pwn\\a@x'` used to clear the screen and set the window title; a DN
with an ESC reached the terminal raw; a file name that is not UTF-8 made the error printer fail
itself. Every text renderer, stderr line and log line now goes through auditor.terminal.
"""

from __future__ import annotations

import base64
import io
import logging
import os
import re
import shutil
from pathlib import Path

from auditor.telemetry import TelemetrySettings, setup_telemetry
from tests.conftest import RunAuditor

RAW_CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202e]")
HOSTILE = "\x1b[2J\x1b]0;pwn\x07\x9b31m\u202e"


def assert_no_raw_control(*texts: str) -> None:
    for text in texts:
        found = RAW_CONTROL.search(text)
        assert found is None, f"raw {found.group()!r} in {text!r}"


def test_trace_shows_a_hostile_address_escaped(org: Path, auditor: RunAuditor) -> None:
    assert auditor("check", "--once", "-c", "auditor.toml", cwd=org).returncode == 1
    done = auditor("trace", "\x1b[2J\x1b]0;pwn\x07@x", "-c", "auditor.toml", cwd=org)
    assert done.returncode == 0, done.stderr
    assert_no_raw_control(done.stdout, done.stderr)
    assert done.stdout.startswith("\\x1b[2J\\x1b]0;pwn\\x07@x entering at EX01")


def hostile_user(org: Path) -> None:
    """A copy of Alice Adams whose DN carries terminal escapes (same addresses: COEX-902 fails)."""
    domain = org / "contoso-domain.ldf"
    text = domain.read_text(encoding="utf-8")
    start = text.index("dn: CN=Alice Adams,OU=Staff,DC=contoso,DC=com")
    end = text.index("\n\r\n", start) if "\n\r\n" in text[start:] else text.index("\n\n", start)
    entry = text[start:end]
    dn = f"CN=Eve {HOSTILE},OU=Staff,DC=contoso,DC=com"
    entry = entry.replace(
        "dn: CN=Alice Adams,OU=Staff,DC=contoso,DC=com", "dn:: " + base64.b64encode(dn.encode()).decode()
    )
    entry = re.sub(r"objectGUID:: \S+", "objectGUID:: " + base64.b64encode(b"E" * 16).decode(), entry)
    domain.write_text(text.rstrip("\r\n") + "\n\n" + entry.strip("\r\n") + "\n", encoding="utf-8")


def test_a_hostile_dn_is_escaped_in_every_text_output(org: Path, auditor: RunAuditor) -> None:
    assert auditor("check", "--once", "-c", "auditor.toml", cwd=org).returncode == 1
    hostile_user(org)

    outputs = [auditor("check", "--once", "-c", "auditor.toml", cwd=org)]
    outputs += [auditor(command, "-c", "auditor.toml", cwd=org) for command in ("diff", "report", "history")]

    assert [done.returncode for done in outputs] == [1, 0, 0, 0], [done.stderr for done in outputs]
    for done in outputs:
        assert_no_raw_control(done.stdout, done.stderr)
    assert "CN=Eve \\x1b[2J\\x1b]0;pwn\\x07\\x9b31m\\u202e,OU=Staff" in outputs[0].stdout
    assert "CN=Eve \\x1b[2J" in outputs[1].stdout  # the added object in the diff


def test_an_error_naming_a_hostile_path_is_escaped(org: Path, auditor: RunAuditor) -> None:
    config = org / "auditor.toml"
    config.write_text(config.read_text().replace('export = "pop01"', 'export = "pop\\u001b]0;pwn\\u0007"'))
    done = auditor("check", "--once", "-c", "auditor.toml", cwd=org)
    assert done.returncode == 2
    assert_no_raw_control(done.stderr)
    assert done.stderr == (
        f"auditor: error: {org}/pop\\x1b]0;pwn\\x07: cannot read the export folder (No such file or directory)\n"
    )


def test_file_and_folder_names_that_are_not_utf8_are_named_not_fatal(
    org: Path, tmp_path: Path, auditor: RunAuditor
) -> None:
    folder = Path(os.fsdecode(bytes(tmp_path) + b"/caf\xe9-\xff"))
    shutil.move(org, folder)
    (folder / "pop01" / "MetaBase.xml").unlink()
    (folder / "pop01" / "MetaBase.xml").mkdir()

    failed = auditor("check", "--once", "-c", "auditor.toml", cwd=folder)
    assert failed.returncode == 2
    assert (
        failed.stderr
        == f"auditor: error: {tmp_path}/caf\\xe9-\\xff/pop01/MetaBase.xml: is a folder, not a regular file\n"
    )

    (folder / "pop01" / "MetaBase.xml").rmdir()
    passed = auditor("check", "--once", "-c", "auditor.toml", cwd=folder)
    assert passed.returncode == 1, passed.stderr
    history = auditor("history", "-c", "auditor.toml", cwd=folder)
    assert history.returncode == 0, history.stderr
    assert [line.split()[3] for line in history.stdout.splitlines()[1:]] == ["yes", "NO"]


def test_log_lines_are_one_line_escaped_and_scrubbed() -> None:
    from auditor.secrets import forget_secrets, register_secret

    stream = io.StringIO()
    telemetry = setup_telemetry(TelemetrySettings(exporter="none"), stream=stream)
    register_secret("hunter2-Secret")
    try:
        logging.getLogger("auditor.test").warning(
            "server said %s", "bad bind hunter2-Secret\n2026-01-01 INFO forged line \x1b[2J"
        )
    finally:
        telemetry.shutdown()
        forget_secrets()
    (line,) = stream.getvalue().splitlines()
    assert line.endswith("server said bad bind ***\\x0a2026-01-01 INFO forged line \\x1b[2J")
