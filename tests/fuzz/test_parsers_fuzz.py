"""Property tests of every parser of exported files (see harness.py): LDIF, MetaBase.xml, pop3.reg,
the three winpop outputs, and the relay-list blob they carry.

`make test` runs the short `auditor-ci` profile; `make fuzz` the long one.
"""

from __future__ import annotations

import codecs
import struct
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from auditor.families.exchange.ldif import LdifSource
from auditor.families.iis_relaylist import RelayList, RelayListDecodeError, decode_relay_list
from auditor.families.windows_pop3.metabase import parse_metabase
from auditor.families.windows_pop3.regfile import parse_pop3_reg, read_reg_file
from auditor.families.windows_pop3.winpop import (
    read_windows_text,
    read_winpop_auth,
    read_winpop_domains,
    read_winpop_mailboxes,
)
from tests.fuzz.harness import assert_contained, mutants

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "auditor" / "sample"
POP_DATA = ROOT / "tests" / "families" / "windows_pop3" / "data" / "pop01"
LDIF_DATA = ROOT / "tests" / "collect" / "data"


def seeds(*paths: Path) -> list[bytes]:
    return [path.read_bytes() for path in paths]


def utf16(data: bytes) -> bytes:
    return codecs.BOM_UTF16_LE + data.decode("utf-8-sig").encode("utf-16-le")


LDIF_SEEDS = seeds(LDIF_DATA / "domain.ldf", LDIF_DATA / "configuration.ldf")
LDIF_SEEDS += [utf16(LDIF_SEEDS[1])]
METABASE_SEEDS = seeds(
    SAMPLE / "pop01" / "MetaBase.xml", SAMPLE / "pop02" / "MetaBase.xml", POP_DATA / "MetaBase.xml"
)
REG_SEEDS = seeds(SAMPLE / "pop01" / "pop3.reg", SAMPLE / "pop02" / "pop3.reg", POP_DATA / "pop3.reg")
AUTH_SEEDS = seeds(SAMPLE / "pop01" / "winpop-auth.txt", POP_DATA / "winpop-auth.txt")
LIST_SEEDS = seeds(SAMPLE / "pop01" / "winpop-list.txt", SAMPLE / "pop02" / "winpop-list.txt")
MAILBOX_SEEDS = seeds(
    SAMPLE / "pop01" / "winpop-list-pop.contoso.com.txt", POP_DATA / "winpop-list-pop.contoso.com.txt"
)
MAILBOX_SEEDS += [utf16(MAILBOX_SEEDS[0])]


@pytest.fixture(scope="module")
def folder() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="auditor-fuzz-") as name:
        yield Path(name)


def any_bytes(seed_list: list[bytes]) -> st.SearchStrategy[bytes]:
    return st.one_of(mutants(seed_list), st.binary(max_size=512))


@given(data=any_bytes(LDIF_SEEDS))
def test_ldif_exports(folder: Path, data: bytes) -> None:
    assert_contained(lambda path: list(LdifSource([path]).collect()), folder / "export.ldf", data)


@given(data=any_bytes(METABASE_SEEDS))
def test_metabase_xml(folder: Path, data: bytes) -> None:
    assert_contained(
        lambda path: parse_metabase(path, read_windows_text(path)), folder / "MetaBase.xml", data
    )


@given(data=any_bytes(REG_SEEDS))
def test_pop3_reg(folder: Path, data: bytes) -> None:
    assert_contained(lambda path: parse_pop3_reg(path, read_reg_file(path)), folder / "pop3.reg", data)


@given(data=any_bytes(AUTH_SEEDS))
def test_winpop_get_auth(folder: Path, data: bytes) -> None:
    assert_contained(read_winpop_auth, folder / "winpop-auth.txt", data)


@given(data=any_bytes(LIST_SEEDS))
def test_winpop_list(folder: Path, data: bytes) -> None:
    assert_contained(read_winpop_domains, folder / "winpop-list.txt", data)


@given(data=any_bytes(MAILBOX_SEEDS))
def test_winpop_list_domain(folder: Path, data: bytes) -> None:
    path = folder / "winpop-list-pop.contoso.com.txt"
    assert_contained(lambda p: read_winpop_mailboxes(p, "pop.contoso.com"), path, data)


@st.composite
def relay_blobs(draw: st.DrawFn) -> bytes:
    """Blobs laid out as the decoder expects (header, four lists, entries), then damaged a little."""
    lists = [
        draw(
            st.lists(
                st.tuples(st.integers(0, 32), st.lists(st.binary(min_size=4, max_size=4), max_size=3)),
                max_size=2,
            )
        )
        for _ in range(4)
    ]
    header = 24
    body = bytearray()
    references = []
    for entries in lists:
        offset = header + len(body)
        references.append(0x80000000 | offset)
        addresses = sum(len(a) for _, a in entries)
        body += struct.pack("<II", len(entries), addresses)
        data_start = offset + 8 + 20 * len(entries)
        blocks = b""
        for prefix, items in entries:
            mask = (0xFFFFFFFF << (32 - prefix)) & 0xFFFFFFFF if prefix else 0
            block = mask.to_bytes(4, "big") + b"".join(items)
            body += struct.pack(
                "<5I",
                2,
                1 + len(items),
                prefix // 8,
                (0xFF << (8 - prefix % 8)) & 0xFF if prefix % 8 else 0,
                0x80000000 | (data_start + len(blocks)),
            )
            blocks += block
        body += blocks
    blob = bytearray(struct.pack("<6I", *references, 0, header) + body)
    for _ in range(draw(st.integers(0, 3))):
        if blob:
            blob[draw(st.integers(0, len(blob) - 1))] = draw(st.integers(0, 255))
    if draw(st.booleans()):
        del blob[draw(st.integers(0, len(blob))) :]
    return bytes(blob)


@given(blob=st.one_of(relay_blobs(), st.binary(max_size=256)))
def test_relay_list_blobs(blob: bytes) -> None:
    try:
        decoded = decode_relay_list(blob)
    except RelayListDecodeError as exc:
        assert str(exc) and "\n" not in str(exc)
    else:
        assert isinstance(decoded, RelayList)
        decoded.describe()
