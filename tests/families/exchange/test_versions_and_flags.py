"""Server versions (serialNumber first, versionNumber as fallback), generations, support dates,
roles, msExchVersion, and the flag decoders."""

from __future__ import annotations

from datetime import date

import pytest

from auditor.families.exchange.flags import (
    MAILBOX_TYPE_DETAILS,
    AcceptedDomainFlag,
    AcceptedDomainType,
    ReceiveAuthMechanism,
    RecipientTypeDetails,
    SendOutboundSecurity,
    ServerRole,
    SmartHostAuthMechanism,
    TlsAuthLevel,
    accepted_domain_type,
    parse_bool,
    parse_int,
    smart_host_auth_mechanism,
    tls_auth_level,
)
from auditor.families.exchange.versions import (
    SUPPORT,
    ExchangeVersion,
    Generation,
    UnreadableVersion,
    VersionError,
    decode_object_version,
    decode_version_number,
    is_supported,
    is_transport_server,
    parse_serial_number,
    server_roles,
    server_version,
)


@pytest.mark.parametrize(
    ("serial", "version", "generation"),
    [
        ("Version 6.5 (Build 7638.2: Service Pack 2)", "6.5.7638.2", Generation.EXCHANGE_2003),
        ("Version 6.0 (Build 6249.4: Service Pack 3)", "6.0.6249.4", Generation.EXCHANGE_2000),
        ("Version 8.3 (Build 83.6)", "8.3.83.6", Generation.EXCHANGE_2007),
        ("Version 14.3 (Build 123.4)", "14.3.123.4", Generation.EXCHANGE_2010),
        ("Version 15.0 (Build 31497.002)", "15.0.1497.2", Generation.EXCHANGE_2013),
        ("Version 15.1 (Build 32507.006)", "15.1.2507.6", Generation.EXCHANGE_2016),
        ("Version 15.1 (Build 2507.6)", "15.1.2507.6", Generation.EXCHANGE_2016),
        ("Version 15.1 (Build 12375.007)", "15.1.2375.7", Generation.EXCHANGE_2016),
        ("Version 15.2 (Build 30986.005)", "15.2.986.5", Generation.EXCHANGE_2019),
        ("Version 15.2 (Build 31748.024)", "15.2.1748.24", Generation.EXCHANGE_2019),
        ("Version 15.2 (Build 32562.017)", "15.2.2562.17", Generation.SUBSCRIPTION_EDITION),
        ("version 15.2 (build 2562)", "15.2.2562", Generation.SUBSCRIPTION_EDITION),
    ],
)
def test_serial_numbers(serial: str, version: str, generation: Generation) -> None:
    decoded = parse_serial_number(serial)
    assert (str(decoded), decoded.generation, decoded.source) == (version, generation, "serialNumber")


@pytest.mark.parametrize(
    "serial", ["", "15.1.2507.6", "Version 15.1", "Version x.1 (Build 1.2)", "Version 15.1 (Build 1.2"]
)
def test_unreadable_serial_numbers(serial: str) -> None:
    with pytest.raises(VersionError):
        parse_serial_number(serial)


def _number(major: int, minor: int, build: int) -> int:
    return 0x70008000 | major << 22 | minor << 16 | build


@pytest.mark.parametrize(
    ("value", "version", "generation"),
    [
        (6500, "6.5.6500", Generation.EXCHANGE_2003),
        (7638, "6.5.7638", Generation.EXCHANGE_2003),
        (4417, "6.0.4417", Generation.EXCHANGE_2000),
        (_number(8, 3, 83), "8.3.83", Generation.EXCHANGE_2007),
        (_number(14, 3, 123), "14.3.123", Generation.EXCHANGE_2010),
        (1942063563, "15.1.2507", Generation.EXCHANGE_2016),  # research §1.6: 2016 CU23
        (1942128136, "15.2.1544", Generation.EXCHANGE_2019),  # research §1.6: 2019 CU14
        (_number(15, 2, 2561), "15.2.2561", Generation.EXCHANGE_2019),
        (_number(15, 2, 2562), "15.2.2562", Generation.SUBSCRIPTION_EDITION),
    ],
)
def test_version_numbers(value: int, version: str, generation: Generation) -> None:
    decoded = decode_version_number(value)
    assert (str(decoded), decoded.generation, decoded.source) == (version, generation, "versionNumber")
    assert decoded.generation.modern == (
        generation not in (Generation.EXCHANGE_2000, Generation.EXCHANGE_2003)
    )


def test_version_number_thresholds_of_the_research_notes() -> None:
    assert decode_version_number(1912602624).generation is Generation.EXCHANGE_2007  # 0x72000000
    assert decode_version_number(1937768448).generation is Generation.EXCHANGE_2010
    assert decode_version_number(1941962752).generation is Generation.EXCHANGE_2013
    with pytest.raises(VersionError, match="as 2007\\+ writes it"):
        decode_version_number(0x80000000)
    with pytest.raises(VersionError):
        decode_version_number(-1)


def test_serial_number_decides_and_version_number_is_the_fallback() -> None:
    both = server_version(["Version 15.2 (Build 32562.017)"], str(_number(15, 1, 2507)))
    assert isinstance(both, ExchangeVersion) and both.generation is Generation.SUBSCRIPTION_EDITION
    fallback = server_version(["garbage"], "1942063563")
    assert isinstance(fallback, ExchangeVersion) and fallback.source == "versionNumber"
    assert str(fallback) == "15.1.2507"
    assert server_version([], None) is None
    unreadable = server_version(["garbage"], "x")
    assert isinstance(unreadable, UnreadableVersion)
    assert unreadable.problem == (
        "serialNumber 'garbage' is not 'Version M.m (Build B.r)'; versionNumber 'x' is not a number"
    )
    unknown = server_version(["Version 16.0 (Build 31.1)"], None)
    assert isinstance(unknown, ExchangeVersion) and unknown.generation is None


def test_support_dates() -> None:
    assert is_supported(Generation.EXCHANGE_2016, date(2025, 10, 13))
    assert not is_supported(Generation.EXCHANGE_2016, date(2025, 10, 14))
    assert not is_supported(Generation.EXCHANGE_2019, date(2026, 1, 1))
    assert is_supported(Generation.SUBSCRIPTION_EDITION, date(2030, 1, 1))
    assert not is_supported(Generation.EXCHANGE_2003, date(2020, 1, 1))
    assert set(SUPPORT) == set(Generation)
    assert all(support.source for support in SUPPORT.values())
    assert all(support.confirmed for support in SUPPORT.values())
    assert SUPPORT[Generation.EXCHANGE_2003].end == date(2014, 4, 8)
    assert SUPPORT[Generation.EXCHANGE_2010].end == date(2020, 10, 13)


def test_roles_and_transport_servers() -> None:
    roles = server_roles("16439")  # research §1.9 example: an illustrative 2016 value
    assert roles is not None and roles & ServerRole.MAILBOX and roles & ServerRole.HUB_TRANSPORT
    v2016 = parse_serial_number("Version 15.1 (Build 32507.006)")
    assert is_transport_server(v2016, roles)
    assert is_transport_server(v2016, ServerRole.MAILBOX | ServerRole.CLIENT_ACCESS)
    v2010 = parse_serial_number("Version 14.3 (Build 123.4)")
    assert not is_transport_server(v2010, ServerRole.MAILBOX)
    assert is_transport_server(v2010, ServerRole.HUB_TRANSPORT)
    assert not is_transport_server(v2016, ServerRole.EDGE | ServerRole.HUB_TRANSPORT)
    assert not is_transport_server(v2016, None)
    assert server_roles(None) is None and server_roles("x") is None


def test_object_versions() -> None:
    e2007 = decode_object_version(4535486012416)
    assert (e2007.major, e2007.minor, e2007.build, e2007.generation_hint) == (0, 1, (8, 0, 535, 0), "2007")
    e2010 = decode_object_version(44220983382016)
    assert (e2010.minor, e2010.build, e2010.generation_hint) == (10, (14, 0, 100, 0), "2010")
    e2013 = decode_object_version(88218628259840)
    assert (e2013.minor, e2013.build, e2013.generation_hint) == (20, (15, 0, 0, 0), "2013+")
    assert decode_object_version(1125899906842624).generation_hint == ""  # seen in a script: unverified
    with pytest.raises(VersionError):
        decode_object_version(-5)


def test_accepted_domain_flags() -> None:
    assert accepted_domain_type(12) is AcceptedDomainType.AUTHORITATIVE
    assert accepted_domain_type(2) is AcceptedDomainType.INTERNAL_RELAY
    assert accepted_domain_type(1 | 65536) is AcceptedDomainType.EXTERNAL_RELAY
    assert accepted_domain_type(3) is None
    assert AcceptedDomainFlag(12) == AcceptedDomainFlag.DEFAULT | AcceptedDomainFlag.ADDRESS_BOOK_ENABLED
    assert 65536 & AcceptedDomainFlag.MATCH_SUB_DOMAINS


def test_connector_flags() -> None:
    assert (
        SendOutboundSecurity(8388612)
        == SendOutboundSecurity.REQUIRE_TLS | SendOutboundSecurity.IGNORE_STARTTLS
    )
    assert tls_auth_level(0x20) == TlsAuthLevel.CERTIFICATE_VALIDATION
    assert smart_host_auth_mechanism(4194336) == SmartHostAuthMechanism.BASIC_AUTH_REQUIRE_TLS
    assert smart_host_auth_mechanism(0) == SmartHostAuthMechanism.NONE
    assert ReceiveAuthMechanism(33) == ReceiveAuthMechanism.TLS | ReceiveAuthMechanism.EXTERNAL_AUTHORITATIVE
    assert ReceiveAuthMechanism(15) & ReceiveAuthMechanism.BASIC_AUTH_REQUIRE_TLS


def test_recipient_types_and_value_parsers() -> None:
    assert RecipientTypeDetails(2147483648) is RecipientTypeDetails.REMOTE_USER_MAILBOX
    assert {int(v) for v in MAILBOX_TYPE_DETAILS} == {1, 2, 4, 16, 32}
    assert parse_int("2147483648") == 2147483648 and parse_int("-2147483642") == -2147483642
    assert parse_int(" 12 ") == 12 and parse_int("1e3") is None and parse_int(None) is None
    assert parse_int("٣") is None  # a non-ASCII digit is not what LDAP writes
    assert parse_bool("TRUE") is True and parse_bool("false") is False and parse_bool("yes") is None
