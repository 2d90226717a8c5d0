"""The project's fuzzing habit: any bytes give a parsed value or the family's one error, with file and line.

Every parser of an exported file gets a property test built from two pieces here:

* `mutants(seeds)`: bytes drawn from real files of the format (seeds), then mutated the way real
  damage and hostile edits look: flipped or inserted bytes, a cut, a duplicated or dropped span,
  and tokens that matter to line-based and XML formats (line ends, continuations, BOMs, NULs,
  base64 markers, long digit runs). Pure random bytes rarely get past a header; mutants of real
  files reach the deep code.
* `assert_contained(parse, path, data)`: writes `data` to `path` (a regular file) and runs the
  real reader on it. It must return, or raise `InputFormatError` whose location is
  `<path>:<line>` with a line between 1 and the file's size; anything else (another exception,
  a location without the file or the line) fails the test.

A new format (the Linux family's Postfix and Dovecot outputs, security descriptors) adds a
seed list and one `@given` test in the same shape.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable, Sequence
from pathlib import Path

from hypothesis import strategies as st

from auditor.errors import InputFormatError

__all__ = ["TOKENS", "assert_contained", "mutants"]

TOKENS: tuple[bytes, ...] = (
    b"\n",
    b"\r",
    b"\r\r\n",
    b" ",
    b"\t",
    b":",
    b"::",
    b":<",
    b"\x00",
    b"\xff",
    b"\\",
    b"\\\r\n",
    b"=",
    b'"',
    b"[",
    b"]",
    b"<",
    b">",
    b"&",
    b"<!DOCTYPE x>",
    b"<!ENTITY e 'x'>",
    b"]]>",
    b"\xc3\x28",
    b"\xed\xa0\x80",
    codecs.BOM_UTF8,
    codecs.BOM_UTF16_LE,
    b"9" * 40,
    b"-" * 36,
    b"dn: ",
    b"version: 2",
    b"changetype: modify",
    b"hex(7):",
    b"dword:",
    b"0x",
    b"|",
    b"mailbox(es)",
    b"domain(s)",
)


@st.composite
def mutants(draw: st.DrawFn, seeds: Sequence[bytes], max_edits: int = 6) -> bytes:
    """A seed with up to `max_edits` random edits (see the module docstring)."""
    data = bytearray(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(0, max_edits))):
        position = draw(st.integers(0, len(data)))
        edit = draw(st.sampled_from(("flip", "insert", "token", "delete", "cut", "duplicate")))
        if edit == "flip" and position < len(data):
            data[position] ^= 1 << draw(st.integers(0, 7))
        elif edit == "insert":
            data[position:position] = draw(st.binary(min_size=1, max_size=8))
        elif edit == "token":
            data[position:position] = draw(st.sampled_from(TOKENS))
        elif edit == "delete":
            del data[position : position + draw(st.integers(1, 64))]
        elif edit == "cut":
            del data[position:]
        elif edit == "duplicate":
            span = bytes(data[position : position + draw(st.integers(1, 256))])
            data[position:position] = span
    return bytes(data)


def assert_contained(parse: Callable[[Path], object], path: Path, data: bytes) -> InputFormatError | None:
    """Run `parse` on a file holding `data`: a value, or `InputFormatError` at `<path>:<line>`."""
    path.write_bytes(data)
    try:
        parse(path)
    except InputFormatError as exc:
        match = re.fullmatch(re.escape(str(path)) + r":(\d+)", exc.location)
        assert match is not None, f"error without file and line: {exc.location!r}: {exc.problem}"
        line = int(match.group(1))
        assert 1 <= line <= len(data) + 1, f"line {line} outside a file of {len(data)} bytes"
        assert exc.problem and "\n" not in str(exc), f"not one line: {exc!r}"
        return exc
    return None
