"""`auditor check --once` end to end over exported files: output, exit codes, bad input, history.

These run the real console entry point in a subprocess, as cron would, against a copy of the
bundled sample organization.
"""

from __future__ import annotations

import base64
import itertools
import json
import re
import shutil
import sqlite3
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest

SAMPLE = Path(str(resources.files("auditor.sample")))
SCHEMAS = Path(str(resources.files("auditor").joinpath("schemas")))


def history(auditor: Any, org: Path) -> list[dict[str, object]]:
    done = auditor("history", "-c", "auditor.toml", "--format", "json", cwd=org)
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    jsonschema.validate(document, json.loads((SCHEMAS / "history.schema.json").read_text()))
    return document["snapshots"]  # type: ignore[no-any-return]


def test_json_output_follows_the_contract_and_exit_code_is_1_for_findings(auditor: Any, org: Path) -> None:
    done = auditor("check", "--once", "-c", "auditor.toml", "--format", "json", cwd=org)
    assert done.returncode == 1, done.stderr
    document = json.loads(done.stdout)
    jsonschema.validate(document, json.loads((SCHEMAS / "check-run.schema.json").read_text()))
    assert document["snapshot"]["complete"] is True
    assert {s["name"] for s in document["snapshot"]["sources"]} == {"directory", "pop3:POP01", "pop3:POP02"}
    assert len(document["checks"]) == document["summary"]["checks"] >= 18
    failing = {(f["check"], f["subject"]) for f in document["findings"] if f["status"] == "fail"}
    assert ("COEX-301", "sales.contoso.com") in failing
    assert all(f["new"] for f in document["findings"])
    assert document["summary"]["waived"] == 2


def test_fail_on_threshold_decides_exit_code(auditor: Any, org: Path) -> None:
    assert auditor("check", "--once", "-c", "auditor.toml", "--fail-on", "critical", cwd=org).returncode == 1
    config = org / "auditor.toml"
    text = config.read_text(encoding="utf-8")
    # Only checks whose failures are below "high" remain: with --fail-on high nothing triggers.
    disabled = '"COEX-101","COEX-201","COEX-202","COEX-301","COEX-303","COEX-401","COEX-404","COEX-501",'
    disabled += '"COEX-502","COEX-601","COEX-701","COEX-702","COEX-901","COEX-902"'
    config.write_text(text.replace("disabled = []", f"disabled = [{disabled}]", 1), encoding="utf-8")
    done = auditor("check", "--once", "-c", "auditor.toml", "--fail-on", "high", "--format", "json", cwd=org)
    assert done.returncode == 0, done.stdout
    document = json.loads(done.stdout)
    assert not [
        f for f in document["findings"] if f["status"] != "waived" and f["severity"] in ("high", "critical")
    ]


def test_second_run_on_unchanged_exports_adds_no_object_rows_and_findings_are_not_new(
    auditor: Any, org: Path
) -> None:
    assert auditor("check", "--once", "-c", "auditor.toml", cwd=org).returncode == 1
    db = sqlite3.connect(org / "history.db")
    tables = [r[0] for r in db.execute("select name from sqlite_master where type='table'")]
    object_tables = [t for t in tables if t.startswith("object")]
    assert object_tables, tables
    before = {t: db.execute(f"select count(*) from {t}").fetchone()[0] for t in object_tables}
    done = auditor("check", "--once", "-c", "auditor.toml", "--format", "json", cwd=org)
    assert done.returncode == 1
    after = {t: db.execute(f"select count(*) from {t}").fetchone()[0] for t in object_tables}
    assert after == before
    assert not any(f["new"] for f in json.loads(done.stdout)["findings"])
    assert [s["complete"] for s in history(auditor, org)] == [True, True]


def _truncate_ldif(org: Path) -> str:
    path = org / "contoso-configuration.ldf"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return "contoso-configuration.ldf"


def _bad_base64(org: Path) -> str:
    path = org / "contoso-domain.ldf"
    text = path.read_text(encoding="utf-8")
    head, marker, tail = text.partition("objectGUID:: ")
    rest = tail.split("\n", 1)[1]
    path.write_text(head + marker + "!!!notbase64!!!\r\n" + rest, encoding="utf-8", newline="")
    return "contoso-domain.ldf"


def _external_entity(org: Path) -> str:
    path = org / "pop01" / "MetaBase.xml"
    path.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE c [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'
        '<configuration xmlns="urn:microsoft-catalog:XML_Metabase_V64_0"><MBProperty>&x;</MBProperty></configuration>\n',
        encoding="utf-8",
    )
    return "MetaBase.xml"


def _entity_bomb(org: Path) -> str:
    path = org / "pop01" / "MetaBase.xml"
    entities = '<!ENTITY a "aaaaaaaaaa">' + "".join(
        f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(8)
    )
    path.write_text(f'<?xml version="1.0"?>\n<!DOCTYPE c [{entities}]>\n<c>&i;</c>\n', encoding="utf-8")
    return "MetaBase.xml"


def _reg_not_utf16(org: Path) -> str:
    path = org / "pop01" / "pop3.reg"
    text = path.read_bytes().decode("utf-16")
    path.write_bytes(text.encode("utf-8"))
    return "pop3.reg"


def _relay_blob_wrong_length(org: Path) -> str:
    path = org / "contoso-configuration.ldf"
    with path.open(encoding="utf-8", newline="") as handle:
        text = handle.read()
    head, marker, tail = text.partition("msExchSmtpRelayIpList:: ")
    lines = tail.split("\r\n")
    continuation = list(itertools.takewhile(lambda line: line.startswith(" "), lines[1:]))
    value = lines[0] + "".join(line[1:] for line in continuation)
    folded = 1 + len(continuation)
    blob = base64.b64decode(value, validate=True)
    rest = "\r\n".join(lines[folded:])
    path.write_text(
        head + marker + base64.b64encode(blob[:-6]).decode() + "\r\n" + rest, encoding="utf-8", newline=""
    )
    return "contoso-configuration.ldf"


def _empty_export_folder(org: Path) -> str:
    folder = org / "pop02"
    shutil.rmtree(folder)
    folder.mkdir()
    return "pop02"


@pytest.mark.parametrize(
    ("damage", "cause"),
    [
        (_truncate_ldif, r"(?i)truncat|cut off|line break"),
        (_bad_base64, r"(?i)base64"),
        (_external_entity, r"(?i)DOCTYPE|DTD|entit"),
        (_entity_bomb, r"(?i)DOCTYPE|DTD|entit"),
        (_reg_not_utf16, r"(?i)UTF-16"),
        (_empty_export_folder, r"(?i)none of|no export|empty"),
    ],
)
def test_bad_input_is_exit_2_one_line_naming_the_file_and_leaves_history_untouched(  # type: ignore[no-untyped-def]
    auditor: Any, org: Path, damage, cause: str
) -> None:
    assert auditor("check", "--once", "-c", "auditor.toml", cwd=org).returncode == 1
    before = history(auditor, org)
    named = damage(org)
    done = auditor("check", "--once", "-c", "auditor.toml", "--format", "json", cwd=org)
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert named in lines[0]
    assert re.search(cause, lines[0]), lines[0]
    assert "Traceback" not in done.stderr
    after = history(auditor, org)
    assert after[1:] == before  # earlier history untouched
    assert after[0]["complete"] is False  # the failed pass is recorded as incomplete, never complete
    assert after[0]["objects"] == 0
    refused = auditor("diff", "-c", "auditor.toml", "--from", str(after[0]["id"]), cwd=org)
    assert refused.returncode == 2
    assert "incomplete" in refused.stderr


def test_config_errors_exit_2_with_the_key_named(auditor: Any, org: Path) -> None:
    (org / "auditor.toml").write_text('[directory]\nldif = ["contoso-domain.ldf"]\nbind_pw = "x"\n')
    done = auditor("check", "--once", "-c", "auditor.toml", cwd=org)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"auditor: error: {org / 'auditor.toml'}: directory.bind_pw: unknown key"
    ]


def test_checks_catalogue_lists_every_contract_id(auditor: Any) -> None:
    done = auditor("checks", "--format", "json", cwd=Path.cwd())
    assert done.returncode == 0
    ids = {c["id"] for c in json.loads(done.stdout)["checks"]}
    contract = {
        f"COEX-{n}"
        for n in (101, 201, 202, 301, 302, 303, 401, 402, 403, 404, 501, 502, 601, 701, 702, 901, 902, 903)
    }
    assert contract <= ids


def test_trace_shows_the_path_hop_by_hop(auditor: Any, org: Path) -> None:
    assert auditor("check", "--once", "-c", "auditor.toml", cwd=org).returncode == 1
    done = auditor("trace", "nobody@legacy.contoso.com", "-c", "auditor.toml", cwd=org)
    assert done.returncode == 0, done.stderr
    assert "EX01 → POP01 → EX01" in done.stdout
    unknown = auditor("trace", "x@contoso.com", "-c", "auditor.toml", "--from", "POP99", cwd=org)
    assert unknown.returncode == 2
    assert "POP99" in unknown.stderr


def test_a_relay_list_cut_short_is_an_error_finding_and_the_pass_completes(auditor: Any, org: Path) -> None:
    """One undecodable value inside a valid export is for manual review: exit 1 with an `error`
    finding for that virtual server (never a pass, never exit 2), and the snapshot is complete."""
    _relay_blob_wrong_length(org)
    done = auditor("check", "--once", "-c", "auditor.toml", "--format", "json", cwd=org)
    assert done.returncode == 1, done.stderr
    document = json.loads(done.stdout)
    assert document["snapshot"]["complete"] is True
    vs1 = (
        "CN=1,CN=SMTP,CN=Protocols,CN=EX01,CN=Servers,CN=First Administrative Group,CN=Administrative Groups,"
        "CN=Contoso,CN=Microsoft Exchange,CN=Services,CN=Configuration,DC=contoso,DC=com"
    )
    errors = {(f["check"], f["subject"]) for f in document["findings"] if f["status"] == "error"}
    assert ("COEX-901", vs1) in errors
    [finding] = [f for f in document["findings"] if (f["check"], f["subject"]) == ("COEX-901", vs1)]
    assert "msExchSmtpRelayIpList cannot be decoded" in finding["message"]
    assert history(auditor, org)[0]["complete"] is True
