"""winpop outputs (`get auth`, `list`, `list DOMAIN`) as redirected to files on Windows."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from auditor.errors import InputFormatError
from auditor.families.windows_pop3.winpop import (
    WinpopAuth,
    parse_winpop_auth,
    parse_winpop_domains,
    parse_winpop_mailboxes,
    read_windows_text,
)

POP01 = Path(__file__).parent / "data" / "pop01"


def crcrlf(text: str) -> str:
    return text.replace("\n", "\r\r\n")


def test_get_auth_with_cr_cr_lf_lists_methods_by_name_and_the_marked_one() -> None:
    path = POP01 / "winpop-auth.txt"
    assert parse_winpop_auth(path, read_windows_text(path)) == WinpopAuth(
        methods=("Local Windows Accounts", "Active Directory Integrated", "Encrypted Password File"),
        current="Active Directory Integrated",
    )


def test_get_auth_on_a_domain_controller_numbers_differently() -> None:
    text = crcrlf("\n 1 * Active Directory Integrated   \n 2   Encrypted Password File\n\n")
    assert parse_winpop_auth(Path("a.txt"), text) == WinpopAuth(
        methods=("Active Directory Integrated", "Encrypted Password File"),
        current="Active Directory Integrated",
    )


def test_get_auth_without_a_marked_line_has_no_current_method() -> None:
    text = crcrlf(" 1   Local Windows Accounts\n 2   Encrypted Password File\n")
    assert parse_winpop_auth(Path("a.txt"), text) == WinpopAuth(
        methods=("Local Windows Accounts", "Encrypted Password File"), current=None
    )


@pytest.mark.parametrize(
    ("text", "location", "problem"),
    [
        (crcrlf("\n\n"), "a.txt:1", "no authentication method lines"),
        (
            crcrlf(" 1   Local Windows Accounts\nThe POP3 service is not running.\n"),
            "a.txt:2",
            "not a 'winpop get auth'",
        ),
        (
            crcrlf(" 1 * Local Windows Accounts\n 2 * Encrypted Password File\n"),
            "a.txt:2",
            "more than one method",
        ),
    ],
)
def test_get_auth_of_the_wrong_shape_is_refused(text: str, location: str, problem: str) -> None:
    with pytest.raises(InputFormatError) as caught:
        parse_winpop_auth(Path("a.txt"), text)
    assert caught.value.location == location
    assert problem in caught.value.problem


def test_list_gives_lower_case_domains_without_trailing_dot() -> None:
    path = POP01 / "winpop-list.txt"
    assert parse_winpop_domains(path, read_windows_text(path)) == ["pop.contoso.com", "pop2.contoso.com"]


def test_list_with_no_domains_is_empty() -> None:
    assert parse_winpop_domains(Path("l.txt"), crcrlf("\n List of domains\n\n 0 domain(s)\n")) == []


@pytest.mark.parametrize(
    ("text", "location", "problem"),
    [
        ("", "l.txt:1", "empty file"),
        (crcrlf("pop.contoso.com\n 1 domain(s)\n"), "l.txt:1", "expected the heading"),
        (crcrlf(" List of domains\npop.contoso.com\n"), "l.txt:2", "count footer"),
        (crcrlf(" List of domains\npop.contoso.com\n 2 domain(s)\n"), "l.txt:3", "footer counts 2"),
        (crcrlf(" List of domains\npop contoso\n 1 domain(s)\n"), "l.txt:2", "not a valid name"),
        (crcrlf(" List of domains\na.com\nA.COM\n 2 domain(s)\n"), "l.txt:3", "listed twice"),
    ],
)
def test_list_of_the_wrong_shape_is_refused(text: str, location: str, problem: str) -> None:
    with pytest.raises(InputFormatError) as caught:
        parse_winpop_domains(Path("l.txt"), text)
    assert caught.value.location == location
    assert problem in caught.value.problem


def test_mailbox_list_in_utf16_is_read() -> None:
    path = POP01 / "winpop-list-POP2.contoso.com.txt"
    assert parse_winpop_mailboxes(path, read_windows_text(path), "pop2.contoso.com") == ["carol"]


def test_mailbox_list_keeps_names_as_written() -> None:
    path = POP01 / "winpop-list-pop.contoso.com.txt"
    assert parse_winpop_mailboxes(path, read_windows_text(path), "pop.contoso.com") == ["bob", "Erin"]


def test_mailbox_list_of_another_domain_is_refused() -> None:
    text = crcrlf("\n List of mailboxes: other.com\n\nbob\n\n 1 mailbox(es)\n")
    with pytest.raises(InputFormatError) as caught:
        parse_winpop_mailboxes(Path("m.txt"), text, "pop.contoso.com")
    assert caught.value.location == "m.txt:2"
    assert "not of pop.contoso.com" in caught.value.problem


def test_mailbox_list_with_a_wrong_footer_is_refused() -> None:
    text = crcrlf(" List of mailboxes: pop.contoso.com\nbob\n 1 domain(s)\n")
    with pytest.raises(InputFormatError) as caught:
        parse_winpop_mailboxes(Path("m.txt"), text, "pop.contoso.com")
    assert caught.value.location == "m.txt:3"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (codecs.BOM_UTF16_LE + "Grüße\r\n".encode("utf-16-le"), "Grüße\r\n"),
        (codecs.BOM_UTF8 + "Grüße\r\n".encode(), "Grüße\r\n"),
        ("Grüße\r\n".encode(), "Grüße\r\n"),
        ("Grüße €\r\n".encode("cp1252"), "Grüße €\r\n"),
    ],
)
def test_windows_text_encodings_are_decided_by_bom_then_utf8_then_cp1252(
    tmp_path: Path, data: bytes, expected: str
) -> None:
    path = tmp_path / "t.txt"
    path.write_bytes(data)
    assert read_windows_text(path) == expected


def test_undecodable_utf16_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "t.txt"
    path.write_bytes(codecs.BOM_UTF16_LE + b"a\x00b")
    with pytest.raises(InputFormatError) as caught:
        read_windows_text(path)
    assert caught.value.location == f"{path}:1"
