"""The IP security list decoder on the research notes' sample blobs, damaged blobs and random bytes."""

from __future__ import annotations

import base64
import ipaddress
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from auditor.families.iis_relaylist import (
    RelayList,
    RelayListDecodeError,
    RelayListTruncatedError,
    RelayMode,
    decode_relay_list,
)

PREFIX = (
    "18000080200000803c00008044000080010000004c00000000000000000000000100000001000000020000000200000004"
    "000000000000004c00008000000000000000000000000000000000ffffffff"
)
TWO_HOSTS = (
    "18000080200000803c00008044000080010000004c00000000000000000000000100000002000000020000000300000004"
    "000000000000004c00008000000000000000000000000000000000ffffffffc0a80a14c0a80a15"
)
ALL_EXCEPT_10_9_9_9 = (
    "18000080340000803c00008044000080010000004c0000000100000001000000020000000200000004000000000000004c000080"
    "000000000000000000000000000000000000000000000000ffffffff0a090909"
)


def net(text: str) -> ipaddress.IPv4Network:
    return ipaddress.IPv4Network(text)


@pytest.mark.parametrize(
    ("hex_blob", "expected"),
    [
        (PREFIX + "7f000001", RelayList(RelayMode.ONLY_LIST, (net("127.0.0.1/32"),), ())),
        (PREFIX + "00000000", RelayList(RelayMode.ONLY_LIST, (net("0.0.0.0/32"),), ())),
        (PREFIX + "c0a80a14", RelayList(RelayMode.ONLY_LIST, (net("192.168.10.20/32"),), ())),
        (TWO_HOSTS, RelayList(RelayMode.ONLY_LIST, (net("192.168.10.20/32"), net("192.168.10.21/32")), ())),
        (ALL_EXCEPT_10_9_9_9, RelayList(RelayMode.ALL_EXCEPT, (), (net("10.9.9.9/32"),))),
        (PREFIX.upper() + "7F000001", RelayList(RelayMode.ONLY_LIST, (net("127.0.0.1/32"),), ())),
    ],
)
def test_metabase_hex_samples_decode(hex_blob: str, expected: RelayList) -> None:
    assert decode_relay_list(bytes.fromhex(hex_blob)) == expected


@pytest.mark.parametrize(
    ("b64_blob", "description"),
    [
        (
            "GAAAgCAAAIA8AACARAAAgAEAAABMAAAAAAAAAAAAAAABAAAAAQAAAAIAAAACAAAABAAAAAAAAABMAACAAAAAAAAAAAAAAAAAAAAAAP////8KAAAZ",
            "only the list below; grant 10.0.0.25/32",
        ),
        (
            "GAAAgCAAAIAoAACAMAAAgAEAAAA4AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
            "all except the list below",
        ),
        (
            "GAAAgCAAAIA8AACARAAAgAEAAABMAAAAAAAAAAAAAAABAAAAAQAAAAIAAAACAAAABAAAAAAAAABMAACAAAAAAAAAAAAAAAAAAAAAAP////9/AAAB",
            "only the list below; grant 127.0.0.1/32",
        ),
    ],
)
def test_ldif_base64_samples_decode(b64_blob: str, description: str) -> None:
    assert decode_relay_list(base64.b64decode(b64_blob)).describe() == description


def test_sentinel_grant_means_nobody_relays_by_ip() -> None:
    relay = decode_relay_list(bytes.fromhex(PREFIX + "00000000"))
    assert relay.real_grants == ()
    assert relay.widest_grant() is None
    assert relay.describe() == "only the list below; nobody granted"
    assert not relay.grants_address("0.0.0.0")
    assert not relay.grants_address("192.168.10.20")


def test_all_except_with_deny_lets_everyone_else_relay() -> None:
    relay = decode_relay_list(bytes.fromhex(ALL_EXCEPT_10_9_9_9))
    assert relay.describe() == "all except the list below; deny 10.9.9.9/32"
    assert not relay.grants_address("10.9.9.9")
    assert relay.grants_address("203.0.113.7")


def test_only_list_grants_listed_hosts_only() -> None:
    relay = decode_relay_list(bytes.fromhex(TWO_HOSTS))
    assert relay.grants_address("[192.168.10.21]")
    assert not relay.grants_address("192.168.10.22")
    assert not relay.grants_address("not an address")


def test_empty_blob_is_everyone_may_relay() -> None:
    assert decode_relay_list(b"") == RelayList(RelayMode.ALL_EXCEPT, (), ())


def test_subnet_entry_decodes_with_its_prefix() -> None:
    blob = bytearray(bytes.fromhex(PREFIX + "0a000000"))
    struct.pack_into("<2I", blob, 48, 3, 0)  # three full mask bytes, no partial byte
    blob[76:80] = bytes.fromhex("ffffff00")
    relay = decode_relay_list(bytes(blob))
    assert relay.grants == (net("10.0.0.0/24"),)
    assert relay.widest_grant() == net("10.0.0.0/24")


@pytest.mark.parametrize(
    ("blob", "problem"),
    [
        (bytes.fromhex(PREFIX + "7f000001")[:20], "shorter than the 24-byte header"),
        (bytes.fromhex(PREFIX + "7f000001")[:-4], "addresses run past the end"),
        (bytes.fromhex(PREFIX + "7f000001")[:-8], "points outside"),
        (bytes.fromhex(PREFIX + "7f000001")[:50], "exceeds the 50-byte blob"),
        (bytes.fromhex(TWO_HOSTS)[:-4], "addresses run past the end"),
    ],
)
def test_blobs_cut_short_raise_the_truncated_error(blob: bytes, problem: str) -> None:
    with pytest.raises(RelayListTruncatedError, match=problem):
        decode_relay_list(blob)


def test_dns_name_entries_are_refused_but_not_as_truncation() -> None:
    blob = bytearray(bytes.fromhex(PREFIX + "7f000001"))
    struct.pack_into("<I", blob, 68, 1)  # grant-by-name list claims one entry
    with pytest.raises(RelayListDecodeError, match="DNS-name entries") as caught:
        decode_relay_list(bytes(blob))
    assert not isinstance(caught.value, RelayListTruncatedError)


@pytest.mark.parametrize(
    ("offset", "value", "problem"),
    [
        (40, 23, "address family 23"),
        (4, 0x20, "not self-relative"),
        (36, 5, "header counts 5 addresses"),
        (48, 2, "disagrees with its entry"),
    ],
)
def test_unknown_layouts_are_refused_but_not_as_truncation(offset: int, value: int, problem: str) -> None:
    blob = bytearray(bytes.fromhex(PREFIX + "7f000001"))
    struct.pack_into("<I", blob, offset, value)
    with pytest.raises(RelayListDecodeError, match=problem) as caught:
        decode_relay_list(bytes(blob))
    assert not isinstance(caught.value, RelayListTruncatedError)


def test_non_contiguous_mask_is_refused() -> None:
    blob = bytearray(bytes.fromhex(PREFIX + "7f000001"))
    blob[76:80] = bytes.fromhex("ff00ff00")
    with pytest.raises(RelayListDecodeError, match="not contiguous"):
        decode_relay_list(bytes(blob))


def _decodes_or_refuses(blob: bytes) -> None:
    try:
        result = decode_relay_list(blob)
    except RelayListDecodeError:
        return
    assert isinstance(result, RelayList)


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes_never_raise_anything_but_the_decode_error(blob: bytes) -> None:
    _decodes_or_refuses(blob)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 83), st.integers(0, 255)), max_size=6), st.integers(0, 84))
def test_mutated_valid_blobs_never_raise_anything_but_the_decode_error(
    changes: list[tuple[int, int]], length: int
) -> None:
    """Random bytes rarely get past the header; flipping bytes of a real blob reaches the entry code."""
    blob = bytearray(bytes.fromhex(PREFIX + "7f000001"))
    for offset, value in changes:
        blob[offset] = value
    _decodes_or_refuses(bytes(blob[:length]))
