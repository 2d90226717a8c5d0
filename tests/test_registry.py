"""The check catalogue's meta-test: every check is discoverable, documented, tested; bad plugins fail fast.

Nothing here copies what the registry knows (no list of IDs or modules): the built-ins are what
auditor's installed entry points name, checked against the files of `checks/`. Malformed plugins
are real modules written into a temporary folder and imported, with their doc pages and
`principles.toml` beside them, the way a third party's installed plugin is found.
"""

from __future__ import annotations

import importlib
import re
import shutil
import subprocess
import sys
import sysconfig
import textwrap
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from types import ModuleType

import pytest

from auditor.plugin_files import page_fix, page_title
from auditor.registry import (
    CHECK_ID,
    ENTRY_POINT_GROUP,
    REMEDIATION_MAX,
    CheckSpec,
    RegistryError,
    Severity,
    discover_checks,
    discover_principles,
    load_plugins,
)

TESTS = Path(__file__).parent
REPOSITORY = TESTS.parent
CHECKS = REPOSITORY / "checks"
BUILTINS = discover_checks()


def test_auditor_entry_points_are_exactly_the_check_modules_of_checks() -> None:
    entry_points = metadata.distribution("auditor").entry_points.select(group=ENTRY_POINT_GROUP)
    named = {entry_point.value for entry_point in entry_points}
    files = {f"auditor.checks.{path.stem}" for path in CHECKS.glob("*.py") if not path.stem.startswith("_")}
    assert named == files
    assert {spec.module for spec in BUILTINS} == files


def test_every_doc_page_belongs_to_a_check_and_every_check_has_one() -> None:
    pages = {path.stem for path in (CHECKS / "docs").glob("*.md")}
    assert pages == {spec.id for spec in BUILTINS}


def test_principles_come_from_the_data_file_and_every_one_is_used() -> None:
    principles = discover_principles()
    assert [p.id for p in principles][:1] == ["P1"]
    assert all(p.origin == "auditor.checks/principles.toml" and p.holds for p in principles)
    used = {principle for spec in BUILTINS for principle in spec.principles}
    assert used == {p.id for p in principles}


@pytest.mark.parametrize("spec", BUILTINS, ids=lambda s: s.id)
def test_every_check_is_complete(spec: CheckSpec) -> None:
    assert CHECK_ID.match(spec.id)
    assert spec.rationale and spec.remediation and len(spec.remediation) <= REMEDIATION_MAX
    assert isinstance(spec.severity, Severity) and spec.principles
    doc = spec.doc()
    assert doc is not None
    assert page_title(doc, spec.id) == spec.title
    assert page_fix(doc) == spec.remediation
    assert "## Example finding" in doc and "## Why it matters" in doc


@pytest.mark.parametrize("spec", BUILTINS, ids=lambda s: s.id)
def test_the_page_names_the_checks_principles(spec: CheckSpec) -> None:
    line = next(line for line in spec.doc().splitlines() if line.startswith("**"))  # type: ignore[union-attr]
    named = line.split("**")[1]
    if named == "All principles":
        assert spec.principles == ("all",)
    else:
        assert tuple(re.findall(r"P\d", named)) == spec.principles


@pytest.mark.parametrize("spec", BUILTINS, ids=lambda s: s.id)
def test_every_check_is_named_by_a_test(spec: CheckSpec) -> None:
    naming = [
        path
        for path in TESTS.rglob("test_*.py")
        if path.name != Path(__file__).name and re.search(rf"\b{spec.id}\b", path.read_text("utf-8"))
    ]
    assert naming, f"no test file under tests/ names {spec.id}"


# -- plugins written to a temporary folder -------------------------------------------------------

PAGE = """# {id} — {title}

## Why it matters
Because.

## How to fix
{fix}

## Example finding
`fail x: y`
"""


def _check_source(
    check_id: str,
    *,
    title: str = "A throwaway check",
    principles: str = '("P1",)',
    fix: str = "Do it.",
    doc: bool = True,
) -> str:
    docstring = '"""Why: a throwaway check for the registry tests."""' if doc else "pass"
    return textwrap.dedent(
        f"""
        from auditor.registry import Finding, Severity, check


        @check({check_id!r}, title={title!r}, severity=Severity.LOW, principles={principles}, remediation={fix!r})
        def throwaway(snap):
            {docstring}
            yield Finding.passed("x")
        """
    )


def _plugin(
    root: Path,
    source: str,
    pages: dict[str, str],
    principles: str | None = None,
    name: str | None = None,
) -> ModuleType:
    """A package `name` with `checks.py`, `docs/*.md` and `principles.toml`, imported from `root`."""
    name = name or f"plugin_{root.name.replace('-', '_')}"
    package = root / name
    (package / "docs").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "checks.py").write_text(source)
    for check_id, page in pages.items():
        (package / "docs" / f"{check_id}.md").write_text(page, encoding="utf-8")
    if principles is not None:
        (package / "principles.toml").write_text(principles)
    return importlib.import_module(f"{name}.checks")


@pytest.fixture
def plugin_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.syspath_prepend(str(tmp_path))
    before = set(sys.modules)
    yield tmp_path
    for name in set(sys.modules) - before:
        if name.startswith("plugin_"):
            del sys.modules[name]


def _page(check_id: str, title: str = "A throwaway check", fix: str = "Do it.") -> dict[str, str]:
    return {check_id: PAGE.format(id=check_id, title=title, fix=fix)}


def test_a_valid_plugin_is_discovered_beside_the_builtins(plugin_root: Path) -> None:
    module = _plugin(plugin_root, _check_source("ACME-001"), _page("ACME-001"))
    found = discover_checks([*load_plugins(), module])
    assert [spec.id for spec in found if spec.id.startswith("ACME")] == ["ACME-001"]
    assert len(found) == len(BUILTINS) + 1
    (spec,) = [spec for spec in found if spec.id == "ACME-001"]
    assert page_title(spec.doc() or "", spec.id) == "A throwaway check"


def test_a_plugin_adds_its_own_principle(plugin_root: Path) -> None:
    module = _plugin(
        plugin_root,
        _check_source("ACME-002", principles='("ACME",)'),
        _page("ACME-002"),
        principles='[ACME]\nholds = "every domain is Internet-routable"\n',
    )
    modules = [*load_plugins(), module]
    assert [spec.principles for spec in discover_checks(modules) if spec.id == "ACME-002"] == [("ACME",)]
    assert discover_principles(modules)[-1].id == "ACME"


def test_an_unknown_principle_fails_fast(plugin_root: Path) -> None:
    module = _plugin(plugin_root, _check_source("ACME-003", principles='("P8",)'), _page("ACME-003"))
    with pytest.raises(
        RegistryError, match=r"check ACME-003 in plugin_\w+\.checks: principles \['P8'\] unknown"
    ):
        discover_checks([*load_plugins(), module])


def test_a_principle_defined_twice_fails_fast(plugin_root: Path) -> None:
    module = _plugin(
        plugin_root, _check_source("ACME-004"), _page("ACME-004"), principles='[P3]\nholds = "x"\n'
    )
    with pytest.raises(
        RegistryError, match=r"principle P3 is defined twice: in auditor\.checks/principles\.toml"
    ):
        discover_checks([*load_plugins(), module])


def test_a_malformed_principles_file_fails_fast_naming_it(plugin_root: Path) -> None:
    module = _plugin(
        plugin_root, _check_source("ACME-005"), _page("ACME-005"), principles="[ACME]\nholds = 3\n"
    )
    with pytest.raises(RegistryError, match=r"plugin_\w+/principles\.toml: \[ACME\] needs holds"):
        discover_checks([module])


def test_a_duplicate_id_fails_fast(plugin_root: Path) -> None:
    module = _plugin(
        plugin_root, _check_source("COEX-101", title="Shadow"), _page("COEX-101", title="Shadow")
    )
    with pytest.raises(RegistryError, match="COEX-101 is defined twice"):
        discover_checks([*load_plugins(), module])


def test_a_missing_docstring_fails_fast(plugin_root: Path) -> None:
    module = _plugin(plugin_root, _check_source("ACME-006", doc=False), _page("ACME-006"))
    with pytest.raises(RegistryError, match="no docstring"):
        discover_checks([*load_plugins(), module])


def test_a_missing_doc_page_fails_fast_naming_where_it_was_looked_for(plugin_root: Path) -> None:
    module = _plugin(plugin_root, _check_source("ACME-007"), {})
    with pytest.raises(
        RegistryError, match=r"no doc page docs/ACME-007\.md beside module plugin_\w+\.checks"
    ):
        discover_checks([*load_plugins(), module])


def test_a_page_heading_that_differs_from_the_title_fails_fast(plugin_root: Path) -> None:
    module = _plugin(plugin_root, _check_source("ACME-008"), _page("ACME-008", title="Another title"))
    with pytest.raises(
        RegistryError, match="heading 'Another title' differs from the title 'A throwaway check'"
    ):
        discover_checks([*load_plugins(), module])


def test_a_fix_text_that_differs_from_the_remediation_fails_fast(plugin_root: Path) -> None:
    module = _plugin(plugin_root, _check_source("ACME-009"), _page("ACME-009", fix="Do something else."))
    with pytest.raises(
        RegistryError, match=re.escape("'How to fix' opens with 'Do something else.', not the remediation")
    ):
        discover_checks([*load_plugins(), module])


def test_a_long_remediation_fails_fast(plugin_root: Path) -> None:
    long_fix = "Step. " * 40
    module = _plugin(plugin_root, _check_source("ACME-010", fix=long_fix), _page("ACME-010", fix=long_fix))
    with pytest.raises(RegistryError, match="remediation must be one line"):
        discover_checks([*load_plugins(), module])


def test_a_malformed_id_fails_fast(plugin_root: Path) -> None:
    module = _plugin(plugin_root, _check_source("acme-1"), _page("acme-1"))
    with pytest.raises(RegistryError, match="not of the form"):
        discover_checks([*load_plugins(), module])


def test_an_uninstalled_source_tree_is_one_clear_line(tmp_path: Path) -> None:
    """auditor imported from a checkout that was never installed: its dependencies are there, its
    entry points (and the `auditor.checks` mapping) are not. Python runs without `site`, so only
    the checkout and a copy of the environment's packages minus auditor's own are on the path."""
    tree = tmp_path / "tree"
    shutil.copytree(
        REPOSITORY,
        tree,
        ignore=shutil.ignore_patterns(".git", ".venv", ".lab", "build", "*.egg-info", "__pycache__", "*.db"),
        symlinks=True,
    )
    packages = tmp_path / "packages"
    packages.mkdir()
    for entry in Path(sysconfig.get_paths()["purelib"]).iterdir():
        if not entry.name.startswith(("auditor", "__editable__")) and entry.suffix != ".pth":
            (packages / entry.name).symlink_to(entry)
    done = subprocess.run(
        [sys.executable, "-S", "-c", "from auditor.cli import main; main(['checks'])"],
        env={"PYTHONPATH": f"{tree}:{packages}", "PATH": "/usr/bin:/bin"},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1
    assert "auditor: error: no check plugins" in done.stderr and "not installed" in done.stderr
