"""The two cross-cutting helpers: `printable` (terminal safety) and `scrub` (known secrets)."""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from urllib.parse import quote

import pytest

from auditor.errors import InputFormatError, StoreError
from auditor.secrets import forget_secrets, register_secret, scrub
from auditor.terminal import printable


@pytest.fixture(autouse=True)
def _no_secrets() -> Iterator[None]:
    forget_secrets()
    yield
    forget_secrets()


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("\x1b[2J", "\\x1b[2J"),
        ("\x1b]0;title\x07", "\\x1b]0;title\\x07"),
        ("a\rb\x00c\x7f", "a\\x0db\\x00c\\x7f"),
        ("\x9b31m", "\\x9b31m"),
        ("abc\u202edef\u2066", "abc\\u202edef\\u2066"),
        ("line\u2028break", "line\\u2028break"),
        (os.fsdecode(b"caf\xe9"), "caf\\xe9"),
        ("\ud800", "\\ud800"),
        ("Grüße € 漢字 ✓", "Grüße € 漢字 ✓"),
    ],
)
def test_printable_escapes_what_a_terminal_would_act_on(text: str, shown: str) -> None:
    assert printable(text) == shown
    printable(text).encode("utf-8")  # always encodable


def test_printable_can_keep_line_breaks() -> None:
    assert printable("one\ntwo\x1b", keep="\n") == "one\ntwo\\x1b"


def test_scrub_removes_every_form_a_secret_travels_in() -> None:
    secret = "p@ss w/rd+ü"
    register_secret(secret)
    forms = [secret, quote(secret, safe=""), quote(secret), base64.b64encode(secret.encode()).decode()]
    text = " | ".join(forms)
    assert scrub(text) == " | ".join(["***"] * 4)


def test_a_secret_containing_another_is_replaced_whole() -> None:
    register_secret("abc")
    register_secret("xabcx")
    assert scrub("xabcx and abc") == "*** and ***"


def test_errors_scrub_themselves_when_created() -> None:
    register_secret("Hunter2!")
    error = InputFormatError("/exports/d.ldf:7", "line has no 'attribute: value' form: 'Hunter2!'")
    assert str(error) == "/exports/d.ldf:7: line has no 'attribute: value' form: '***'"
    assert error.problem == "line has no 'attribute: value' form: '***'"
    assert str(StoreError("server said Hunter2!")) == "server said ***"


def test_nothing_registered_changes_nothing() -> None:
    register_secret(None)
    register_secret("")
    assert scrub("all of this stays") == "all of this stays"
