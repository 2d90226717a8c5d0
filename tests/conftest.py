"""Fixtures shared by every test folder: the real `auditor` console entry point."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

RunAuditor = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def auditor() -> RunAuditor:
    """Run `auditor ARGS...` in a subprocess, as cron would; returns the completed process."""

    def run(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "auditor.cli", *args],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=300,
            env={**os.environ, "OTEL_TRACES_EXPORTER": "none", **(env or {})},
        )

    return run
