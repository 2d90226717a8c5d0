"""The README's generated tables ("What it audits" and the check catalogue) must be current."""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.catalogue import CATALOGUE, PRINCIPLES, Block, extract_block, generated_blocks
from auditor.registry import discover_principles

README = Path(__file__).resolve().parent.parent / "README.md"


@pytest.mark.parametrize("block", [PRINCIPLES, CATALOGUE], ids=lambda b: b.name)
def test_readme_block_matches_the_registry(block: Block) -> None:
    found = extract_block(README.read_text(encoding="utf-8"), block)
    assert found is not None, f"README has no {block.name} markers"
    assert found == generated_blocks()[block].strip(), (
        f"README {block.name} table is stale: run python -m auditor.catalogue --write README.md"
    )


def test_the_principles_table_lists_every_principle_with_its_checks() -> None:
    table = generated_blocks()[PRINCIPLES]
    assert "| P3 | the POP3 mail domain differs from Exchange's (else: mail loops) |" in table
    assert len(table.splitlines()) == 2 + len(discover_principles())
    assert "COEX-404" in table.split("| P3 |")[1].split("\n")[0]
    assert "COEX-404" in table.split("| P4 |")[1].split("\n")[0]
