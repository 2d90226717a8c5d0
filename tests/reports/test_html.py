"""HTML reports: hostile directory values stay text, nothing runs or is fetched, long lists are cut."""

from __future__ import annotations

import dataclasses
import re

import pytest
from report_inputs import HOSTILE, IMG, SCRIPT, PageInspector, make_report, make_run

from auditor.errors import ReportError
from auditor.reports.catalog import CheckInfo
from auditor.reports.render import render_check_run, render_diff, render_drift_report
from auditor.results import RunResult


def _all_pages(catalog: dict[str, CheckInfo]) -> dict[str, str]:
    from report_inputs import make_diff

    return {
        "check run": render_check_run(make_run(), "html", catalog=catalog),
        "diff": render_diff(make_diff(), "html", catalog=catalog),
        "drift report": render_drift_report(make_report(), "html", catalog=catalog),
    }


@pytest.fixture
def pages(catalog: dict[str, CheckInfo]) -> dict[str, str]:
    return _all_pages(catalog)


def test_hostile_values_render_as_text_not_markup(pages: dict[str, str]) -> None:
    for name, html in pages.items():
        page = PageInspector(html)
        assert "script" not in page.tags, name
        assert "img" not in page.tags, name
        assert page.event_handlers == [], name
        for hostile in HOSTILE:
            assert hostile in page.text, (name, hostile)
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html, name


def test_pages_are_self_contained_no_script_no_link_no_remote_reference(pages: dict[str, str]) -> None:
    for name, html in pages.items():
        page = PageInspector(html)
        assert "<script" not in html.lower(), name
        assert "link" not in page.tags, name
        assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", html, re.IGNORECASE), name
        assert all(link.startswith("#") for link in page.links), name
        assert "<style>" in html and "font-family" in html, name  # the stylesheet is inlined


def test_every_finding_link_points_at_an_appendix_section_of_the_page(pages: dict[str, str]) -> None:
    for name, html in pages.items():
        page = PageInspector(html)
        targets = {link[1:] for link in page.links}
        assert targets, name
        assert targets <= set(page.ids), (name, targets - set(page.ids))


def test_drift_report_sections_come_in_reading_order(catalog: dict[str, CheckInfo]) -> None:
    html = render_drift_report(make_report(), "html", catalog=catalog)
    headings = re.findall(r'<h2 id="([a-z-]+)">', html)
    assert headings == [
        "new",
        "persisting",
        "reopened",
        "resolved",
        "objects",
        "collection",
        "waivers",
        "delivery",
        "checks",
    ]
    headline = PageInspector(html.split('<p class="headline', 1)[1].split("</p>", 1)[0].split(">", 1)[1]).text
    assert headline == "2 new failures, 1 resolved, 1 reopened, 1 still failing"
    text = PageInspector(html).text
    assert "The report for 2026-11-16 to 2026-11-23 could not be sent: smtp://mail.contoso.com:587" in text
    assert "59 days" in text  # how long COEX-201 has been failing
    assert "CN=Alice,OU=POP,DC=contoso,DC=com → CN=Alice New,OU=POP,DC=contoso,DC=com" in text
    assert "Waivers expiring within 14 days (1)" in text and "Expired waivers" in text
    assert "1 snapshot of 3 in this period was incomplete" in text


def test_unknown_check_renders_with_its_id_as_title(catalog: dict[str, CheckInfo]) -> None:
    html = render_drift_report(make_report(), "html", catalog=catalog)
    page = PageInspector(html)
    assert "check-COEX-UNKNOWN" in page.ids
    assert "COEX-UNKNOWN: COEX-UNKNOWN" in page.text
    assert "No documentation is available for this check." in page.text


def test_check_doc_markdown_is_rendered_escaped_and_without_external_links(
    catalog: dict[str, CheckInfo],
) -> None:
    html = render_drift_report(make_report(), "html", catalog=catalog)
    section = html.split('id="check-COEX-301"', 1)[1].split('<div class="appendix"', 1)[0]
    assert "<strong>authoritative</strong>" in section
    assert "<li>open the policy</li>" in section
    assert "<code>This organization is responsible</code>" in section
    assert "the KB (https://support.example/kb/1) &lt;b&gt;not bold&lt;/b&gt;" in section
    assert "<pre><code>setting = &lt;value&gt;</code></pre>" in section


def test_long_lists_are_capped_at_fifty_with_the_rest_counted(catalog: dict[str, CheckInfo]) -> None:
    html = render_drift_report(make_report(many=1284), "html", catalog=catalog, attachment=True)
    text = PageInspector(html).text
    shown = re.findall(r"CN=User \d{5},OU=POP", text)
    assert len(shown) == 49  # 50 rows of the COEX-403 group, one of them the hostile user
    assert "… and 1,235 more (see the JSON attachment)" in text
    assert "1,286 new failures" in text

    run_html = render_check_run(make_run(many=120), "html", catalog=catalog)
    run_text = PageInspector(run_html).text
    assert len(re.findall(r"CN=User \d{5},OU=POP", run_text)) == 49
    assert "… and 71 more (see the JSON report)" in run_text


def test_check_run_shows_skipped_and_error_checks_with_their_reasons(
    check_run: RunResult, catalog: dict[str, CheckInfo]
) -> None:
    text = PageInspector(render_check_run(check_run, "html", catalog=catalog)).text
    assert (
        f"COEX-201 POP3 authentication is Active Directory Integratedskippedno winpop-auth.txt or pop3.reg in export {IMG}"
        in text
    )
    assert "COEX-901 No SMTP virtual server is an open relayerrorsee its findings above" in text
    assert f"resource mailbox {SCRIPT} (until 2027-03-31)" in text
    assert "3 failing findings in 3 checks (2 new)" in text


def test_incomplete_snapshot_is_flagged(check_run: RunResult, catalog: dict[str, CheckInfo]) -> None:
    check_run.snapshot = dataclasses.replace(check_run.snapshot, complete=False)
    text = PageInspector(render_check_run(check_run, "html", catalog=catalog)).text
    assert "This snapshot is incomplete" in text


def test_unknown_format_is_refused(check_run: RunResult) -> None:
    with pytest.raises(
        ReportError, match=r"check run: unknown format 'pdf' \(choose one of text, json, html, junit, sarif\)"
    ):
        render_check_run(check_run, "pdf", catalog={})
