"""Shared fixtures for the end-to-end CLI tests: a writable copy of the sample organization."""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path

import pytest

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
