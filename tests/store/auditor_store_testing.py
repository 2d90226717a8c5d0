"""Shared by tests/store and tests/diff: the PostgreSQL lab server, store URLs and small builders.

The server is started once per test session (by deploy/lab/postgres.sh, the same script a developer
uses) whichever directory asks first, and every PostgreSQL test gets a fresh database in it. If the
server cannot start, PostgreSQL tests fail loudly; they are skipped only when AUDITOR_SKIP_POSTGRES=1.
"""

from __future__ import annotations

import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa

from auditor.records import ObjectKind, ObjectRecord, SourceInfo
from auditor.registry import Severity, Status
from auditor.results import CheckResult, FindingRecord, RunResult, SnapshotInfo
from auditor.store import HistoryStore

REPO = Path(__file__).resolve().parents[2]
POSTGRES_SH = REPO / "deploy" / "lab" / "postgres.sh"
T0 = datetime(2026, 11, 1, 7, 0, tzinfo=UTC)


class _PostgresServer:
    """One lab cluster for the whole session; `database()` hands out a fresh database per test."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="auditor-pg-"))
        self.port = _free_port()
        self.counter = itertools.count(1)
        done = subprocess.run(
            [str(POSTGRES_SH), "start", str(self.folder / "cluster"), str(self.port)],
            capture_output=True,
            text=True,
            timeout=180,
        )
        if done.returncode != 0:
            shutil.rmtree(self.folder, ignore_errors=True)
            raise RuntimeError(f"deploy/lab/postgres.sh start failed: {done.stderr.strip()}")
        self.base_url = done.stdout.strip().rsplit("/", 1)[0]

    def database(self) -> str:
        name = f"test_{os.getpid()}_{next(self.counter)}"
        with psycopg.connect(
            f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres", autocommit=True
        ) as c:
            c.execute(f'CREATE DATABASE "{name}"')
        return f"{self.base_url}/{name}"

    def stop(self) -> None:
        subprocess.run(
            [str(POSTGRES_SH), "stop", str(self.folder / "cluster")], capture_output=True, timeout=60
        )
        shutil.rmtree(self.folder, ignore_errors=True)


_SERVER: _PostgresServer | None = None
_FAILURE: str | None = None


def postgres_server(config: pytest.Config) -> _PostgresServer:
    """The session's server, started on first use; fails (never skips) unless explicitly disabled."""
    global _SERVER, _FAILURE
    if os.environ.get("AUDITOR_SKIP_POSTGRES") == "1":
        pytest.skip("AUDITOR_SKIP_POSTGRES=1")
    if _FAILURE is not None:
        pytest.fail(_FAILURE, pytrace=False)
    if _SERVER is None:
        try:
            _SERVER = _PostgresServer()
        except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
            _FAILURE = f"the PostgreSQL lab server did not start: {exc}"
            pytest.fail(_FAILURE, pytrace=False)
        server = _SERVER

        def _stop() -> None:
            global _SERVER
            server.stop()
            _SERVER = None

        config.add_cleanup(_stop)
    return _SERVER


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def make_store_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'history.db'}"
    return postgres_server(request.config).database()


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return make_store_url(request.param, request, tmp_path)


@pytest.fixture
def store(store_url: str) -> Iterator[HistoryStore]:
    with HistoryStore(store_url) as opened:
        yield opened


# -- builders -----------------------------------------------------------------------------------


def user(key: str, dn: str, **attributes: tuple[str, ...] | str) -> ObjectRecord:
    """A user record; a str value is one value, a tuple several."""
    values = {name: (value,) if isinstance(value, str) else value for name, value in attributes.items()}
    return ObjectRecord(ObjectKind.USER, key, dn, values)


def directory_source(objects: int, *, complete: bool = True, error: str | None = None) -> SourceInfo:
    return SourceInfo("directory", "ldif", complete, objects, 0.25, error, {"domain", "configuration"})


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def save(store: HistoryStore, records: list[ObjectRecord], hours: float) -> SnapshotInfo:
    return store.save_snapshot(records, [directory_source(len(records))], at(hours), organization="Contoso")


def finding(check: str, subject: str, status: Status = Status.FAIL) -> FindingRecord:
    return FindingRecord(check, status, Severity.HIGH, subject, f"{check} fails for {subject}")


def execute(store: HistoryStore, statement: str, **params: object) -> None:
    """One SQL statement straight to the store's database, as someone editing it by hand would."""
    with store._engine.begin() as conn:
        conn.execute(sa.text(statement), params)


def broken_at(store: HistoryStore) -> tuple[int, list[str]]:
    """The snapshot whose link `verify_chain` finds broken, and the parts that differ there."""
    broken = store.verify_chain().broken
    assert broken is not None, "the chain verifies"
    return broken.snapshot_id, [d["part"] for d in broken.differs]


def checked(store: HistoryStore, snapshot: SnapshotInfo, findings: list[FindingRecord]) -> RunResult:
    """Annotate and save a run with these findings, as the pipeline does; returns the run."""
    failing_checks = {f.check for f in findings}
    checks = [
        CheckResult(
            check_id,
            f"title of {check_id}",
            Severity.HIGH,
            ("P3",),
            Status.FAIL if check_id in failing_checks else Status.PASS,
            failed=sum(f.check == check_id for f in findings),
            passed=1,
        )
        for check_id in ("COEX-301", "COEX-302")
    ]
    run = RunResult(snapshot=snapshot, checks=checks, findings=findings)
    store.annotate_findings(run)
    store.save_results(snapshot.id, run)
    return run
