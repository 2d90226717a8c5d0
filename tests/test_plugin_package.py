"""A third-party check package made from the README's "Writing a check", exactly as written there.

The README section lists each file of the plugin as a path in backticks followed by a fenced code
block. The test writes those files, builds and installs the package with a real `pip install`
into a folder of its own (next to auditor, which stays the editable install of this checkout),
and then, with that folder on PYTHONPATH as an installed plugin would be on the path:

- `auditor checks` lists its check, with the principle the plugin's `principles.toml` adds;
- `auditor check --once --sample` runs it over the bundled sample;
- the plugin's own test, written with `auditor.testing` as the README shows, passes under pytest.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

RunAuditor = Callable[..., subprocess.CompletedProcess[str]]  # the `auditor` fixture of tests/conftest.py

README = Path(__file__).resolve().parents[1] / "README.md"
# A line that starts with a path in backticks, maybe more lines of prose, then the fenced block.
_FILE_BLOCK = re.compile(
    r"^`([\w./-]+)`[^\n]*\n(?:[^`\n][^\n]*\n)*?```\w*\n(.*?)^```\n", re.MULTILINE | re.DOTALL
)


def readme_plugin_files() -> dict[str, str]:
    """Path -> content of every file the README's "Writing a check" section shows."""
    lines = README.read_text(encoding="utf-8").split("\n")
    start = lines.index("## Writing a check") + 1
    in_fence, end = False, len(lines)
    for number in range(start, len(lines)):
        if lines[number].startswith("```"):
            in_fence = not in_fence
        elif lines[number].startswith("## ") and not in_fence:
            end = number
            break
    section = "\n".join(lines[start:end]) + "\n"
    return {match.group(1): match.group(2) for match in _FILE_BLOCK.finditer(section)}


@pytest.fixture(scope="module")
def installed_plugin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The README's plugin built and installed with pip into its own folder; returns that folder."""
    work = tmp_path_factory.mktemp("plugin")
    project = work / "acme-auditor-checks"
    for relative, content in readme_plugin_files().items():
        path = project / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
    target = work / "site"
    install = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation"]
    done = subprocess.run(
        [*install, "--target", str(target), str(project)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return target


def test_the_readme_shows_a_whole_plugin() -> None:
    files = readme_plugin_files()
    assert set(files) == {
        "acme_checks/__init__.py",
        "acme_checks/checks.py",
        "acme_checks/docs/ACME-001.md",
        "acme_checks/principles.toml",
        "pyproject.toml",
        "tests/test_acme.py",
    }


def test_pip_installed_the_package_with_its_docs_and_entry_point(installed_plugin: Path) -> None:
    assert (installed_plugin / "acme_checks" / "docs" / "ACME-001.md").is_file()
    assert (installed_plugin / "acme_checks" / "principles.toml").is_file()
    (entry_points,) = installed_plugin.glob("acme_auditor_checks-*.dist-info/entry_points.txt")
    assert "acme = acme_checks.checks" in entry_points.read_text()


def test_auditor_checks_lists_the_plugin(installed_plugin: Path, auditor: RunAuditor, tmp_path: Path) -> None:
    done = auditor("checks", "--format", "json", cwd=tmp_path, env={"PYTHONPATH": str(installed_plugin)})
    assert done.returncode == 0, done.stderr
    checks = {entry["id"]: entry for entry in json.loads(done.stdout)["checks"]}
    assert checks["ACME-001"]["title"] == "No POP3 domain ends in .local"
    assert checks["ACME-001"]["principles"] == ["P3", "ACME"]
    assert "COEX-101" in checks
    text = auditor("checks", cwd=tmp_path, env={"PYTHONPATH": str(installed_plugin)})
    assert re.search(
        r"^ACME-001\s+low\s+P3,ACME\s+No POP3 domain ends in \.local$", text.stdout, re.MULTILINE
    )


def test_the_plugin_runs_in_a_sample_audit(
    installed_plugin: Path, auditor: RunAuditor, tmp_path: Path
) -> None:
    done = auditor(
        "check",
        "--once",
        "--sample",
        "--format",
        "json",
        cwd=tmp_path,
        env={"PYTHONPATH": str(installed_plugin)},
    )
    assert done.returncode == 1, done.stderr  # the sample is built to have findings
    document = json.loads(done.stdout)
    (acme,) = [entry for entry in document["checks"] if entry["id"] == "ACME-001"]
    # The sample's POP3 domains (pop.contoso.com, sales.contoso.com, fabrikam.com) are not .local.
    assert (acme["status"], acme["severity"], acme["principles"]) == ("pass", "low", ["P3", "ACME"])
    assert not [finding for finding in document["findings"] if finding["check"] == "ACME-001"]


def test_the_plugins_own_test_passes_with_auditor_testing(installed_plugin: Path, tmp_path: Path) -> None:
    tests = tmp_path / "tests"
    tests.mkdir()
    (tests / "test_acme.py").write_text(readme_plugin_files()["tests/test_acme.py"], encoding="utf-8")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--rootdir",
            str(tmp_path),
            str(tests),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env={"PYTHONPATH": str(installed_plugin), "PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout
