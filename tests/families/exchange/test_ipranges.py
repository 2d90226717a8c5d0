"""RemoteIPRanges in all four forms, IPv4 and IPv6, as integer intervals; bindings; unreadable
values kept, never dropped."""

from __future__ import annotations

import ipaddress
import re

import pytest

from auditor.families.exchange.ipranges import (
    IpInterval,
    IpRangeError,
    UnreadableRange,
    most_specific,
    parse_binding,
    parse_remote_ip_range,
    read_remote_ip_ranges,
)


@pytest.mark.parametrize(
    ("text", "form", "first", "last"),
    [
        ("192.168.5.10", "single", "192.168.5.10", "192.168.5.10"),
        ("192.168.5.10-192.168.5.20", "range", "192.168.5.10", "192.168.5.20"),
        ("192.168.5.0/24", "cidr", "192.168.5.0", "192.168.5.255"),
        ("192.168.5.77/24", "cidr", "192.168.5.0", "192.168.5.255"),
        ("192.168.5.0(255.255.255.0)", "netmask", "192.168.5.0", "192.168.5.255"),
        ("10.0.0.0(255.0.0.0)", "netmask", "10.0.0.0", "10.255.255.255"),
        ("0.0.0.0-255.255.255.255", "range", "0.0.0.0", "255.255.255.255"),
        ("0.0.0.0(0.0.0.0)", "netmask", "0.0.0.0", "255.255.255.255"),
        ("2001:db8::1", "single", "2001:db8::1", "2001:db8::1"),
        ("2001:db8::1-2001:db8::ff", "range", "2001:db8::1", "2001:db8::ff"),
        ("2001:db8:5::/48", "cidr", "2001:db8:5::", "2001:db8:5:ffff:ffff:ffff:ffff:ffff"),
        ("2001:db8::(ffff:ffff:ffff:ffff::)", "netmask", "2001:db8::", "2001:db8::ffff:ffff:ffff:ffff"),
        (" 10.0.0.25 ", "single", "10.0.0.25", "10.0.0.25"),
    ],
)
def test_the_four_forms(text: str, form: str, first: str, last: str) -> None:
    interval = parse_remote_ip_range(text)
    assert interval.form == form and interval.text == text
    assert interval.contains(first) and interval.contains(last)
    size = int(ipaddress.ip_address(last)) - int(ipaddress.ip_address(first)) + 1
    assert interval.size == size
    assert interval.version == ipaddress.ip_address(first).version
    below, above = ipaddress.ip_address(first) - 1 if int(ipaddress.ip_address(first)) else None, None
    if int(ipaddress.ip_address(last)) < (2**32 - 1 if interval.version == 4 else 2**128 - 1):
        above = ipaddress.ip_address(last) + 1
    for outside in (below, above):
        if outside is not None:
            assert not interval.contains(outside)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "is not an IP address"),
        ("10.0.0", "is not an IP address"),
        ("10.0.0.300", "is not an IP address"),
        ("10.0.0.20-10.0.0.10", "low is above high"),
        ("10.0.0.1-2001:db8::1", "different IP versions"),
        ("10.0.0.0/33", "prefix length '33' is not 0-32"),
        ("2001:db8::/129", "is not 0-128"),
        ("10.0.0.0/x", "prefix length"),
        ("10.0.0.0(255.0.255.0)", "is not contiguous"),
        ("10.0.0.0(ffff::)", "different IP versions"),
        ("10.0.0.0(255.0.0.0", "expected address(netmask)"),
        ("10.0.0.0/8/9", "expected address/prefix-length"),
        ("1-2-3", "expected low-high"),
        ("fe80::1%eth0", "is not an IP address"),
        ("10.0.0.1 - 10.0.0.9 x", "is not an IP address"),
    ],
)
def test_unparseable_values_name_the_reason(text: str, reason: str) -> None:
    with pytest.raises(IpRangeError, match=re.escape(reason)):
        parse_remote_ip_range(text)


def test_unreadable_values_are_kept_in_place() -> None:
    read = read_remote_ip_ranges(["10.0.0.25", "bogus", "192.168.0.0/16"])
    assert [type(item) for item in read] == [IpInterval, UnreadableRange, IpInterval]
    assert read[1] == UnreadableRange("bogus", "'bogus' is not an IP address")


def test_containment_and_specificity() -> None:
    wide, narrow, single = (parse_remote_ip_range(t) for t in ("10.0.0.0/8", "10.0.0.0/24", "10.0.0.25"))
    assert wide.contains_interval(narrow) and narrow.contains_interval(single)
    assert not single.contains_interval(narrow)
    assert most_specific([wide, narrow, single]) == [single]
    twin = parse_remote_ip_range("10.0.0.0-10.0.0.255")
    assert most_specific([wide, narrow, twin]) == [narrow, twin]  # equally specific: the caller's error
    assert most_specific([]) == []


def test_width_limits_of_coex_703() -> None:
    assert parse_remote_ip_range("10.0.0.0/8").wider_than()
    assert not parse_remote_ip_range("10.1.0.0/16").wider_than()
    assert parse_remote_ip_range("10.1.0.0-10.2.0.0").wider_than()
    assert parse_remote_ip_range("2001:db8::/32").wider_than()
    assert not parse_remote_ip_range("2001:db8:5::/48").wider_than()


def test_ipv4_lives_in_exchanges_128_bit_space() -> None:
    """Exchange compares IPv4-mapped 128-bit values: the full IPv6 range holds IPv4 clients too."""
    everything6 = parse_remote_ip_range("::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")
    assert everything6.contains("10.0.0.25") and everything6.contains("2001:db8::1")
    everything4 = parse_remote_ip_range("0.0.0.0-255.255.255.255")
    assert not everything4.contains("2001:db8::1") and not everything4.contains("::1")
    assert everything6.contains_interval(everything4)


@pytest.mark.parametrize(
    ("text", "address", "port"),
    [
        ("0.0.0.0:25", None, 25),
        ("[::]:587", None, 587),
        ("10.0.0.16:25", "10.0.0.16", 25),
        ("[2001:db8::16]:25", "2001:db8::16", 25),
        (":25:", None, 25),
        ("0.0.0.0:2525", None, 2525),
    ],
)
def test_bindings(text: str, address: str | None, port: int) -> None:
    binding = parse_binding(text)
    assert (binding.address, binding.port) == (address, port)
    assert binding.listens_on(port, ["10.0.0.16", "2001:db8::16"])
    assert not binding.listens_on(port + 1, ["10.0.0.16"])


def test_a_specific_binding_takes_only_its_own_address() -> None:
    binding = parse_binding("10.0.0.16:25")
    assert not binding.is_any
    assert binding.listens_on(25, ["10.0.0.99", "10.0.0.16"])
    assert not binding.listens_on(25, ["10.0.0.99", "not an address"])


@pytest.mark.parametrize("text", ["", "25", "0.0.0.0", "0.0.0.0:0", "0.0.0.0:65536", "host:25", "[::]:x"])
def test_bad_bindings(text: str) -> None:
    with pytest.raises(IpRangeError):
        parse_binding(text)
