"""Text that is safe to show on a terminal or in a log line: control characters made visible.

Directory values, file contents, file names and command-line arguments are untrusted. Written raw,
an ESC starts a terminal escape sequence (clear the screen, set the window title, rewrite earlier
lines), a carriage return hides what came before it on the line, and a bidirectional override
reorders what the reader sees. Every text renderer, every stderr line and every log line of
auditor goes through `printable`, which shows such characters as escapes instead:

* C0 controls, DEL and C1 controls as `\\xNN` (`\\x1b` for ESC);
* bytes of a file name that is not UTF-8 (lone surrogates from Python's `surrogateescape`)
  as the original byte, `\\xNN`; any other lone surrogate as `\\uDXXX`;
* bidirectional and line-breaking format characters (U+200E/F, U+202A-E, U+2066-9, U+061C,
  U+2028/9) as `\\uXXXX`.

The result is always encodable as UTF-8, so printing or storing it never fails either.
JSON and HTML output escape in their own way and do not use this.
"""

from __future__ import annotations

import re

__all__ = ["printable"]

_UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)


def _escape(char: str) -> str:
    code = ord(char)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8 (surrogateescape)
        return f"\\x{code - 0xDC00:02x}"
    return f"\\u{code:04x}"


def printable(text: object, *, keep: str = "") -> str:
    """`str(text)` with unsafe characters escaped; characters in `keep` (say "\\n") pass through."""
    value = str(text)
    if not keep:
        return _UNSAFE.sub(lambda m: _escape(m.group()), value)
    return _UNSAFE.sub(lambda m: m.group() if m.group() in keep else _escape(m.group()), value)
