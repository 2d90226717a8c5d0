"""LinuxExportSource: an export folder becomes raw records; mixed folders, staleness, round trip."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from linuxlab import linux_host, postfix_config, run_export, write

from auditor.config import parse_config
from auditor.errors import InputFormatError
from auditor.families import discover_families, pop3_kind, single_export_kind
from auditor.families.linux.configured import linux_source
from auditor.families.linux.domains import hosted_domains
from auditor.families.linux.raw import LINUX_KINDS, host_from_records, host_records
from auditor.families.linux.relay import relay_report
from auditor.families.linux.route import route_address
from auditor.families.linux.source import LinuxExportSource
from auditor.records import ObjectRecord

MAIN = """\
compatibility_level = 3.6
mydestination = localhost
mynetworks = 127.0.0.0/8
relayhost = [ex16.contoso.com]:25
virtual_mailbox_domains = pop.contoso.com
virtual_alias_maps = hash:{pf}/virtual
smtp_sasl_password_maps = hash:{pf}/sasl_passwd
"""
DOVECOT = """\
protocols = pop3
ssl = required
passdb {{
  driver = ldap
  args = {dc}/dovecot-ldap.conf.ext
}}
userdb {{
  driver = ldap
  args = {dc}/dovecot-ldap.conf.ext
}}
service auth {{
  unix_listener /var/spool/postfix/private/auth {{
    mode = 0660
  }}
}}
"""


@pytest.fixture
def export(tmp_path: Path) -> Path:
    host = linux_host(
        tmp_path,
        MAIN,
        tables={
            "virtual": "info@pop.contoso.com bob@pop.contoso.com\n",
            "sasl_passwd": "[ex16.contoso.com]:25 u:p\n",
        },
        dovecot=DOVECOT,
        dovecot_files={"dovecot-ldap.conf.ext": "uris = ldaps://dc1\ndnpass = x\nauth_bind = yes\n"},
    )
    (host.export.folder / "doveadm-users.txt").write_text("bob\ncarol\n", encoding="utf-8")
    return host.export.folder


def collect(folder: Path, **kwargs: Any) -> tuple[LinuxExportSource, list[ObjectRecord]]:
    source = LinuxExportSource(name="LNX01", folder=folder, addresses=["10.0.0.25"], **kwargs)
    return source, list(source.collect())


def test_records_of_every_kind_with_stable_keys(export: Path) -> None:
    source, records = collect(export)
    kinds = {r.kind for r in records}
    assert kinds == set(LINUX_KINDS)
    by_key = {r.key: r for r in records}
    host = by_key["postfix:lnx01"]
    assert (host.kind, host.dn, host.first("relayhost"), host.first("postconfSource")) == (
        "postfix_host",
        "LNX01",
        "[ex16.contoso.com]:25",
        "postconf -x",
    )
    assert "relayhost" in host.values("explicitParameters")
    assert by_key["postfix:lnx01:submission/inet"].first("o:smtpd_tls_security_level") == "encrypt"
    sasl = next(r for r in records if r.kind == "postfix_map" and "sasl_passwd" in r.key)
    assert sasl.values("entries") == ("[ex16.contoso.com]:25\t<redacted>",)
    dovecot = by_key["dovecot:lnx01"]
    assert dovecot.first("ssl") == "required"
    assert dovecot.values("users") == ("bob", "carol")
    assert (
        dovecot.first("service auth/unix_listener %2Fvar%2Fspool%2Fpostfix%2Fprivate%2Fauth/mode") == "0660"
    )
    passdb = by_key["dovecot:lnx01:passdb:0"]
    assert (passdb.first("driver"), passdb.first("ext:auth_bind"), passdb.first("ext:dnpass")) == (
        "ldap",
        "yes",
        "<redacted>",
    )
    assert source.info.complete
    assert source.info.objects == len(records)
    assert "pop3:LNX01:postconf-x.txt" in source.info.coverage
    assert source.info.exported_at is not None
    assert source.info.to_json()["exported_at"] == source.info.exported_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert source.info.stale is None
    assert "stale" not in source.info.to_json()


def test_records_rebuild_the_same_host(export: Path) -> None:
    source, records = collect(export)
    assert source.host is not None
    rebuilt = host_from_records(records, "LNX01")
    # The same records; rebuilt in key order (the store's), whatever order they were read in.
    assert sorted(host_records(rebuilt), key=lambda r: r.key) == sorted(records, key=lambda r: r.key)
    assert host_records(host_from_records(list(reversed(records)), "LNX01")) == host_records(rebuilt)
    for host in (source.host, rebuilt):
        assert hosted_domains(host) == hosted_domains(source.host)
        assert route_address(host, "info@pop.contoso.com") == route_address(
            source.host, "info@pop.contoso.com"
        )
    assert rebuilt.postfix is not None and source.host.postfix is not None
    rebuilt_services = {service.key: service for service in rebuilt.postfix.smtpd_services()}
    assert sorted(rebuilt_services) == sorted(s.key for s in source.host.postfix.smtpd_services())
    for before in source.host.postfix.smtpd_services():
        assert relay_report(source.host, before) == relay_report(rebuilt, rebuilt_services[before.key])


def test_editing_main_cf_is_a_postfix_host_attribute_change(tmp_path: Path, export: Path) -> None:
    _, before = collect(export)
    main = tmp_path / "postfix" / "main.cf"
    write(
        tmp_path / "postfix",
        "main.cf",
        main.read_text(encoding="utf-8").replace("[ex16.contoso.com]:25", "contoso.com"),
    )
    shutil.rmtree(export)
    run_export(export, postfix=tmp_path / "postfix")
    _, after = collect(export)
    old = {r.key: r for r in before}
    new = {r.key: r for r in after}
    assert old["postfix:lnx01"].first("relayhost") == "[ex16.contoso.com]:25"
    assert new["postfix:lnx01"].first("relayhost") == "contoso.com"
    changed = {
        k: (v, new["postfix:lnx01"].attributes.get(k))
        for k, v in old["postfix:lnx01"].attributes.items()
        if new["postfix:lnx01"].attributes.get(k) != v
    }
    assert set(changed) == {"relayhost", "address_verify_relayhost"}


def test_a_folder_with_windows_and_linux_files_is_refused(export: Path) -> None:
    (export / "MetaBase.xml").write_text("<configuration/>", encoding="utf-8")
    with pytest.raises(InputFormatError) as caught:
        collect(export)
    assert caught.value.location == str(export)
    assert "several kinds of host" in caught.value.problem
    assert "windows: MetaBase.xml" in caught.value.problem
    assert "postfix-dovecot: EXPORT-INFO.txt" in caught.value.problem


def test_a_folder_with_only_the_export_time_is_refused(tmp_path: Path, export: Path) -> None:
    lonely = tmp_path / "lonely"
    lonely.mkdir()
    shutil.copy(export / "EXPORT-INFO.txt", lonely)
    with pytest.raises(InputFormatError, match="no Postfix or Dovecot files"):
        collect(lonely)


def test_family_is_told_from_the_files(tmp_path: Path, export: Path) -> None:
    assert single_export_kind(export) == "postfix-dovecot"
    windows = tmp_path / "win"
    windows.mkdir()
    (windows / "winpop-list.txt").write_text("x", encoding="utf-8")
    assert single_export_kind(windows) == "windows"
    empty = tmp_path / "empty"
    empty.mkdir()
    assert single_export_kind(empty) is None


def test_a_damaged_file_stops_the_source_with_file_and_line(export: Path) -> None:
    (export / "postconf-M.txt").write_text("smtp inet n - y - - smtpd\ngarbage\n", encoding="utf-8")
    source = LinuxExportSource(name="LNX01", folder=export)
    with pytest.raises(InputFormatError) as caught:
        list(source.collect())
    assert caught.value.location == f"{export}/postconf-M.txt:2"
    assert not source.info.complete
    assert source.info.error is not None


def test_an_unterminated_section_in_doveconf_names_its_line(export: Path) -> None:
    (export / "doveconf-n.txt").write_text("ssl = yes\npassdb {\n  driver = pam\n", encoding="utf-8")
    with pytest.raises(InputFormatError) as caught:
        collect(export)
    assert caught.value.location == f"{export}/doveconf-n.txt:2"


def test_an_export_older_than_max_age_is_stale(export: Path) -> None:
    exported = datetime.now(UTC)
    source, _ = collect(export, max_age=timedelta(days=2), clock=lambda: exported + timedelta(days=3))
    assert source.info.stale is not None
    assert "older than max_age 2d" in source.info.stale
    assert source.info.to_json()["stale"] == source.info.stale
    assert source.info.complete
    fresh, _ = collect(export, max_age=timedelta(days=2), clock=lambda: exported + timedelta(hours=1))
    assert fresh.info.stale is None


def test_an_export_without_its_time_is_stale_under_max_age(export: Path) -> None:
    (export / "EXPORT-INFO.txt").unlink()
    source, _ = collect(export, max_age=timedelta(days=1))
    assert source.info.stale is not None
    assert "does not say when" in source.info.stale


def test_config_keys_choose_the_source(tmp_path: Path, export: Path) -> None:
    config = parse_config(
        {
            "pop3_server": [
                {"name": "LNX01", "export": str(export), "max_age": "2d"},
                {"name": "LNX02", "ssh": "auditor@lnx02.contoso.com", "known_hosts": "kh"},
            ]
        },
        path=tmp_path / "auditor.toml",
    )
    first, second = config.pop3_server
    families = discover_families()
    assert pop3_kind(first, families) == "postfix-dovecot"
    assert (second.kind, pop3_kind(second, families)) == ("postfix-dovecot", "postfix-dovecot")
    source = linux_source(first)
    assert (source.folder, source.max_age) == (export, timedelta(days=2))
    remote = linux_source(second)
    assert remote.ssh is not None
    assert remote.ssh.known_hosts == tmp_path / "kh"
    assert remote.info.kind == "linux-ssh"


def test_a_mixed_folder_is_refused_whatever_kind_says(tmp_path: Path, export: Path) -> None:
    (export / "pop3.reg").write_text("x", encoding="utf-8")
    config = parse_config(
        {
            "pop3_server": [
                {"name": "P", "kind": "windows", "export": str(export)},
                {"name": "Q", "export": str(tmp_path / "none")},
            ]
        },
        path=tmp_path / "auditor.toml",
    )
    mixed, missing = config.pop3_server
    families = discover_families()
    with pytest.raises(InputFormatError, match="several kinds of host") as caught:
        pop3_kind(mixed, families)
    assert caught.value.location == str(export)
    assert pop3_kind(missing, families) == "windows"
    with pytest.raises(InputFormatError, match="several kinds of host"):
        list(linux_source(mixed.model_copy(update={"kind": "postfix-dovecot"})).collect())


def test_postfix_only_from_postconf_n(tmp_path: Path) -> None:
    config = postfix_config(tmp_path / "pf", "compatibility_level = 2\nrelayhost = [ex16]\n")
    out = tmp_path / "export"
    run_export(out, postfix=config)
    for name in ("postconf-x.txt", "postconf-Px.txt"):
        (out / name).unlink()
    _, records = collect(out)
    host = next(r for r in records if r.kind == "postfix_host")
    assert host.first("postconfSource") == "postconf -n"
    rebuilt = host_from_records(records, "LNX01")
    assert rebuilt.postfix is not None
    assert rebuilt.postfix.main.get("relay_domains") == ""
    assert rebuilt.postfix.main.origin.startswith("postconf -n + Postfix defaults (compatibility_level 2")
