"""The drift report's trend: an inline SVG chart a mail client can show, and the same numbers as a
table (HTML for screen readers and clients without SVG, text for the plain-text e-mail)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from report_inputs import CATALOG, CHAIN, PageInspector, make_report, make_trend, report_json

from auditor.documents import DriftReport
from auditor.mail import MailSettings, build_report_message
from auditor.reports.render import render_drift_report

SEVERITIES = ("critical", "high", "medium", "low", "info")


def svg_of(html: str) -> str:
    found = re.findall(r"<svg\b.*?</svg>", html, flags=re.S)
    assert len(found) == 1
    return found[0]


def weekly_expectation(trend: dict[str, Any]) -> list[tuple[str, int, tuple[int, ...] | None]]:
    """Per week ending at `until - k weeks`: the number of snapshots and the last one's counts."""
    until = datetime.fromisoformat(trend["until"].replace("Z", "+00:00"))
    rows = []
    for back in range(11, -1, -1):
        end = until - timedelta(weeks=back)
        inside = [
            s
            for s in trend["snapshots"]
            if end - timedelta(weeks=1) < datetime.fromisoformat(s["taken_at"].replace("Z", "+00:00")) <= end
        ]
        counts = tuple(inside[-1]["failing"][sev] for sev in SEVERITIES) if inside else None
        rows.append((end.strftime("%Y-%m-%d"), len(inside), counts))
    return rows


def test_chart_is_inline_svg_with_attributes_only_and_one_band_per_severity_present() -> None:
    html = render_drift_report(make_report(history=True), "html", catalog=CATALOG, attachment=True)
    svg = svg_of(html)
    inspector = PageInspector(svg)
    assert (
        "script" not in inspector.tags
        and "style" not in inspector.tags
        and "foreignobject" not in inspector.tags
    )
    assert not [a for a in inspector.attributes if a[1] in ("class", "style") and a[0] != "svg"]
    assert inspector.event_handlers == []
    present = {sev for s in make_trend()["snapshots"] for sev, n in s["failing"].items() if n}
    assert inspector.tags.count("polygon") == len(present) == 4  # info is never failing here
    assert ("svg", "role", "img") in inspector.attributes
    assert "title" in inspector.tags and "desc" in inspector.tags


def test_the_table_holds_the_numbers_of_each_weeks_last_snapshot() -> None:
    html = render_drift_report(make_report(history=True), "html", catalog=CATALOG)
    table = re.search(r"<caption>Failing findings at the end of each week.*?</table>", html, flags=re.S)
    assert table is not None
    cells = [
        re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row)
        for row in re.findall(r"<tr>(.*?)</tr>", table.group(0), flags=re.S)
    ]
    expected = weekly_expectation(make_trend())
    assert len(cells) == 1 + len(expected)
    for row, (until, snapshots, counts) in zip(cells[1:], expected, strict=True):
        numbers = [re.sub(r"<[^>]+>", "", cell) for cell in row]
        assert numbers[:2] == [until, str(snapshots)]
        assert counts is not None
        assert numbers[2:] == [str(n) for n in counts] + [str(sum(counts))]


def test_the_text_email_gets_the_table_and_the_html_part_the_chart() -> None:
    settings = MailSettings(
        smtp_url="smtp://127.0.0.1:1", sender="a@contoso.com", recipients=("b@contoso.com",)
    )
    message = build_report_message(make_report(history=True), settings)
    plain = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert plain is not None and html is not None
    text, page = plain.get_content(), html.get_content()
    for until, snapshots, counts in weekly_expectation(make_trend()):
        assert counts is not None
        assert re.search(
            rf"^  {until}\s+{snapshots}" + "".join(rf"\s+{n}" for n in counts) + rf"\s+{sum(counts)}$",
            text,
            re.M,
        )
    assert "<svg" in page and "<polygon" in page
    assert CHAIN["digest"] in text and CHAIN["digest"] in page


def test_a_report_without_checked_snapshots_says_so_instead_of_drawing() -> None:
    data = report_json(history=True)
    data["trend"]["snapshots"] = []
    html = render_drift_report(DriftReport.model_validate(data), "html", catalog=CATALOG)
    assert "<svg" not in html
    assert "No checked snapshot from 2026-09-07 to 2026-11-30." in html
    assert html.count("no checked snapshot</td>") == 12


def test_reports_from_before_the_trend_render_as_before() -> None:
    html = render_drift_report(make_report(), "html", catalog=CATALOG)
    assert "<svg" not in html and 'id="trend"' not in html
