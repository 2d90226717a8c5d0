"""Causes of finding changes, over real pipeline passes of the bundled samples.

Two passes of the Contoso sample with an administrator's edits between them (a connector deleted,
a targetAddress fixed): every new or resolved finding is joined to the edit that touched its
evidence at either end, the findings are grouped by shared cause biggest first, and the cost stays
within the two end snapshots and the checks with changed findings. Then one pass pair per reason:
a verdict that changed while its evidence did not says why (a check added or removed, its code
changed, auditor upgraded, a waiver expired, the configuration changed, the date, not recorded).
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from auditor.causes import Explainer, explain
from auditor.config import AuditorConfig, load_config
from auditor.diff import diff_snapshots
from auditor.documents import DriftReport
from auditor.drift import build_drift_report
from auditor.mail import MailSettings, build_report_message
from auditor.model import Snapshot
from auditor.registry import CheckSpec, Finding, discover_checks
from auditor.reports.render import render_drift_report
from auditor.run import PassResult, open_store, run_pass
from auditor.store import HistoryStore

SCHEMAS = resources.files("auditor").joinpath("schemas")
REPORT_SCHEMA = json.loads(SCHEMAS.joinpath("report.schema.json").read_text("utf-8"))
DIFF_SCHEMA = json.loads(SCHEMAS.joinpath("diff.schema.json").read_text("utf-8"))
T1 = datetime(2026, 11, 30, 7, 0, tzinfo=UTC)
T2 = T1 + timedelta(days=3)
NOW = T2 + timedelta(hours=1)
CONNECTOR = (
    "CN=To POP01,CN=Connections,CN=First Routing Group,CN=Routing Groups,CN=First Administrative Group,"
    "CN=Administrative Groups,CN=Contoso,CN=Microsoft Exchange,CN=Services,CN=Configuration,DC=contoso,DC=com"
)
DAVE = "CN=Dave Dunn,OU=POP3,DC=contoso,DC=com"
SALES = ("COEX-601", "sales.contoso.com")  # fails in the sample as shipped: only the catch-all matches


def copy_sample(package: str, tmp_path: Path) -> Path:
    target = tmp_path / package
    shutil.copytree(
        Path(str(resources.files(package))),
        target,
        ignore=shutil.ignore_patterns("*.py", "__pycache__", "README.md"),
    )
    return target


def configure(org: Path, extra: str = "", replace: tuple[str, str] = ("", "")) -> AuditorConfig:
    """Write the sample's config with the store inside the copy (and the given edits); load it."""
    text = (org / "auditor.toml.orig").read_text(encoding="utf-8")
    if replace[0]:
        assert replace[0] in text
        text = text.replace(*replace)
    (org / "auditor.toml").write_text(f'{text}\n{extra}\n[store]\nurl = "sqlite:///history.db"\n', "utf-8")
    return load_config(org / "auditor.toml")


@pytest.fixture
def contoso(tmp_path: Path) -> Iterator[Path]:
    org = copy_sample("auditor.sample", tmp_path)
    shutil.copy(org / "auditor.toml", org / "auditor.toml.orig")
    yield org


@pytest.fixture
def modern(tmp_path: Path) -> Iterator[Path]:
    org = copy_sample("auditor.sample_modern", tmp_path)
    shutil.copy(org / "auditor.toml", org / "auditor.toml.orig")
    yield org


def edit_entries(path: Path, change: Any) -> None:
    """Apply `change(lines) -> lines | None` to every entry of an ldifde export (None deletes it)."""
    with path.open(encoding="utf-8", newline="") as handle:
        entries = handle.read().split("\r\n\r\n")
    kept = []
    for entry in entries:
        lines: list[str] = []
        for line in entry.split("\r\n"):
            if line.startswith(" ") and lines:
                lines[-1] += line[1:]
            else:
                lines.append(line)
        changed = change(lines) if entry.strip() else lines
        if changed is not None:
            kept.append("\r\n".join(changed))
    path.write_text("\r\n\r\n".join(kept), encoding="utf-8", newline="")


def administrators_edits(org: Path) -> None:
    def domain(lines: list[str]) -> list[str]:
        if lines[0] == f"dn: {DAVE}":
            return [
                "targetAddress: SMTP:dave@pop.contoso.com" if line.startswith("targetAddress:") else line
                for line in lines
            ]
        return lines

    edit_entries(org / "contoso-domain.ldf", domain)
    edit_entries(
        org / "contoso-configuration.ldf", lambda lines: None if lines[0] == f"dn: {CONNECTOR}" else lines
    )


def report(config: AuditorConfig, checks: list[CheckSpec] | None = None) -> dict[str, Any]:
    explainer = Explainer(config, checks if checks is not None else discover_checks())
    with open_store(config) as store:
        document = build_drift_report(store, since=NOW - T1, now=NOW, explainer=explainer).to_json()
    jsonschema.Draft202012Validator(REPORT_SCHEMA).validate(document)
    return document


def by_identity(document: dict[str, Any], section: str) -> dict[tuple[str, str], dict[str, Any]]:
    return {(f["check"], f["subject"]): f for f in document["findings"][section]}


def test_a_deleted_connector_and_a_changed_user_are_the_causes_of_what_they_changed(contoso: Path) -> None:
    config = configure(contoso)
    run_pass(config, now=T1, with_diff=False)
    administrators_edits(contoso)
    run_pass(config, now=T2, with_diff=False)
    document = report(config)

    new, resolved = by_identity(document, "new"), by_identity(document, "resolved")
    connector = {"kind": "smtp_connector", "dn": CONNECTOR, "change": "removed", "attributes": []}
    # The connector is in the earlier, passing verdicts' evidence (recomputed), not in the failures'.
    cause = new[("COEX-601", "pop.contoso.com")]["causes"]
    assert [{k: c[k] for k in connector} for c in cause] == [connector]
    routed = [
        f for (check, _), f in new.items() if check == "COEX-303" and f["subject"] != "dave@pop.contoso.com"
    ]
    assert len(routed) == 12
    assert all([c["dn"] for c in f["causes"]] == [CONNECTOR] for f in routed)
    dave = {"kind": "user", "dn": DAVE, "change": "changed", "attributes": ["targetAddress"]}
    for identity in (("COEX-401", "dave@pop.contoso.com"), ("COEX-404", DAVE)):
        assert [{k: c[k] for k in dave} for c in resolved[identity]["causes"]] == [dave]
    assert all("reason" not in f for f in [*new.values(), *resolved.values()])
    assert all("causes" not in f for f in document["findings"]["persisting"])

    groups = document["cause_groups"]
    assert [len(g["findings"]) for g in groups] == sorted((len(g["findings"]) for g in groups), reverse=True)
    assert [c["dn"] for c in groups[0]["changes"]] == [CONNECTOR]
    assert {(f["section"], f["check"]) for f in groups[0]["findings"]} == {
        ("new", "COEX-303"),
        ("new", "COEX-601"),
    }
    grouped = [(f["section"], f["fingerprint"]) for g in groups for f in g["findings"]]
    listed = [(s, f["fingerprint"]) for s in ("new", "reopened", "resolved") for f in document["findings"][s]]
    assert sorted(grouped) == sorted(listed)  # every finding change in exactly one group

    # `auditor diff` between the same snapshots says the same.
    with open_store(config) as store:
        diff = diff_snapshots(store, explainer=Explainer(config, discover_checks())).to_json()
    jsonschema.Draft202012Validator(DIFF_SCHEMA).validate(diff)
    assert diff["cause_groups"] == groups
    assert {(f["check"], f["subject"]): f["causes"] for f in diff["findings"]["new"]} == {
        identity: f["causes"] for identity, f in new.items()
    }


def test_explaining_reruns_only_the_checks_with_changed_findings_on_the_two_end_snapshots(
    contoso: Path,
) -> None:
    config = configure(contoso)
    first = run_pass(config, now=T1, with_diff=False)
    for hours in (4, 8):  # passes in between are never rebuilt
        run_pass(config, now=T1 + timedelta(hours=hours), with_diff=False)
    administrators_edits(contoso)
    last = run_pass(config, now=T2, with_diff=False)
    with open_store(config) as store:
        diff = diff_snapshots(store, first.snapshot.id, last.snapshot.id)
        records = {
            "new": [
                f
                for f in store.load_findings(last.snapshot.id)
                if f.fingerprint in {x.fingerprint for x in diff.findings.new}
            ],
            "resolved": [
                f
                for f in store.load_findings(first.snapshot.id)
                if f.fingerprint in {x.fingerprint for x in diff.findings.resolved}
            ],
        }
        explained = explain(
            store, first.snapshot, last.snapshot, records, diff.objects, Explainer(config, discover_checks())
        )
    # New findings: their earlier verdicts are recomputed on the first snapshot; resolved ones:
    # their later verdicts on the last. Nothing else runs anywhere.
    assert explained.rechecked == {
        first.snapshot.id: sorted({f.check for f in records["new"]}),
        last.snapshot.id: sorted({f.check for f in records["resolved"]}),
    }
    assert sorted(explained.rechecked[first.snapshot.id]) == ["COEX-303", "COEX-601"]
    assert sorted(explained.rebuilt) == sorted([first.snapshot.id, last.snapshot.id])
    assert explained.redated == {}


def reason_of(document: dict[str, Any], section: str, identity: tuple[str, str]) -> dict[str, Any]:
    finding = by_identity(document, section)[identity]
    assert finding["causes"] == []
    reason: dict[str, Any] = finding["reason"]
    return reason


def without(check_id: str) -> list[CheckSpec]:
    return [s for s in discover_checks() if s.id != check_id]


def test_a_check_added_and_a_check_removed(contoso: Path) -> None:
    config = configure(contoso)
    run_pass(config, checks=without("COEX-601"), now=T1, with_diff=False)
    run_pass(config, now=T2, with_diff=False)
    reason = reason_of(report(config), "new", SALES)
    assert reason["code"] == "check-added"
    assert "COEX-601 did not run at snapshot 1" in reason["text"]

    run_pass(config, checks=without("COEX-601"), now=T2 + timedelta(minutes=10), with_diff=False)
    with open_store(config) as store:
        diff = diff_snapshots(store, explainer=Explainer(config, without("COEX-601"))).to_json()
    resolved = {(f["check"], f["subject"]): f for f in diff["findings"]["resolved"]}
    assert resolved[SALES]["causes"] == [] and resolved[SALES]["reason"]["code"] == "check-removed"
    [group] = [g for g in diff["cause_groups"] if g["findings"][0]["check"] == "COEX-601"]
    assert group["changes"] == [] and group["reason"]["code"] == "check-removed"


def test_a_changed_check(contoso: Path) -> None:
    config = configure(contoso)
    real = next(s for s in discover_checks() if s.id == "COEX-601")

    def lenient(snap: Snapshot) -> Iterator[Finding]:
        """COEX-601 as an older release had it: everything passed."""
        for finding in real.function(snap):
            yield Finding.passed(finding.subject, finding.message, finding.evidence)

    older = [
        dataclasses.replace(real, function=lenient) if s.id == "COEX-601" else s for s in discover_checks()
    ]
    run_pass(config, checks=older, now=T1, with_diff=False)
    run_pass(config, now=T2, with_diff=False)
    assert reason_of(report(config), "new", SALES)["code"] == "check-changed"


def resave(store: HistoryStore, result: PassResult, **changes: Any) -> None:
    """Save a pass's results again as another auditor would have: without COEX-601's finding for
    sales.contoso.com (that release did not report it) and with `changes` to the run."""
    run = dataclasses.replace(
        result.run,
        findings=[f for f in result.run.findings if (f.check, f.subject) != SALES],
        **changes,
    )
    store.save_results(result.snapshot.id, run)


def test_an_upgraded_auditor_and_a_history_that_did_not_record_what_checked_it(contoso: Path) -> None:
    config = configure(contoso)
    first = run_pass(config, now=T1, with_diff=False)
    with open_store(config) as store:
        resave(store, first, auditor_version="0.0.9")
    run_pass(config, now=T2, with_diff=False)
    reason = reason_of(report(config), "new", SALES)
    assert reason["code"] == "auditor-upgraded"
    assert reason["text"].startswith("auditor 0.0.9 checked snapshot 1, auditor ")

    with open_store(config) as store:
        unrecorded = [dataclasses.replace(c, code="") for c in first.run.checks]
        resave(store, first, auditor_version="", config_fingerprint="", checks=unrecorded)
    reason = reason_of(report(config), "new", SALES)
    assert reason["code"] == "not-recorded"
    assert "snapshot 1 was checked before auditor recorded" in reason["text"]


def test_an_expired_waiver_makes_its_finding_new_again(contoso: Path) -> None:
    waiver = f"""
[[checks.waiver]]
check = "{SALES[0]}"
subject = "{SALES[1]}"
reason = "sales moves to POP01 next month"
expires = {(T1 + timedelta(days=1)).date().isoformat()}
"""
    config = configure(contoso, waiver)
    run_pass(config, now=T1, with_diff=False)
    run_pass(config, now=T2, with_diff=False)  # the waiver expired the day before
    document = report(config)
    reason = reason_of(document, "new", SALES)
    assert reason["code"] == "waiver-expired"
    assert "sales moves to POP01 next month" in reason["text"]
    assert SALES not in by_identity(document, "persisting")


def test_a_changed_configuration(modern: Path) -> None:
    scanner = ("10.0.5.10", "10.0.7.0/24")
    allow_scanner = configure(modern, replace=('["10.0.5.10"]', json.dumps(list(scanner))))
    run_pass(allow_scanner, now=T1, with_diff=False)
    config = configure(modern)
    run_pass(config, now=T2, with_diff=False)
    document = report(config)
    [scanner_relay] = [f for f in document["findings"]["new"] if f["subject"].startswith("CN=Scanner Relay,")]
    assert scanner_relay["check"] == "COEX-703"
    assert scanner_relay["causes"] == [] and scanner_relay["reason"]["code"] == "config-changed"


def test_the_date(modern: Path) -> None:
    config = configure(modern)
    run_pass(config, now=datetime(2025, 10, 1, 7, tzinfo=UTC), with_diff=False)
    run_pass(config, now=datetime(2025, 10, 20, 7, tzinfo=UTC), with_diff=False)  # Exchange 2016's end: 10-14
    explainer = Explainer(config, discover_checks())
    with open_store(config) as store:
        document = build_drift_report(
            store, since=timedelta(days=30), now=datetime(2025, 10, 21, tzinfo=UTC), explainer=explainer
        ).to_json()
    [ex16] = document["findings"]["new"]
    assert (ex16["check"], ex16["subject"].split(",")[0]) == ("COEX-904", "CN=EX16")
    assert ex16["causes"] == [] and ex16["reason"]["code"] == "date"
    assert "judged as of 2025-10-01" in ex16["reason"]["text"]


def test_every_format_shows_the_causes(contoso: Path) -> None:
    config = configure(contoso)
    run_pass(config, now=T1, with_diff=False)
    administrators_edits(contoso)
    run_pass(config, now=T2, with_diff=False)
    with open_store(config) as store:
        document = build_drift_report(
            store, since=NOW - T1, now=NOW, explainer=Explainer(config, discover_checks())
        )
    assert DriftReport.model_validate(document.to_json()) == document  # the JSON reads back
    text = render_drift_report(document, "text")
    assert "Why findings changed (2 groups)" in text
    assert "12 new COEX-303 failures, 1 new COEX-601 failure" in text
    assert "SMTP connector 'To POP01' removed" in text
    assert "why: user 'Dave Dunn' changed (targetAddress)" in text
    html = render_drift_report(document, "html")
    assert '<h2 id="causes">Why findings changed (2 groups)</h2>' in html
    assert '<div class="change">SMTP connector &#39;To POP01&#39; removed</div>' in html
    assert "Why: user &#39;Dave Dunn&#39; changed (targetAddress)" in html
    assert html.index('id="causes"') < html.index('id="new"')

    # The weekly e-mail: both alternatives say why, and its JSON attachment carries the groups.
    settings = MailSettings(
        smtp_url="smtp://mail.contoso.com", sender="auditor@contoso.com", recipients=("a@b.c",)
    )
    message = build_report_message(document, settings)
    plain_part, rich_part = message.get_body(("plain",)), message.get_body(("html",))
    assert plain_part is not None and rich_part is not None
    plain, rich = plain_part.get_content(), rich_part.get_content()
    assert "SMTP connector 'To POP01' removed" in plain
    assert "SMTP connector &#39;To POP01&#39; removed" in rich
    [attachment] = message.iter_attachments()
    assert json.loads(attachment.get_content())["cause_groups"] == document.to_json()["cause_groups"]


def test_without_an_explainer_nothing_is_added(contoso: Path) -> None:
    config = configure(contoso)
    run_pass(config, now=T1, with_diff=False)
    administrators_edits(contoso)
    run_pass(config, now=T2, with_diff=False)
    with open_store(config) as store:
        document = build_drift_report(store, since=NOW - T1, now=NOW).to_json()
    assert "cause_groups" not in document
    assert all("causes" not in f and "reason" not in f for f in document["findings"]["new"])
