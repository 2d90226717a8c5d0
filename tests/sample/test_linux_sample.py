"""The modern sample's Linux hosts, LNX01 and LNX02: made by the real programs, up to date, no
secret in them, read by the Linux family. What the checks make of them beside the sample's
Exchange 2016 organization is pinned, check by check, in tests/sample/test_modern_sample.py.
"""

from __future__ import annotations

import re

from make_linux_sample import HOSTS, MODERN_FOLDER, linux_sample_files

from auditor.families.linux.source import LinuxExportSource

# What the installed Postfix / Dovecot version decides, not the sample: compared apart.
_VERSIONS = re.compile(rb"(?m)^(mail_version|mail_release_date) = .*$|^# \d+\.\d+\.\d+[.\d]* \([0-9a-f]+\): ")


def _without_versions(data: bytes) -> bytes:
    return _VERSIONS.sub(b"<version>", data)


def test_committed_files_are_what_the_generator_writes_with_the_real_programs() -> None:
    generated = linux_sample_files()
    committed = {
        p.relative_to(MODERN_FOLDER).as_posix(): p.read_bytes()
        for p in MODERN_FOLDER.rglob("*")
        if p.is_file() and p.relative_to(MODERN_FOLDER).parts[0] in HOSTS
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
