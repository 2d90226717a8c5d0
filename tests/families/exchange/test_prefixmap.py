"""The prefix table rules of [MS-DRSR] 5.16.4 (pure logic; the lab DC's own table and ATTRTYPs are
tested in tests/ldap/test_attribution_live.py)."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from auditor.families.exchange.prefixmap import (
    PrefixMapError,
    PrefixTable,
    ber_decode_oid,
    ber_encode_oid,
    decode_prefix_map,
    is_int_id,
)

# The first entries of the table every AD forest starts with ([MS-DRSR] 5.16.4's example table).
BASE = PrefixTable.of(
    [
        (0, "2.5.4"),
        (1, "2.5.6"),
        (2, "1.2.840.113556.1.2"),
        (3, "1.2.840.113556.1.3"),
        (9, "1.2.840.113556.1.4"),
    ]
)


@pytest.mark.parametrize(
    ("oid", "encoded"),
    [
        ("2.5.4.3", "550403"),  # 2.5 -> 40*2+5 = 85
        ("1.2.840.113556.1.4.656", "2a864886f71401048510"),  # 656 = 5*128 + 16: 0x85 0x10
        ("0.9.2342.19200300.100.1.3", "0992268993f22c640103"),
    ],
)
def test_ber_encoding_of_known_oids(oid: str, encoded: str) -> None:
    assert ber_encode_oid(oid).hex() == encoded
    assert ber_decode_oid(bytes.fromhex(encoded)) == oid


@pytest.mark.parametrize(
    ("attid", "oid"),
    [
        (0x00000003, "2.5.4.3"),  # cn: last arc below 128, one byte
        (0x00020001, "1.2.840.113556.1.2.1"),  # instanceType
        (0x000200D2, "1.2.840.113556.1.2.210"),  # proxyAddresses: 210 >= 128, two bytes
        (0x00090290, "1.2.840.113556.1.4.656"),  # userPrincipalName
    ],
)
def test_attrtyp_and_oid_convert_both_ways(attid: int, oid: str) -> None:
    assert BASE.oid_from_attid(attid) == oid
    assert BASE.attid_from_oid(oid) == attid


def test_a_last_arc_of_16384_or_more_sets_bit_15_and_leaves_its_high_bits_in_the_prefix() -> None:
    oid = "1.2.840.113556.1.4.20000"  # BER of 20000: 0x81 0x9c 0x20
    prefix = ber_encode_oid(oid)[:-2]
    table = PrefixTable({7: prefix})
    attid = table.attid_from_oid(oid)
    assert attid == (7 << 16) | 0x8000 | (20000 % 0x4000)
    assert table.oid_from_attid(attid) == oid


arcs = st.lists(st.integers(min_value=0, max_value=2**21), min_size=1, max_size=6)


@given(first=st.integers(0, 2), second=st.integers(0, 39), rest=arcs)
def test_every_oid_survives_makeattid_then_oidfromattid(first: int, second: int, rest: list[int]) -> None:
    oid = ".".join(str(a) for a in (first, second, *rest))
    encoded = ber_encode_oid(oid)
    assert ber_decode_oid(encoded) == oid
    last = rest[-1]
    table = PrefixTable({42: encoded[:-1] if last < 128 else encoded[:-2]})
    assert table.oid_from_attid(table.attid_from_oid(oid)) == oid


def test_int_ids_are_not_table_attrtyps() -> None:
    assert is_int_id(0x98C36B5A) and not is_int_id(0x000200D2)
    with pytest.raises(PrefixMapError, match="not in the prefix table range"):
        BASE.oid_from_attid(0x98C36B5A)
    with pytest.raises(PrefixMapError, match="no entry 5"):
        BASE.oid_from_attid(0x00050001)


def windows_layout(entries: list[tuple[int, bytes]]) -> bytes:
    """Windows' stored form: count, total size, then (index u16, length u16, bytes) per entry."""
    body = b"".join(struct.pack("<HH", index, len(prefix)) + prefix for index, prefix in entries)
    return struct.pack("<II", len(entries), 8 + len(body)) + body


def samba_layout(entries: list[tuple[int, bytes]]) -> bytes:
    """Samba's NDR prefixMapBlob: magic, reserved, count, pointer, conformant array, deferred bytes."""
    out = bytearray(struct.pack("<IIIII", 0x44534442, 0, len(entries), 0x20000, len(entries)))
    for number, (index, prefix) in enumerate(entries):
        out += struct.pack("<III", index, len(prefix), 0x20004 + 4 * number)
    for _, prefix in entries:
        out += b"\0" * (-len(out) % 4) + struct.pack("<I", len(prefix)) + prefix
    return bytes(out)


def test_both_stored_layouts_decode_to_the_same_table() -> None:
    entries = sorted(BASE.prefixes.items())
    assert decode_prefix_map(windows_layout(entries)) == BASE
    assert decode_prefix_map(samba_layout(entries)) == BASE


@pytest.mark.parametrize(
    ("blob", "message"),
    [
        (b"\x01\x00", "too short"),
        (windows_layout([(0, b"\x55\x04")])[:-1], "says it is"),
        (struct.pack("<II", 2, 14) + struct.pack("<HH", 0, 2) + b"\x55\x04", "ends inside entry 1"),
        (samba_layout([(0, b"\x55\x04")])[:-1], "truncated"),
    ],
)
def test_damaged_tables_are_refused_with_what_is_wrong(blob: bytes, message: str) -> None:
    with pytest.raises(PrefixMapError, match=message):
        decode_prefix_map(blob)
