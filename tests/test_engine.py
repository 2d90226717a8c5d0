"""Running checks: crashed checks are errors, skips are explicit, waivers behave like InSpec's."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

from auditor.engine import Waiver, run_checks
from auditor.model import Snapshot
from auditor.registry import Finding, Severity, SkipCheck, Status, check

TODAY = date(2026, 11, 27)


@check("TEST-001", title="two fail, one passes", severity=Severity.HIGH, principles=("P3",))
def two_fail(snap: Snapshot) -> Iterator[Finding]:
    """Fixture check."""
    yield Finding.passed("pass-a")
    yield Finding.failed("CN=fail-b,DC=x", "b is wrong")
    yield Finding.failed("CN=fail-c,DC=x", "c is wrong")


@check("TEST-002", title="raises", severity=Severity.MEDIUM, principles=("P4",))
def raises(snap: Snapshot) -> Iterator[Finding]:
    """Fixture check."""
    yield Finding.passed("pass-a")
    raise RuntimeError("boom")


@check("TEST-003", title="skips", severity=Severity.LOW, principles=("P5",))
def skips(snap: Snapshot) -> Iterator[Finding]:
    """Fixture check."""
    raise SkipCheck("no POP3 export configured")
    yield  # pragma: no cover


@check("TEST-004", title="undecodable input", severity=Severity.CRITICAL, principles=("all",))
def undecodable(snap: Snapshot) -> Iterator[Finding]:
    """Fixture check."""
    yield Finding.failed("fail-x", "x")
    yield Finding.error("error-y", "relay list cannot be decoded")


def by_id(outcome):  # type: ignore[no-untyped-def]
    return {c.id: c for c in outcome.checks}


def test_statuses_counts_and_a_crashed_check_is_an_error_never_a_pass() -> None:
    outcome = run_checks(Snapshot(), [two_fail, raises, skips, undecodable], today=TODAY)
    checks = by_id(outcome)
    assert checks["TEST-001"].status is Status.FAIL
    assert (checks["TEST-001"].passed, checks["TEST-001"].failed) == (1, 2)
    assert checks["TEST-002"].status is Status.ERROR
    assert "RuntimeError: boom" in checks["TEST-002"].message
    assert checks["TEST-003"].status is Status.SKIPPED
    assert checks["TEST-003"].message == "no POP3 export configured"
    assert checks["TEST-004"].status is Status.ERROR  # fail and error: error
    failing = {(f.check, f.subject, f.status) for f in outcome.findings}
    assert failing == {
        ("TEST-001", "CN=fail-b,DC=x", Status.FAIL),
        ("TEST-001", "CN=fail-c,DC=x", Status.FAIL),
        ("TEST-002", "TEST-002", Status.ERROR),
        ("TEST-004", "fail-x", Status.FAIL),
        ("TEST-004", "error-y", Status.ERROR),
    }


def test_disabled_checks_do_not_run() -> None:
    outcome = run_checks(Snapshot(), [two_fail, raises], disabled=["TEST-002"], today=TODAY)
    assert [c.id for c in outcome.checks] == ["TEST-001"]


def test_waivers_match_exactly_or_by_glob_case_insensitively_and_stay_listed() -> None:
    waivers = [
        Waiver("TEST-001", "cn=FAIL-B,dc=x", "known, ticket 42", date(2027, 3, 31)),
        Waiver("TEST-004", "fail-*", "migration in progress", date(2026, 12, 5)),
    ]
    outcome = run_checks(Snapshot(), [two_fail, undecodable], waivers=waivers, today=TODAY)
    statuses = {(f.check, f.subject): f.status for f in outcome.findings}
    assert statuses[("TEST-001", "CN=fail-b,DC=x")] is Status.WAIVED
    assert statuses[("TEST-001", "CN=fail-c,DC=x")] is Status.FAIL
    assert statuses[("TEST-004", "fail-x")] is Status.WAIVED
    assert statuses[("TEST-004", "error-y")] is Status.ERROR  # errors need a human: never waived
    waived = next(f for f in outcome.findings if f.subject == "CN=fail-b,DC=x")
    assert waived.waiver_reason == "known, ticket 42"
    assert by_id(outcome)["TEST-001"].waived == 1
    notes = {(n.check, n.state) for n in outcome.waiver_notes}
    assert notes == {("TEST-004", "expiring")}  # expires within 14 days


def test_an_expired_waiver_no_longer_applies_and_says_so_and_an_unused_one_is_stale() -> None:
    waivers = [
        Waiver("TEST-001", "CN=fail-b,DC=x", "was temporary", date(2026, 11, 1)),
        Waiver("TEST-001", "CN=gone,DC=x", "object deleted since", date(2027, 6, 1)),
    ]
    outcome = run_checks(Snapshot(), [two_fail], waivers=waivers, today=TODAY)
    finding = next(f for f in outcome.findings if f.subject == "CN=fail-b,DC=x")
    assert finding.status is Status.FAIL
    assert "waiver expired on 2026-11-01" in finding.message
    assert {(n.subject, n.state) for n in outcome.waiver_notes} == {
        ("CN=fail-b,DC=x", "expired"),
        ("CN=gone,DC=x", "stale"),
    }


def test_severities_order_by_rank_not_alphabetically() -> None:
    assert Severity.MEDIUM < Severity.HIGH < Severity.CRITICAL
    assert not Severity.MEDIUM >= Severity.HIGH
    assert Severity.LOW >= Severity.INFO
    assert sorted([Severity.HIGH, Severity.INFO, Severity.CRITICAL, Severity.LOW, Severity.MEDIUM]) == list(
        Severity
    )
