"""`winpop` output captured to files, and reading text as Windows writes it.

winpop prints each line with `wprintf` plus `\\r\\n`; redirected to a file, text-mode translation
turns that into CR CR LF, and `cmd` may write the file as UTF-16 (`cmd /u`), UTF-8 or the ANSI
code page. The parsers split on LF, drop every CR, strip blanks and ignore empty lines (research
notes, pop3-iis-model.md §2.3), but insist on the heading and footer winpop always prints: a file
without them is not winpop output, and a footer whose count disagrees means an edited or cut file.
Names are matched by display name, never by number (numbers shift with the server's role).

Files are streamed line by line (`read_winpop_*`), so memory stays bounded whatever their size.
Limits: a winpop file is at most `WINPOP_LIMIT` (64 MiB, about a million mailboxes even as UTF-16
with CR CR LF; a real POP3 service holds a few thousand) and a line at most `MAX_LINE` (1,024)
characters (a mailbox or domain name is at most 255); beyond either, the file is refused naming it.
Every error names the file and the line.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from auditor.collect.files import MiB, open_regular, read_regular, text_lines
from auditor.errors import InputFormatError

__all__ = [
    "MAX_LINE",
    "WINDOWS_TEXT_LIMIT",
    "WINPOP_LIMIT",
    "WinpopAuth",
    "parse_winpop_auth",
    "parse_winpop_domains",
    "parse_winpop_mailboxes",
    "read_windows_text",
    "read_winpop_auth",
    "read_winpop_domains",
    "read_winpop_mailboxes",
    "text_lines_of",
    "windows_text_lines",
]

WINPOP_LIMIT = 64 * MiB
WINDOWS_TEXT_LIMIT = 64 * MiB
MAX_LINE = 1024

_AUTH_LINE = re.compile(r"^(\d+)\s+(?:(\*)\s+)?(\S.*)$")
_DOMAIN = re.compile(r"^[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*\.?$")
_MAILBOX = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+$")
_DOMAINS_FOOTER = re.compile(r"^(\d{1,9})\s+domain\(s\)$", re.IGNORECASE)
_MAILBOXES_FOOTER = re.compile(r"^(\d{1,9})\s+mailbox\(es\)$", re.IGNORECASE)
_DOMAINS_HEADING = re.compile(r"^List of domains$", re.IGNORECASE)
_MAILBOXES_HEADING = re.compile(r"^List of mailboxes:\s*(\S+)$", re.IGNORECASE)
_BOMS = (
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
    (codecs.BOM_UTF8, "utf-8"),
)

Lines = Iterable[tuple[int, str]]


def _decode_whole(path: Path, data: bytes) -> str:
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data[len(bom) :].decode(encoding)
            except UnicodeDecodeError as exc:
                line = data[len(bom) : len(bom) + exc.start].decode(encoding, "replace").count("\n") + 1
                raise InputFormatError(
                    f"{path}:{line}", f"not valid {encoding.upper()} ({exc.reason})"
                ) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputFormatError(
            f"{path}:{line}", f"neither UTF-8 nor Windows-1252 text ({exc.reason})"
        ) from None


def read_windows_text(path: Path, *, limit: int = WINDOWS_TEXT_LIMIT) -> str:
    """A text file's whole content: UTF-16 or UTF-8 by BOM, else UTF-8, else Windows-1252."""
    return _decode_whole(path, read_regular(path, limit=limit))


def _is_utf8(handle: BinaryIO) -> bool:
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        while chunk := handle.read(MiB):
            decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def windows_text_lines(
    path: Path, *, limit: int = WINPOP_LIMIT, max_line: int = MAX_LINE
) -> Iterator[tuple[int, str]]:
    """Non-blank lines of a text file as Windows writes it, streamed: (line number, stripped line).

    The encoding is decided as `read_windows_text` does; without a BOM the file is read once to
    tell UTF-8 from Windows-1252, then again to split it, never held whole.
    """
    with open_regular(path, limit=limit) as handle:
        head = handle.read(3)
        for bom, name in _BOMS:
            if head.startswith(bom):
                encoding, skip = name, len(bom)
                break
        else:
            handle.seek(0)
            encoding, skip = ("utf-8" if _is_utf8(handle) else "cp1252"), 0
        handle.seek(skip)
        for number, raw in text_lines(path, handle, encoding, max_line=max_line, limit=limit):
            line = raw.replace("\r", "").strip()
            if line:
                yield number, line


def text_lines_of(text: str) -> list[tuple[int, str]]:
    """Non-blank lines of a text, CRs and surrounding blanks removed, with their 1-based numbers."""
    lines = []
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.replace("\r", "").strip()
        if line:
            lines.append((number, line))
    return lines


@dataclass(frozen=True, slots=True)
class WinpopAuth:
    """`winpop get auth`: the offered methods in order, and the `*`-marked one (None if unmarked)."""

    methods: tuple[str, ...]
    current: str | None


def _auth(path: Path, lines: Lines) -> WinpopAuth:
    methods: list[str] = []
    current: str | None = None
    last = 1
    for number, line in lines:
        last = number
        match = _AUTH_LINE.match(line)
        if not match:
            raise InputFormatError(f"{path}:{number}", f"not a 'winpop get auth' method line: {line[:60]!r}")
        name = re.sub(r"\s+", " ", match.group(3))
        if match.group(2):
            if current is not None:
                raise InputFormatError(f"{path}:{number}", "more than one method is marked current ('*')")
            current = name
        methods.append(name)
    if not methods:
        raise InputFormatError(
            f"{path}:{last}", "no authentication method lines (not 'winpop get auth' output)"
        )
    return WinpopAuth(methods=tuple(methods), current=current)


def _listing(
    path: Path,
    lines: Lines,
    what: str,
    heading: re.Pattern[str],
    footer: re.Pattern[str],
    item: re.Pattern[str],
    on_heading: Callable[[int, re.Match[str]], None] | None = None,
) -> Iterator[str]:
    """The item lines of a `winpop list` output, streamed; heading checked first, footer count last.

    One line is held back, because only the end of the file tells the footer from an item.
    """
    iterator = iter(lines)
    first = next(iterator, None)
    if first is None:
        raise InputFormatError(f"{path}:1", f"empty file (not 'winpop list' output for {what})")
    first_number, first_line = first
    head = heading.match(first_line)
    if not head:
        raise InputFormatError(
            f"{path}:{first_number}", f"expected the heading of {what}, found {first_line[:60]!r}"
        )
    if on_heading is not None:
        on_heading(first_number, head)
    seen: set[str] = set()
    count = 0
    held: tuple[int, str] | None = None
    for current in iterator:
        if held is not None:
            number, value = held
            if not item.match(value):
                raise InputFormatError(f"{path}:{number}", f"not a valid name in {what}: {value[:60]!r}")
            if value.lower() in seen:
                raise InputFormatError(f"{path}:{number}", f"{value} is listed twice")
            seen.add(value.lower())
            count += 1
            yield value
        held = current
    last_number, last = held if held is not None else first
    foot = footer.match(last) if held is not None else None
    if not foot:
        raise InputFormatError(f"{path}:{last_number}", f"missing the '{what}' count footer (cut off?)")
    if int(foot.group(1)) != count:
        raise InputFormatError(
            f"{path}:{last_number}", f"footer counts {foot.group(1)} but the file lists {count}"
        )


def _domains(path: Path, lines: Lines) -> list[str]:
    items = _listing(path, lines, "domain(s)", _DOMAINS_HEADING, _DOMAINS_FOOTER, _DOMAIN)
    return [value.rstrip(".").lower() for value in items]


def _mailboxes(path: Path, lines: Lines, domain: str) -> list[str]:
    def same_domain(line: int, head: re.Match[str]) -> None:
        listed = head.group(1).rstrip(".").lower()
        if listed != domain.rstrip(".").lower():
            raise InputFormatError(f"{path}:{line}", f"lists the mailboxes of {listed}, not of {domain}")

    return list(
        _listing(path, lines, "mailbox(es)", _MAILBOXES_HEADING, _MAILBOXES_FOOTER, _MAILBOX, same_domain)
    )


def parse_winpop_auth(path: Path, text: str) -> WinpopAuth:
    """`winpop get auth` output given as text (`read_winpop_auth` streams a file)."""
    return _auth(path, text_lines_of(text))


def parse_winpop_domains(path: Path, text: str) -> list[str]:
    """`winpop list`: the POP3 domains, lower-case, trailing dot stripped, in file order."""
    return _domains(path, text_lines_of(text))


def parse_winpop_mailboxes(path: Path, text: str, domain: str) -> list[str]:
    """`winpop list DOMAIN`: the mailbox names; the heading must name `domain` (the file's name)."""
    return _mailboxes(path, text_lines_of(text), domain)


def read_winpop_auth(path: Path) -> WinpopAuth:
    return _auth(path, windows_text_lines(path))


def read_winpop_domains(path: Path) -> list[str]:
    return _domains(path, windows_text_lines(path))


def read_winpop_mailboxes(path: Path, domain: str) -> list[str]:
    return _mailboxes(path, windows_text_lines(path), domain)
