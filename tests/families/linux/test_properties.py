"""Every parser, any input: a parsed value or the one InputFormatError naming file (and line).

Short time boxes in the normal run (a few seconds in all); `HYPOTHESIS_PROFILE=long` for more.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from auditor.errors import InputFormatError
from auditor.families.linux.doveconf import DoveSection, parse_doveadm_users, parse_doveconf, parse_ext_args
from auditor.families.linux.export import read_linux_export
from auditor.families.linux.params import ExpansionError, expand, is_unknown
from auditor.families.linux.postconf import (
    parse_map_index,
    parse_master,
    parse_parameters,
    parse_postmap,
    parse_service_overrides,
)

# `make fuzz` (HYPOTHESIS_PROFILE=auditor-fuzz) runs these as long as the tests/fuzz parsers.
EXAMPLES = (
    int(os.environ.get("AUDITOR_FUZZ_EXAMPLES", "20000"))
    if os.environ.get("HYPOTHESIS_PROFILE") == "auditor-fuzz"
    else 120
)
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


NAMES = st.sampled_from(
    ["service", "protocol", "unix_listener", "inet_listener", "plugin", "namespace", "passdb"]
)
LABELS = st.none() | st.text(alphabet="abc/%:. -_", min_size=1, max_size=12).filter(lambda s: s.strip() == s)
KEYS = st.text(alphabet="abcdefgh_/%.", min_size=1, max_size=10).filter(lambda s: s[0] not in "./%")
VALUES = st.text(alphabet="abc xyz/%=#{}", max_size=15)


Spec = tuple[str, str | None, dict[str, str], list[Any]]


def sections(depth: int) -> st.SearchStrategy[Spec]:
    children = st.lists(sections(depth - 1), max_size=2) if depth > 0 else st.just([])
    return st.tuples(NAMES, LABELS, st.dictionaries(KEYS, VALUES, max_size=3), children)


def build(spec: Spec, line: int = 0) -> DoveSection:
    name, label, settings, children = spec
    return DoveSection(name, label, line, dict(settings), [build(c) for c in children])


def shape(section: DoveSection) -> tuple[Any, ...]:
    label = (section.label is None, section.label or "")
    return (section.name, label, sorted(section.settings.items()), sorted(shape(c) for c in section.sections))


@FAST
@given(root_settings=st.dictionaries(KEYS, VALUES, max_size=4), children=st.lists(sections(2), max_size=3))
def test_dovecot_trees_survive_records_and_back(root_settings: dict[str, str], children: list[Spec]) -> None:
    from hypothesis import assume

    from auditor.families.linux.export import LinuxExport
    from auditor.families.linux.host import LinuxHost
    from auditor.families.linux.raw import host_from_records, host_records

    root = DoveSection("", None, 0, dict(root_settings), [build(c) for c in children])

    def distinct(section: DoveSection) -> bool:
        """doveconf never prints two sections of one name and label side by side (it merges them)."""
        labelled = [(c.name, c.label) for c in section.sections if c.label is not None]
        return len(set(labelled)) == len(labelled) and all(distinct(c) for c in section.sections)

    assume(distinct(root))
    assume(root.settings or root.sections)
    host = LinuxHost.from_export(LinuxExport(folder=Path(), files=(), doveconf=root), name="P")
    rebuilt = host_from_records(host_records(host), "P")
    assert rebuilt.dovecot is not None
    assert shape(rebuilt.dovecot.root) == shape(root)
