"""The shipped cron file, example config and Windows export script say what the product does."""

from __future__ import annotations

import re
import shlex
import tomllib
import typing
from pathlib import Path

import click
import pytest
from pydantic import BaseModel

from auditor.service import build_trigger

DEPLOY = Path(__file__).parents[2] / "deploy"
CRON = DEPLOY / "cron" / "auditor.cron"
EXAMPLE = DEPLOY / "auditor.example.toml"
EXPORT_SCRIPT = DEPLOY / "windows" / "export-pop3.cmd"
CONTRACT_EXPORT_FILES = {
    "MetaBase.xml",
    "pop3.reg",
    "winpop-auth.txt",
    "winpop-list.txt",
    "winpop-list-DOMAIN.txt",
}


# --- cron -------------------------------------------------------------------------------------


def cron_jobs() -> list[tuple[str, str, list[str]]]:
    """(schedule, user, argv) of each job line of the /etc/cron.d file."""
    jobs = []
    for line in CRON.read_text().splitlines():
        if not line.strip() or line.lstrip().startswith("#") or re.match(r"^[A-Z_]+=", line):
            continue
        fields = line.split(None, 6)
        jobs.append((" ".join(fields[:5]), fields[5], shlex.split(fields[6])))
    return jobs


def test_cron_file_runs_one_pass_every_four_hours_and_the_weekly_report() -> None:
    jobs = cron_jobs()
    assert [(schedule, user, argv[:2]) for schedule, user, argv in jobs] == [
        ("0 */4 * * *", "auditor", ["/opt/auditor/bin/auditor", "check"]),
        ("0 7 * * mon", "auditor", ["/opt/auditor/bin/auditor", "report"]),
    ]
    assert "--once" in jobs[0][2]
    assert "flock" not in CRON.read_text().replace("No flock", "")
    for schedule, _user, _argv in jobs:
        build_trigger(schedule)  # valid crontab expressions


def test_cron_commands_are_command_lines_the_cli_accepts() -> None:
    cli = pytest.importorskip("auditor.cli")
    parsed = {}
    for _schedule, _user, argv in cron_jobs():
        subcommand, args = argv[1], argv[2:]
        command = cli.main.get_command(click.Context(cli.main), subcommand)
        assert command is not None, subcommand
        parsed[subcommand] = command.make_context(subcommand, args).params
    assert parsed["check"]["once"] is True
    assert parsed["check"]["config_path"] == Path("/etc/auditor/auditor.toml")
    assert parsed["report"]["email"] is True


def test_cron_file_ends_with_a_newline_as_cron_requires() -> None:
    assert CRON.read_text().endswith("\n")


# --- example config ---------------------------------------------------------------------------


def test_example_config_is_valid_toml_with_the_contract_sections() -> None:
    data = tomllib.loads(EXAMPLE.read_text())
    assert set(data) == {
        "organization",
        "store",
        "directory",
        "pop3_server",
        "checks",
        "schedule",
        "report",
        "telemetry",
    }


def test_example_config_loads_with_the_real_loader() -> None:
    config_module = pytest.importorskip("auditor.config")
    config = config_module.load_config(EXAMPLE)
    assert config.directory.url == "ldaps://dc1.contoso.com"
    assert str(config.directory.password_file) == "/run/credentials/auditor.service/bind-password"
    assert config.store.url == "sqlite:////var/lib/auditor/auditor.db"
    build_trigger(config.schedule.check, key="schedule.check")
    build_trigger(config.schedule.report, key="schedule.report")


def documented_keys() -> set[str]:
    """section.key for every key the example shows, set or commented out."""
    keys: set[str] = set()
    section = ""
    for line in EXAMPLE.read_text().splitlines():
        text = line.strip().lstrip("#").strip()
        header = re.match(r"^\[\[?([a-z0-9_.]+)\]\]?(\s|$)", text)
        if header:
            section = header.group(1)
            continue
        assignment = re.match(r"^([a-z0-9_]+)\s*=", text)
        if assignment:
            keys.add(f"{section}.{assignment.group(1)}" if section else assignment.group(1))
    return keys


def model_keys(model: type[BaseModel], prefix: str = "") -> set[str]:
    keys: set[str] = set()
    hints = typing.get_type_hints(model)
    for name, info in model.model_fields.items():
        if info.exclude:
            continue
        hint = hints[name]
        nested = [
            arg
            for arg in (hint, *typing.get_args(hint))
            if isinstance(arg, type) and issubclass(arg, BaseModel)
        ]
        if nested:
            keys |= model_keys(nested[0], f"{prefix}{name}.")
        else:
            keys.add(f"{prefix}{name}")
    return keys


def test_example_config_shows_every_key_the_config_accepts() -> None:
    config_module = pytest.importorskip("auditor.config")
    expected = model_keys(config_module.AuditorConfig)
    assert expected - documented_keys() == set()
    assert documented_keys() - expected == set()


# --- Windows export script --------------------------------------------------------------------


def test_export_script_has_windows_line_ends_only() -> None:
    raw = EXPORT_SCRIPT.read_bytes()
    assert raw.count(b"\n") == raw.count(b"\r\n") > 0
    assert raw.isascii()


def test_export_script_writes_exactly_the_files_of_the_contract() -> None:
    text = EXPORT_SCRIPT.read_text()
    written = set(re.findall(r'"%OUT%\\([^"]+)"', text))
    assert {name.replace("%%D", "DOMAIN") for name in written} == CONTRACT_EXPORT_FILES


def test_export_script_runs_the_commands_the_contract_names() -> None:
    lines = [line.strip() for line in EXPORT_SCRIPT.read_text().splitlines()]
    commands = [
        line for line in lines if line and not line.lower().startswith(("rem", "echo", "if errorlevel"))
    ]
    expected = [
        '"%WINPOP%" get auth > "%OUT%\\winpop-auth.txt"',
        '"%WINPOP%" list > "%OUT%\\winpop-list.txt"',
        '"%WINPOP%" list %%D > "%OUT%\\winpop-list-%%D.txt"',
        'reg export "HKLM\\SOFTWARE\\Microsoft\\POP3 Service" "%OUT%\\pop3.reg" /y > nul',
        "cscript //nologo %SystemRoot%\\system32\\iiscnfg.vbs /save > nul 2>&1",
        'copy /y "%SystemRoot%\\system32\\inetsrv\\MetaBase.xml" "%OUT%\\MetaBase.xml" > nul',
    ]
    for command in expected:
        assert command in commands
    # the metabase is flushed to disk before it is copied
    assert commands.index(expected[4]) < commands.index(expected[5])


def test_export_script_blocks_are_balanced() -> None:
    """cmd.exe silently mis-parses a script whose parentheses do not pair up."""
    depth = 0
    for number, line in enumerate(EXPORT_SCRIPT.read_text().splitlines(), start=1):
        stripped = line.strip()
        if stripped.lower().startswith("rem") or stripped.lower().startswith("echo"):
            continue
        code = re.sub(r'"[^"]*"', '""', stripped)
        depth += code.count("(") - code.count(")")
        assert depth >= 0, f"line {number} closes a block that is not open"
    assert depth == 0
