"""Bad configuration, options and store URLs: one line naming the file, option or value, exit 2.

Each of these was an "internal error" (issue 14): a config nested deeper than TOML readers manage
(RecursionError), durations and snapshot references beyond the calendar (OverflowError), a NUL
byte in a configured path (ValueError), `sqlite://history.db` (ArgumentError), a PostgreSQL URL
without its driver (ModuleNotFoundError); a config file that is a FIFO hung.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import RunAuditor

pytestmark = pytest.mark.timeout(120)


def one_line(done: subprocess.CompletedProcess[str], fragment: str) -> None:
    assert done.returncode == 2, done.stdout
    assert done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith("auditor: error: "), done.stderr
    assert "internal error" not in done.stderr, done.stderr
    assert fragment in done.stderr, done.stderr


def set_store(org: Path, url: str) -> None:
    config = org / "auditor.toml"
    config.write_text(config.read_text().replace('url = "sqlite:///history.db"', f'url = "{url}"'))


def test_a_config_nested_deeper_than_toml_readers_manage(org: Path, auditor: RunAuditor) -> None:
    (org / "deep.toml").write_text("organization = " + "[" * 5000 + "]" * 5000 + "\n")
    one_line(auditor("history", "-c", "deep.toml", cwd=org), "deep.toml: invalid TOML: nested deeper")


def test_a_nul_byte_in_a_configured_path(org: Path, auditor: RunAuditor) -> None:
    config = org / "auditor.toml"
    config.write_text(config.read_text().replace('export = "pop01"', 'export = "pop\\u000001"'))
    one_line(
        auditor("check", "--once", "-c", "auditor.toml", cwd=org),
        "auditor.toml: pop3_server[0].export: a NUL byte is not allowed in a value",
    )


OPTIONS = [
    (["report", "--since", "999999999w"], "invalid duration '999999999w': at most 100 years"),
    (["report", "--since", "9" * 40 + "d"], "invalid duration"),
    (["diff", "--from", "99999999999999999999999"], "no snapshot 99999999999999999999999"),
    (["diff", "--from", "²"], "cannot read snapshot reference '²'"),
    (["diff", "--from", "0001-01-01T00:00:00+14:00"], "outside the calendar"),
    (["diff", "--from", "1", "--to", "9999-12-31T23:00-14:00"], "outside the calendar"),
    (["diff", "--from", "0001-01-01"], "no complete snapshot at or before"),
]


def test_options_beyond_the_calendar(org: Path, auditor: RunAuditor) -> None:
    for _ in range(2):
        assert auditor("check", "--once", "-c", "auditor.toml", cwd=org).returncode == 1
    for args, fragment in OPTIONS:
        one_line(auditor(*args, "-c", "auditor.toml", cwd=org), fragment)
    # The edges themselves still resolve.
    done = auditor("diff", "-c", "auditor.toml", "--from", "1", "--to", "9999-12-31", cwd=org)
    assert done.returncode == 0, done.stderr


def test_a_sqlite_url_with_two_slashes_says_the_form_it_needs(org: Path, auditor: RunAuditor) -> None:
    set_store(org, "sqlite://history.db")
    one_line(
        auditor("history", "-c", "auditor.toml", cwd=org),
        "history store sqlite://history.db: a SQLite URL has no host part; write sqlite:///relative/path.db "
        "or sqlite:////absolute/path.db",
    )


def test_a_postgresql_url_without_its_driver_names_the_extra_to_install(org: Path) -> None:
    set_store(org, "postgresql+psycopg://auditor:Pw-77a1@db.contoso.test/auditor")
    program = (
        "import sys\n"
        "sys.modules['psycopg'] = None  # as if auditor[postgresql] were not installed\n"
        "from auditor.cli import main\n"
        "sys.argv = ['auditor', 'history', '-c', 'auditor.toml']\n"
        "main()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", program], cwd=org, capture_output=True, text=True, timeout=60
    )
    one_line(
        done,
        "history store postgresql+psycopg://auditor@db.contoso.test/auditor: the PostgreSQL driver "
        "(psycopg 3) is not installed: pip install 'auditor[postgresql]'",
    )
    assert "Pw-77a1" not in done.stderr


@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_a_config_file_that_is_not_a_regular_file_is_refused_at_once(
    org: Path, auditor: RunAuditor, kind: str
) -> None:
    if kind == "fifo":
        os.mkfifo(org / "pipe.toml")
        name, fragment = "pipe.toml", "pipe.toml: is a FIFO (named pipe), not a regular file"
    else:
        name, fragment = "/dev/zero", "/dev/zero: is a character device, not a regular file"
    one_line(auditor("history", "-c", name, cwd=org), fragment)


def test_a_secret_file_that_is_a_fifo_is_refused_at_once(org: Path, auditor: RunAuditor) -> None:
    os.mkfifo(org / "bind-password")
    config = org / "auditor.toml"
    text = config.read_text().replace(
        'ldif = ["contoso-domain.ldf", "contoso-configuration.ldf"]',
        'url = "ldaps://dc1.contoso.test"\nbind_dn = "CN=svc,DC=contoso,DC=test"\npassword_file = "bind-password"',
    )
    config.write_text(text)
    one_line(
        auditor("check", "--once", "-c", "auditor.toml", cwd=org),
        f"directory.password_file: {org / 'bind-password'}: is a FIFO (named pipe), not a regular file",
    )
