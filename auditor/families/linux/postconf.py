"""Strict parsers for what `postconf` and `postmap` print (research modern-model.md §3.1).

- `postconf -n` / `postconf -x`: one `name = value` line per parameter, sorted, never folded
  (`name =` for an empty value). A folded line (from `-nf`) or anything else is refused.
- `postconf -M`: one line per master.cf service, unfolded: eight fields, then the command's
  arguments separated by spaces, a value containing blanks wrapped in `{ }`
  (`-o {smtpd_sender_restrictions=permit_sasl_authenticated, reject}`).
- `postconf -P -x`: `service/type/name = value`, the per-service `-o` overrides, expanded.
- `postmap -s type:table`: `key<TAB>value` per entry.

Every error is one `InputFormatError` naming the file and the line, because a half-understood
Postfix configuration must stop the pass rather than yield a verdict built on a guess.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from auditor.errors import InputFormatError
from auditor.families.linux.files import text_lines

__all__ = [
    "MASTER_TYPES",
    "MapIndexEntry",
    "MasterService",
    "parse_map_index",
    "parse_master",
    "parse_parameters",
    "parse_postmap",
    "parse_service_overrides",
    "split_braced",
]

_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
MASTER_TYPES = frozenset({"inet", "unix", "unix-dgram", "fifo", "pass"})
_FLAG = re.compile(r"^[yn-]$")
_WAKEUP = re.compile(r"^(?:-|\d+\??)$")
_LIMIT = re.compile(r"^(?:-|\d+)$")


def _split_parameter_line(path: Path, number: int, line: str) -> tuple[str, str]:
    if line[:1] in (" ", "\t"):
        raise InputFormatError(
            f"{path}:{number}", "folded continuation line (export with postconf -n/-x, not -nf/-xf)"
        )
    name, sep, value = line.partition(" =")
    if not sep or (value and not value.startswith(" ")):
        raise InputFormatError(f"{path}:{number}", f"not a 'name = value' line: {line[:60]!r}")
    return name, value[1:]


def parse_parameters(path: Path, text: str) -> dict[str, str]:
    """`postconf -n` or `postconf -x` output as {name: value}; a repeated name is an error."""
    values: dict[str, str] = {}
    for number, line in text_lines(text):
        if not line:
            continue
        name, value = _split_parameter_line(path, number, line)
        if not _NAME.match(name):
            raise InputFormatError(f"{path}:{number}", f"not a Postfix parameter name: {name[:60]!r}")
        if name in values:
            raise InputFormatError(f"{path}:{number}", f"parameter {name} is listed twice")
        values[name] = value
    return values


def split_braced(path: Path, number: int, text: str) -> list[str]:
    """Split at blanks outside braces, as Postfix does: `{ a b }` and `${name}` stay inside one token."""
    tokens: list[str] = []
    current: list[str] = []
    depth = 0
    for char in text:
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth < 0:
                raise InputFormatError(f"{path}:{number}", "unbalanced '}' in a master.cf argument")
        if char in " \t" and depth == 0:
            if current:
                tokens.append("".join(current))
                current = []
            continue
        current.append(char)
    if depth:
        raise InputFormatError(f"{path}:{number}", "unbalanced '{' in a master.cf argument")
    if current:
        tokens.append("".join(current))
    return tokens


def _unbrace(token: str) -> str:
    if token.startswith("{") and token.endswith("}"):
        return token[1:-1].strip(" \t")
    return token


@dataclass(frozen=True, slots=True)
class MasterService:
    """One master.cf service as `postconf -M` prints it (fields per master(5))."""

    service: str
    type: str
    private: str
    unprivileged: str
    chroot: str
    wakeup: str
    process_limit: str
    command: str
    arguments: tuple[str, ...]
    overrides: tuple[tuple[str, str], ...]
    line: int = field(compare=False)

    @property
    def key(self) -> str:
        return f"{self.service}/{self.type}"


def _master_overrides(path: Path, number: int, args: list[str]) -> tuple[tuple[str, str], ...]:
    overrides: list[tuple[str, str]] = []
    i = 0
    while i < len(args):
        if args[i] == "-o":
            if i + 1 >= len(args):
                raise InputFormatError(f"{path}:{number}", "'-o' without a name=value after it")
            name, sep, value = _unbrace(args[i + 1]).partition("=")
            name, value = name.strip(" \t"), value.strip(" \t")
            if not sep or not _NAME.match(name):
                raise InputFormatError(f"{path}:{number}", f"'-o' needs name=value, not {args[i + 1][:60]!r}")
            overrides.append((name, value))
            i += 2
        else:
            i += 1
    return tuple(overrides)


def parse_master(path: Path, text: str) -> list[MasterService]:
    """Unfolded `postconf -M` output; a repeated service/type is an error, as for Postfix itself."""
    services: list[MasterService] = []
    seen: dict[str, int] = {}
    for number, line in text_lines(text):
        if not line:
            continue
        if line[:1] in (" ", "\t"):
            raise InputFormatError(f"{path}:{number}", "folded line (export with postconf -M, not -Mf)")
        tokens = split_braced(path, number, line)
        if len(tokens) < 8:
            raise InputFormatError(
                f"{path}:{number}", f"a master.cf service needs 8 fields, found {len(tokens)}: {line[:60]!r}"
            )
        service, kind, private, unpriv, chroot, wakeup, limit, command = tokens[:8]
        if kind not in MASTER_TYPES:
            raise InputFormatError(f"{path}:{number}", f"unknown service type {kind[:30]!r}")
        for label, value in (("private", private), ("unprivileged", unpriv), ("chroot", chroot)):
            if not _FLAG.match(value):
                raise InputFormatError(
                    f"{path}:{number}", f"{label} field must be y, n or -, not {value[:30]!r}"
                )
        if not _WAKEUP.match(wakeup):
            raise InputFormatError(f"{path}:{number}", f"bad wakeup field {wakeup[:30]!r}")
        if not _LIMIT.match(limit):
            raise InputFormatError(f"{path}:{number}", f"bad process limit field {limit[:30]!r}")
        if any(c in service + command for c in "{}=") or service.startswith("-"):
            raise InputFormatError(f"{path}:{number}", f"bad service or command name in {line[:60]!r}")
        args = tokens[8:]
        entry = MasterService(
            service=service,
            type=kind,
            private=private,
            unprivileged=unpriv,
            chroot=chroot,
            wakeup=wakeup,
            process_limit=limit,
            command=command,
            arguments=tuple(args),
            overrides=_master_overrides(path, number, args),
            line=number,
        )
        if entry.key in seen:
            raise InputFormatError(
                f"{path}:{number}", f"service {entry.key} is defined twice (first on line {seen[entry.key]})"
            )
        seen[entry.key] = number
        services.append(entry)
    return services


def parse_service_overrides(path: Path, text: str) -> dict[str, dict[str, str]]:
    """`postconf -P -x` output as {"service/type": {name: value}}."""
    result: dict[str, dict[str, str]] = {}
    for number, line in text_lines(text):
        if not line:
            continue
        qualified, value = _split_parameter_line(path, number, line)
        parts = qualified.rsplit("/", 2)
        if len(parts) != 3 or not parts[0] or parts[1] not in MASTER_TYPES or not _NAME.match(parts[2]):
            raise InputFormatError(
                f"{path}:{number}", f"not a 'service/type/name = value' line: {line[:60]!r}"
            )
        service, kind, name = parts
        bucket = result.setdefault(f"{service}/{kind}", {})
        if name in bucket:
            raise InputFormatError(f"{path}:{number}", f"{qualified} is listed twice")
        bucket[name] = value
    return result


def parse_postmap(path: Path, text: str) -> dict[str, str]:
    """`postmap -s` output: {key: value}. Keys are unique in every table type postmap can list."""
    entries: dict[str, str] = {}
    for number, line in text_lines(text):
        if not line:
            continue
        key, sep, value = line.partition("\t")
        if not sep or not key or key != key.strip():
            raise InputFormatError(f"{path}:{number}", f"not a 'key<TAB>value' line: {line[:60]!r}")
        if key in entries:
            raise InputFormatError(f"{path}:{number}", f"key {key[:60]!r} is listed twice")
        entries[key] = value
    return entries


@dataclass(frozen=True, slots=True)
class MapIndexEntry:
    """One line of `maps/INDEX.tsv`: a table the settings name and the file holding its export.

    `file` is None when the export script could not dump the table (it writes `-`): the table is
    known to exist, its content is not, and any verdict that needs it is an `error`.
    """

    reference: str
    file: str | None
    line: int = field(compare=False)

    @property
    def form(self) -> str:
        """`entries` (postmap -s), `config` (ldap/sql .cf copy), `list` (a /file list), `source`, `none`."""
        if self.file is None:
            return "none"
        return {".txt": "entries", ".cf": "config", ".list": "list", ".src": "source"}[
            self.file[self.file.rfind(".") :]
        ]


_MAP_FILE = re.compile(r"^[A-Za-z0-9_.@+,=-]+\.(?:txt|cf|list|src)$")


def parse_map_index(path: Path, text: str) -> dict[str, MapIndexEntry]:
    """`maps/INDEX.tsv`: `reference<TAB>file` lines, file a plain name in maps/ (or `-`)."""
    index: dict[str, MapIndexEntry] = {}
    files: set[str] = set()
    for number, line in text_lines(text):
        if not line:
            continue
        parts = line.split("\t")
        if len(parts) != 2 or not parts[0] or parts[0] != parts[0].strip():
            raise InputFormatError(f"{path}:{number}", f"not a 'reference<TAB>file' line: {line[:60]!r}")
        reference, name = parts
        if name != "-" and (not _MAP_FILE.match(name) or name.startswith(".")):
            raise InputFormatError(f"{path}:{number}", f"not a map file name in maps/: {name[:60]!r}")
        if reference in index:
            raise InputFormatError(f"{path}:{number}", f"{reference[:60]} is listed twice")
        if name != "-":
            if name in files:
                raise InputFormatError(f"{path}:{number}", f"file {name} is listed twice")
            files.add(name)
        index[reference] = MapIndexEntry(reference=reference, file=None if name == "-" else name, line=number)
    return index
