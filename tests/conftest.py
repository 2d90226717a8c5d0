"""Fixtures shared by every test folder: the real `auditor` console entry point, the sample copy."""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Callable
from importlib import resources
from pathlib import Path

import pytest

RunAuditor = Callable[..., subprocess.CompletedProcess[str]]


def run_auditor(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run `auditor ARGS...` in a subprocess, as cron would; returns the completed process."""
    return subprocess.run(
        [sys.executable, "-m", "auditor.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "OTEL_TRACES_EXPORTER": "none", **(env or {})},
    )


@pytest.fixture
def auditor() -> RunAuditor:
    """Run `auditor ARGS...` in a subprocess, as cron would; returns the completed process."""
    return run_auditor


@pytest.fixture(scope="session")
def auditor_cli() -> RunAuditor:
    """The same runner for module- and session-scoped fixtures (runs shared by several tests)."""
    return run_auditor


SAMPLE = Path(str(resources.files("auditor.sample")))


@pytest.fixture
def org(tmp_path: Path) -> Path:
    """A writable copy of the sample organization whose config keeps its store inside the copy."""
    target = tmp_path / "org"
    shutil.copytree(SAMPLE, target, ignore=shutil.ignore_patterns("*.py", "__pycache__", "README.md"))
    config = target / "auditor.toml"
    config.write_text(
        config.read_text(encoding="utf-8") + '\n[store]\nurl = "sqlite:///history.db"\n', encoding="utf-8"
    )
    return target


def bulk_users(count: int, *, start: int = 0) -> str:
    """LDIF entries of `count` plain users under OU=Bulk, to make a pass of the sample big and slow."""
    entries = []
    for number in range(start, start + count):
        guid = base64.b64encode(uuid.UUID(int=0xB0B0 << 64 | number).bytes_le).decode("ascii")
        entries.append(
            f"dn: CN=Bulk User {number:06d},OU=Bulk,DC=contoso,DC=com\n"
            "changetype: add\n"
            "objectClass: top\nobjectClass: person\nobjectClass: organizationalPerson\nobjectClass: user\n"
            f"cn: Bulk User {number:06d}\nsAMAccountName: bulk{number:06d}\n"
            f"userPrincipalName: bulk{number:06d}@contoso.com\n"
            f"objectGUID:: {guid}\n\n"
        )
    return "".join(entries)


@pytest.fixture
def grow_domain() -> Callable[[Path, int], None]:
    """Append `count` bulk users to the domain export of an `org` copy (see `bulk_users`)."""

    def grow(org: Path, count: int) -> None:
        domain = org / "contoso-domain.ldf"
        text = domain.read_text(encoding="utf-8")
        domain.write_text(text.rstrip("\r\n") + "\n\n" + bulk_users(count), encoding="utf-8")

    return grow
