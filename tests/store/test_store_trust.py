"""Only an auditor store of a known schema, undamaged, is written to (issue 14).

A SQLite file of another program used to get auditor's tables written into it; a store of a newer
auditor or of another Alembic project ended in an internal error from Alembic; a damaged store
(a malformed page, a `taken_at` that is not a date, attributes that are not JSON, a dropped
table) ended in internal errors, and `check` went on to build on it. Each is now one line naming
the store and what is wrong, and `check` writes nothing at all.
"""

from __future__ import annotations

import hashlib
import random
import re
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from auditor.errors import StoreError
from auditor.store import HistoryStore
from tests.conftest import RunAuditor
from tests.store.auditor_store_testing import postgres_server


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def foreign_sqlite(path: Path) -> None:
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)")
        db.execute("INSERT INTO invoices (total) VALUES (12.5)")
    db.close()


def test_a_sqlite_file_of_another_program_is_refused_and_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "accounts.db"
    foreign_sqlite(path)
    before = digest(path)
    with pytest.raises(StoreError) as caught:
        HistoryStore(f"sqlite:///{path}")
    assert str(caught.value) == (
        f"history store sqlite:///{path}: not an auditor history store (it holds other tables: "
        "invoices); give auditor an empty database or a new file"
    )
    assert digest(path) == before
    with sqlite3.connect(path) as db:
        assert [row[0] for row in db.execute("SELECT name FROM sqlite_master")] == ["invoices"]
    db.close()


def test_an_empty_file_becomes_a_store(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    path.touch()
    with HistoryStore(f"sqlite:///{path}") as store:
        assert store.snapshots() == []


@pytest.mark.postgres
def test_a_postgresql_database_of_another_program_is_refused(request: pytest.FixtureRequest) -> None:
    url = postgres_server(request.config).database()
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        conn.execute("CREATE TABLE invoices (id serial PRIMARY KEY)")
    with pytest.raises(StoreError, match=r"not an auditor history store \(it holds other tables: invoices\)"):
        HistoryStore(url)
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        tables = conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'").fetchall()
    assert tables == [("invoices",)]


def test_another_alembic_project_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)")
        db.execute("INSERT INTO alembic_version VALUES ('3f2a9c1b7d4e')")
        db.execute("CREATE TABLE users (id INTEGER PRIMARY KEY)")
    db.close()
    with pytest.raises(StoreError) as caught:
        HistoryStore(f"sqlite:///{path}")
    assert "Alembic revision 3f2a9c1b7d4e belongs to another program" in str(caught.value)


def test_a_store_of_a_newer_auditor_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'history.db'}"
    HistoryStore(url).close()
    with sqlite3.connect(tmp_path / "history.db") as db:
        db.execute("UPDATE alembic_version SET version_num = '0042'")
    db.close()
    with pytest.raises(StoreError) as caught:
        HistoryStore(url)
    assert str(caught.value) == (
        f"history store {url}: written by a newer auditor (schema revision 0042 is unknown to this "
        "version); upgrade auditor to read it"
    )


# -- damage, through the CLI --------------------------------------------------------------------


def sql(statement: str) -> Callable[[Path], None]:
    def damage(path: Path) -> None:
        with sqlite3.connect(path) as db:
            db.execute(statement)
        db.close()

    return damage


def flip_bits(path: Path) -> None:
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    data = bytearray(path.read_bytes())
    rng = random.Random(14)
    for _ in range(64):
        data[rng.randrange(4096, len(data))] ^= 0xFF
    path.write_bytes(bytes(data))


DAMAGE: dict[str, tuple[Callable[[Path], None], str]] = {
    "taken_at not a date": (
        sql("UPDATE snapshot SET taken_at = 'last tuesday'"),
        r"damaged: (snapshot row 1: its taken_at value cannot be read|a stored value cannot be read)",
    ),
    "attributes not JSON": (
        sql("UPDATE object_version SET attributes = '{\"cn\": [' WHERE id = 3"),
        r"damaged: object_version row 3: its attributes value cannot be read",
    ),
    "attributes not an object": (
        sql("UPDATE object_version SET attributes = ' [1]' WHERE id = 3"),
        r"damaged: object_version row 3: its attributes value cannot be read",
    ),
    "table dropped": (sql("DROP TABLE finding"), r"damaged: table finding is missing"),
    "bit flips": (flip_bits, r"damaged: |cannot (open|read)"),
}


@pytest.fixture(scope="module")
def checked_org(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample audited once, kept pristine: each test damages its own copy."""
    import os
    import subprocess
    import sys

    from tests.conftest import SAMPLE

    target = tmp_path_factory.mktemp("checked") / "org"
    shutil.copytree(SAMPLE, target, ignore=shutil.ignore_patterns("*.py", "__pycache__", "README.md"))
    config = target / "auditor.toml"
    config.write_text(config.read_text() + '\n[store]\nurl = "sqlite:///history.db"\n')
    done = subprocess.run(
        [sys.executable, "-m", "auditor.cli", "check", "--once", "-c", "auditor.toml"],
        cwd=target,
        capture_output=True,
        text=True,
        env={**os.environ, "OTEL_TRACES_EXPORTER": "none"},
        timeout=300,
    )
    assert done.returncode == 1, done.stderr
    return target


@pytest.mark.parametrize("kind", list(DAMAGE))
def test_a_damaged_store_is_one_line_and_check_stores_nothing(
    checked_org: Path, tmp_path: Path, auditor: RunAuditor, kind: str
) -> None:
    org = tmp_path / "org"
    shutil.copytree(checked_org, org)
    damage, expected = DAMAGE[kind]
    damage(org / "history.db")
    files = {p.name: digest(p) for p in org.glob("history.db*")}

    done = auditor("check", "--once", "-c", "auditor.toml", cwd=org)

    assert done.returncode == 2, done.stdout
    line = f"auditor: error: history store sqlite:///{org / 'history.db'}: "
    assert done.stderr.startswith(line) and done.stderr.count("\n") == 1, done.stderr
    assert re.search(expected, done.stderr), done.stderr
    assert {p.name: digest(p) for p in org.glob("history.db*")} == files
    for command in ("history", "diff"):
        read = auditor(command, "-c", "auditor.toml", cwd=org)
        assert "internal error" not in read.stderr and "Traceback" not in read.stderr, read.stderr
        assert read.returncode in (0, 2)
        if read.returncode == 2:
            assert read.stderr.count("\n") == 1, read.stderr


@pytest.mark.parametrize(
    ("stored", "damaged"),
    [
        ('\n\t {"cn": ["x"]}', False),  # white space before a JSON object: still an object
        ('{"cn": ["x"]} ', False),
        ("[]", True),  # valid JSON, not an object
        ('"{}"', True),
        ("{", True),
    ],
)
def test_the_probe_tells_a_json_object_from_other_json(tmp_path: Path, stored: str, damaged: bool) -> None:
    from tests.store.auditor_store_testing import at, directory_source, user

    url = f"sqlite:///{tmp_path / 'h.db'}"
    with HistoryStore(url) as store:
        store.save_snapshot([user("guid-1", "CN=a,DC=contoso,DC=com", cn="a")], [directory_source(1)], at(0))
    db = sqlite3.connect(tmp_path / "h.db")
    with db:
        db.execute("UPDATE object_version SET attributes = ?", (stored,))
    db.close()
    with HistoryStore(url) as store:
        if damaged:
            with pytest.raises(StoreError, match="object_version row 1: its attributes value cannot be read"):
                store.check_health()
        else:
            store.check_health()
