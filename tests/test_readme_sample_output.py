"""The README shows what `make sample` prints: keep it true (times aside)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

README = Path(__file__).resolve().parents[1] / "README.md"
_TIME = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC")


def _readme_block() -> str:
    section = README.read_text(encoding="utf-8").split("<!-- sample-output:start -->", 1)[1]
    return section.split("```text\n", 1)[1].split("```", 1)[0]


def test_readme_shows_the_sample_findings_as_make_sample_prints_them(auditor: Any, tmp_path: Path) -> None:
    done = auditor("check", "--once", "--sample", cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    assert _TIME.sub("TIME", done.stdout) == _TIME.sub("TIME", _readme_block())
