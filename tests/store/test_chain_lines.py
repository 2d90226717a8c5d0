"""The history chain's finding lines, written through orjson, are the bytes json wrote.

Every digest sealed before orjson came in must still verify (`auditor verify`): a line that
changed by one byte would make an intact history look tampered with.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from auditor_store_testing import checked, finding, save, user
from hypothesis import given, settings
from hypothesis import strategies as st

from auditor.registry import Severity, Status
from auditor.results import FindingRecord
from auditor.store import HistoryStore
from auditor.store.chain import _LINE, _findings, _Part, _recorded, floatless_line
from auditor.tables import EVIDENCE, FINDING


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


# -- the stored findings read as text, against the column types' own reading ----------------------


def typed_findings_part(store: HistoryStore, snapshot_id: int) -> str:
    """The findings part as the chain computed it before it read times as text (every column
    through its SQLAlchemy type): the digest stores sealed then hold."""
    part = _Part()
    columns = (
        FINDING.c.check_id, FINDING.c.subject, FINDING.c.fingerprint, FINDING.c.status,
        FINDING.c.severity, FINDING.c.message, FINDING.c.first_seen, FINDING.c.new,
        FINDING.c.waiver_reason, FINDING.c.waiver_expires,
    )  # fmt: skip
    query = (
        sa.select(*columns, FINDING.c.id, EVIDENCE.c.refs)
        .select_from(FINDING.outerjoin(EVIDENCE, FINDING.c.evidence_id == EVIDENCE.c.id))
        .where(FINDING.c.snapshot_id == snapshot_id)
        .order_by(FINDING.c.check_id, FINDING.c.subject, FINDING.c.fingerprint, FINDING.c.id)
    )
    with store._engine.connect() as conn:
        for row in conn.execute(query):
            line = [snapshot_id, *(row[i] for i in range(len(columns)))]
            part.add(*_recorded(line, evidence=row.refs))
    return part.digest.hexdigest()


def test_the_findings_part_is_what_the_column_types_gave(store: HistoryStore) -> None:
    records = [user("guid-a", "CN=Zoë,DC=contoso,DC=com", mail="zoe@contoso.com")]
    first = save(store, records, 0)
    findings = [
        finding("COEX-301", "pop.contoso.com"),
        finding("COEX-302", "CN=Zoë \\, Jr."),
        FindingRecord(
            "COEX-301", Status.WAIVED, Severity.HIGH, "waived.example", "waived “until” then",
            waiver_reason="migration", waiver_expires=date(2027, 1, 31),
        ),
    ]  # fmt: skip
    checked(store, first, findings)
    second = save(store, records, 1.000001)  # a time with microseconds
    # Other subjects: rows that open at the second snapshot, first seen at its time.
    findings = [dataclasses.replace(f, subject=f"{f.subject} 2") for f in findings]
    checked(store, second, findings)
    with store._engine.connect() as conn:
        for snapshot in (first, second):
            part = _Part()
            _findings(conn, part, snapshot.id, legacy=False)
            assert part.count == len(findings)
            assert part.digest.hexdigest() == typed_findings_part(store, snapshot.id)
