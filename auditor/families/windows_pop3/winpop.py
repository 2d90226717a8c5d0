"""`winpop` output captured to files, and reading text as Windows writes it.

winpop prints each line with `wprintf` plus `\\r\\n`; redirected to a file, text-mode translation
turns that into CR CR LF, and `cmd` may write the file as UTF-16 (`cmd /u`), UTF-8 or the ANSI
code page. The parsers split on LF, drop every CR, strip blanks and ignore empty lines (research
notes, pop3-iis-model.md §2.3), but insist on the heading and footer winpop always prints: a file
without them is not winpop output, and a footer whose count disagrees means an edited or cut file.
Names are matched by display name, never by number (numbers shift with the server's role).
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from pathlib import Path

from auditor.errors import InputFormatError

__all__ = [
    "WinpopAuth",
    "parse_winpop_auth",
    "parse_winpop_domains",
    "parse_winpop_mailboxes",
    "read_windows_text",
    "text_lines",
]

_AUTH_LINE = re.compile(r"^(\d+)\s+(?:(\*)\s+)?(\S.*)$")
_DOMAIN = re.compile(r"^[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*\.?$")
_MAILBOX = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+$")
_DOMAINS_FOOTER = re.compile(r"^(\d+)\s+domain\(s\)$", re.IGNORECASE)
_MAILBOXES_FOOTER = re.compile(r"^(\d+)\s+mailbox\(es\)$", re.IGNORECASE)
_MAILBOXES_HEADING = re.compile(r"^List of mailboxes:\s*(\S+)$", re.IGNORECASE)


def read_windows_text(path: Path) -> str:
    """A text file's content: UTF-16 or UTF-8 by BOM, else UTF-8, else Windows-1252."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputFormatError(str(path), f"cannot read the file ({exc.strerror or exc})") from None
    for bom, encoding in (
        (codecs.BOM_UTF16_LE, "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be"),
        (codecs.BOM_UTF8, "utf-8"),
    ):
        if data.startswith(bom):
            try:
                return data[len(bom) :].decode(encoding)
            except UnicodeDecodeError as exc:
                raise InputFormatError(str(path), f"not valid {encoding.upper()} ({exc.reason})") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError as exc:
        raise InputFormatError(str(path), f"neither UTF-8 nor Windows-1252 text ({exc.reason})") from None


def text_lines(text: str) -> list[tuple[int, str]]:
    """Non-blank lines, CRs and surrounding blanks removed, with their 1-based line numbers."""
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


def parse_winpop_auth(path: Path, text: str) -> WinpopAuth:
    methods: list[str] = []
    current: str | None = None
    for number, line in text_lines(text):
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
        raise InputFormatError(str(path), "no authentication method lines (not 'winpop get auth' output)")
    return WinpopAuth(methods=tuple(methods), current=current)


def _listing(
    path: Path, text: str, what: str, heading: re.Pattern[str], footer: re.Pattern[str], item: re.Pattern[str]
) -> tuple[re.Match[str], int, list[tuple[int, str]]]:
    """Heading match and item lines of a `winpop list` output, footer count cross-checked."""
    lines = text_lines(text)
    if not lines:
        raise InputFormatError(str(path), f"empty file (not 'winpop list' output for {what})")
    first_number, first = lines[0]
    head = heading.match(first)
    if not head:
        raise InputFormatError(
            f"{path}:{first_number}", f"expected the heading of {what}, found {first[:60]!r}"
        )
    last_number, last = lines[-1]
    foot = footer.match(last) if len(lines) > 1 else None
    if not foot:
        raise InputFormatError(f"{path}:{last_number}", f"missing the '{what}' count footer (cut off?)")
    items = lines[1:-1]
    if int(foot.group(1)) != len(items):
        raise InputFormatError(
            f"{path}:{last_number}", f"footer counts {foot.group(1)} but the file lists {len(items)}"
        )
    seen: set[str] = set()
    for number, value in items:
        if not item.match(value):
            raise InputFormatError(f"{path}:{number}", f"not a valid name in {what}: {value[:60]!r}")
        if value.lower() in seen:
            raise InputFormatError(f"{path}:{number}", f"{value} is listed twice")
        seen.add(value.lower())
    return head, first_number, items


def parse_winpop_domains(path: Path, text: str) -> list[str]:
    """`winpop list`: the POP3 domains, lower-case, trailing dot stripped, in file order."""
    _, _, items = _listing(
        path, text, "domain(s)", re.compile(r"^List of domains$", re.IGNORECASE), _DOMAINS_FOOTER, _DOMAIN
    )
    return [value.rstrip(".").lower() for _, value in items]


def parse_winpop_mailboxes(path: Path, text: str, domain: str) -> list[str]:
    """`winpop list DOMAIN`: the mailbox names; the heading must name `domain` (the file's name)."""
    head, head_line, items = _listing(
        path, text, "mailbox(es)", _MAILBOXES_HEADING, _MAILBOXES_FOOTER, _MAILBOX
    )
    listed = head.group(1).rstrip(".").lower()
    if listed != domain.rstrip(".").lower():
        raise InputFormatError(f"{path}:{head_line}", f"lists the mailboxes of {listed}, not of {domain}")
    return [value for _, value in items]
