"""Value codecs: how a raw value becomes something a check can compare, and what it says when it cannot.

Every field of the model is a `Field`: a value that is present, absent (with the product's default
as its effective value, when it has one) or unreadable (the raw text is kept so a finding can show
it). A check therefore never has to look at a raw record to tell "not set" from "set to something
auditor cannot read", and an unreadable value can become an `error` finding rather than a guess.

Families fill in `source` (the setting's own name, in the product's vocabulary: `AuthFlags`,
`msExchSmtpRelayForAuth`, `smtpd_relay_restrictions`) and `note` (one phrase saying what the value
means, in that vocabulary). Checks compose their messages from notes, so a message still names
the exact setting an administrator has to change, while the check itself stays product-neutral.
"""

from __future__ import annotations

import base64
import binascii
import re
import sys
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from typing import Generic, TypeVar

__all__ = [
    "Field",
    "FieldState",
    "ProxyAddress",
    "decode_base64",
    "normalize_dn",
    "normalize_domain",
    "normalize_host",
    "parse_bool",
    "parse_int",
    "primary_smtp",
]

T = TypeVar("T")


class FieldState(StrEnum):
    PRESENT = "present"
    ABSENT = "absent"
    UNREADABLE = "unreadable"


@dataclass(frozen=True, slots=True)
class Field(Generic[T]):
    """One setting as a check sees it.

    `value` is the effective value: what was read when present, the product's default when absent
    (None when the product has none), None when unreadable. `raw` is the text as exported (None when
    absent), `source` names the setting, `note` says what the value means.
    """

    state: FieldState
    value: T | None = None
    raw: str | None = None
    source: str = ""
    note: str = ""

    @classmethod
    def present(cls, value: T, *, raw: str | None = None, source: str = "", note: str = "") -> Field[T]:
        return cls(FieldState.PRESENT, value, raw, source, note)

    @classmethod
    def absent(cls, default: T | None = None, *, source: str = "", note: str = "") -> Field[T]:
        return cls(FieldState.ABSENT, default, None, source, note)

    @classmethod
    def unreadable(cls, raw: str | None, *, source: str = "", note: str = "") -> Field[T]:
        return cls(FieldState.UNREADABLE, None, raw, source, note)

    @property
    def is_present(self) -> bool:
        return self.state is FieldState.PRESENT

    @property
    def is_absent(self) -> bool:
        return self.state is FieldState.ABSENT

    @property
    def is_unreadable(self) -> bool:
        return self.state is FieldState.UNREADABLE


def normalize_domain(domain: str) -> str:
    """Domains compare exactly, case-insensitively, trailing dot stripped (checks.md, Terms)."""
    return domain.strip().rstrip(".").lower()


def normalize_host(host: str) -> str:
    """A smart-host or server designation: brackets and trailing dot stripped, lower case."""
    host = host.strip()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host.rstrip(".").lower()


@lru_cache(maxsize=65536)
def normalize_dn(dn: str) -> str:
    """DNs compare case-insensitively, ignoring blanks around the separators."""
    return ",".join(part.strip() for part in re.split(r"(?<!\\),", dn)).lower()


def parse_int(value: str | None) -> int | None:
    """Decimal or `0x` hexadecimal text as an int; None when absent or not a number."""
    if value is None:
        return None
    text = value.strip()
    try:
        return int(text, 0) if text.lower().startswith("0x") else int(text)
    except ValueError:
        return None


def parse_bool(value: str | None) -> bool | None:
    """`TRUE`/`FALSE` as LDAP writes them, `yes`/`no`, or a number (0 is false); None otherwise."""
    if value is None:
        return None
    text = value.strip().upper()
    if text in {"TRUE", "YES"}:
        return True
    if text in {"FALSE", "NO"}:
        return False
    number = parse_int(text)
    return None if number is None else number != 0


def decode_base64(value: str | None) -> bytes | None:
    """Strict base64 (how records keep binary values); None when absent or not base64."""
    if value is None:
        return None
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None


class ProxyAddress:
    """`TYPE:address`; an upper-case type prefix marks the primary address of that type.

    A plain slotted class with its derived values computed once: a snapshot holds hundreds of
    thousands of these and checks read `lower` / `is_smtp` in their inner loops.
    """

    __slots__ = ("address", "is_primary", "is_smtp", "lower", "prefix")

    def __init__(self, prefix: str, address: str) -> None:
        # A handful of prefixes (SMTP, smtp, X400, ...) shared by every address, and the address
        # itself when it is lower case already: at 100,000 recipients, tens of MiB (issue 12).
        self.prefix = sys.intern(prefix)
        self.address = address
        lower = address.lower()
        self.lower = address if lower == address else lower
        self.is_smtp = prefix.lower() == "smtp"
        self.is_primary = prefix == "SMTP"

    @classmethod
    def parse(cls, text: str) -> ProxyAddress:
        prefix, sep, address = text.partition(":")
        if not sep:
            return cls("", text.strip())
        return cls(prefix.strip(), address.strip())

    @property
    def domain(self) -> str:
        """Whatever follows the last `@` (also right for templates such as `%g.%s@dom`)."""
        return normalize_domain(self.address.rpartition("@")[2]) if "@" in self.address else ""

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ProxyAddress):
            return NotImplemented
        return (self.prefix, self.address) == (other.prefix, other.address)

    def __hash__(self) -> int:
        return hash((self.prefix, self.address))

    def __repr__(self) -> str:
        return f"ProxyAddress(prefix={self.prefix!r}, address={self.address!r})"

    def __str__(self) -> str:
        return f"{self.prefix}:{self.address}" if self.prefix else self.address


def primary_smtp(mail: str | None, proxies: tuple[ProxyAddress, ...]) -> str | None:
    """`mail` when it equals one of the `SMTP:` entries, else the first `SMTP:` entry (checks.md)."""
    primaries = [p for p in proxies if p.is_primary]
    if mail and any(p.lower == mail.lower() for p in primaries):
        return mail
    return primaries[0].address if primaries else None
