"""Drift end to end: two snapshots of the sample organization, the second with a handful of edits.

The edits are what admins do: a proxy address added, a targetAddress changed, a connector deleted,
a user renamed. `auditor diff` must show exactly those changes (the rename as one changed object,
not a removal and an addition), and the findings they resolve; the HTML drift report must show the
same.
"""

from __future__ import annotations

import json
from html.parser import HTMLParser
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema

SAMPLE = Path(str(resources.files("auditor.sample")))
SCHEMAS = Path(str(resources.files("auditor").joinpath("schemas")))
CONNECTOR = "CN=To POP01 legacy,CN=Connections,CN=First Routing Group,CN=Routing Groups,CN=First Administrative Group,CN=Administrative Groups,CN=Contoso,CN=Microsoft Exchange,CN=Services,CN=Configuration,DC=contoso,DC=com"


def entries(path: Path) -> list[str]:
    with path.open(encoding="utf-8", newline="") as handle:  # keep the CRLF line ends
        return handle.read().split("\r\n\r\n")


def unfold(entry: str) -> list[str]:
    lines: list[str] = []
    for line in entry.split("\r\n"):
        if line.startswith(" ") and lines:
            lines[-1] += line[1:]
        else:
            lines.append(line)
    return lines


def edit(path: Path, change) -> None:  # type: ignore[no-untyped-def]
    """Apply `change(lines) -> lines | None` to every entry (unfolded); None deletes the entry."""
    kept = []
    for entry in entries(path):
        if not entry.strip():
            kept.append(entry)
            continue
        lines = change(unfold(entry))
        if lines is not None:
            kept.append("\r\n".join(lines))
    path.write_text("\r\n\r\n".join(kept), encoding="utf-8", newline="")


def edit_domain(lines: list[str]) -> list[str]:
    dn = lines[0]
    if dn == "dn: CN=Alice Adams,OU=Staff,DC=contoso,DC=com":
        at = next(i for i, line in enumerate(lines) if line.startswith("proxyAddresses:"))
        lines.insert(at + 1, "proxyAddresses: smtp:alice.adams@contoso.com")
    elif dn == "dn: CN=Dave Dunn,OU=POP3,DC=contoso,DC=com":
        lines = [
            "targetAddress: SMTP:dave@pop.contoso.com" if line.startswith("targetAddress:") else line
            for line in lines
        ]
    elif dn == "dn: CN=Bob Brown,OU=POP3,DC=contoso,DC=com":
        lines = [
            line.replace("Bob Brown", "Robert Brown") if line.startswith(("dn:", "cn:")) else line
            for line in lines
        ]
    return lines


def edit_configuration(lines: list[str]) -> list[str] | None:
    return None if lines[0] == f"dn: {CONNECTOR}" else lines


def test_a_handful_of_edits_gives_exactly_those_changes_and_their_findings(auditor: Any, org: Path) -> None:
    assert auditor("check", "--once", "-c", "auditor.toml", cwd=org).returncode == 1
    edit(org / "contoso-domain.ldf", edit_domain)
    edit(org / "contoso-configuration.ldf", edit_configuration)
    assert auditor("check", "--once", "-c", "auditor.toml", cwd=org).returncode == 1

    done = auditor("diff", "-c", "auditor.toml", "--format", "json", cwd=org)
    assert done.returncode == 0, done.stderr
    diff = json.loads(done.stdout)
    jsonschema.validate(diff, json.loads((SCHEMAS / "diff.schema.json").read_text()))
    objects = diff["objects"]
    assert objects["added"] == []
    assert [(o["kind"], o["dn"]) for o in objects["removed"]] == [("smtp_connector", CONNECTOR)]
    changed = {o["dn"]: o["attributes"] for o in objects["changed"]}
    assert changed == {
        "CN=Alice Adams,OU=Staff,DC=contoso,DC=com": {
            "proxyAddresses": {"added": ["smtp:alice.adams@contoso.com"], "removed": []}
        },
        "CN=Dave Dunn,OU=POP3,DC=contoso,DC=com": {
            "targetAddress": {"before": "SMTP:dave@contoso.com", "after": "SMTP:dave@pop.contoso.com"}
        },
        "CN=Robert Brown,OU=POP3,DC=contoso,DC=com": {
            "dn": {
                "before": "CN=Bob Brown,OU=POP3,DC=contoso,DC=com",
                "after": "CN=Robert Brown,OU=POP3,DC=contoso,DC=com",
            },
            "cn": {"before": "Bob Brown", "after": "Robert Brown"},
        },
    }
    resolved = {(f["check"], f["subject"]) for f in diff["findings"]["resolved"]}
    new = {(f["check"], f["subject"]) for f in diff["findings"]["new"]}
    assert resolved == {
        ("COEX-404", "CN=Dave Dunn,OU=POP3,DC=contoso,DC=com"),
        ("COEX-401", "dave@pop.contoso.com"),
        ("COEX-303", "legacy.contoso.com"),
    }
    assert new == set()

    report = auditor("report", "-c", "auditor.toml", "--format", "html", "--output", "report.html", cwd=org)
    assert report.returncode == 0, report.stderr
    html = (org / "report.html").read_text(encoding="utf-8")
    text = _text_of(html)
    for expected in (
        "smtp:alice.adams@contoso.com",
        "SMTP:dave@pop.contoso.com",
        "CN=Robert Brown,OU=POP3,DC=contoso,DC=com",
        "To POP01 legacy",
        "legacy.contoso.com",
    ):
        assert expected in text, expected


def _text_of(html: str) -> str:
    chunks: list[str] = []

    class Collect(HTMLParser):
        def handle_data(self, data: str) -> None:
            chunks.append(data)

    Collect().feed(html)
    return " ".join(chunks)
