"""The modern sample's Linux hosts: made by the real programs, up to date, and exercising every check
of the Linux side with passing and failing subjects (auditor/sample_modern/README-linux.md is the
design; the table below pins it). `auditor check --once -c .../linux-only.toml` audits them with a
small directory beside them; the README shows what it prints.
"""

from __future__ import annotations

import re
import shutil
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from make_linux_sample import MODERN_FOLDER, linux_sample_files

from auditor.config import load_config
from auditor.families.linux.source import LinuxExportSource
from auditor.model import Snapshot
from auditor.registry import CheckSpec, SkipCheck, Status, discover_checks
from auditor.run import build_snapshot, build_sources

CONFIG = MODERN_FOLDER / "linux-only.toml"
README = Path(__file__).resolve().parents[2] / "README.md"
# What the installed Postfix / Dovecot version decides, not the sample: compared apart.
_VERSIONS = re.compile(rb"(?m)^(mail_version|mail_release_date) = .*$|^# \d+\.\d+\.\d+[.\d]* \([0-9a-f]+\): ")


def _without_versions(data: bytes) -> bytes:
    return _VERSIONS.sub(b"<version>", data)


def test_committed_files_are_what_the_generator_writes_with_the_real_programs() -> None:
    generated = linux_sample_files()
    committed = {
        p.relative_to(MODERN_FOLDER).as_posix(): p.read_bytes()
        for p in MODERN_FOLDER.rglob("*")
        if p.is_file()
        and (p.name.startswith("linux-only-") or p.relative_to(MODERN_FOLDER).parts[0] in ("lnx01", "lnx02"))
    }
    assert set(committed) == set(generated), "run tools/make_linux_sample.py"
    for relative, data in generated.items():
        assert _without_versions(committed[relative]) == _without_versions(data), (
            f"{relative}: run tools/make_linux_sample.py"
        )


def test_secrets_never_reach_the_sample() -> None:
    for path in MODERN_FOLDER.rglob("*"):
        if path.is_file():
            assert b"not-the-real-one" not in path.read_bytes(), path
    ext = (MODERN_FOLDER / "lnx01" / "dovecot-ext" / "dovecot-ldap.conf.ext").read_text(encoding="utf-8")
    assert "dnpass = <redacted>" in ext


def test_the_hosts_are_read_by_the_family_source() -> None:
    for name in ("lnx01", "lnx02"):
        source = LinuxExportSource(name=name.upper(), folder=MODERN_FOLDER / name)
        kinds = {record.kind for record in source.collect()}
        assert {"postfix_host", "postfix_service", "postfix_map", "dovecot_host", "dovecot_passdb"} <= kinds
        assert source.info.exported_at is not None


# check id -> (exact failing subjects, passing subjects the design relies on); no check errs or skips.
EXPECTED: dict[str, tuple[set[str], set[str]]] = {
    "COEX-201": ({"LNX02"}, {"LNX01"}),
    "COEX-202": (
        {"erin@pop.contoso.com"},
        {"bob@pop.contoso.com", "carol@pop.contoso.com", "nancy@northwindtraders.com"},
    ),
    "COEX-203": ({"LNX02"}, {"LNX01"}),
    "COEX-204": ({"LNX02"}, {"LNX01"}),
    "COEX-301": ({"sales.contoso.com"}, {"pop.contoso.com", "northwindtraders.com", "legacy.contoso.com"}),
    "COEX-302": ({"sales.contoso.com", "pop.contoso.com", "northwindtraders.com"}, {"legacy.contoso.com"}),
    "COEX-303": (
        {"partners.contoso.com", "alice@contoso.com", "nancy@northwindtraders.com"},
        {
            "contoso.com",
            "pop.contoso.com",
            "northwindtraders.com",
            "sales.contoso.com",
            "bob@pop.contoso.com",
        },
    ),
    "COEX-305": ({"northwindtraders.com"}, {"pop.contoso.com", "sales.contoso.com"}),
    "COEX-401": (
        {"carol@pop.contoso.com", "erin@pop.contoso.com"},
        {"bob@pop.contoso.com", "nancy@northwindtraders.com"},
    ),
    "COEX-502": ({"LNX02"}, {"LNX01"}),
    "COEX-503": ({"LNX02:smtp/inet", "LNX02:2525/inet"}, {"LNX01:smtp/inet", "LNX01:submission/inet"}),
    "COEX-601": ({"sales.contoso.com", "legacy.contoso.com"}, {"pop.contoso.com", "northwindtraders.com"}),
    "COEX-701": ({"LNX02"}, {"LNX01"}),
    "COEX-702": ({"LNX02"}, {"LNX01"}),
    "COEX-705": ({"LNX02"}, {"LNX01"}),
    "COEX-901": ({"LNX02:2525/inet"}, {"LNX01:smtp/inet", "LNX01:submission/inet", "LNX02:smtp/inet"}),
}


@pytest.fixture(scope="module")
def snap() -> Snapshot:
    config = load_config(CONFIG)
    sources = build_sources(config)
    records = [record for source in sources for record in source.collect()]
    assert all(source.info.complete for source in sources)
    snap = build_snapshot(config, records, [source.info for source in sources])
    snap.as_of = date(2026, 12, 1)  # what run_checks sets: support dates are judged at the pass's day
    return snap


@pytest.fixture(scope="module")
def specs() -> dict[str, CheckSpec]:
    return {spec.id: spec for spec in discover_checks()}


@pytest.mark.parametrize("check_id", sorted(EXPECTED))
def test_check_fails_exactly_the_designed_subjects_and_passes_others(
    check_id: str, snap: Snapshot, specs: dict[str, CheckSpec]
) -> None:
    failing, passing = EXPECTED[check_id]
    findings = list(specs[check_id].run(snap))
    assert {f.subject for f in findings if f.status is Status.FAIL} == failing
    assert {f.subject for f in findings if f.status is Status.ERROR} == set()
    assert passing <= {f.subject for f in findings if f.status is Status.PASS}


def test_no_check_skips_on_the_linux_sample(snap: Snapshot, specs: dict[str, CheckSpec]) -> None:
    skipped = []
    for spec in specs.values():
        try:
            list(spec.run(snap))
        except SkipCheck as skip:
            skipped.append(f"{spec.id}: {skip}")
    assert skipped == []


def _readme_block() -> str:
    section = README.read_text(encoding="utf-8").split("<!-- linux-sample-output:start -->", 1)[1]
    return section.split("```text\n", 1)[1].split("```", 1)[0]


def test_readme_shows_the_linux_samples_findings(auditor: Any, tmp_path: Path) -> None:
    folder = tmp_path / "modern"
    shutil.copytree(MODERN_FOLDER, folder)
    config = folder / "linux-only.toml"
    config.write_text(
        config.read_text(encoding="utf-8").replace(
            "sqlite:////tmp/auditor-linux-sample.db", "sqlite:///history.db"
        ),
        encoding="utf-8",
    )
    done = auditor("check", "--once", "-c", str(config), cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    time = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC")
    assert time.sub("TIME", done.stdout) == time.sub("TIME", _readme_block())
