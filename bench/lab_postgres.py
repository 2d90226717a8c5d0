"""PostgreSQL for the benches: the lab cluster (deploy/lab/postgres.sh) or a server given by URL.

`postgres_server(url)` yields an admin URL: the given one, or that of a throw-away lab cluster on a
free loopback port, started and stopped by the project's own script (as the tests do).
`fresh_database(admin_url)` yields the URL of a database of its own, dropped afterwards: deleting
100,000s of rows from a shared database would cost minutes and colour the next figures.
`store_bytes` is what the store occupies on disk, tables, indexes and TOAST together.
"""

from __future__ import annotations

import shutil
import socket
import sqlite3
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

__all__ = ["fresh_database", "postgres_server", "sqlite_bytes", "store_bytes"]

REPO = Path(__file__).resolve().parents[1]
POSTGRES_SH = REPO / "deploy" / "lab" / "postgres.sh"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def postgres_server(url: str | None) -> Iterator[str]:
    """The admin URL of the server to use: `url` itself, or a lab cluster started for the bench."""
    if url:
        yield url
        return
    folder = Path(tempfile.mkdtemp(prefix="auditor-bench-pg-"))
    cluster = folder / "cluster"
    done = subprocess.run(
        ["sh", str(POSTGRES_SH), "start", str(cluster), str(_free_port())],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        shutil.rmtree(folder, ignore_errors=True)
        raise SystemExit(f"deploy/lab/postgres.sh start failed: {done.stderr.strip()}")
    try:
        yield done.stdout.strip()
    finally:
        subprocess.run(["sh", str(POSTGRES_SH), "stop", str(cluster)], capture_output=True, check=False)
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def fresh_database(admin_url: str, label: str) -> Iterator[str]:
    """A new, empty database on the server of `admin_url`, dropped when the block ends."""
    name = f"auditor_bench_{label}_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        try:
            yield sa.engine.make_url(admin_url).set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def sqlite_bytes(path: Path) -> int:
    """The database file after its write-ahead log is folded in (what a backup would copy)."""
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return sum(p.stat().st_size for p in (path, path.with_name(path.name + "-wal")) if p.exists())


def store_bytes(url: str) -> int:
    """Bytes the store's tables take, with their indexes and TOAST (PostgreSQL) or the file (SQLite)."""
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return sqlite_bytes(Path(parsed.database or ""))
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return int(
                conn.execute(
                    sa.text(
                        "SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
                        "JOIN pg_namespace n ON n.oid = c.relnamespace "
                        "WHERE n.nspname = 'public' AND c.relkind = 'r'"
                    )
                ).scalar_one()
            )
    finally:
        engine.dispose()
