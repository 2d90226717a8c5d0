"""The systemd unit: systemd itself accepts it, it is hardened, and its command line is a real one."""

from __future__ import annotations

import inspect
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import click
import pytest

from auditor.service import run_service

UNIT = Path(__file__).parents[2] / "deploy" / "systemd" / "auditor.service"
SYSTEMD_ANALYZE = shutil.which("systemd-analyze")
needs_systemd_analyze = pytest.mark.skipif(SYSTEMD_ANALYZE is None, reason="systemd-analyze is not installed")


def directives(text: str) -> dict[str, list[str]]:
    """Key -> values in order (a key may repeat), ignoring comments and section headers."""
    found: dict[str, list[str]] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";", "[")):
            continue
        key, _, value = line.partition("=")
        found.setdefault(key.strip(), []).append(value.strip())
    return found


def unit_root(tmp_path: Path, unit_text: str) -> Path:
    """A root for `systemd-analyze --root`: the system's own units, ours, and the binary it names."""
    root = tmp_path / "root"
    shutil.copytree("/usr/lib/systemd/system", root / "usr/lib/systemd/system", symlinks=True)
    (root / "etc/systemd/system").mkdir(parents=True)
    (root / "etc/systemd/system/auditor.service").write_text(unit_text)
    binary = root / "opt/auditor/bin/auditor"
    binary.parent.mkdir(parents=True)
    binary.write_text("#!/bin/sh\n")
    binary.chmod(0o755)
    return root


def verify(tmp_path: Path, unit_text: str) -> subprocess.CompletedProcess[str]:
    assert SYSTEMD_ANALYZE is not None
    root = unit_root(tmp_path, unit_text)
    return subprocess.run(
        [SYSTEMD_ANALYZE, "verify", f"--root={root}", "/etc/systemd/system/auditor.service"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@needs_systemd_analyze
def test_systemd_analyze_verify_accepts_the_unit_without_a_warning(tmp_path: Path) -> None:
    result = verify(tmp_path, UNIT.read_text())
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


@needs_systemd_analyze
def test_verify_would_catch_a_misspelt_directive(tmp_path: Path) -> None:
    broken = UNIT.read_text().replace("ProtectSystem=strict", "ProtectSystem=strict\nProtectSystm=yes")
    result = verify(tmp_path, broken)
    assert "Unknown key 'ProtectSystm' in section [Service]" in result.stderr


@needs_systemd_analyze
def test_exposure_score_stays_low(tmp_path: Path) -> None:
    assert SYSTEMD_ANALYZE is not None
    root = unit_root(tmp_path, UNIT.read_text())
    result = subprocess.run(
        [
            SYSTEMD_ANALYZE,
            "security",
            "--offline=yes",
            f"--root={root}",
            "/etc/systemd/system/auditor.service",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    match = re.search(r"Overall exposure level for auditor\.service: (\d+\.\d+)", result.stdout)
    assert match is not None, result.stdout + result.stderr
    assert float(match.group(1)) <= 1.5


def test_unit_runs_the_service_as_auditor_with_the_required_hardening() -> None:
    found = directives(UNIT.read_text())
    required = {
        "User": ["auditor"],
        "Group": ["auditor"],
        "ExecStart": ["/opt/auditor/bin/auditor check -c /etc/auditor/auditor.toml"],
        "Restart": ["on-failure"],
        "ProtectSystem": ["strict"],
        "ProtectHome": ["yes"],
        "NoNewPrivileges": ["yes"],
        "PrivateTmp": ["yes"],
        "PrivateDevices": ["yes"],
        "ProtectKernelTunables": ["yes"],
        "ProtectKernelModules": ["yes"],
        "ProtectKernelLogs": ["yes"],
        "ProtectControlGroups": ["yes"],
        "RestrictAddressFamilies": ["AF_UNIX AF_INET AF_INET6"],
        "RestrictNamespaces": ["yes"],
        "LockPersonality": ["yes"],
        "MemoryDenyWriteExecute": ["yes"],
        "StateDirectory": ["auditor"],
        "ConfigurationDirectory": ["auditor"],
        "LoadCredential": ["bind-password:/etc/auditor/bind-password"],
        "StandardError": ["journal"],
    }
    assert {key: found.get(key) for key in required} == required
    assert found["SystemCallFilter"][0] == "@system-service"


def test_stop_timeout_outlasts_the_services_grace_period() -> None:
    """systemd must not SIGKILL a pass that auditor is still allowed to finish."""
    grace = inspect.signature(run_service).parameters["grace_seconds"].default
    (timeout,) = directives(UNIT.read_text())["TimeoutStopSec"]
    assert float(timeout.removesuffix("s")) > grace


def test_exec_start_is_a_command_line_the_cli_accepts() -> None:
    cli = pytest.importorskip("auditor.cli")
    (command,) = directives(UNIT.read_text())["ExecStart"]
    program, subcommand, *args = shlex.split(command)
    assert program == "/opt/auditor/bin/auditor"
    sub = cli.main.get_command(click.Context(cli.main), subcommand)
    assert sub is not None
    context = sub.make_context(subcommand, args)
    assert context.params["config_path"] == Path("/etc/auditor/auditor.toml")
    assert context.params["once"] is False
