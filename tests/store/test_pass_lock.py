"""One pass at a time: a second, real process cannot take the store lock while the first holds it."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from auditor.errors import LockTimeoutError
from auditor.store import HistoryStore

CHILD = """
import sys, time
from auditor.errors import LockTimeoutError
from auditor.store import HistoryStore

store = HistoryStore(sys.argv[1])
started = time.monotonic()
try:
    with store.pass_lock(0.5):
        print("acquired", flush=True)
except LockTimeoutError as exc:
    print(f"timeout after {time.monotonic() - started:.2f}s: {exc}", flush=True)
sys.stdin.readline()
with store.pass_lock(10):
    print("acquired", flush=True)
"""


def test_second_process_times_out_while_the_first_holds_the_lock(store: HistoryStore) -> None:
    with store.pass_lock(timeout=1):
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, store.url],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert child.stdout is not None and child.stdin is not None
        first = child.stdout.readline().strip()
    child.stdin.write("go\n")
    child.stdin.flush()
    second = child.stdout.readline().strip()
    _, errors = child.communicate(timeout=30)

    assert first.startswith("timeout after "), errors
    waited = float(first.split()[2].rstrip("s:"))
    assert 0.5 <= waited < 5
    assert "another auditor pass holds the store lock (" in first
    assert second == "acquired", errors
    assert child.returncode == 0


def test_lock_is_free_again_after_a_pass_and_times_out_in_process(store: HistoryStore) -> None:
    with store.pass_lock(timeout=1):
        pass
    with store.pass_lock(timeout=1), HistoryStore(store.url) as other:
        started = time.monotonic()
        with (
            pytest.raises(LockTimeoutError, match="another auditor pass holds the store lock"),
            other.pass_lock(0.3),
        ):
            pass
        assert time.monotonic() - started >= 0.3
