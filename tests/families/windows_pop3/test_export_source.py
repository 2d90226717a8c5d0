"""Pop3ExportSource: a POP3 server's export folder becomes server, domain and mailbox records."""

from __future__ import annotations

import base64
import shutil
from pathlib import Path

import pytest

from auditor.errors import InputFormatError
from auditor.families.windows_pop3.adapter import AD_INTEGRATED_AUTH_GUID
from auditor.families.windows_pop3.source import Pop3ExportSource
from auditor.model import Capability, Snapshot
from auditor.records import ObjectKind, ObjectRecord

POP01 = Path(__file__).parent / "data" / "pop01"
SENTINEL_HEX = (
    "18000080200000803c00008044000080010000004c00000000000000000000000100000001000000020000000200000004"
    "000000000000004c00008000000000000000000000000000000000ffffffff00000000"
)
ALL_FILES = (
    "MetaBase.xml",
    "pop3.reg",
    "winpop-auth.txt",
    "winpop-list-pop.contoso.com.txt",
    "winpop-list-pop2.contoso.com.txt",
    "winpop-list.txt",
)


def collect(folder: Path, **kwargs: object) -> tuple[Pop3ExportSource, list[ObjectRecord]]:
    source = Pop3ExportSource(name="POP01", folder=folder, **kwargs)  # type: ignore[arg-type]
    return source, list(source.collect())


def copy_of(tmp_path: Path, *names: str) -> Path:
    folder = tmp_path / "pop01"
    folder.mkdir()
    for name in names:
        shutil.copy(POP01 / name, folder / name)
    return folder


def test_server_record_holds_resolved_metabase_registry_and_winpop_values() -> None:
    _, records = collect(POP01, fqdn="pop01.contoso.com", addresses=["192.168.10.20"])
    server = records[0]
    assert (server.kind, server.key, server.dn) == (ObjectKind.POP3_SERVER, "pop3:pop01", "POP01")
    assert dict(server.attributes) == {
        "name": ("POP01",),
        "fqdn": ("pop01.contoso.com",),
        "addresses": ("192.168.10.20",),
        "exportFiles": ALL_FILES,
        "AuthFlags": ("7",),
        "SmartHostType": ("2",),
        "SmartHost": ("[192.168.10.10]",),
        "RouteAction": ("256",),
        "RouteUserName": ("CONTOSO\\svc-pop01",),
        "RelayIpList": (base64.b64encode(bytes.fromhex(SENTINEL_HEX)).decode(),),
        "RelayIpListLocation": ("/LM/SmtpSvc/1",),
        "RelayForAuth": ("TRUE",),
        "regAuthMethods": (
            "14f1665c-e3d3-46aa-884f-ed4cf19d7ad5",
            "ef9d811e-36c5-497f-ade7-2b36df172824",
            "c395e20c-2236-4af7-b736-54fad07dc526",
        ),
        "regDefaultAuthMethod": ("1",),
        "winpopAuthMethods": (
            "Local Windows Accounts",
            "Active Directory Integrated",
            "Encrypted Password File",
        ),
        "winpopAuthCurrent": ("Active Directory Integrated",),
    }


def test_domains_from_winpop_and_metabase_are_separate_records() -> None:
    _, records = collect(POP01)
    domains = {r.key: (r.dn, dict(r.attributes)) for r in records if r.kind == ObjectKind.POP3_DOMAIN}

    def attrs(domain: str, source: str, route: str | None = None) -> dict[str, tuple[str, ...]]:
        found: dict[str, tuple[str, ...]] = {"server": ("POP01",), "domain": (domain,), "source": (source,)}
        return found | ({"RouteAction": (route,)} if route else {})

    assert domains == {
        "pop3:pop01/metabase:pop01.contoso.com": (
            "POP01/pop01.contoso.com",
            attrs("pop01.contoso.com", "metabase", "64"),
        ),
        "pop3:pop01/metabase:pop.contoso.com": (
            "POP01/pop.contoso.com",
            attrs("pop.contoso.com", "metabase", "32"),
        ),
        "pop3:pop01/metabase:pop2.contoso.com": (
            "POP01/pop2.contoso.com",
            attrs("pop2.contoso.com", "metabase", "32"),
        ),
        "pop3:pop01/winpop:pop.contoso.com": ("POP01/pop.contoso.com", attrs("pop.contoso.com", "winpop")),
        "pop3:pop01/winpop:pop2.contoso.com": ("POP01/pop2.contoso.com", attrs("pop2.contoso.com", "winpop")),
    }


def test_mailboxes_come_from_each_domain_list_file() -> None:
    _, records = collect(POP01)
    mailboxes = {r.key: (r.dn, dict(r.attributes)) for r in records if r.kind == ObjectKind.POP3_MAILBOX}
    assert mailboxes == {
        "pop3:pop01/bob@pop.contoso.com": (
            "POP01/bob@pop.contoso.com",
            {"server": ("POP01",), "domain": ("pop.contoso.com",), "mailbox": ("bob",)},
        ),
        "pop3:pop01/erin@pop.contoso.com": (
            "POP01/erin@pop.contoso.com",
            {"server": ("POP01",), "domain": ("pop.contoso.com",), "mailbox": ("Erin",)},
        ),
        "pop3:pop01/carol@pop2.contoso.com": (
            "POP01/carol@pop2.contoso.com",
            {"server": ("POP01",), "domain": ("pop2.contoso.com",), "mailbox": ("carol",)},
        ),
    }


def test_source_info_names_the_server_and_every_file_read() -> None:
    source, records = collect(POP01)
    info = source.info
    assert (info.name, info.kind, info.complete, info.objects, info.error) == (
        "pop3:POP01",
        "pop3-export",
        True,
        len(records),
        None,
    )
    assert len(records) == 1 + 5 + 3
    assert info.coverage == {"pop3:POP01"} | {
        f"pop3:POP01:{capability}" for capability in ("smtp-settings", "auth", "domains", "mailboxes")
    }


def test_the_model_reads_what_the_collector_writes() -> None:
    source, records = collect(POP01)
    snap = Snapshot.from_records(records, [source.info])
    [server] = snap.pop3_servers
    assert server.capabilities == set(Capability)
    assert server.mailbox_service is not None
    [backend] = server.mailbox_service.backends
    assert backend.ad_backed is True
    assert backend.statement == (
        f"winpop-auth.txt says 'Active Directory Integrated'; "
        f"pop3.reg says Active Directory Integrated ({{{AD_INTEGRATED_AUTH_GUID}}})"
    )
    [service] = server.smtp_services
    assert server.outbound is service
    assert (service.smart_host.value, service.smart_host_always.value) == ("[192.168.10.10]", True)
    assert (service.client_auth.value, service.client_auth.note) == (True, "AuthFlags 7")
    assert service.relay_for_authenticated.value is True
    relay = service.relay.value
    assert relay is not None
    assert (relay.only_listed, relay.grants, relay.open_reason()) == (True, (), None)
    assert snap.pop3_domains_by_server == {"POP01": frozenset({"pop.contoso.com", "pop2.contoso.com"})}
    assert {m.address for m in snap.pop3_mailboxes} == {
        "bob@pop.contoso.com",
        "erin@pop.contoso.com",
        "carol@pop2.contoso.com",
    }
    assert "pop3:POP01:auth" in snap.coverage


def test_a_folder_with_only_some_files_covers_only_those(tmp_path: Path) -> None:
    folder = copy_of(tmp_path, "winpop-auth.txt", "notes.txt")
    source, records = collect(folder)
    assert [r.kind for r in records] == [ObjectKind.POP3_SERVER]
    assert dict(records[0].attributes) == {
        "name": ("POP01",),
        "exportFiles": ("winpop-auth.txt",),
        "winpopAuthMethods": (
            "Local Windows Accounts",
            "Active Directory Integrated",
            "Encrypted Password File",
        ),
        "winpopAuthCurrent": ("Active Directory Integrated",),
    }
    assert source.info.coverage == {"pop3:POP01", "pop3:POP01:auth"}


def test_file_names_match_case_insensitively(tmp_path: Path) -> None:
    folder = tmp_path / "pop01"
    folder.mkdir()
    shutil.copy(POP01 / "MetaBase.xml", folder / "METABASE.XML")
    source, records = collect(folder)
    assert records[0].values("exportFiles") == ("MetaBase.xml",)
    assert source.info.coverage == {"pop3:POP01", "pop3:POP01:smtp-settings", "pop3:POP01:domains"}


def test_missing_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(InputFormatError) as caught:
        collect(tmp_path / "absent")
    assert caught.value.location == str(tmp_path / "absent")
    assert "cannot read the export folder" in caught.value.problem


def test_folder_without_any_export_file_is_an_error(tmp_path: Path) -> None:
    folder = copy_of(tmp_path, "notes.txt")
    source = Pop3ExportSource(name="POP01", folder=folder)
    with pytest.raises(InputFormatError) as caught:
        list(source.collect())
    assert caught.value.location == str(folder)
    assert "no export files" in caught.value.problem
    assert (source.info.complete, source.info.error) == (False, str(caught.value))


def test_two_files_for_one_name_are_ambiguous(tmp_path: Path) -> None:
    folder = copy_of(tmp_path, "MetaBase.xml")
    shutil.copy(POP01 / "MetaBase.xml", folder / "metabase.xml")
    with pytest.raises(InputFormatError) as caught:
        collect(folder)
    assert "two files stand for MetaBase.xml" in caught.value.problem


@pytest.mark.parametrize(
    ("name", "content", "location_suffix"),
    [
        ("MetaBase.xml", b"<configuration><MBProperty></configuration>", ":1"),
        ("pop3.reg", b"Windows Registry Editor Version 5.00\r\n", ":1"),
        ("winpop-auth.txt", b"\r\r\n\r\r\n", ":1"),
        ("winpop-list.txt", b" List of domains\r\r\npop.contoso.com\r\r\n", ":2"),
        ("winpop-list-pop.contoso.com.txt", b" List of mailboxes: other.com\r\n\r\n 0 mailbox(es)\r\n", ":1"),
    ],
)
def test_a_damaged_file_stops_the_pass_naming_it(
    tmp_path: Path, name: str, content: bytes, location_suffix: str
) -> None:
    folder = tmp_path / "pop01"
    shutil.copytree(POP01, folder)
    for existing in folder.iterdir():
        if existing.name.lower() == name.lower():
            existing.unlink()
    (folder / name).write_bytes(content)
    source = Pop3ExportSource(name="POP01", folder=folder)
    stream = source.collect()
    with pytest.raises(InputFormatError) as caught:
        next(stream)
    assert caught.value.location == f"{folder / name}{location_suffix}"
    assert source.info.complete is False
