"""MetaBase.xml: IIS inheritance, `<Custom>` properties, flag names, relay lists, hostile XML."""

from __future__ import annotations

import base64
import codecs
from pathlib import Path

import pytest

from auditor.errors import InputFormatError
from auditor.families.windows_pop3.metabase import MetabaseDomain, parse_metabase
from auditor.families.windows_pop3.winpop import read_windows_text

PREFIX = (
    "18000080200000803c00008044000080010000004c00000000000000000000000100000001000000020000000200000004"
    "000000000000004c00008000000000000000000000000000000000ffffffff"
)
ONLY_LOCALHOST = PREFIX + "7f000001"
ALL_EXCEPT_10_9_9_9 = (
    "18000080340000803c00008044000080010000004c0000000100000001000000020000000200000004000000000000004c000080"
    "000000000000000000000000000000000000000000000000ffffffff0a090909"
)


def b64(hex_text: str) -> str:
    return base64.b64encode(bytes.fromhex(hex_text)).decode()


def metabase(service: str = "", server: str = "", extra: str = "", server_children: str = "") -> str:
    return (
        '<?xml version ="1.0"?>\n'
        '<configuration xmlns="urn:microsoft-catalog:XML_Metabase_V64_0">\n'
        "<MBProperty>\n"
        f'<IIsSmtpService\tLocation ="/LM/SmtpSvc"\n\t\t{service}\n\t>\n</IIsSmtpService>\n'
        f'<IIsSmtpServer\tLocation ="/LM/SmtpSvc/1"\n\t\t{server}\n\t>\n{server_children}</IIsSmtpServer>\n'
        f"{extra}"
        "</MBProperty>\n"
        "</configuration>\n"
    )


def parse(tmp_path: Path, text: str, data: bytes | None = None) -> tuple[Path, dict[str, str]]:
    path = tmp_path / "MetaBase.xml"
    path.write_bytes(data if data is not None else text.encode("utf-8"))
    return path, parse_metabase(path, read_windows_text(path)).attributes


def error_of(tmp_path: Path, text: str) -> tuple[Path, InputFormatError]:
    path = tmp_path / "MetaBase.xml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputFormatError) as caught:
        parse_metabase(path, read_windows_text(path))
    return path, caught.value


def test_server_level_overrides_service_level(tmp_path: Path) -> None:
    _, attributes = parse(
        tmp_path,
        metabase(
            service=f'SmartHost="old.contoso.com" SmartHostType="1" RelayIpList="{ONLY_LOCALHOST}"',
            server=f'SmartHost="[192.168.10.10]" SmartHostType="2" RelayIpList="{PREFIX}00000000"',
        ),
    )
    assert attributes == {
        "SmartHost": "[192.168.10.10]",
        "SmartHostType": "2",
        "RelayIpList": b64(PREFIX + "00000000"),
        "RelayIpListLocation": "/LM/SmtpSvc/1",
    }


def test_service_level_is_the_fallback_and_says_where_the_relay_list_came_from(tmp_path: Path) -> None:
    _, attributes = parse(
        tmp_path,
        metabase(
            service=f'RelayIpList="{ALL_EXCEPT_10_9_9_9}" RelayForAuth="0" RouteAction="256"',
            server='SmartHost="exch01.contoso.com" RouteUserName="CONTOSO\\svc"',
        ),
    )
    assert attributes == {
        "SmartHost": "exch01.contoso.com",
        "RouteUserName": "CONTOSO\\svc",
        "RouteAction": "256",
        "RelayIpList": b64(ALL_EXCEPT_10_9_9_9),
        "RelayIpListLocation": "/LM/SmtpSvc",
        "RelayForAuth": "FALSE",
    }


def test_properties_found_nowhere_are_absent(tmp_path: Path) -> None:
    _, attributes = parse(tmp_path, metabase(server='ServerComment="Default SMTP Virtual Server"'))
    assert attributes == {}


def test_empty_relay_list_is_present_and_empty(tmp_path: Path) -> None:
    _, attributes = parse(
        tmp_path, metabase(service=f'RelayIpList="{ONLY_LOCALHOST}"', server='RelayIpList=""')
    )
    assert attributes == {"RelayIpList": "", "RelayIpListLocation": "/LM/SmtpSvc/1"}


def test_locations_compare_case_insensitively(tmp_path: Path) -> None:
    text = metabase(server='SmartHostType="2"').replace('"/LM/SmtpSvc/1"', '"/LM/SMTPSVC/1"')
    _, attributes = parse(tmp_path, text)
    assert attributes == {"SmartHostType": "2"}


def test_custom_elements_match_on_name_or_on_id(tmp_path: Path) -> None:
    children = (
        '\t<Custom Name="AuthFlags" ID="6000" Value="AuthBasic | AuthNTLM" Type="DWORD" Attributes="INHERIT"/>\n'
        '\t<Custom ID="36906" Value="[10.0.0.10]" Type="STRING"/>\n'
        '\t<Custom Name="SomethingElse" ID="99999" Value="1"/>\n'
    )
    _, attributes = parse(tmp_path, metabase(server_children=children))
    assert attributes == {"AuthFlags": "6", "SmartHost": "[10.0.0.10]"}


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("AuthAnonymous | AuthBasic | AuthNTLM", "7"),
        ("AuthAnonymous", "1"),
        ("authbasic|AUTHNTLM", "6"),
        ("5", "5"),
        ("0x7", "7"),
    ],
)
def test_auth_flags_accept_names_and_numbers(tmp_path: Path, written: str, expected: str) -> None:
    _, attributes = parse(tmp_path, metabase(server=f'AuthFlags="{written}"'))
    assert attributes == {"AuthFlags": expected}


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("-1", "TRUE"),
        ("4294967295", "TRUE"),
        ("1", "TRUE"),
        ("TRUE", "TRUE"),
        ("0", "FALSE"),
        ("false", "FALSE"),
    ],
)
def test_relay_for_auth_is_true_for_any_nonzero_value(tmp_path: Path, written: str, expected: str) -> None:
    _, attributes = parse(tmp_path, metabase(server=f'RelayForAuth="{written}"'))
    assert attributes == {"RelayForAuth": expected}


def test_domains_of_virtual_server_one_are_listed_with_their_route_action(tmp_path: Path) -> None:
    extra = (
        '<IIsSmtpDomain\tLocation ="/LM/SmtpSvc/1/Domain/POP.contoso.com."\n\t\tRouteAction="32"\n\t>\n</IIsSmtpDomain>\n'
        '<IIsSmtpDomain\tLocation ="/LM/SmtpSvc/1/Domain/relay.example"\n\t\tRouteAction="4098"\n\t>\n'
        "</IIsSmtpDomain>\n"
        '<IIsSmtpDomain\tLocation ="/LM/SmtpSvc/1/Domain/pop01.contoso.com"\n\t>\n</IIsSmtpDomain>\n'
        '<IIsSmtpDomain\tLocation ="/LM/SmtpSvc/2/Domain/other.example"\n\t\tRouteAction="32"\n\t>\n'
        "</IIsSmtpDomain>\n"
    )
    path = tmp_path / "MetaBase.xml"
    path.write_text(metabase(extra=extra), encoding="utf-8")
    settings = parse_metabase(path, read_windows_text(path))
    assert settings.domains == (
        MetabaseDomain(
            domain="pop.contoso.com", route_action="32", location="/LM/SmtpSvc/1/Domain/POP.contoso.com."
        ),
        MetabaseDomain(
            domain="relay.example", route_action="4098", location="/LM/SmtpSvc/1/Domain/relay.example"
        ),
        MetabaseDomain(
            domain="pop01.contoso.com", route_action=None, location="/LM/SmtpSvc/1/Domain/pop01.contoso.com"
        ),
    )


@pytest.mark.parametrize(
    ("label", "data"),
    [
        ("UTF-16LE BOM", lambda t: codecs.BOM_UTF16_LE + t.replace("\n", "\r\n").encode("utf-16-le")),
        ("UTF-8 BOM", lambda t: codecs.BOM_UTF8 + t.encode("utf-8")),
        ("cp1252", lambda t: t.encode("cp1252")),
    ],
)
def test_encodings_windows_writes_are_read(tmp_path: Path, label: str, data: object) -> None:
    assert callable(data)
    text = metabase(server='ServerComment="Serveur par défaut" SmartHost="exch01.contoso.com"')
    _, attributes = parse(tmp_path, "", data(text))
    assert attributes == {"SmartHost": "exch01.contoso.com"}, label


def test_relay_list_with_dns_names_is_kept_for_review(tmp_path: Path) -> None:
    blob = bytearray(bytes.fromhex(ONLY_LOCALHOST))
    blob[68:72] = (1).to_bytes(4, "little")  # one grant-by-name entry
    _, attributes = parse(tmp_path, metabase(server=f'RelayIpList="{blob.hex().upper()}"'))
    assert attributes["RelayIpList"] == base64.b64encode(bytes(blob)).decode()


BAD = [
    (
        "not well-formed",
        metabase(server='SmartHost="x"').replace("</IIsSmtpServer>", "</IIsSmtpService>"),
        ":11",
        "well-formed",
    ),
    ("DTD", '<?xml version="1.0"?>\n<!DOCTYPE configuration>\n<configuration/>\n', ":2", "DTD"),
    (
        "entity bomb",
        '<?xml version="1.0"?>\n<!DOCTYPE c [\n<!ENTITY a "aaaaaaaaaa">\n<!ENTITY b "&a;&a;&a;&a;&a;&a;">\n]>\n'
        "<configuration>&b;</configuration>\n",
        ":2",
        "DTD",
    ),
    (
        "external entity",
        '<?xml version="1.0"?>\n<!DOCTYPE c [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n<configuration>&x;</configuration>\n',
        ":2",
        "DTD",
    ),
    ("not a metabase", "<html><body/></html>\n", ":1", "not an IIS MetaBase.xml"),
    ("unknown flag", metabase(server='AuthFlags="AuthBasic | AuthKerberos"'), ":8", "'AuthKerberos'"),
    ("bad number", metabase(service='SmartHostType="two"'), ":4", "SmartHostType"),
    ("bad boolean", metabase(server='RelayForAuth="yes please"'), ":8", "RelayForAuth"),
    (
        "duplicate key",
        metabase(extra='<IIsSmtpServer\tLocation ="/lm/smtpsvc/1"\n\t>\n</IIsSmtpServer>\n'),
        ":12",
        "appears twice",
    ),
]


@pytest.mark.parametrize(("label", "text", "line", "problem"), BAD, ids=[b[0] for b in BAD])
def test_bad_metabase_names_file_and_line(
    tmp_path: Path, label: str, text: str, line: str, problem: str
) -> None:
    path, error = error_of(tmp_path, text)
    assert error.location == f"{path}{line}", label
    assert problem in error.problem


@pytest.mark.parametrize(
    ("label", "value", "stored"),
    [
        ("odd hex", f"{ONLY_LOCALHOST}0", f"!{ONLY_LOCALHOST}0"),
        ("non-hex", f"{ONLY_LOCALHOST[:-2]}zz", f"!{ONLY_LOCALHOST[:-2]}zz"),
        ("cut short", ONLY_LOCALHOST[:-8], base64.b64encode(bytes.fromhex(ONLY_LOCALHOST[:-8])).decode()),
    ],
)
def test_an_undecodable_relay_list_is_kept_for_review_not_refused(
    tmp_path: Path, label: str, value: str, stored: str
) -> None:
    """One damaged value in a well-formed MetaBase is a finding for review (the adapter makes the
    relay policy unreadable), never a refused export: the rest of the server is still audited."""
    _, attributes = parse(tmp_path, metabase(server=f'RelayIpList="{value}"'))
    assert attributes["RelayIpList"] == stored
