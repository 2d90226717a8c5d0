"""One pass at a time: a file lock beside a SQLite database, a PostgreSQL advisory lock otherwise.

An in-memory SQLite store (tests) is held with a thread lock, since only one process can see it.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from contextlib import contextmanager

import filelock
import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from auditor.errors import LockTimeoutError, StoreError
from auditor.store.engine import StoreBase


def _advisory_key(scope: str) -> int:
    digest = hashlib.sha256(f"auditor-pass:{scope}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class PassLockMixin(StoreBase):
    """`pass_lock()`: serializes passes across processes sharing one store (and scope)."""

    @contextmanager
    def pass_lock(self, timeout: float) -> Iterator[None]:
        """Hold the store for one pass; another process waits up to `timeout` seconds, then fails."""
        if self.dialect == "postgresql":
            with self._pg_lock(timeout):
                yield
        elif self._lock_path is not None:
            lock = filelock.FileLock(str(self._lock_path))
            try:
                lock.acquire(timeout=timeout)
            except filelock.Timeout:
                raise LockTimeoutError(
                    f"another auditor pass holds the store lock ({self._lock_path}; waited {timeout:g}s)"
                ) from None
            except OSError as exc:
                raise StoreError(f"cannot create the store lock {self._lock_path}: {exc.strerror}") from exc
            try:
                yield
            finally:
                lock.release()
        else:
            if not self._memory_lock.acquire(timeout=timeout):
                raise LockTimeoutError(
                    f"another auditor pass holds the store lock (in-memory store; waited {timeout:g}s)"
                )
            try:
                yield
            finally:
                self._memory_lock.release()

    @contextmanager
    def _pg_lock(self, timeout: float) -> Iterator[None]:
        key = _advisory_key(self.scope)
        deadline = time.monotonic() + timeout
        with self._guard("take the pass lock"):
            conn = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            while True:
                with self._guard("take the pass lock"):
                    got = conn.execute(sa.text("SELECT pg_try_advisory_lock(:key)"), {"key": key}).scalar()
                if got:
                    break
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise LockTimeoutError(
                        f"another auditor pass holds the store lock (PostgreSQL advisory lock of scope "
                        f"{self.scope!r} on {self.safe_url}; waited {timeout:g}s)"
                    )
                time.sleep(min(0.1, remaining))
        except BaseException:
            conn.close()
            raise
        try:
            yield
        finally:
            try:
                conn.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": key})
            except SQLAlchemyError:
                conn.invalidate()  # closing the session releases the lock anyway
            conn.close()
