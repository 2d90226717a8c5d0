"""The history chain's finding lines, written through orjson, are the bytes json wrote.

Every digest sealed before orjson came in must still verify (`auditor verify`): a line that
changed by one byte would make an intact history look tampered with.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from auditor.store.chain import _LINE, floatless_line


def json_line(values: tuple[object, ...]) -> bytes:
    return _LINE.encode(values).encode("utf-8")


aware = st.datetimes(timezones=st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30))]))
scalar = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.text()
    | aware
    | st.dates()
)
refs = st.lists(st.lists(st.text(), min_size=3, max_size=3), max_size=4)
later = st.dictionaries(st.sampled_from(["evidence", "code", "zé", "Évidence"]), refs | st.text(), max_size=3)


@settings(max_examples=400)
@given(st.lists(scalar, max_size=12), later)
def test_a_finding_line_is_written_as_json_wrote_it(values: list[object], extra: dict[str, object]) -> None:
    line = (*values, extra) if extra else tuple(values)
    assert floatless_line(line) == json_line(line)


def test_a_real_finding_line_and_what_orjson_refuses() -> None:
    line = (
        7,
        "COEX-101",
        "CN=Zoë \\, Jr.,OU=Users,DC=contoso,DC=com",
        "f" * 64,
        "fail",
        "high",
        "no mailbox store\x01 — “quoted”",
        datetime(2026, 12, 6, 10, 5, tzinfo=UTC),
        False,
        None,
        date(2027, 1, 31),
        {"evidence": [["user", "0f3a9c2e", "CN=Zoë"], ["recipient_policy", "8d8c", "CN=Default Policy"]]},
    )
    assert floatless_line(line) == json_line(line)
    big = (2**70, "an integer beyond 64 bits")
    assert floatless_line(big) == json_line(big)
    surrogate = (1, "lone \ud800 surrogate")  # json's line could not be written either: same error
    with pytest.raises(UnicodeEncodeError):
        json_line(surrogate)
    with pytest.raises(UnicodeEncodeError):
        floatless_line(surrogate)
