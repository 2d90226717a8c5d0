"""The README's check catalogue is generated from the registry and must be current."""

from __future__ import annotations

from pathlib import Path

from auditor.catalogue import END, START, catalogue_markdown
from auditor.registry import discover_checks

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_catalogue_matches_the_registry() -> None:
    text = README.read_text(encoding="utf-8")
    block = text.split(START, 1)[1].split(END, 1)[0].strip()
    expected = catalogue_markdown(discover_checks()).strip()
    assert block == expected, "README catalogue is stale: run python -m auditor.catalogue --write README.md"
