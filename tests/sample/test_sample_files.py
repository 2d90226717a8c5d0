"""The sample's files look the way Windows tools write them and are what the generator writes (so the
committed data and tools/make_sample.py never drift apart: the generator is the source of truth).
That they ship in the wheel, and the generator does not, is tests/sample/test_packaging.py."""

from __future__ import annotations

import base64
import codecs
import ipaddress
import re
import tomllib

import pytest
from make_sample import relay_blob, sample_files

from auditor.families.iis_relaylist import RelayMode, decode_relay_list
from auditor.sample import sample_config_path

SAMPLE = sample_config_path().parent
LDIF_FILES = ("contoso-domain.ldf", "contoso-configuration.ldf")


def _data_files() -> set[str]:
    skip = {"__init__.py", "README.md"}
    return {
        p.relative_to(SAMPLE).as_posix()
        for p in SAMPLE.rglob("*")
        if p.is_file() and p.name not in skip and "__pycache__" not in p.parts
    }


def _records(name: str) -> list[list[str]]:
    """Unfolded lines of each LDIF record."""
    text = (SAMPLE / name).read_bytes().decode("utf-8")
    unfolded = re.sub(r"\r\n ", "", text)
    return [block.split("\r\n") for block in unfolded.split("\r\n\r\n") if block.strip()]


def test_sample_config_path_is_the_bundled_config() -> None:
    path = sample_config_path()
    assert path.name == "auditor.toml"
    assert path.is_file()
    assert tomllib.loads(path.read_text("utf-8"))["organization"] == "Contoso"


def test_committed_files_are_exactly_what_the_generator_writes() -> None:
    generated = sample_files()
    assert set(generated) | {"auditor.toml"} == _data_files()
    for relative, data in generated.items():
        assert (SAMPLE / relative).read_bytes() == data, (
            f"{relative}: run make sample-data (tools/make_sample.py)"
        )


@pytest.mark.parametrize("name", LDIF_FILES)
def test_ldif_is_an_ldifde_export(name: str) -> None:
    data = (SAMPLE / name).read_bytes()
    assert data.endswith(b"\r\n\r\n")
    assert b"\n" not in data.replace(b"\r\n", b"")
    records = _records(name)
    guids = []
    for lines in records:
        assert lines[0].startswith(("dn: ", "dn:: "))
        assert lines[1] == "changetype: add"
        guid_lines = [line for line in lines if line.startswith("objectGUID:: ")]
        assert len(guid_lines) == 1, lines[0]
        guids.append(guid_lines[0])
        assert all(line.isascii() for line in lines)
    assert len(set(guids)) == len(guids)
    assert b"\r\n " in data  # long values are folded


def test_ldif_writes_binary_and_non_ascii_values_as_base64() -> None:
    lines = [line for name in LDIF_FILES for record in _records(name) for line in record]
    for attribute in ("msExchSmtpRelayIpList", "msExchPolicyOptionList", "msExchMailboxGuid"):
        assert all(line.startswith(f"{attribute}:: ") for line in lines if line.startswith(attribute + ":"))
        assert any(line.startswith(attribute) for line in lines)
    names = {base64.b64decode(line[5:]).decode("utf-8") for line in lines if line.startswith("dn:: ")}
    assert "CN=Zoë Müller,OU=Staff,DC=contoso,DC=com" in names
    assert "CN=Søren Dahl,OU=POP3,DC=contoso,DC=com" in names


def test_partition_roots_and_containers_are_exported() -> None:
    dns = {record[0] for name in LDIF_FILES for record in _records(name)}
    for dn in (
        "DC=contoso,DC=com",
        "OU=POP3,DC=contoso,DC=com",
        "CN=Configuration,DC=contoso,DC=com",
        "CN=Services,CN=Configuration,DC=contoso,DC=com",
        "CN=Contoso,CN=Microsoft Exchange,CN=Services,CN=Configuration,DC=contoso,DC=com",
    ):
        assert f"dn: {dn}" in dns


def test_relay_blobs_follow_the_public_samples() -> None:
    # research notes §5.6: SaltStack's "only 127.0.0.1" and KISA's "all except 10.9.9.9" layouts.
    salt = (
        "18000080200000803c00008044000080010000004c00000000000000000000000100000001000000020000000200000004"
        "000000000000004c00008000000000000000000000000000000000ffffffff7f000001"
    )
    kisa = (
        "18000080340000803c00008044000080010000004c0000000100000001000000020000000200000004000000000000004c"
        "000080000000000000000000000000000000000000000000000000ffffffff0a090909"
    )
    assert relay_blob(["127.0.0.1"], grant=True).hex() == salt
    assert relay_blob(["10.9.9.9"], grant=False).hex() == kisa
    both = decode_relay_list(relay_blob(["10.0.0.25", "127.0.0.1"], grant=True))
    assert both.mode is RelayMode.ONLY_LIST
    assert both.grants == (ipaddress.IPv4Network("10.0.0.25/32"), ipaddress.IPv4Network("127.0.0.1/32"))
    open_relay = decode_relay_list(relay_blob(["10.0.0.99"], grant=False))
    assert open_relay.mode is RelayMode.ALL_EXCEPT
    assert open_relay.denies == (ipaddress.IPv4Network("10.0.0.99/32"),)


@pytest.mark.parametrize("server", ["pop01", "pop02"])
def test_pop3_reg_is_a_utf16_reg_export(server: str) -> None:
    data = (SAMPLE / server / "pop3.reg").read_bytes()
    assert data.startswith(codecs.BOM_UTF16_LE)
    text = data[2:].decode("utf-16-le")
    assert text.startswith("Windows Registry Editor Version 5.00\r\n\r\n")
    assert '"AuthMethods"=hex(7):' in text
    assert ",\\\r\n  " in text  # hex(7) wrapped as regedit wraps it
    assert all(len(line) <= 80 for line in text.split("\r\n"))


def test_winpop_outputs_use_windows_line_ends() -> None:
    assert (SAMPLE / "pop01" / "winpop-list.txt").read_bytes().count(b"\r\n") == 6
    crcrlf = (SAMPLE / "pop02" / "winpop-list.txt").read_bytes()
    assert crcrlf.count(b"\r\r\n") == 7
    assert crcrlf.replace(b"\r\r\n", b"").count(b"\n") == 0


def test_metabase_is_written_in_iis_layout() -> None:
    text = (SAMPLE / "pop01" / "MetaBase.xml").read_text("utf-8")
    assert '<IIsSmtpServer\tLocation ="/LM/SmtpSvc/1"' in text
    assert '\t\tName="AuthFlags"' in text
    assert 'RelayIpList=""' in (SAMPLE / "pop02" / "MetaBase.xml").read_text("utf-8")
