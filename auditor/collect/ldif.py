"""Reading `ldifde` exports of the domain and Configuration partitions (RFC 2849 content records).

A small strict parser rather than the `ldif` package: that package reads bytes only (no UTF-16,
which `ldifde -u` writes), silently drops a file that ends mid-line, and reports no line numbers.
An audit must refuse a damaged export with the file and line to look at, because a half-read
export would otherwise look like deleted objects and open holes.

What is accepted: `version: 1`, `#` comments, folded lines (continuation starts with one space),
`attr: value`, `attr:: base64`, `changetype: add`, CRLF / LF / CR CR LF line ends, UTF-8 with or
without BOM, UTF-16 with BOM. Everything else stops the pass with an `InputFormatError`.

Why it is shaped this way: a full export of 100,000 users is about 500 MiB and 10 million lines.
`read_ldif` streams the file (memory holds one chunk and one record, never the file), and each
record is cut, unfolded and split with string methods that run in C; only its logical lines are
visited in Python. Anything unusual in a record (a comment, a `version:` line, a continuation with
nothing to continue, any error) sends that record through the line-by-line reading
(`_LineReader`), which is the reference: it decides what is accepted and names the line of a fault.
The fast reading accepts a subset of what it accepts and yields the same entries.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from auditor.collect import RawValue
from auditor.collect.export_text import CHUNK_BYTES, decode_export_text, stream_export_text
from auditor.collect.files import MiB, open_regular
from auditor.errors import InputFormatError

__all__ = ["MAX_LINE", "LdifEntry", "SharedText", "decode_export_text", "parse_ldif", "read_ldif"]

MAX_LINE = 64 * MiB
"""Longest record (its lines, folded or not), in characters: far above any real value (a photo is
~100 KiB). A hostile or damaged file with no blank line or no line break is refused at this size
instead of being gathered into memory."""

# An attribute description: a name or OID, then options such as `;binary` or `;range=0-1499`.
_ATTRIBUTE = re.compile(r"^(?:[A-Za-z][A-Za-z0-9-]*|\d+(?:\.\d+)+)(?:;[A-Za-z0-9=*-]+)*$")
_NAME = r"(?:[A-Za-z][A-Za-z0-9-]*+|\d++(?:\.\d++)++)(?:;[A-Za-z0-9=*-]++)*+"
# Strict base64 (what `b64decode(validate=True)` accepts, blanks around it aside).
_BASE64 = r"(?:[A-Za-z0-9+/]{4})*+(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?+"
_PLAIN_LINE = rf"{_NAME}:(?::[ ]*+{_BASE64}[ ]*+|(?![<:])[^\n]*+)"
# A record whose every logical line is `name: text` or `name:: base64`: what the fast reading takes.
_PLAIN_RECORD = re.compile(rf"(?:{_PLAIN_LINE}\n)*+{_PLAIN_LINE}")
_SKIP, _TEXT, _BINARY, _SPECIAL = "skip", "text", "binary", "special"


@dataclass(slots=True)
class LdifEntry:
    """One content record: its DN, the line it starts on, and its values by attribute (any case)."""

    dn: str
    line: int
    attributes: dict[str, list[RawValue]] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)

    def add(self, name: str, value: RawValue) -> None:
        """Merge spellings (`objectclass` and `objectClass` are one attribute in LDAP)."""
        lower = name.lower()
        spelled = self.names.setdefault(lower, name)
        self.attributes.setdefault(spelled, []).append(value)


def read_ldif(
    path: Path,
    *,
    binary: Collection[str] = frozenset(),
    wanted: Collection[str] | None = None,
    chunk_bytes: int = CHUNK_BYTES,
) -> Iterator[LdifEntry]:
    """Yield the content records of the export at `path`, streamed from disk; see `parse_ldif`.

    Memory holds `chunk_bytes` of the file and the record being read, whatever the file's size.
    """
    path = Path(path)
    try:
        # Only a regular file: a FIFO or a device named as an export would block or never end.
        with open_regular(path, limit=None) as handle:
            yield from _Parser(path, binary, wanted).entries(stream_export_text(path, handle, chunk_bytes))
    except OSError as exc:
        raise InputFormatError(str(path), f"cannot read the file ({exc.strerror or exc})") from None


def parse_ldif(
    path: Path, text: str, *, binary: Collection[str] = frozenset(), wanted: Collection[str] | None = None
) -> Iterator[LdifEntry]:
    """Yield the content records of one export, strictly; see the module docstring for the grammar.

    `binary` (lower-case attribute names) stay bytes; every other value is UTF-8 text.
    `wanted` (lower-case attribute names) keeps only the attributes a collector reads. Every line is
    still checked as LDIF (name, base64), but a value of an attribute auditor does not read is
    never decoded: a full `ldifde` export carries binary attributes (`logonHours`,
    `thumbnailPhoto`, `userCertificate`, ...) that are not text, and they must not stop an audit.
    """
    return _Parser(Path(path), binary, wanted).entries([text] if text else [])


class _Parser:
    """Records of one file: cut at blank lines, read fast when plain, line by line otherwise."""

    def __init__(self, path: Path, binary: Collection[str], wanted: Collection[str] | None) -> None:
        self.path = path
        self.binary = frozenset(binary)
        self.wanted = None if wanted is None else frozenset(wanted)
        self.lines = _LineReader(path, self.binary, self.wanted)
        self._names: dict[str, str] = {}  # attribute description -> what `_fast` does with it
        self._shared = SharedText()

    def entries(self, chunks: Iterable[str]) -> Iterator[LdifEntry]:
        pending = ""  # whole lines (LF-terminated) not yet cut into records
        partial = ""  # the start of a line whose end is in a later chunk
        line = 1  # number of the first line of `pending`
        for chunk in chunks:
            text = partial + chunk
            end = text.rfind("\n") + 1
            partial = text[end:]
            if len(partial) > MAX_LINE:
                number = line + pending.count("\n")
                raise InputFormatError(f"{self.path}:{number}", f"line longer than {MAX_LINE:,} characters")
            if not end:
                continue
            pending += _unix_line_ends(text[:end])
            cut = pending.rfind("\n\n") + 2
            if cut < 2:
                if len(pending) > _max_record():
                    raise InputFormatError(
                        f"{self.path}:{line}",
                        f"record longer than {_max_record():,} characters (no blank line)",
                    )
                continue
            blocks = pending[: cut - 2].split("\n\n")
            pending = pending[cut:]
            for block in blocks:
                yield from self._block(block, line)
                line += block.count("\n") + 2
        if partial:
            number = line + pending.count("\n")
            raise InputFormatError(
                f"{self.path}:{number}", "file does not end with a line break (truncated?)"
            )
        if pending:
            yield from self._block(pending, line)

    def _block(self, block: str, line: int) -> Iterator[LdifEntry]:
        """The entry (if any) of the lines between two blank lines; `line` numbers the first one."""
        body = block.strip("\n")
        if not body:
            return
        line += len(block) - len(block.lstrip("\n"))
        entry = self._fast(body, line)
        if entry is not None:
            self.lines.seen_record = True
            yield entry
            return
        numbered = enumerate(body.split("\n"), start=line)
        yield from self.lines.record(numbered)

    def _fast(self, body: str, line: int) -> LdifEntry | None:
        """The entry of a plain record (a `dn:` line, then attributes), or None to read it line by line.

        `_PLAIN_RECORD` checks every line at once (names, base64 of values never decoded, no URL
        values), so only the lines of wanted attributes are visited here.
        """
        if body[0] in " #" or "\n#" in body or body[:3].lower() != "dn:" or len(body) > MAX_LINE:
            return None
        unfolded = body.replace("\n ", "") if "\n " in body else body
        if _PLAIN_RECORD.fullmatch(unfolded) is None:
            return None
        logical = unfolded.split("\n")
        dn = logical[0][3:].strip()
        if not dn or dn[0] in ":<":
            return None
        entry = LdifEntry(dn=dn, line=line)
        names = self._names
        shared = self._shared
        for text in logical[1:]:
            name, _, rest = text.partition(":")
            use = names.get(name)
            if use is None:
                use = names[name] = self._use(name)
            if use is _SKIP:
                continue
            value: RawValue
            if use is _SPECIAL:
                if name.lower() != "changetype" or rest[:1] == ":" or rest.strip().lower() != "add":
                    return None
                continue
            if rest[:1] == ":":
                value = base64.b64decode(rest[1:].strip())
                if use is _TEXT:
                    try:
                        value = value.decode("utf-8")
                    except UnicodeDecodeError:
                        return None
            else:
                value = rest.lstrip(" ")
                if use is _BINARY:
                    try:
                        value = value.encode("latin-1")
                    except UnicodeEncodeError:
                        return None
            entry.add(name, shared(value) if use is _TEXT else value)
        return entry if entry.attributes else None

    def _use(self, name: str) -> str:
        """What the fast reading does with an attribute description (already known to be valid)."""
        lower = name.lower()
        base = lower.split(";", 1)[0]
        if lower in ("dn", "changetype", "control"):
            return _SPECIAL
        if self.wanted is not None and base not in self.wanted:
            return _SKIP
        return _BINARY if base in self.binary else _TEXT


def _max_record() -> int:
    """Longest record (all its lines) gathered before a blank line ends it: a few of the longest
    values a real user carries (photo, certificates) fit many times over; a file with no blank
    line at all is refused here rather than read into memory whole."""
    return 4 * MAX_LINE


class SharedText:
    """One string object for a text value that many entries repeat, in bounded memory.

    A full export repeats long values in every user: the mailbox store's DN in `homeMDB`, the
    MTA's in `homeMTA`, both address lists in `showInAddressBook`, the policy GUIDs, the four
    `objectClass` values. Read naively, each user gets its own copies (about a third of what the
    records of 100,000 users hold). A value seen twice within the last `window` distinct values
    is kept (up to `limit` of them) and handed out again; values seen once (addresses, names)
    pass through a window that is simply forgotten when full.
    """

    def __init__(self, *, limit: int = 20_000, window: int = 50_000) -> None:
        self.limit = limit
        self.window = window
        self.kept: dict[str, str] = {}
        self.seen: dict[str, str] = {}

    def __call__(self, text: RawValue) -> RawValue:
        if not isinstance(text, str):
            return text
        kept = self.kept.get(text)
        if kept is not None:
            return kept
        earlier = self.seen.get(text)
        if earlier is not None:
            if len(self.kept) < self.limit:
                self.kept[earlier] = earlier
            return earlier
        if len(self.seen) >= self.window:
            self.seen.clear()
        self.seen[text] = text
        return text


def _unix_line_ends(text: str) -> str:
    """Line ends as Windows writes them (CRLF, CR CR LF) become LF; a lone CR inside a line stays."""
    while "\r\n" in text:
        text = text.replace("\r\n", "\n")
    return text


class _LineReader:
    """The reference reading, line by line, of the records of one file (`record` per record).

    Remembers across records whether one was seen yet, since `version:` may only come first.
    """

    def __init__(self, path: Path, binary: frozenset[str], wanted: frozenset[str] | None) -> None:
        self.path = path
        self.binary = binary
        self.wanted = wanted
        self.seen_record = False

    def record(self, lines: Iterable[tuple[int, str]]) -> Iterator[LdifEntry]:
        """The entry of the physical lines of one record (no blank line among them), if any."""
        path = self.path
        entry: LdifEntry | None = None
        in_record = False
        for number, line in _logical_lines(path, lines):
            name, value, _ = _split_value(path, number, line)
            lower = name.lower()
            if not in_record:
                in_record = True
                if lower == "version" and not self.seen_record:
                    if _text_value(path, number, name, value).strip() != "1":
                        raise InputFormatError(f"{path}:{number}", "only LDIF version 1 is supported")
                    in_record = False
                    self.seen_record = True
                    continue
                if lower != "dn":
                    raise InputFormatError(f"{path}:{number}", f"'{name}' value before any 'dn:' line")
                dn = _text_value(path, number, name, value).strip()
                if not dn:
                    raise InputFormatError(f"{path}:{number}", "empty DN")
                entry, self.seen_record = LdifEntry(dn=dn, line=number), True
                continue
            assert entry is not None
            if lower == "dn":
                raise InputFormatError(f"{path}:{number}", "a second 'dn:' line in one record")
            if lower == "changetype":
                kind = _text_value(path, number, name, value).strip().lower()
                if kind != "add":
                    raise InputFormatError(
                        f"{path}:{number}", f"changetype {kind!r}: not an export (only 'add')"
                    )
                continue
            if lower == "control":
                raise InputFormatError(f"{path}:{number}", "a control line: not an export")
            base_name = lower.split(";", 1)[0]
            if self.wanted is not None and base_name not in self.wanted:
                continue
            if isinstance(value, bytes) and base_name not in self.binary:
                value = _text_value(path, number, name, value)
            elif isinstance(value, str) and base_name in self.binary:
                try:
                    value = value.encode("latin-1")
                except UnicodeEncodeError:
                    raise InputFormatError(
                        f"{path}:{number}", f"{name}: binary value must be base64"
                    ) from None
            entry.add(name, value)
        if entry is not None:
            if not entry.attributes:
                raise InputFormatError(
                    f"{path}:{entry.line}", f"record {entry.dn} has no attributes (cut off?)"
                )
            yield entry


def _logical_lines(path: Path, lines: Iterable[tuple[int, str]]) -> Iterator[tuple[int, str]]:
    """Unfolded lines with the number of their first physical line; comments dropped.

    Continuations are collected and joined once, so unfolding is linear in the value's length (a
    value `ldifde` folded at 76 columns costs what the same value unfolded costs), and a logical
    line longer than `MAX_LINE` is refused naming its first line.
    """
    start = 0
    parts: list[str] = []
    size = 0
    in_comment = False
    for number, line in lines:
        if line.startswith(" "):
            if in_comment:
                continue
            if not parts:
                raise InputFormatError(f"{path}:{number}", "continuation line without a line to continue")
            size += len(line) - 1
            if size > MAX_LINE:
                raise InputFormatError(f"{path}:{start}", f"folded line longer than {MAX_LINE:,} characters")
            parts.append(line[1:])
            continue
        if parts:
            yield start, "".join(parts)
            parts = []
        in_comment = line.startswith("#")
        if not in_comment:
            start, parts, size = number, [line], len(line)
    if parts:
        yield start, "".join(parts)


def _split_value(path: Path, number: int, line: str) -> tuple[str, RawValue, bool]:
    """(attribute, value, was base64) for `attr: text`, `attr:: base64`; URLs and junk refused."""
    colon = line.find(":")
    if colon <= 0:
        raise InputFormatError(f"{path}:{number}", f"line has no 'attribute: value' form: {line[:60]!r}")
    name, rest = line[:colon], line[colon + 1 :]
    if not _ATTRIBUTE.match(name):
        raise InputFormatError(f"{path}:{number}", f"invalid attribute name {name[:60]!r}")
    if rest.startswith("<"):
        raise InputFormatError(f"{path}:{number}", f"{name}: URL values (':<') are not accepted in an export")
    if rest.startswith(":"):
        encoded = rest[1:].strip()
        try:
            return name, base64.b64decode(encoded, validate=True), True
        except (binascii.Error, ValueError):
            raise InputFormatError(f"{path}:{number}", f"{name}: invalid base64 value") from None
    return name, rest.lstrip(" "), False


def _text_value(path: Path, number: int, name: str, value: RawValue) -> str:
    if isinstance(value, str):
        return value
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        raise InputFormatError(f"{path}:{number}", f"{name}: base64 value is not UTF-8 text") from None
