"""Samba's fixed LDAP ports (389, 636, ...) on this machine: who may use them, for tests and benchmarks.

Every checkout on a machine shares one lock file, since the ports are machine-wide; a process in a
network namespace of its own (`unshare --net`) has ports of its own and needs no lock.
tests/ldap/conftest.py, bench/bench_ldap.py and bench/bench_incremental.py share this definition.
Lab only: nothing here is part of the installed package.
"""

from __future__ import annotations

import contextlib
from contextlib import AbstractContextManager
from pathlib import Path

from filelock import FileLock

__all__ = ["SAMBA_PORTS_LOCK", "ports_lock", "private_network"]

SAMBA_PORTS_LOCK = "/tmp/auditor-samba-ports.lock"


def private_network() -> bool:
    """Whether this process runs in a network namespace other than the machine's (`unshare --net`):
    then the DC's fixed ports are its alone and need no machine-wide lock."""
    try:
        return Path("/proc/self/ns/net").readlink() != Path("/proc/1/ns/net").readlink()
    except OSError:
        return False


def ports_lock(timeout: float = 1800) -> AbstractContextManager[object]:
    """The machine-wide lock on the ports, or nothing to hold in a namespace of one's own."""
    return contextlib.nullcontext() if private_network() else FileLock(SAMBA_PORTS_LOCK, timeout=timeout)
