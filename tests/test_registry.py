"""The check catalogue's meta-test: every check is discoverable, documented, tested; bad plugins fail fast."""

from __future__ import annotations

import re
import types
from collections.abc import Iterator
from pathlib import Path

import pytest

from auditor.model import Snapshot
from auditor.registry import (
    BUILTIN_MODULES,
    CHECK_ID,
    PRINCIPLES,
    CheckSpec,
    Finding,
    RegistryError,
    Severity,
    check,
    discover_checks,
)

EXPECTED_IDS = {
    "COEX-101",
    "COEX-201",
    "COEX-202",
    "COEX-301",
    "COEX-302",
    "COEX-303",
    "COEX-304",
    "COEX-401",
    "COEX-402",
    "COEX-403",
    "COEX-404",
    "COEX-501",
    "COEX-502",
    "COEX-601",
    "COEX-701",
    "COEX-702",
    "COEX-901",
    "COEX-902",
    "COEX-903",
}
TESTS = Path(__file__).parent


def test_discovery_finds_every_catalogue_check() -> None:
    assert {spec.id for spec in discover_checks()} == EXPECTED_IDS


def test_builtin_modules_are_the_entry_points() -> None:
    modules = {spec.module for spec in discover_checks()}
    assert modules == set(BUILTIN_MODULES)


@pytest.mark.parametrize("spec", discover_checks(), ids=lambda s: s.id)
def test_every_check_is_complete(spec: CheckSpec) -> None:
    assert CHECK_ID.match(spec.id)
    assert spec.title.strip() and spec.rationale and spec.remediation.strip()
    assert set(spec.principles) <= PRINCIPLES and spec.principles
    assert isinstance(spec.severity, Severity)
    doc = spec.doc()
    assert doc is not None and doc.startswith(f"# {spec.id} ")
    assert "Example finding" in doc and "How to fix" in doc


@pytest.mark.parametrize("spec", discover_checks(), ids=lambda s: s.id)
def test_every_check_is_named_by_a_test(spec: CheckSpec) -> None:
    naming = [
        path
        for path in TESTS.rglob("test_*.py")
        if path.name != Path(__file__).name and re.search(rf"\b{spec.id}\b", path.read_text("utf-8"))
    ]
    assert naming, f"no test file under tests/ names {spec.id}"


def _module(name: str, *specs: object) -> types.ModuleType:
    module = types.ModuleType(name)
    for index, spec in enumerate(specs):
        setattr(module, f"spec_{index}", spec)
    return module


def _findings(snap: Snapshot) -> Iterator[Finding]:
    """Documented throwaway check."""
    yield Finding.passed("x")


def _spec(
    check_id: str = "COEX-101", *, principles: tuple[str, ...] = ("P1",), doc: bool = True
) -> CheckSpec:
    def function(snap: Snapshot) -> Iterator[Finding]:
        yield from _findings(snap)

    if doc:
        function.__doc__ = "Why: a throwaway check for the registry tests."
    return check(check_id, title="Throwaway", severity=Severity.LOW, principles=principles)(function)


def test_discovery_of_a_valid_throwaway_module() -> None:
    assert [s.id for s in discover_checks([_module("plugin", _spec())])] == ["COEX-101"]


def test_duplicate_id_fails_fast() -> None:
    with pytest.raises(RegistryError, match="COEX-101 is defined twice"):
        discover_checks([_module("one", _spec()), _module("two", _spec())])


def test_missing_docstring_fails_fast() -> None:
    with pytest.raises(RegistryError, match="no docstring"):
        discover_checks([_module("plugin", _spec(doc=False))])


def test_missing_doc_page_fails_fast() -> None:
    with pytest.raises(RegistryError, match=r"no doc page checks/docs/COEX-999\.md"):
        discover_checks([_module("plugin", _spec("COEX-999"))])


def test_unknown_principle_fails_fast() -> None:
    with pytest.raises(RegistryError, match="P8"):
        discover_checks([_module("plugin", _spec(principles=("P8",)))])


def test_malformed_id_fails_fast() -> None:
    with pytest.raises(RegistryError, match="not of the form"):
        discover_checks([_module("plugin", _spec("coex-1"))])
