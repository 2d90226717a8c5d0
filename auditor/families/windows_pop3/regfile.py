"""`reg export "HKLM\\SOFTWARE\\Microsoft\\POP3 Service" pop3.reg`: the POP3 service's auth settings.

P1 on the registry side is `AuthMethods[DefaultAuthMethod]` under `...\\POP3 Service\\Auth`
(research notes, pop3-iis-model.md §3.2). `reg export` always writes UTF-16LE with a BOM and the
`Windows Registry Editor Version 5.00` header; anything else was produced some other way (or
re-saved by an editor) and is refused rather than guessed at. Every value line is checked for
shape, so a file cut off in the middle of a hex value is noticed. A real export is a few KiB; a
file over `REG_LIMIT` (16 MiB) is refused unread. Every error names the file and the line.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from pathlib import Path

from auditor.collect.files import MiB, read_regular
from auditor.errors import InputFormatError

__all__ = ["REG_LIMIT", "RegistryAuth", "parse_pop3_reg", "read_reg_file"]

REG_LIMIT = 16 * MiB

_HEADER = "Windows Registry Editor Version 5.00"
_AUTH_KEY_SUFFIX = "\\microsoft\\pop3 service\\auth"
_VALUE_LINE = re.compile(r'^(@|"(?:[^"\\]|\\.)*")=(.*)$')
_STRING = re.compile(r'^"(?:[^"\\]|\\.)*"$')
_DWORD = re.compile(r"^dword:([0-9a-fA-F]{8})$")
_HEX = re.compile(r"^hex(?:\(([0-9a-fA-F]{1,8})\))?:(.*)$")
_HEX_BYTES = re.compile(r"^(?:[0-9a-fA-F]{2}(?:,[0-9a-fA-F]{2})*)?$")


@dataclass(frozen=True, slots=True)
class RegistryAuth:
    """`AuthMethods` (normalised GUIDs, in order) and `DefaultAuthMethod`, each None when absent."""

    methods: tuple[str, ...] | None
    default_method: int | None


def read_reg_file(path: Path) -> str:
    """The text of a `reg export` file, which must be UTF-16LE with a BOM."""
    data = read_regular(path, limit=REG_LIMIT)
    if not data.startswith(codecs.BOM_UTF16_LE):
        raise InputFormatError(f"{path}:1", "not UTF-16LE with BOM (export it with 'reg export')")
    try:
        return data[2:].decode("utf-16-le")
    except UnicodeDecodeError as exc:
        line = data[2 : 2 + exc.start].decode("utf-16-le", "replace").count("\n") + 1
        raise InputFormatError(f"{path}:{line}", f"not valid UTF-16LE ({exc.reason}; cut off?)") from None


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """Lines with continuations (`\\` at the end, as hex values wrap) joined; blanks dropped.

    The parts of a continued line are joined once, so a long wrapped value costs linear time.
    """
    lines: list[tuple[int, str]] = []
    start = 0
    parts: list[str] = []
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.replace("\r", "").strip()
        if not parts:
            if not line:
                continue
            start = number
        if line.endswith("\\"):
            parts.append(line[:-1])
            continue
        parts.append(line)
        lines.append((start, "".join(parts)))
        parts = []
    if parts:
        lines.append((start, "".join(parts)))
    return lines


def _hex_bytes(path: Path, number: int, name: str, payload: str) -> bytes:
    compact = re.sub(r"\s+", "", payload)
    if not _HEX_BYTES.match(compact):
        raise InputFormatError(f"{path}:{number}", f"{name}: malformed hex value")
    return bytes.fromhex(compact.replace(",", ""))


def _multi_sz(path: Path, number: int, name: str, data: bytes) -> tuple[str, ...]:
    if len(data) % 2:
        raise InputFormatError(f"{path}:{number}", f"{name}: hex(7) value has an odd number of bytes")
    try:
        text = data.decode("utf-16-le")
    except UnicodeDecodeError:
        raise InputFormatError(f"{path}:{number}", f"{name}: hex(7) value is not UTF-16LE text") from None
    if data and not text.endswith("\0"):
        raise InputFormatError(f"{path}:{number}", f"{name}: hex(7) value is not NUL-terminated (cut off?)")
    return tuple(part for part in text.split("\0") if part)


def _normalise_guid(value: str) -> str:
    return value.strip().strip("{}").strip().lower()


def parse_pop3_reg(path: Path, text: str) -> RegistryAuth:
    """Validate every line of the export; return the Auth key's two values."""
    lines = _logical_lines(text)
    if not lines or lines[0][1] != _HEADER:
        where = f"{path}:{lines[0][0]}" if lines else f"{path}:1"
        raise InputFormatError(where, f"missing the '{_HEADER}' header")
    section: str | None = None
    methods: tuple[str, ...] | None = None
    default_method: int | None = None
    for number, line in lines[1:]:
        if line.startswith(";"):
            continue
        if line.startswith("["):
            if not line.endswith("]"):
                raise InputFormatError(f"{path}:{number}", "malformed key line")
            section = line[1:-1].lower()
            continue
        match = _VALUE_LINE.match(line)
        if not match or section is None:
            raise InputFormatError(f"{path}:{number}", f"not a registry value line: {line[:60]!r}")
        name, value = match.group(1).strip('"'), match.group(2).strip()
        in_auth = section.endswith(_AUTH_KEY_SUFFIX)
        if value.startswith('"'):
            if not _STRING.match(value):
                raise InputFormatError(f"{path}:{number}", f"{name}: malformed string value")
            kind, payload = "string", b""
        elif dword := _DWORD.match(value):
            kind, payload = "dword", bytes.fromhex(dword.group(1))
        elif hexed := _HEX.match(value):
            kind = f"hex({int(hexed.group(1) or '3', 16)})"
            payload = _hex_bytes(path, number, name, hexed.group(2))
        elif value.lower().startswith("dword:"):
            raise InputFormatError(f"{path}:{number}", f"{name}: malformed dword value {value[:20]!r}")
        elif value == "-":
            raise InputFormatError(f"{path}:{number}", "a value deletion: not an export")
        else:
            raise InputFormatError(f"{path}:{number}", f"{name}: unknown value type {value[:20]!r}")
        if not in_auth:
            continue
        if name.lower() == "authmethods":
            if kind != "hex(7)":
                raise InputFormatError(f"{path}:{number}", "AuthMethods is not a REG_MULTI_SZ (hex(7)) value")
            methods = tuple(_normalise_guid(m) for m in _multi_sz(path, number, name, payload))
        elif name.lower() == "defaultauthmethod":
            if kind != "dword":
                raise InputFormatError(f"{path}:{number}", "DefaultAuthMethod is not a dword value")
            default_method = int.from_bytes(payload, "big")
    return RegistryAuth(methods=methods, default_method=default_method)
