"""Formats for other tools: JUnit XML (CI dashboards) and SARIF 2.1.0 (code-scanning viewers).

Both list every finding, uncapped. XML is built with ElementTree, so directory values are
escaped; characters XML 1.0 cannot carry at all are replaced, because a single stray control
character in a displayName would otherwise make the whole file unreadable.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from importlib import metadata
from typing import Any

from auditor.results import RunResult

from .catalog import CheckInfo, info_for
from .view import CheckRunView, FindingRow, all_findings

__all__ = ["render_junit", "render_sarif"]

_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}


def _xml(value: object) -> str:
    return _NOT_XML.sub("\ufffd", str(value))


def _version() -> str:
    try:
        return metadata.version("auditor")
    except metadata.PackageNotFoundError:
        return "0"


def render_junit(run: RunResult, view: CheckRunView, catalog: Mapping[str, CheckInfo]) -> str:
    """One <testcase> per (check, subject); a passing or skipped check is one testcase of its own."""
    by_check: dict[str, list[FindingRow]] = {}
    for finding in all_findings(run, catalog):
        by_check.setdefault(finding.check, []).append(finding)
    suite = ET.Element(
        "testsuite", name="auditor", timestamp=_xml(view.taken_at), hostname=_xml(view.organization)
    )
    counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}

    def case(classname: str, name: str) -> ET.Element:
        counts["tests"] += 1
        return ET.SubElement(suite, "testcase", classname=_xml(classname), name=_xml(name), time="0")

    for check in view.checks:
        findings = by_check.pop(check.id, [])
        if check.status == "skipped":
            counts["skipped"] += 1
            ET.SubElement(case(check.id, check.title), "skipped", message=_xml(check.message or "skipped"))
            continue
        if not findings:
            element = case(check.id, check.title)
            if check.status == "error":
                counts["errors"] += 1
                ET.SubElement(element, "error", message=_xml(check.message or "the check failed to run"))
            continue
        for finding in findings:
            _finding_case(case(check.id, finding.subject), finding, counts)
    for check_id, findings in sorted(by_check.items()):  # findings of checks the run does not list
        for finding in findings:
            _finding_case(case(check_id, finding.subject), finding, counts)
    for key, value in counts.items():
        suite.set(key, str(value))
    suites = ET.Element(
        "testsuites", {"name": "auditor"} | {k: str(v) for k, v in counts.items() if k != "skipped"}
    )
    suites.append(suite)
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"


def _finding_case(element: ET.Element, finding: FindingRow, counts: dict[str, int]) -> None:
    text = f"{finding.check} [{finding.severity}] {finding.subject}: {finding.message}"
    if finding.status == "waived":
        counts["skipped"] += 1
        reason = f"waived: {finding.waiver_reason}" + (
            f" (until {finding.waiver_expires})" if finding.waiver_expires else ""
        )
        ET.SubElement(element, "skipped", message=_xml(reason))
    elif finding.status == "error":
        counts["errors"] += 1
        ET.SubElement(
            element, "error", message=_xml(finding.message), type=_xml(finding.severity)
        ).text = _xml(text)
    else:
        counts["failures"] += 1
        ET.SubElement(
            element, "failure", message=_xml(finding.message), type=_xml(finding.severity)
        ).text = _xml(text)


def _rule(info: CheckInfo, severity: str) -> dict[str, Any]:
    help_text = info.doc or info.rationale or info.title
    rule: dict[str, Any] = {
        "id": info.id,
        "name": info.name or info.id,
        "shortDescription": {"text": info.title},
        "help": {"text": help_text, "markdown": help_text},
        "defaultConfiguration": {"level": SARIF_LEVEL.get(severity, "warning")},
        "properties": {"severity": severity, "principles": list(info.principles)},
    }
    if info.rationale:
        rule["fullDescription"] = {"text": info.rationale}
    return rule


def render_sarif(run: RunResult, view: CheckRunView, catalog: Mapping[str, CheckInfo]) -> str:
    """SARIF 2.1.0: one rule per check, one result per failing (fail or error) finding."""
    rules: list[dict[str, Any]] = []
    index: dict[str, int] = {}
    for check in view.checks:
        info = info_for(
            check.id,
            catalog,
            CheckInfo(id=check.id, title=check.title or check.id, principles=check.principles),
        )
        index[check.id] = len(rules)
        rules.append(_rule(info, check.severity))
    results: list[dict[str, Any]] = []
    for finding in all_findings(run, catalog):
        if finding.status not in ("fail", "error"):
            continue
        if finding.check not in index:
            index[finding.check] = len(rules)
            rules.append(_rule(info_for(finding.check, catalog), finding.severity))
        message = finding.message or finding.title
        if finding.status == "error":
            message = f"could not be evaluated, review by hand: {message}"
        results.append(
            {
                "ruleId": finding.check,
                "ruleIndex": index[finding.check],
                "level": SARIF_LEVEL.get(finding.severity, "warning"),
                "message": {"text": message},
                "locations": [
                    {"logicalLocations": [{"name": finding.subject, "fullyQualifiedName": finding.subject}]}
                ],
                "partialFingerprints": {"auditorFinding/v1": finding.fingerprint},
                "properties": {"severity": finding.severity, "status": finding.status, "new": finding.new},
            }
        )
    document = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "auditor",
                        "version": _version(),
                        "rules": rules,
                    }
                },
                "automationDetails": {"id": f"auditor/snapshot-{view.snapshot_id}"},
                "results": results,
            }
        ],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
