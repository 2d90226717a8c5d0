"""Strict parsers for Dovecot's exports: `doveconf -n` (2.3 and 2.4), 2.3 `args =` files, user lists.

`doveconf -n` (research modern-model.md §4.1): leading `#` header lines (version and config path,
plugin banners, `# OS:`, `# Hostname:`), then `key = value` lines and `name [label] {` ... `}`
sections, nested and indented. A value with leading/trailing blanks or a `#` is double-quoted and
backslash-escaped; a secret prints as `# hidden, use -P to show it`, kept as `HIDDEN` (set, value
unknown), and a `password=` inside a 2.3 `args` line as `password=#hidden_use-P_to_show#` (seen
with Dovecot 2.3.19), kept verbatim. 2.3 passdb/userdb blocks are anonymous (`passdb {`), 2.4 ones are named (`passdb ldap {`).

2.3 external files (`args = /etc/dovecot/dovecot-ldap.conf.ext`): `key = value` lines, `#` comments,
a trailing backslash continues a line (SQL queries), `!include` / `!include_try FILE` kept as
keys of their own (the included file is not followed); the export redacts `dnpass` and SQL passwords.

`doveadm user '*'`: one user name per line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from auditor.errors import InputFormatError
from auditor.families.linux.files import text_lines

__all__ = [
    "HIDDEN",
    "REDACTED",
    "DoveSection",
    "parse_doveadm_users",
    "parse_doveconf",
    "parse_ext_args",
]

HIDDEN = "# hidden, use -P to show it"
REDACTED = "<redacted>"
_KEY = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.:/-]*$")
_SECTION = re.compile(r'^([A-Za-z0-9_]+)(?:\s+("(?:[^"\\]|\\.)*"|[^\s{}"]+))?\s*\{$')
_HIDDEN_VALUE = re.compile(r"^#\s*hidden, use -P to show it$")


@dataclass(slots=True)
class DoveSection:
    """A `name [label] { ... }` block (the root has name "" and no label)."""

    name: str
    label: str | None
    line: int
    settings: dict[str, str] = field(default_factory=dict)
    sections: list[DoveSection] = field(default_factory=list)

    def children(self, name: str) -> list[DoveSection]:
        return [s for s in self.sections if s.name == name]

    def get(self, key: str) -> str | None:
        return self.settings.get(key)


def _unquote(path: Path, number: int, value: str) -> str:
    if not value.startswith('"'):
        if '"' in value:
            raise InputFormatError(f"{path}:{number}", f"stray '\"' in value {value[:60]!r}")
        return value
    if len(value) < 2 or not value.endswith('"'):
        raise InputFormatError(f"{path}:{number}", f"unterminated quoted value {value[:60]!r}")
    body = value[1:-1]
    out: list[str] = []
    i = 0
    while i < len(body):
        char = body[i]
        if char == "\\":
            if i + 1 >= len(body):
                raise InputFormatError(f"{path}:{number}", "quoted value ends with a lone backslash")
            out.append(body[i + 1])
            i += 2
            continue
        if char == '"':
            raise InputFormatError(f"{path}:{number}", "unescaped '\"' inside a quoted value")
        out.append(char)
        i += 1
    return "".join(out)


def parse_doveconf(path: Path, text: str) -> DoveSection:
    """The settings tree of `doveconf -n`; unbalanced braces and repeated keys are errors."""
    root = DoveSection(name="", label=None, line=0)
    stack = [root]
    in_header = True
    for number, raw in text_lines(text):
        line = raw.strip(" \t")
        if not line:
            continue
        if line.startswith("#"):
            if in_header or not raw.startswith((" ", "\t")):
                continue
            raise InputFormatError(f"{path}:{number}", f"comment inside a section: {line[:60]!r}")
        in_header = False
        current = stack[-1]
        if line == "}":
            if len(stack) == 1:
                raise InputFormatError(f"{path}:{number}", "'}' without an open section")
            stack.pop()
            continue
        if line.endswith("{") and "=" not in line.partition("{")[0]:
            match = _SECTION.match(line)
            if not match:
                raise InputFormatError(f"{path}:{number}", f"not a section start: {line[:60]!r}")
            label = match.group(2)
            if label is not None:
                label = _unquote(path, number, label)
            section = DoveSection(name=match.group(1), label=label, line=number)
            current.sections.append(section)
            stack.append(section)
            continue
        key, sep, value = line.partition("=")
        key, value = key.rstrip(" \t"), value.strip(" \t")
        if not sep or not _KEY.match(key):
            raise InputFormatError(f"{path}:{number}", f"not a 'key = value' line: {line[:60]!r}")
        if key in current.settings:
            raise InputFormatError(f"{path}:{number}", f"setting {key} is repeated in its section")
        current.settings[key] = HIDDEN if _HIDDEN_VALUE.match(value) else _unquote(path, number, value)
    if len(stack) > 1:
        opened = stack[-1]
        what = f"{opened.name} {opened.label}" if opened.label is not None else opened.name
        raise InputFormatError(f"{path}:{opened.line}", f"section '{what} {{' is never closed")
    if not root.settings and not root.sections:
        raise InputFormatError(str(path), "no settings (not doveconf -n output)")
    return root


def parse_ext_args(path: Path, text: str) -> dict[str, str]:
    """A 2.3 `dovecot-ldap.conf.ext` / `dovecot-sql.conf.ext`: {key: value} in file order."""
    values: dict[str, str] = {}
    pending: list[str] = []
    start = 0
    lines = text_lines(text)
    for number, raw in lines:
        stripped = raw.strip(" \t")
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if not pending:
            start = number
        if stripped.endswith("\\"):
            pending.append(stripped[:-1].rstrip(" \t"))
            continue
        pending.append(stripped)
        line = " ".join(part for part in pending if part)
        pending = []
        if line.startswith(("!include ", "!include_try ")):
            directive, _, target = line.partition(" ")
            values[f"{directive} {target.strip()}"] = target.strip()
            continue
        key, sep, value = line.partition("=")
        key, value = key.strip(" \t"), value.strip(" \t")
        if not sep or not _KEY.match(key):
            raise InputFormatError(f"{path}:{start}", f"not a 'key = value' line: {line[:60]!r}")
        if key in values:
            raise InputFormatError(f"{path}:{start}", f"setting {key} is repeated")
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1]
        values[key] = value
    if pending:
        raise InputFormatError(f"{path}:{start}", "the file ends inside a continued ('\\') line")
    return values


_USER = re.compile(r"^[^\s:]+$")


def parse_doveadm_users(path: Path, text: str) -> list[str]:
    """`doveadm user '*'`: one user name per line, each once."""
    users: list[str] = []
    seen: set[str] = set()
    for number, raw in text_lines(text):
        if not raw:
            continue
        if raw != raw.strip() or not _USER.match(raw):
            raise InputFormatError(
                f"{path}:{number}", f"not a user name line of doveadm user '*': {raw[:60]!r}"
            )
        if raw.lower() in seen:
            raise InputFormatError(f"{path}:{number}", f"user {raw} is listed twice")
        seen.add(raw.lower())
        users.append(raw)
    return users
