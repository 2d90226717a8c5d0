"""Every parser, any input: a parsed value or the one InputFormatError naming file (and line).

Short time boxes in the normal run (a few seconds in all); `HYPOTHESIS_PROFILE=long` for more.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from auditor.errors import InputFormatError
from auditor.families.linux.doveconf import parse_doveadm_users, parse_doveconf, parse_ext_args
from auditor.families.linux.export import read_linux_export
from auditor.families.linux.params import ExpansionError, expand, is_unknown
from auditor.families.linux.postconf import (
    parse_map_index,
    parse_master,
    parse_parameters,
    parse_postmap,
    parse_service_overrides,
)

EXAMPLES = 800 if os.environ.get("HYPOTHESIS_PROFILE") == "long" else 120
FAST = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
PATH = Path("/export/file.txt")
LOCATION = re.compile(r"^/export/file\.txt(:\d+)?$")

# Text built from the characters these formats are made of, so that inputs get deep, not just rejected.
ALPHABET = st.sampled_from(
    [*list('abcxyz019 _-./:=,{}[]#"\\\t\n\r@$<!*'), "smtpd", "inet", " = ", "-o ", "passdb {", "}\n"]
)
TEXT = st.lists(ALPHABET, max_size=120).map("".join) | st.text(max_size=200)

PARSERS: list[Callable[[Path, str], object]] = [
    parse_parameters,
    parse_master,
    parse_service_overrides,
    parse_postmap,
    parse_map_index,
    parse_doveconf,
    parse_ext_args,
    parse_doveadm_users,
]


@pytest.mark.parametrize("parser", PARSERS, ids=[p.__name__ for p in PARSERS])
@FAST
@given(text=TEXT)
def test_any_text_parses_or_is_one_located_error(parser: Callable[[Path, str], object], text: str) -> None:
    try:
        parser(PATH, text)
    except InputFormatError as exc:
        assert LOCATION.match(exc.location), exc.location
        assert "\n" not in str(exc)


@FAST
@given(text=TEXT)
def test_expansion_never_raises_anything_but_its_own_error(text: str) -> None:
    try:
        result = expand(text, {"a": "A", "b": "$a"}.get)
    except ExpansionError as exc:
        assert str(exc)
        return
    assert isinstance(result, str)
    assert not is_unknown(result)


@settings(
    max_examples=max(20, EXAMPLES // 6),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    data=st.binary(max_size=300),
    name=st.sampled_from(
        [
            "postconf-x.txt",
            "postconf-n.txt",
            "postconf-M.txt",
            "postconf-Px.txt",
            "doveconf-n.txt",
            "doveadm-users.txt",
            "EXPORT-INFO.txt",
        ]
    ),
)
def test_any_bytes_in_an_export_file(
    tmp_path_factory: pytest.TempPathFactory, data: bytes, name: str
) -> None:
    folder = tmp_path_factory.mktemp("prop")
    (folder / name).write_bytes(data)
    try:
        read_linux_export(folder)
    except InputFormatError as exc:
        assert exc.location.startswith(str(folder / name))
        assert "\n" not in str(exc)
