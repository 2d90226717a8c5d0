"""The drift report lists waived findings in a section of their own, apart from the failures."""

from __future__ import annotations

from auditor.documents import DriftReport
from auditor.reports.render import render_drift_report


def report_with_waived() -> DriftReport:
    waived = {
        "check": "COEX-403",
        "severity": "medium",
        "subject": "CN=Help Desk,OU=POP3,DC=contoso,DC=com",
        "message": "hidden from address lists",
        "status": "waived",
        "fingerprint": "f" * 32,
        "first_seen": "2026-11-20T07:00:00Z",
        "failing_for_days": 7,
    }
    return DriftReport.model_validate(
        {
            "schema": "auditor.report/1",
            "organization": "Contoso",
            "generated_at": "2026-11-27T07:00:00Z",
            "period": {"since": "2026-11-20T07:00:00Z", "until": "2026-11-27T07:00:00Z"},
            "from": {"id": 1, "taken_at": "2026-11-20T07:00:00Z"},
            "to": {"id": 2, "taken_at": "2026-11-27T07:00:00Z"},
            "summary": {
                "new": 0,
                "resolved": 0,
                "persisting": 0,
                "reopened": 0,
                "waived": 1,
                "object_changes": 0,
                "snapshots": 2,
                "incomplete_snapshots": 0,
            },
            "findings": {"new": [], "resolved": [], "persisting": [], "reopened": [], "waived": [waived]},
            "objects": {"added": [], "removed": [], "changed": []},
            "collection": {"snapshots": []},
            "waivers": {"expiring": [], "expired": []},
            "delivery": {"last_sent": None, "missed": []},
        }
    )


def test_waived_findings_get_their_own_section_and_do_not_count_as_failing() -> None:
    text = render_drift_report(report_with_waived(), "text")
    assert text.splitlines()[1].startswith("0 new failures, 0 resolved")
    assert "still failing" not in text.splitlines()[1]
    assert "Waived (accepted with a reason, until the waiver expires) (1)" in text
    assert "CN=Help Desk,OU=POP3,DC=contoso,DC=com" in text
    html = render_drift_report(report_with_waived(), "html")
    assert 'id="waived"' in html
    assert "CN=Help Desk,OU=POP3,DC=contoso,DC=com" in html
