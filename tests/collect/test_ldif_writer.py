"""The one LDIF writer: what it writes, the strict reader reads back exactly (pure logic, no I/O
beyond a temporary file for the reader)."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from auditor.collect.ldif import decode_export_text, parse_ldif
from auditor.collect.ldif_writer import directory_values, fold, ldif_bytes, ldif_record, value_line

DN = "CN=Zoë Müller,OU=Staff,DC=contoso,DC=com"


def _read_back(
    data: bytes, binary: frozenset[str] = frozenset()
) -> list[tuple[str, dict[str, list[object]]]]:
    path = Path("written.ldf")
    return [
        (entry.dn, {name: list(values) for name, values in entry.attributes.items()})
        for entry in parse_ldif(path, decode_export_text(path, data), binary=binary)
    ]


def test_safe_text_is_plain_everything_else_is_base64() -> None:
    assert value_line("mail", "anna@contoso.com") == "mail: anna@contoso.com"
    assert value_line("cn", "") == "cn: "
    assert value_line("cn", "Zoë") == "cn:: Wm/Dqw=="
    assert value_line("description", " leading space").startswith("description:: ")
    assert value_line("description", "trailing space ").startswith("description:: ")
    assert value_line("description", ":colon").startswith("description:: ")
    assert value_line("description", "<angle").startswith("description:: ")
    assert value_line("description", "tab\there").startswith("description:: ")
    assert value_line("objectGUID", b"plain ascii bytes") == "objectGUID:: cGxhaW4gYXNjaWkgYnl0ZXM="


def test_folds_at_the_width_with_one_space_continuations() -> None:
    line = "x" * 200
    for width in (76, 78):
        parts = list(fold(line, width))
        assert len(parts[0]) == width
        assert all(part.startswith(" ") and len(part) <= width for part in parts[1:])
        assert parts[0] + "".join(part[1:] for part in parts[1:]) == line
    assert list(fold("short")) == ["short"]


def test_a_record_is_dn_changetype_values_and_a_blank_line() -> None:
    lines = list(
        ldif_record("CN=A,DC=contoso,DC=com", [("mail", "a@contoso.com"), ("mail", "b@contoso.com")])
    )
    assert lines == [
        "dn: CN=A,DC=contoso,DC=com",
        "changetype: add",
        "mail: a@contoso.com",
        "mail: b@contoso.com",
        "",
    ]


def test_ldif_bytes_use_crlf_and_read_back_exactly() -> None:
    guid = bytes(range(16))
    data = ldif_bytes(
        [(DN, [("objectClass", "user"), ("proxyAddresses", "SMTP:zoe@contoso.com"), ("objectGUID", guid)])]
    )
    assert b"\n" not in data.replace(b"\r\n", b"")
    assert data.endswith(b"\r\n\r\n")
    assert _read_back(data, frozenset({"objectguid"})) == [
        (DN, {"objectClass": ["user"], "proxyAddresses": ["SMTP:zoe@contoso.com"], "objectGUID": [guid]})
    ]


def test_directory_values_keep_binary_attributes_as_bytes_and_decode_the_rest() -> None:
    raw = {"cn": [b"Zo\xc3\xab"], "objectGUID": [b"abc"], "description": [b"\xff\xfe"]}
    assert list(directory_values(raw, frozenset({"objectguid"}))) == [
        ("cn", "Zoë"),
        ("objectGUID", b"abc"),
        ("description", b"\xff\xfe"),
    ]


_names = st.sampled_from(["cn", "mail", "proxyAddresses", "description", "displayName"])
_text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n\x00"), max_size=120)


@given(
    dn_value=st.text(
        st.characters(min_codepoint=33, max_codepoint=0x2FF, blacklist_characters=","),
        min_size=1,
        max_size=90,
    ),
    values=st.lists(st.tuples(_names, _text), min_size=1, max_size=8),
    width=st.sampled_from([76, 78]),
)
def test_any_text_round_trips_through_the_strict_reader(
    dn_value: str, values: list[tuple[str, str]], width: int
) -> None:
    dn = f"CN={dn_value.strip()}x,DC=contoso,DC=com"
    (read,) = _read_back(ldif_bytes([(dn, values)], width=width))
    expected: dict[str, list[object]] = {}
    for name, value in values:
        expected.setdefault(name, []).append(value)
    assert read == (dn, expected)
