"""What the wheel holds: the sample's data, the check docs and templates, and no development tool.

A real wheel is built from a copy of the source tree with the project's own build backend (the
dev extra installs setuptools, so no network and no build isolation), then its file list is read.
The sample generator (tools/make_sample.py) and the lab scripts stay in the repository; the data the
generator writes ships, since `auditor check --once --sample` reads it from the installed package.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from make_sample import sample_files

REPOSITORY = Path(__file__).resolve().parents[2]
# Not part of a source distribution: environments, caches, lab servers, earlier builds.
_NOT_SOURCE = {".git", ".venv", ".lab", "build", "dist", ".mypy_cache", ".ruff_cache", ".pytest_cache"}


def _ignore(folder: str, names: list[str]) -> set[str]:
    top = Path(folder) == REPOSITORY
    return {
        name
        for name in names
        if (top and name in _NOT_SOURCE)
        or name == "__pycache__"
        or name.endswith((".egg-info", ".db", ".pyc"))
    }


@pytest.fixture(scope="module")
def wheel_names(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"
    shutil.copytree(REPOSITORY, source, ignore=_ignore, symlinks=True)
    build = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet"]
    done = subprocess.run(
        [*build, "--wheel-dir", str(work / "dist"), str(source)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    (wheel,) = (work / "dist").glob("auditor-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        return set(archive.namelist())


def test_the_wheel_ships_every_sample_data_file(wheel_names: set[str]) -> None:
    expected = {f"auditor/sample/{relative}" for relative in sample_files()}
    expected |= {"auditor/sample/auditor.toml", "auditor/sample/README.md", "auditor/sample/__init__.py"}
    assert expected <= wheel_names
    shipped = {name for name in wheel_names if name.startswith("auditor/sample/")}
    assert shipped == expected


def test_the_wheel_holds_no_generator_and_no_lab_script(wheel_names: set[str]) -> None:
    tools = {path.name for path in (REPOSITORY / "tools").glob("*.py")}
    lab = {path.name for path in (REPOSITORY / "deploy" / "lab").iterdir()}
    assert "make_sample.py" in tools
    leaked = {name for name in wheel_names if name.rsplit("/", 1)[-1] in tools | lab}
    assert leaked == set()
    outside = {name.split("/", 1)[0] for name in wheel_names} - {"auditor"}
    assert all(top.endswith(".dist-info") for top in outside), outside


def test_the_wheel_ships_check_docs_templates_and_schemas(wheel_names: set[str]) -> None:
    docs = {f"auditor/checks/docs/{page.name}" for page in (REPOSITORY / "checks" / "docs").glob("*.md")}
    templates = {
        f"auditor/reports/templates/{page.name}"
        for page in (REPOSITORY / "reports" / "templates").glob("*.j2")
    }
    schemas = {f"auditor/schemas/{page.name}" for page in (REPOSITORY / "auditor" / "schemas").glob("*.json")}
    assert docs and templates and schemas
    assert docs | templates | schemas <= wheel_names


def test_the_wheel_ships_the_modern_sample_with_its_hosts(wheel_names: set[str]) -> None:
    """auditor/sample_modern/: its config, directory, README and the export folders of its POP3
    hosts (POP01, and the Linux hosts LNX01 and LNX02 with their nested folders), nothing else."""
    modern = REPOSITORY / "auditor" / "sample_modern"
    expected = {
        f"auditor/sample_modern/{p.relative_to(modern).as_posix()}"
        for p in modern.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
    assert {name.split("/")[2] for name in expected} >= {"auditor.toml", "lnx01", "lnx02", "pop01"}
    assert len(expected) > 30
    assert {name for name in wheel_names if name.startswith("auditor/sample_modern/")} == expected
