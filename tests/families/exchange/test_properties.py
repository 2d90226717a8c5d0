"""Property-based: any bytes or text give a decoded value or the decoder's one error type."""

from __future__ import annotations

import contextlib
import ipaddress
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from auditor.families.exchange.descriptor import (
    DescriptorError,
    SecurityDescriptor,
    UndecodableDescriptor,
    decode_descriptor_value,
    parse_security_descriptor,
)
from auditor.families.exchange.ipranges import (
    Binding,
    IpInterval,
    IpRangeError,
    parse_binding,
    parse_remote_ip_range,
)

from .conftest import pack

RELAY = "5c82f031-4e4c-4326-88e1-8c4f0cad9de5"
SEEDS = pack(
    [
        f"O:BAG:BAD:(OA;;CR;{RELAY};;AN)(OD;CIIO;CR;{RELAY};bf967aba-0de6-11d0-a285-00aa003049e2;WD)",
        "O:BAG:SYD:(A;;RPLCRC;;;AU)(D;;CR;;;AN)S:(AU;SA;WP;;;WD)",
    ]
)
# `make fuzz` (HYPOTHESIS_PROFILE=auditor-fuzz) runs these as long as the tests/fuzz parsers.
EXAMPLES = (
    int(os.environ.get("AUDITOR_FUZZ_EXAMPLES", "20000"))
    if os.environ.get("HYPOTHESIS_PROFILE") == "auditor-fuzz"
    else 200
)
FAST = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _decode(data: bytes) -> None:
    try:
        decoded = parse_security_descriptor(data)
    except DescriptorError as exc:
        assert exc.problem
        return
    assert isinstance(decoded, SecurityDescriptor) and decoded.raw == data
    for acl in (decoded.dacl, decoded.sacl):
        for ace in acl.aces if acl else ():
            ace.to_sddl()


@FAST
@given(st.binary(max_size=300))
def test_any_bytes(data: bytes) -> None:
    _decode(data)


@FAST
@given(
    st.sampled_from(SEEDS),
    st.lists(st.tuples(st.integers(min_value=0, max_value=299), st.integers(0, 255)), max_size=6),
    st.integers(min_value=0, max_value=300),
)
def test_damaged_real_descriptors(seed: bytes, flips: list[tuple[int, int]], cut: int) -> None:
    data = bytearray(seed)
    for position, value in flips:
        if position < len(data):
            data[position] = value
    _decode(bytes(data[: cut if cut < len(data) else len(data)]))


@FAST
@given(st.text(max_size=200))
def test_any_record_text(text: str) -> None:
    value = decode_descriptor_value(text)
    assert isinstance(value, SecurityDescriptor | UndecodableDescriptor)


@FAST
@given(st.text(max_size=80))
def test_any_range_text(text: str) -> None:
    with contextlib.suppress(IpRangeError):
        assert isinstance(parse_remote_ip_range(text), IpInterval)
    with contextlib.suppress(IpRangeError):
        assert isinstance(parse_binding(text), Binding)


@FAST
@given(st.text(alphabet="0123456789abcdef.:/-()[] ", max_size=60))
def test_address_like_text(text: str) -> None:
    test_any_range_text.hypothesis.inner_test(text)  # type: ignore[attr-defined]


addresses = st.one_of(st.ip_addresses(v=4), st.ip_addresses(v=6))


@FAST
@given(addresses, st.integers(min_value=0, max_value=128))
def test_cidr_matches_ipaddress(address: ipaddress.IPv4Address | ipaddress.IPv6Address, length: int) -> None:
    bits = 32 if address.version == 4 else 128
    length = length % (bits + 1)
    network = ipaddress.ip_network(f"{address}/{length}", strict=False)
    for text in (f"{address}/{length}", f"{address}({network.netmask})"):
        interval = parse_remote_ip_range(text)
        assert interval.size == network.num_addresses
        assert interval.contains(network.network_address) and interval.contains(network.broadcast_address)


@FAST
@given(addresses, addresses)
def test_low_high(
    first: ipaddress.IPv4Address | ipaddress.IPv6Address,
    second: ipaddress.IPv4Address | ipaddress.IPv6Address,
) -> None:
    text = f"{first}-{second}"
    if first.version != second.version or int(first) > int(second):
        with pytest.raises(IpRangeError):
            parse_remote_ip_range(text)
        return
    interval = parse_remote_ip_range(text)
    assert interval.size == int(second) - int(first) + 1
    assert interval.contains(first) and interval.contains(second)
