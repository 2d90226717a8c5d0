"""The cache key of a lab DC folder under .lab/: one definition for the tests and the benchmarks.

A cached folder (`samba-base-<key>`, `samba-org-<key>`, `samba-bench-<N>-<key>`) is reused as long
as the key is the same, so the key must change whenever what built the folder changed: the lab
scripts, the loader, the LDIF files loaded (names and bytes), and the folder it was copied from.
tests/ldap/conftest.py and bench/bench_ldap.py both name their folders with it, so a base DC built
by either is reused by the other. Lab only: nothing here is part of the installed package.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

__all__ = ["cache_key"]


def cache_key(paths: Iterable[Path], extra: str = "") -> str:
    """12 hex digits over `extra` (e.g. the parent folder's name) and each file's name and bytes."""
    digest = hashlib.sha256(extra.encode())
    for path in paths:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]
