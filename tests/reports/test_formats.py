"""JSON, text, JUnit and SARIF: the same findings as the HTML, in each tool's own shape."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from report_inputs import IMG, SCRIPT, diff_json, make_diff, make_run, report_json

from auditor.documents import DiffDocument, DriftReport
from auditor.registry import Severity
from auditor.reports.catalog import CheckInfo
from auditor.reports.render import render_check_run, render_diff, render_drift_report
from auditor.results import RunResult

SCHEMAS = Path(__file__).resolve().parents[2] / "auditor" / "schemas"


def _schema(name: str) -> dict[str, Any]:
    return json.loads((SCHEMAS / name).read_text("utf-8"))


def test_check_run_json_is_the_document_and_validates(check_run: RunResult) -> None:
    text = render_check_run(check_run, "json", catalog={})
    assert json.loads(text) == check_run.to_json()
    assert SCRIPT in text  # ensure_ascii=False: values stay readable
    jsonschema.validate(json.loads(text), _schema("check-run.schema.json"))


def test_diff_json_reads_back_as_the_same_document_and_validates(diff: DiffDocument) -> None:
    text = render_diff(diff, "json", catalog={})
    assert DiffDocument.model_validate(json.loads(text)) == diff
    assert json.loads(text) == diff_json()  # nothing added, nothing lost
    assert list(json.loads(text)) == ["schema", "from", "to", "objects", "findings"]
    jsonschema.validate(json.loads(text), _schema("diff.schema.json"))


def test_drift_report_json_round_trips_and_keeps_its_key_order(drift_report: DriftReport) -> None:
    text = render_drift_report(drift_report, "json", catalog={})
    assert DriftReport.model_validate(json.loads(text)) == drift_report
    assert json.loads(text) == report_json()
    assert list(json.loads(text)) == list(report_json())
    jsonschema.validate(json.loads(text), _schema("report.schema.json"))


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda d: d.pop("from"), "from\n  Field required"),
        (lambda d: d["findings"].update(new="x"), "findings.new\n  Input should be a valid list"),
        (lambda d: d["objects"]["added"][0].update(colour="red"), "objects.added.0.colour\n  Extra inputs"),
        (lambda d: d.update(schema="auditor.diff/2"), "schema 'auditor.diff/2' is not 'auditor.diff/1'"),
    ],
)
def test_a_malformed_diff_document_is_refused_naming_the_field(change: Any, problem: str) -> None:
    document = diff_json()
    change(document)
    with pytest.raises(ValueError, match=problem):
        DiffDocument.model_validate(document)


def test_text_has_colour_only_when_asked(check_run: RunResult, catalog: dict[str, CheckInfo]) -> None:
    plain = render_check_run(check_run, "text", catalog=catalog)
    coloured = render_check_run(check_run, "text", color=True, catalog=catalog)
    assert "\x1b[" not in plain
    assert "\x1b[1;31mCRITICAL\x1b[0m (2)" in coloured
    assert plain.splitlines()[1] == "3 failing findings in 3 checks (2 new)"


def test_text_neutralises_terminal_control_characters(catalog: dict[str, CheckInfo]) -> None:
    run = make_run()
    run.findings[0].subject = "evil\x1b]0;pwned\x07\rname"
    text = render_check_run(run, "text", color=False, catalog=catalog)
    assert "\x1b" not in text and "\x07" not in text and "\r" not in text
    assert "evil\\x1b]0;pwned\\x07\\x0dname" in text


def test_drift_text_lists_sections_in_order(drift_report: DriftReport, catalog: dict[str, CheckInfo]) -> None:
    text = render_drift_report(drift_report, "text", catalog=catalog)
    order = [
        "New failures (2)",
        "Still failing (1)",
        "Failing again (reopened) (1)",
        "Resolved (1)",
        "Object changes (4:",
        "Collection health (3 snapshots, 1 incomplete)",
        "Waivers",
        "Delivery",
    ]
    positions = [text.index(heading) for heading in order]
    assert positions == sorted(positions)
    assert text.splitlines()[1] == "2 new failures, 1 resolved, 1 reopened, 1 still failing"
    assert "    POP01 [failing for 59 days]" in text


def test_diff_text_shows_attribute_level_changes(catalog: dict[str, CheckInfo]) -> None:
    text = render_diff(make_diff(), "text", catalog=catalog)
    assert "        targetAddress: SMTP:alice@pop.contoso.com -> SMTP:alice@contoso.com" in text
    assert "        proxyAddresses: + smtp:alice@contoso.com" in text
    assert "        proxyAddresses: - SMTP:alice@pop.contoso.com" in text
    assert "  Recipient policies" in text


def test_junit_has_one_testcase_per_check_and_subject(
    check_run: RunResult, catalog: dict[str, CheckInfo]
) -> None:
    root = ET.fromstring(render_check_run(check_run, "junit", catalog=catalog))
    suite = root.find("testsuite")
    assert suite is not None
    cases = {(c.get("classname"), c.get("name")): c for c in suite.iter("testcase")}
    assert set(cases) == {
        ("COEX-201", "POP3 authentication is Active Directory Integrated"),
        ("COEX-301", "pop.contoso.com"),
        ("COEX-403", f"CN={SCRIPT},OU=POP,DC=contoso,DC=com"),
        ("COEX-403", "CN=Room 1,OU=Resources,DC=contoso,DC=com"),
        ("COEX-901", "CN=1,CN=SMTP,CN=Protocols,CN=EX01"),
        ("COEX-999", "A check the catalogue does not know"),
    }
    outcome = {key: [child.tag for child in case] for key, case in cases.items()}
    assert outcome[("COEX-301", "pop.contoso.com")] == ["failure"]
    assert outcome[("COEX-901", "CN=1,CN=SMTP,CN=Protocols,CN=EX01")] == ["error"]
    assert outcome[("COEX-201", "POP3 authentication is Active Directory Integrated")] == ["skipped"]
    assert outcome[("COEX-403", "CN=Room 1,OU=Resources,DC=contoso,DC=com")] == ["skipped"]
    assert outcome[("COEX-999", "A check the catalogue does not know")] == []
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors"), suite.get("skipped")) == (
        "6",
        "2",
        "1",
        "2",
    )
    failure = cases[("COEX-403", f"CN={SCRIPT},OU=POP,DC=contoso,DC=com")].find("failure")
    assert failure is not None and failure.get("message") == f"hidden from address lists: displayName {IMG}"


def test_junit_stays_valid_xml_with_control_characters(catalog: dict[str, CheckInfo]) -> None:
    run = make_run()
    run.findings[0].message = "bad\x00byte\x1b"
    root = ET.fromstring(render_check_run(run, "junit", catalog=catalog))
    messages = [f.get("message") for f in root.iter("failure")]
    assert "bad\ufffdbyte\ufffd" in messages


def test_sarif_has_rules_per_check_and_results_per_failing_finding(
    check_run: RunResult, catalog: dict[str, CheckInfo]
) -> None:
    sarif = json.loads(render_check_run(check_run, "sarif", catalog=catalog))
    assert sarif["version"] == "2.1.0"
    assert sarif["$schema"] == "https://json.schemastore.org/sarif-2.1.0.json"
    (run,) = sarif["runs"]
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == ["COEX-201", "COEX-301", "COEX-403", "COEX-901", "COEX-999"]
    coex301 = rules[1]
    assert coex301["name"] == "pop3_domain_not_authoritative"
    assert coex301["shortDescription"] == {"text": "No POP3 domain is authoritative in Exchange"}
    assert coex301["help"]["text"] == catalog["COEX-301"].doc
    assert coex301["properties"]["severity"] == "critical"
    assert (
        rules[4]["name"] == "COEX-999"
        and rules[4]["shortDescription"]["text"] == "A check the catalogue does not know"
    )
    results = {
        (r["ruleId"], r["locations"][0]["logicalLocations"][0]["fullyQualifiedName"]): r
        for r in run["results"]
    }
    assert set(results) == {
        ("COEX-301", "pop.contoso.com"),
        ("COEX-403", f"CN={SCRIPT},OU=POP,DC=contoso,DC=com"),
        ("COEX-901", "CN=1,CN=SMTP,CN=Protocols,CN=EX01"),
    }
    assert {key: r["level"] for key, r in results.items()} == {
        ("COEX-301", "pop.contoso.com"): "error",
        ("COEX-403", f"CN={SCRIPT},OU=POP,DC=contoso,DC=com"): "warning",
        ("COEX-901", "CN=1,CN=SMTP,CN=Protocols,CN=EX01"): "error",
    }
    for result in run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]


@pytest.mark.parametrize(
    ("severity", "level"),
    [("critical", "error"), ("high", "error"), ("medium", "warning"), ("low", "note"), ("info", "note")],
)
def test_sarif_level_follows_severity(severity: str, level: str) -> None:
    run = make_run()
    run.findings = [run.findings[0]]
    run.findings[0].severity = Severity(severity)
    sarif = json.loads(render_check_run(run, "sarif", catalog={}))
    assert [r["level"] for r in sarif["runs"][0]["results"]] == [level]
