"""Report inputs built the way the product builds them, carrying hostile directory values.

The check run comes from real `RunResult` objects (so its shape is what `auditor check` emits);
the diff and the drift report are written as their published JSON (`diff_json`, `report_json`)
and read into the typed documents the reports take (`make_diff`, `make_report`), so a key the
documents do not know, or a value of the wrong type, fails here. The catalogue is our own, so
golden files do not change when the built-in checks' docs do.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from typing import Any

from auditor.documents import DiffDocument, DriftReport
from auditor.records import SourceInfo
from auditor.registry import Severity, Status
from auditor.reports.catalog import CheckInfo
from auditor.results import CheckResult, FindingRecord, RunResult, SnapshotInfo, WaiverNote, fingerprint

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
HOSTILE = (SCRIPT, IMG)

CATALOG: dict[str, CheckInfo] = {
    "COEX-301": CheckInfo(
        id="COEX-301",
        title="No POP3 domain is authoritative in Exchange",
        severity="critical",
        principles=("P3",),
        name="pop3_domain_not_authoritative",
        rationale="Exchange would answer for the domain and bounce mail meant for POP3 users.",
        remediation="Make the domain non-authoritative in its recipient policy.",
        doc=(
            "# COEX-301\n\nExchange must not be **authoritative** for a POP3 domain.\n\n"
            "## Fix\n\n- open the policy\n- clear `This organization is responsible`\n\n"
            "See [the KB](https://support.example/kb/1) <b>not bold</b>.\n\n```\nsetting = <value>\n```\n"
        ),
    ),
    "COEX-403": CheckInfo(
        id="COEX-403",
        title="POP3 users appear in the Global Address List",
        severity="medium",
        principles=("P4",),
        name="pop3_users_in_gal",
        rationale="Exchange users must find POP3 users in the address book.",
        doc="# COEX-403\n\nHidden users cannot be found.\n",
    ),
    "COEX-901": CheckInfo(
        id="COEX-901",
        title="No SMTP virtual server is an open relay",
        severity="critical",
        principles=("all",),
        name="no_open_relay",
        rationale="An open relay is abused within hours.",
        doc="# COEX-901\n\nRelay lists must be closed.\n",
    ),
    "COEX-201": CheckInfo(
        id="COEX-201",
        title="POP3 authentication is Active Directory Integrated",
        severity="high",
        principles=("P2",),
        name="pop3_auth_ad_integrated",
        doc="# COEX-201\n\nUse AD authentication.\n",
    ),
}

T0 = datetime(2026, 11, 27, 7, 0, 2, tzinfo=UTC)


def make_run(*, many: int = 0) -> RunResult:
    """A run with failing, new, waived, error, skipped and passing results; `many` extra COEX-403 users."""
    sources = (
        SourceInfo(
            name="directory",
            kind="ldif",
            complete=True,
            objects=1234,
            duration_seconds=1.5,
            coverage={"domain"},
        ),
        SourceInfo(
            name=f"POP01{SCRIPT}", kind="pop3-export", complete=True, objects=12, duration_seconds=0.25
        ),
    )
    checks = [
        CheckResult(
            "COEX-201",
            "POP3 authentication is Active Directory Integrated",
            Severity.HIGH,
            ("P2",),
            Status.SKIPPED,
            message=f"no winpop-auth.txt or pop3.reg in export {IMG}",
        ),
        CheckResult(
            "COEX-301",
            "No POP3 domain is authoritative in Exchange",
            Severity.CRITICAL,
            ("P3",),
            Status.FAIL,
            failed=1,
            passed=2,
        ),
        CheckResult(
            "COEX-403",
            "POP3 users appear in the Global Address List",
            Severity.MEDIUM,
            ("P4",),
            Status.FAIL,
            failed=1 + many,
            waived=1,
        ),
        CheckResult(
            "COEX-901",
            "No SMTP virtual server is an open relay",
            Severity.CRITICAL,
            ("all",),
            Status.ERROR,
            errors=1,
        ),
        CheckResult(
            "COEX-999", "A check the catalogue does not know", Severity.LOW, ("P1",), Status.PASS, passed=3
        ),
    ]
    findings = [
        FindingRecord(
            "COEX-301",
            Status.FAIL,
            Severity.CRITICAL,
            "pop.contoso.com",
            "pop.contoso.com is authoritative in Default Policy",
            first_seen=T0,
            new=True,
        ),
        FindingRecord(
            "COEX-403",
            Status.FAIL,
            Severity.MEDIUM,
            f"CN={SCRIPT},OU=POP,DC=contoso,DC=com",
            f"hidden from address lists: displayName {IMG}",
            first_seen=datetime(2026, 11, 20, 7, 0, 1, tzinfo=UTC),
            new=False,
        ),
        FindingRecord(
            "COEX-403",
            Status.WAIVED,
            Severity.MEDIUM,
            "CN=Room 1,OU=Resources,DC=contoso,DC=com",
            "hidden from address lists",
            waiver_reason=f"resource mailbox {SCRIPT}",
            waiver_expires=date(2027, 3, 31),
            new=False,
        ),
        FindingRecord(
            "COEX-901",
            Status.ERROR,
            Severity.CRITICAL,
            "CN=1,CN=SMTP,CN=Protocols,CN=EX01",
            "relay list layout unknown (version 0x7); review by hand",
        ),
    ]
    findings += [
        FindingRecord(
            "COEX-403",
            Status.FAIL,
            Severity.MEDIUM,
            f"CN=User {i:05d},OU=POP,DC=contoso,DC=com",
            "hidden from address lists",
            first_seen=T0,
            new=True,
        )
        for i in range(many)
    ]
    notes = [
        WaiverNote(
            "COEX-403",
            "CN=Room 1,OU=Resources,DC=contoso,DC=com",
            "resource mailbox",
            date(2026, 12, 5),
            "expiring",
        ),
        WaiverNote("COEX-302", "old.contoso.com", f"migration {IMG}", date(2026, 10, 1), "expired"),
    ]
    return RunResult(
        snapshot=SnapshotInfo(id=7, taken_at=T0, complete=True, sources=sources, objects=1246),
        checks=checks,
        findings=findings,
        waiver_notes=notes,
        organization=f"Contoso {SCRIPT}",
    )


def finding(
    check: str, severity: str, subject: str, message: str, status: str = "fail", **extra: Any
) -> dict[str, Any]:
    return {
        "check": check,
        "subject": subject,
        "status": status,
        "severity": severity,
        "message": message,
        "fingerprint": fingerprint(check, subject),
        **extra,
    }


ORIGIN_EDIT = {"time": "2026-11-26T14:44:09Z", "dc": "DC2", "version": 7}
ORIGIN_NEW = {"time": "2026-11-27T06:58:00Z", "dc": f"DC1{SCRIPT}", "version": 1}
ORIGIN_GONE = {"time": "2026-11-26T14:44:10Z", "dc": "5e2f1a44-52c3-4d33-9a8e-6c1d0b4e7a21", "version": 1}


def add_origins(diff: dict[str, Any]) -> dict[str, Any]:
    """The same diff as a live source would attribute it: origins on changes, creations, deletions."""
    objects = diff["objects"]
    objects["added"][0]["origin"] = ORIGIN_NEW
    objects["removed"][0]["origin"] = ORIGIN_GONE
    alice = objects["changed"][0]["attributes"]
    alice["targetAddress"]["origin"] = ORIGIN_EDIT
    alice["dn"]["origin"] = {**ORIGIN_EDIT, "version": 2}
    alice["proxyAddresses"]["origin"] = ORIGIN_EDIT
    return diff


def make_trend() -> dict[str, Any]:
    """12 weeks of daily passes to 2026-11-30: a slow climb, a bad week, a fix, and a quiet gap."""
    until = datetime(2026, 11, 30, 7, 0, tzinfo=UTC)
    snapshots = []
    for day_number in range(84):
        if 40 <= day_number < 44:  # four days without a checked pass
            continue
        moment = until - timedelta(days=83 - day_number, hours=0, minutes=1)
        failing = {
            "critical": 1 if 55 <= day_number < 70 else 0,
            "high": 2 + day_number // 30,
            "medium": 3 + (day_number % 7 == 0) + (6 if 60 <= day_number < 66 else 0),
            "low": 1,
            "info": 0,
        }
        snapshots.append(
            {"id": 100 + day_number, "taken_at": moment.strftime("%Y-%m-%dT%H:%M:%SZ"), "failing": failing}
        )
    return {"since": "2026-09-07T07:00:00Z", "until": "2026-11-30T07:00:00Z", "snapshots": snapshots}


CHAIN = {"snapshot": 9, "taken_at": "2026-11-30T07:00:02Z", "digest": "3f" * 32}

POLICY_CHANGED = {
    "kind": "recipient_policy",
    "key": "{0004}",
    "dn": "CN=Default Policy,CN=Recipient Policies",
    "change": "changed",
    "attributes": ["msExchNonAuthoritativeDomains"],
}
SMART_HOST_REMOVED = {
    "kind": "smtp_connector",
    "key": "{0002}",
    "dn": "CN=Old SmartHost,CN=Connections,CN=RG",
    "change": "removed",
    "attributes": [],
    "origin": ORIGIN_GONE,
}
USER_ADDED = {
    "kind": "user",
    "key": "{0001}",
    "dn": f"CN={SCRIPT},OU=POP,DC=contoso,DC=com",
    "change": "added",
    "attributes": [],
    "origin": ORIGIN_NEW,
}
CHECK_ADDED = {"code": "check-added", "text": f"COEX-UNKNOWN did not run at snapshot 3 {IMG}"}


def add_causes(document: dict[str, Any]) -> dict[str, Any]:
    """The causes `auditor diff` / `auditor report` add: per finding change, and the groups."""
    explained = {
        "COEX-301": ([POLICY_CHANGED, SMART_HOST_REMOVED], None),
        "COEX-403": ([USER_ADDED], None),
        "COEX-901": ([SMART_HOST_REMOVED], None),
        "COEX-UNKNOWN": ([], CHECK_ADDED),
    }
    groups: dict[str, dict[str, Any]] = {}
    for section in ("new", "reopened", "resolved"):
        for entry in document["findings"].get(section, []):
            causes, reason = explained[entry["check"]]
            entry["causes"] = causes
            if reason is not None:
                entry["reason"] = reason
            key = json.dumps([causes, reason])
            group = groups.setdefault(
                key, {"changes": causes, **({"reason": reason} if reason else {}), "findings": []}
            )
            group["findings"].append(
                {k: entry[k] for k in ("check", "severity", "subject", "fingerprint")} | {"section": section}
            )
    document["cause_groups"] = sorted(groups.values(), key=lambda g: -len(g["findings"]))
    return document


def make_diff(*, origins: bool = False) -> DiffDocument:
    """The diff; with `origins`, as a live source attributes it, with the causes of its findings."""
    data = diff_json()
    return DiffDocument.model_validate(add_causes(add_origins(data)) if origins else data)


def make_report(*, many: int = 0, history: bool = False) -> DriftReport:
    """The drift report; `history` adds what a store with a chain and a live source gives: origins,
    the 12-week trend, the chain's digest and the causes of the finding changes."""
    return DriftReport.model_validate(report_json(many=many, history=history))


def diff_json() -> dict[str, Any]:
    return {
        "schema": "auditor.diff/1",
        "from": {"id": 6, "taken_at": "2026-11-26T07:00:01Z"},
        "to": {"id": 7, "taken_at": "2026-11-27T07:00:02Z"},
        "objects": {
            "added": [{"kind": "user", "key": "{0001}", "dn": f"CN={SCRIPT},OU=POP,DC=contoso,DC=com"}],
            "removed": [
                {"kind": "smtp_connector", "key": "{0002}", "dn": "CN=Old SmartHost,CN=Connections,CN=RG"}
            ],
            "changed": [
                {
                    "kind": "user",
                    "key": "{0003}",
                    "dn": "CN=Alice New,OU=POP,DC=contoso,DC=com",
                    "attributes": {
                        "proxyAddresses": {
                            "added": ["smtp:alice@contoso.com", IMG],
                            "removed": ["SMTP:alice@pop.contoso.com"],
                        },
                        "targetAddress": {
                            "before": "SMTP:alice@pop.contoso.com",
                            "after": "SMTP:alice@contoso.com",
                        },
                        "dn": {
                            "before": "CN=Alice,OU=POP,DC=contoso,DC=com",
                            "after": "CN=Alice New,OU=POP,DC=contoso,DC=com",
                        },
                    },
                },
                {
                    "kind": "recipient_policy",
                    "key": "{0004}",
                    "dn": "CN=Default Policy,CN=Recipient Policies",
                    "attributes": {
                        "msExchNonAuthoritativeDomains": {"added": [], "removed": ["smtp:@pop.contoso.com"]}
                    },
                },
            ],
        },
        "findings": {
            "new": [finding("COEX-301", "critical", "pop.contoso.com", "pop.contoso.com is authoritative")],
            "resolved": [finding("COEX-901", "critical", "CN=1,CN=SMTP", f"open relay {SCRIPT}")],
            "persisting": [finding("COEX-403", "medium", f"CN={SCRIPT},OU=POP", "hidden")],
        },
    }


def report_json(*, many: int = 0, history: bool = False) -> dict[str, Any]:
    """An `auditor.report/1` week with every section populated; `many` extra new COEX-403 failures."""
    report = _report_json(many)
    if history:
        report["objects"] = add_origins(diff_json())["objects"]
        report["trend"] = make_trend()
        report["chain"] = CHAIN
        add_causes(report)
    return report


def _report_json(many: int) -> dict[str, Any]:
    new = [
        finding(
            "COEX-301",
            "critical",
            "pop.contoso.com",
            "pop.contoso.com is authoritative",
            first_seen="2026-11-27T07:00:02Z",
            failing_for_days=0,
        ),
        finding(
            "COEX-403",
            "medium",
            f"CN={SCRIPT},OU=POP,DC=contoso,DC=com",
            f"hidden: {IMG}",
            first_seen="2026-11-25T07:00:02Z",
            failing_for_days=2,
        ),
    ]
    new += [
        finding(
            "COEX-403",
            "medium",
            f"CN=User {i:05d},OU=POP,DC=contoso,DC=com",
            "hidden",
            first_seen="2026-11-25T07:00:02Z",
            failing_for_days=2,
        )
        for i in range(many)
    ]
    diff = diff_json()
    return {
        "schema": "auditor.report/1",
        "organization": f"Contoso {SCRIPT}",
        "generated_at": "2026-11-30T07:00:05Z",
        "period": {"since": "2026-11-23T07:00:00Z", "until": "2026-11-30T07:00:00Z"},
        "from": {"id": 3, "taken_at": "2026-11-23T07:00:01Z"},
        "to": {"id": 9, "taken_at": "2026-11-30T07:00:02Z"},
        "summary": {
            "new": len(new),
            "resolved": 1,
            "persisting": 1,
            "reopened": 1,
            "object_changes": 4,
            "snapshots": 3,
            "incomplete_snapshots": 1,
        },
        "findings": {
            "new": new,
            "resolved": [
                finding(
                    "COEX-901",
                    "critical",
                    "CN=1,CN=SMTP,CN=Protocols,CN=EX01",
                    "open relay",
                    first_seen="2026-11-01T07:00:00Z",
                    failing_for_days=24,
                )
            ],
            "persisting": [
                finding(
                    "COEX-201",
                    "high",
                    "POP01",
                    "authentication is Local Windows Accounts",
                    first_seen="2026-10-02T07:00:00Z",
                    failing_for_days=59,
                )
            ],
            "reopened": [
                finding(
                    "COEX-UNKNOWN",
                    "low",
                    "legacy.contoso.com",
                    "back again",
                    first_seen="2026-11-29T07:00:00Z",
                    failing_for_days=1,
                )
            ],
        },
        "objects": diff["objects"],
        "collection": {
            "snapshots": [
                {
                    "id": 3,
                    "taken_at": "2026-11-23T07:00:01Z",
                    "complete": True,
                    "objects": 1240,
                    "error": None,
                    "sources": [
                        {
                            "name": "directory",
                            "kind": "ldap",
                            "complete": True,
                            "objects": 1228,
                            "duration_seconds": 1.2,
                            "error": None,
                            "coverage": ["configuration", "domain"],
                        },
                        {
                            "name": "POP01",
                            "kind": "pop3-export",
                            "complete": True,
                            "objects": 12,
                            "duration_seconds": 0.1,
                            "error": None,
                            "coverage": ["pop3:POP01"],
                        },
                    ],
                },
                {
                    "id": 5,
                    "taken_at": "2026-11-26T07:00:01Z",
                    "complete": False,
                    "objects": 12,
                    "error": f"dc1.contoso.com:636: connection refused {SCRIPT}",
                    "sources": [
                        {
                            "name": "directory",
                            "kind": "ldap",
                            "complete": False,
                            "objects": 0,
                            "duration_seconds": 30.0,
                            "error": "dc1.contoso.com:636: connection refused",
                            "coverage": [],
                        },
                        {
                            "name": "POP01",
                            "kind": "pop3-export",
                            "complete": True,
                            "objects": 12,
                            "duration_seconds": 0.1,
                            "error": None,
                            "coverage": ["pop3:POP01"],
                        },
                    ],
                },
                {
                    "id": 9,
                    "taken_at": "2026-11-30T07:00:02Z",
                    "complete": True,
                    "objects": 1246,
                    "error": None,
                    "sources": [
                        {
                            "name": "directory",
                            "kind": "ldap",
                            "complete": True,
                            "objects": 1234,
                            "duration_seconds": 1.4,
                            "error": None,
                            "coverage": ["configuration", "domain"],
                        },
                        {
                            "name": "POP01",
                            "kind": "pop3-export",
                            "complete": True,
                            "objects": 12,
                            "duration_seconds": 0.1,
                            "error": None,
                            "coverage": ["pop3:POP01"],
                        },
                    ],
                },
            ]
        },
        "waivers": {
            "expiring": [
                {
                    "check": "COEX-403",
                    "subject": "CN=Room 1,OU=Resources,DC=contoso,DC=com",
                    "reason": f"resource mailbox {IMG}",
                    "expires": "2026-12-05",
                    "days_left": 5,
                }
            ],
            "expired": [
                {
                    "check": "COEX-302",
                    "subject": "old.contoso.com",
                    "reason": "migration",
                    "expires": "2026-11-01",
                    "days_left": -29,
                }
            ],
        },
        "delivery": {
            "last_sent": "2026-11-16T07:00:09Z",
            "missed": [
                {
                    "period_from": "2026-11-16T07:00:00Z",
                    "period_to": "2026-11-23T07:00:00Z",
                    "error": "smtp://mail.contoso.com:587: connection refused after 4 attempts",
                }
            ],
        },
    }


class PageInspector(HTMLParser):
    """What a browser would build from the page: elements, their attributes, and the text."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attributes: list[tuple[str, str, str | None]] = []
        self.ids: list[str] = []
        self.links: list[str] = []
        self.text_parts: list[str] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        for name, value in attrs:
            self.attributes.append((tag, name, value))
            if name == "id" and value:
                self.ids.append(value)
            if name == "href" and value:
                self.links.append(value)

    def handle_data(self, data: str) -> None:
        self.text_parts.append(data)

    @property
    def text(self) -> str:
        return "".join(self.text_parts)

    @property
    def event_handlers(self) -> list[tuple[str, str, str | None]]:
        return [a for a in self.attributes if a[1].lower().startswith("on")]
