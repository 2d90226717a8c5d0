"""pop3.reg: `reg export` output, UTF-16LE with BOM; AuthMethods (hex(7)) and DefaultAuthMethod."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from auditor.errors import InputFormatError
from auditor.families.windows_pop3.regfile import RegistryAuth, parse_pop3_reg, read_reg_file

POP3_REG = Path(__file__).parent / "data" / "pop01" / "pop3.reg"
HEADER = "Windows Registry Editor Version 5.00\r\n\r\n"
AUTH_KEY = "[HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\POP3 Service\\Auth]\r\n"


def multi_sz_hex(*values: str) -> str:
    data = ("\0".join(values) + "\0\0").encode("utf-16-le")
    return ",".join(f"{b:02x}" for b in data)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "pop3.reg"
    path.write_bytes(codecs.BOM_UTF16_LE + text.encode("utf-16-le"))
    return path


def read(path: Path) -> RegistryAuth:
    return parse_pop3_reg(path, read_reg_file(path))


def test_reg_export_gives_normalised_methods_and_the_default_index() -> None:
    assert read(POP3_REG) == RegistryAuth(
        methods=(
            "14f1665c-e3d3-46aa-884f-ed4cf19d7ad5",
            "ef9d811e-36c5-497f-ade7-2b36df172824",
            "c395e20c-2236-4af7-b736-54fad07dc526",
        ),
        default_method=1,
    )


def test_values_outside_the_auth_key_are_ignored(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        HEADER + "[HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\POP3 Service]\r\n"
        '"DefaultAuthMethod"=dword:00000002\r\n'
        f'"AuthMethods"=hex(7):{multi_sz_hex("{X}")}\r\n',
    )
    assert read(path) == RegistryAuth(methods=None, default_method=None)


def test_key_and_value_names_are_case_insensitive_and_braces_optional(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        HEADER
        + AUTH_KEY.lower()
        + f'"authmethods"=hex(7):{multi_sz_hex("EF9D811E-36C5-497F-ADE7-2B36DF172824")}\r\n'
        '"defaultauthmethod"=dword:00000000\r\n',
    )
    assert read(path) == RegistryAuth(methods=("ef9d811e-36c5-497f-ade7-2b36df172824",), default_method=0)


def test_large_dword_is_read_as_unsigned(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + AUTH_KEY + '"DefaultAuthMethod"=dword:0000000a\r\n')
    assert read(path).default_method == 10


def test_utf8_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "pop3.reg"
    path.write_bytes(POP3_REG.read_bytes()[2:].decode("utf-16-le").encode("utf-8"))
    with pytest.raises(InputFormatError) as caught:
        read(path)
    assert caught.value.location == f"{path}:1"
    assert "not UTF-16LE with BOM" in caught.value.problem


def test_file_cut_in_half_a_character_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "pop3.reg"
    path.write_bytes(POP3_REG.read_bytes()[:-1])
    lines = POP3_REG.read_bytes()[2:].decode("utf-16-le").count("\n")
    with pytest.raises(InputFormatError) as caught:
        read(path)
    assert caught.value.location == f"{path}:{lines}"  # the last line: its line break is cut


def test_file_cut_inside_the_hex_value_is_refused(tmp_path: Path) -> None:
    text = POP3_REG.read_bytes()[2:].decode("utf-16-le")
    cut = text[: text.index("\\\r\n") + 3]
    path = write(tmp_path, cut)
    with pytest.raises(InputFormatError) as caught:
        read(path)
    assert caught.value.location == f"{path}:10"
    assert "AuthMethods: malformed hex value" in caught.value.problem


BAD = [
    (
        "missing header",
        "REGEDIT4\r\n\r\n" + AUTH_KEY,
        1,
        "missing the 'Windows Registry Editor Version 5.00' header",
    ),
    ("hex(7) non-hex", HEADER + AUTH_KEY + '"AuthMethods"=hex(7):7b,00,zz,00\r\n', 4, "malformed hex value"),
    ("hex(7) odd bytes", HEADER + AUTH_KEY + '"AuthMethods"=hex(7):7b,00,7d\r\n', 4, "odd number of bytes"),
    (
        "hex(7) unterminated",
        HEADER + AUTH_KEY + '"AuthMethods"=hex(7):7b,00,7d,00\r\n',
        4,
        "not NUL-terminated",
    ),
    (
        "hex(7) bad surrogate",
        HEADER + AUTH_KEY + '"AuthMethods"=hex(7):00,dc,00,00\r\n',
        4,
        "not UTF-16LE text",
    ),
    ("AuthMethods as string", HEADER + AUTH_KEY + '"AuthMethods"="{ef9d811e}"\r\n', 4, "not a REG_MULTI_SZ"),
    ("short dword", HEADER + AUTH_KEY + '"DefaultAuthMethod"=dword:1\r\n', 4, "malformed dword value"),
    ("dword as hex", HEADER + AUTH_KEY + '"DefaultAuthMethod"=hex:01,00,00,00\r\n', 4, "not a dword value"),
    ("value before key", HEADER + '"DefaultAuthMethod"=dword:00000001\r\n', 3, "not a registry value line"),
    ("junk line", HEADER + AUTH_KEY + "DefaultAuthMethod = 1\r\n", 4, "not a registry value line"),
    ("unterminated string", HEADER + AUTH_KEY + '"Greeting"="hello\r\n', 4, "malformed string value"),
    ("deletion", HEADER + AUTH_KEY + '"DefaultAuthMethod"=-\r\n', 4, "not an export"),
]


@pytest.mark.parametrize(("label", "text", "line", "problem"), BAD, ids=[b[0] for b in BAD])
def test_bad_registry_export_names_file_and_line(
    tmp_path: Path, label: str, text: str, line: int, problem: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(InputFormatError) as caught:
        read(path)
    assert caught.value.location == f"{path}:{line}", label
    assert problem in caught.value.problem
