"""Exchange server versions, generations, roles and support dates.

Which attribute decides (checks.md, "Generation"): `serialNumber` (`Version 15.1 (Build 2507.6)`),
and `versionNumber` only when `serialNumber` is absent or unreadable. 2007+ servers write the build
in `serialNumber` with an offset of +30000 (at times +10000): 2016 CU23 is `Version 15.1 (Build
32507.006)`. No real 2007+ build reaches 10000, so a build at or above 10000 has its offset removed.
`versionNumber` is the plain build before 2007 (6500 and up = 2003) and a bit field after:
`0x70008000 | major << 22 | minor << 16 | build & 0x7FFF` (research modern-model §1.6).

Generations: 6.0 = 2000, 6.5 = 2003, 8 = 2007, 14 = 2010, 15.0 = 2013, 15.1 = 2016, 15.2 = 2019
before build 2562 and Subscription Edition from it (SE RTM is 15.2.2562.17).

`SUPPORT` holds the end-of-support dates of research §6 as data, each with its source and whether
it is confirmed by a primary source; `is_supported` answers for a snapshot's date.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Literal

from auditor.families.exchange.flags import ServerRole, parse_int

__all__ = [
    "SE_FIRST_BUILD",
    "SUPPORT",
    "ExchangeVersion",
    "Generation",
    "ObjectVersion",
    "Support",
    "UnreadableVersion",
    "VersionError",
    "decode_object_version",
    "decode_version_number",
    "generation_of",
    "is_supported",
    "is_transport_server",
    "parse_serial_number",
    "server_roles",
    "server_version",
]

SE_FIRST_BUILD = 2562


class VersionError(ValueError):
    """A version value that is not in a form Exchange writes."""


class Generation(StrEnum):
    EXCHANGE_2000 = "2000"
    EXCHANGE_2003 = "2003"
    EXCHANGE_2007 = "2007"
    EXCHANGE_2010 = "2010"
    EXCHANGE_2013 = "2013"
    EXCHANGE_2016 = "2016"
    EXCHANGE_2019 = "2019"
    SUBSCRIPTION_EDITION = "SE"

    @property
    def modern(self) -> bool:
        """2007 and later: accepted domains, send and receive connectors, 2007+ routing."""
        return self not in (Generation.EXCHANGE_2000, Generation.EXCHANGE_2003)


@dataclass(frozen=True, slots=True)
class ExchangeVersion:
    """A decoded server version; `build` without the serialNumber offset; `source` names the attribute."""

    major: int
    minor: int
    build: int
    revision: int | None
    generation: Generation | None  # None: a version number no known Exchange release has
    source: Literal["serialNumber", "versionNumber"]

    def __str__(self) -> str:
        revision = f".{self.revision}" if self.revision is not None else ""
        return f"{self.major}.{self.minor}.{self.build}{revision}"


@dataclass(frozen=True, slots=True)
class UnreadableVersion:
    """Version attributes present but not decodable: the checks report `error` with this text."""

    problem: str


def generation_of(major: int, minor: int, build: int) -> Generation | None:
    if major == 6:
        return Generation.EXCHANGE_2003 if minor >= 5 else Generation.EXCHANGE_2000
    if major == 8:
        return Generation.EXCHANGE_2007
    if major == 14:
        return Generation.EXCHANGE_2010
    if major == 15:
        if minor == 0:
            return Generation.EXCHANGE_2013
        if minor == 1:
            return Generation.EXCHANGE_2016
        if minor == 2:
            return Generation.SUBSCRIPTION_EDITION if build >= SE_FIRST_BUILD else Generation.EXCHANGE_2019
    return None


_SERIAL = re.compile(
    r"^\s*Version\s+(?P<major>\d{1,3})\.(?P<minor>\d{1,3})\s*"
    r"\(\s*Build\s+(?P<build>\d{1,6})(?:\.(?P<revision>\d{1,6}))?\s*(?::[^)]*)?\)\s*$",
    re.IGNORECASE,
)


def parse_serial_number(text: str) -> ExchangeVersion:
    """`Version 6.5 (Build 7638.2: Service Pack 2)`, `Version 15.1 (Build 32507.006)`, ..."""
    match = _SERIAL.match(text) if isinstance(text, str) else None
    if match is None:
        raise VersionError(f"serialNumber {text!r} is not 'Version M.m (Build B.r)'")
    major, minor, build = int(match["major"]), int(match["minor"]), int(match["build"])
    if major >= 8:
        if build >= 30000:
            build -= 30000
        elif build >= 10000:
            build -= 10000
    revision = int(match["revision"]) if match["revision"] is not None else None
    return ExchangeVersion(major, minor, build, revision, generation_of(major, minor, build), "serialNumber")


def decode_version_number(value: int) -> ExchangeVersion:
    """`versionNumber` of an Exchange server object."""
    if value < 0:
        raise VersionError(f"versionNumber {value} is negative")
    if value < 0x70000000:
        major, minor = (6, 5) if value >= 6500 else (6, 0)
        return ExchangeVersion(major, minor, value, None, generation_of(major, minor, value), "versionNumber")
    if value >> 28 != 7:
        raise VersionError(f"versionNumber {value} (0x{value:x}) is not 0x7....... as 2007+ writes it")
    major, minor, build = (value >> 22) & 0x3F, (value >> 16) & 0x3F, value & 0x7FFF
    return ExchangeVersion(major, minor, build, None, generation_of(major, minor, build), "versionNumber")


def server_version(
    serial_numbers: Iterable[str], version_number: str | None
) -> ExchangeVersion | UnreadableVersion | None:
    """The server's version by the rule above; None when neither attribute is there."""
    problems: list[str] = []
    serials = list(serial_numbers)
    for serial in serials:
        try:
            return parse_serial_number(serial)
        except VersionError as exc:
            problems.append(str(exc))
    if version_number is not None:
        number = parse_int(version_number)
        if number is None:
            problems.append(f"versionNumber {version_number!r} is not a number")
        else:
            try:
                return decode_version_number(number)
            except VersionError as exc:
                problems.append(str(exc))
    if not problems:
        return None
    return UnreadableVersion("; ".join(problems))


def server_roles(value: str | None) -> ServerRole | None:
    """`msExchCurrentServerRoles` as role bits, None when absent or not a number."""
    number = parse_int(value)
    return None if number is None or number < 0 else ServerRole(number)


def is_transport_server(version: ExchangeVersion | None, roles: ServerRole | None) -> bool:
    """Hub Transport (2007/2010), or a 2013+ Mailbox server (transport runs there); never Edge."""
    if roles is None or roles & ServerRole.EDGE:
        return False
    if roles & ServerRole.HUB_TRANSPORT:
        return True
    modern_mailbox = version is not None and version.major >= 15
    return bool(modern_mailbox and roles & ServerRole.MAILBOX)


@dataclass(frozen=True, slots=True)
class ObjectVersion:
    """`msExchVersion`: the object version and the build of the Exchange that stamped it."""

    major: int
    minor: int
    build: tuple[int, int, int, int]

    @property
    def generation_hint(self) -> str:
        """'2007', '2010' or '2013+' from the stamping build's major version; '' when unknown."""
        return {8: "2007", 14: "2010", 15: "2013+"}.get(self.build[0], "")


def decode_object_version(value: int) -> ObjectVersion:
    """major << 50 | minor << 42 | build, build = major << 34 | minor << 26 | build << 10 | revision."""
    if value < 0 or value >= 2**58:
        raise VersionError(f"msExchVersion {value} is out of range")
    build_bits = value & (2**42 - 1)
    return ObjectVersion(
        (value >> 50) & 0xFF,
        (value >> 42) & 0xFF,
        (
            (build_bits >> 34) & 0xFF,
            (build_bits >> 26) & 0xFF,
            (build_bits >> 10) & 0xFFFF,
            build_bits & 0x3FF,
        ),
    )


@dataclass(frozen=True, slots=True)
class Support:
    """End of (extended) support of a generation; `end` None = supported (modern lifecycle)."""

    end: date | None
    source: str
    confirmed: bool  # True: a primary source (Microsoft's lifecycle pages or Exchange team blog) says so


SUPPORT: Mapping[Generation, Support] = {
    Generation.EXCHANGE_2000: Support(
        date(2011, 1, 11),
        "Microsoft Lifecycle: Exchange 2000 Server, extended support ended 2011-01-11",
        True,
    ),
    Generation.EXCHANGE_2003: Support(
        date(2014, 4, 8), "Microsoft Lifecycle: Exchange Server 2003, extended support ended 2014-04-08", True
    ),
    Generation.EXCHANGE_2007: Support(
        date(2017, 4, 11), "TechNet bb676395(EXCHG.80) banner: end of support April 11, 2017", True
    ),
    Generation.EXCHANGE_2010: Support(
        date(2020, 10, 13),
        "Microsoft Lifecycle: Exchange Server 2010, extended support ended 2020-10-13",
        True,
    ),
    Generation.EXCHANGE_2013: Support(
        date(2023, 4, 11),
        "Microsoft Lifecycle: Exchange Server 2013, extended support ended 2023-04-11",
        True,
    ),
    Generation.EXCHANGE_2016: Support(
        date(2025, 10, 14), "Exchange team blog: end of support for 2016 and 2019, 2025-10-14", True
    ),
    Generation.EXCHANGE_2019: Support(
        date(2025, 10, 14), "Exchange team blog: end of support for 2016 and 2019, 2025-10-14", True
    ),
    Generation.SUBSCRIPTION_EDITION: Support(
        None, "Exchange team roadmap: Subscription Edition follows the modern lifecycle", True
    ),
}


def is_supported(generation: Generation, on: date) -> bool:
    end = SUPPORT[generation].end
    return end is None or on < end
