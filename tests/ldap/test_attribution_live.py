"""Change attribution against the lab DC: replication metadata, the prefix table, tombstones.

The done-when test of issue 13's attribution: between two live passes an administrator changes
one user's `targetAddress` and deletes one SMTP connector; `auditor diff --format json` gives both
changes with `origin.dc` = the lab DC's server `cn` and `origin.time` within a minute of the write,
and the drift report's JSON names the deleted connector (with that origin) among the causes of
the new COEX-601 finding.
The expected DC name and times come from the directory itself (rootDSE `dsServiceName`, the clock
around the write), never from auditor's own decoding.
"""

from __future__ import annotations

import json
import shutil
import ssl
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import ldap3
import pytest

from auditor.families.exchange.ldap import LdapSource
from auditor.families.exchange.prefixmap import decode_prefix_map, is_int_id
from auditor.families.exchange.replication import decode_metadata

pytestmark = pytest.mark.samba

LAB_PASSWORD = "Lab-Adm1n-Passw0rd"  # tests/ldap/conftest.py ADMIN_PASSWORD
SAMPLE = Path(str(resources.files("auditor.sample")))
SCHEMAS = resources.files("auditor").joinpath("schemas")
ENV = {"AUDITOR_TEST_BIND_PASSWORD": LAB_PASSWORD}
BOB = "CN=Bob Pop,OU=Lab Mail,DC=contoso,DC=com"
EXCHANGE = "CN=Microsoft Exchange,CN=Services,CN=Configuration,DC=contoso,DC=com"
CONNECTOR = (
    "CN=To POP01,CN=Connections,CN=First Routing Group,CN=Routing Groups,CN=First Administrative Group,"
    f"CN=Administrative Groups,CN=Contoso,{EXCHANGE}"
)
# The lab forest routes pop.contoso.com three ways: CONNECTOR (the sample's Contoso organization),
# the lab organization's own 2003 connector of the same name (tests/ldap/data/org.ldf), and, since
# the forest is a 2003 -> 2016 migration where 2007+ send connector choice decides, its send
# connector To LNX01 (tests/ldap/data/modern.ldf). The causes test first leaves CONNECTOR as the
# only route, so that deleting it breaks COEX-601 for pop.contoso.com.
LAB_ROUTING = (
    "CN=First Routing Group,CN=Routing Groups,CN=First Administrative Group,CN=Administrative Groups,CN=Lab"
)
MODERN_ROUTING = (
    "CN=Exchange Routing Group (DWBGZMFD01QNBJR),CN=Routing Groups,"
    "CN=Exchange Administrative Group (FYDIBOHF23SPDLT),CN=Administrative Groups,CN=Lab"
)
OTHER_ROUTES = {
    f"CN=To POP01,CN=Connections,{LAB_ROUTING},{EXCHANGE}": {"routingList": ["SMTP:elsewhere.example;1"]},
    f"CN=To LNX01,CN=Connections,{MODERN_ROUTING},{EXCHANGE}": {"msExchSmtpSendEnabled": ["FALSE"]},
}


@pytest.fixture
def lab(samba_lab: Any) -> Iterator[Any]:
    """The lab DC, put back to the loaded organization after a test that writes to it."""
    samba_lab.ensure_running()
    try:
        yield samba_lab
    finally:
        samba_lab.reset()


def admin(lab: Any) -> ldap3.Connection:
    tls = ldap3.Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=str(lab.folder / "tls" / "ca.pem"))
    server = ldap3.Server("ldaps://127.0.0.1:636", tls=tls, get_info=ldap3.NONE)
    conn = ldap3.Connection(
        server, lab.settings.bind_dn, LAB_PASSWORD, check_names=False, raise_exceptions=True
    )
    conn.bind()
    return conn


def entry(conn: ldap3.Connection, dn: str, attributes: list[str], **search: Any) -> dict[str, list[bytes]]:
    conn.search(dn, "(objectClass=*)", ldap3.BASE, attributes=attributes, **search)
    found = [e for e in conn.response if e["type"] == "searchResEntry"]
    assert len(found) == 1, f"{dn}: {conn.result}"
    return dict(found[0]["raw_attributes"])


def lab_dc_name(conn: ldap3.Connection) -> str:
    """The `cn` of the server object whose NTDS Settings the DC names as itself in its rootDSE."""
    service = entry(conn, "", ["dsServiceName"])["dsServiceName"][0].decode()
    settings, server, *_ = service.split(",")
    assert settings == "CN=NTDS Settings"
    return server.removeprefix("CN=")


def schema_attributes(conn: ldap3.Connection) -> tuple[str, list[dict[str, str]]]:
    schema_dn = entry(conn, "", ["schemaNamingContext"])["schemaNamingContext"][0].decode()
    found = conn.extend.standard.paged_search(
        schema_dn,
        "(objectClass=attributeSchema)",
        ldap3.LEVEL,
        attributes=["lDAPDisplayName", "attributeID", "msDS-IntId"],
        paged_size=500,
        generator=False,
    )
    rows = []
    for item in found:
        if item["type"] == "searchResEntry":
            raw = item["raw_attributes"]
            rows.append(
                {
                    "name": raw["lDAPDisplayName"][0].decode(),
                    "oid": raw["attributeID"][0].decode(),
                    "int_id": raw["msDS-IntId"][0].decode() if raw.get("msDS-IntId") else "",
                }
            )
    return schema_dn, rows


def test_prefix_table_turns_the_dcs_own_attrtyps_into_the_oids_of_its_schema(lab: Any) -> None:
    conn = admin(lab)
    schema_dn, attributes = schema_attributes(conn)
    assert len(attributes) > 1000  # the whole AD schema plus the lab's Exchange attributes
    table = decode_prefix_map(entry(conn, schema_dn, ["prefixMap"])["prefixMap"][0])
    by_oid = {a["oid"]: a["name"] for a in attributes}
    by_int_id = {int(a["int_id"]) & 0xFFFFFFFF: a["name"] for a in attributes if a["int_id"]}

    # Write attributes whose ATTRTYPs take every branch of the rules: a last arc below 128
    # (description 2.5.4.13), 128 or more (userPrincipalName 1.2.840.113556.1.4.656), and an
    # msDS-IntId (targetAddress, added by the lab's schema extension). The DC records each write
    # in the metadata; the entry it bumped must decode to the attribute written.
    writes = {
        "description": "attribution test",
        "userPrincipalName": "bob.renamed@contoso.com",
        "targetAddress": "SMTP:bob@elsewhere.example",
    }
    seen = {}
    for name, value in writes.items():
        before = {
            m.attid: m.version
            for m in decode_metadata(entry(conn, BOB, ["replPropertyMetaData"])["replPropertyMetaData"][0])
        }
        conn.modify(BOB, {name: [(ldap3.MODIFY_REPLACE, [value])]})
        after = decode_metadata(entry(conn, BOB, ["replPropertyMetaData"])["replPropertyMetaData"][0])
        bumped = [m for m in after if before.get(m.attid, 0) < m.version]
        assert len(bumped) == 1, f"writing {name} changed {len(bumped)} metadata entries"
        attid = bumped[0].attid
        decoded = by_int_id[attid] if is_int_id(attid) else by_oid[table.oid_from_attid(attid)]
        seen[name] = (attid, decoded)
    assert {name: decoded for name, (_, decoded) in seen.items()} == {name: name for name in writes}
    assert is_int_id(seen["targetAddress"][0]) and not is_int_id(seen["description"][0])

    # Every ATTRTYP in the metadata of every object auditor reads names a schema attribute, and
    # OID -> ATTRTYP (MakeAttid) gives back the DC's own ATTRTYP for the table-mapped ones.
    source = LdapSource(lab.settings)
    unknown, checked = set(), 0
    for _partition, dn, raw in source.entries(metadata=True):
        for metadata in decode_metadata(raw["replPropertyMetaData"][0]):
            if is_int_id(metadata.attid):
                if metadata.attid not in by_int_id:
                    unknown.add((dn, hex(metadata.attid)))
                continue
            oid = table.oid_from_attid(metadata.attid)
            if oid not in by_oid:
                unknown.add((dn, oid))
                continue
            assert table.attid_from_oid(oid) == metadata.attid
            checked += 1
    assert unknown == set()
    assert checked > 5000


def test_live_diff_attributes_a_changed_target_address_and_a_deleted_connector(
    auditor: Any, lab: Any, tmp_path: Path
) -> None:
    for name in ("pop01", "pop02"):
        shutil.copytree(SAMPLE / name, tmp_path / name)
    config = tmp_path / "live.toml"
    config.write_text(
        f"""organization = "Contoso"
[store]
url = "sqlite:///live.db"
[directory]
url = "ldaps://127.0.0.1:636"
bind_dn = "{lab.settings.bind_dn}"
password_env = "AUDITOR_TEST_BIND_PASSWORD"
ca_file = "{lab.folder / "tls" / "ca.pem"}"
[[pop3_server]]
name = "POP01"
fqdn = "pop01.contoso.com"
addresses = ["10.0.0.25"]
export = "pop01"
""",
        encoding="utf-8",
    )
    conn = admin(lab)
    for dn, values in OTHER_ROUTES.items():
        conn.modify(dn, {name: [(ldap3.MODIFY_REPLACE, value)] for name, value in values.items()})
    conn.unbind()
    first = auditor("check", "--once", "-c", str(config), "--format", "json", cwd=tmp_path, env=ENV)
    assert first.returncode in (0, 1), first.stderr
    assert "COEX-601" not in {f["check"] for f in json.loads(first.stdout)["findings"]}  # routed by CONNECTOR

    conn = admin(lab)
    dc = lab_dc_name(conn)
    connector_guid = entry(conn, CONNECTOR, ["objectGUID"])["objectGUID"][0]
    written_at = datetime.now(UTC)
    conn.modify(BOB, {"targetAddress": [(ldap3.MODIFY_REPLACE, ["SMTP:bob@contoso.com"])]})
    conn.delete(CONNECTOR)
    conn.unbind()

    second = auditor("check", "--once", "-c", str(config), cwd=tmp_path, env=ENV)
    assert second.returncode in (0, 1), second.stderr
    done = auditor("diff", "-c", str(config), "--format", "json", cwd=tmp_path, env=ENV)
    assert done.returncode == 0, done.stderr
    diff = json.loads(done.stdout)
    jsonschema.validate(diff, json.loads((SCHEMAS / "diff.schema.json").read_text("utf-8")))

    def near_the_write(origin: dict[str, Any]) -> bool:
        moment = datetime.fromisoformat(origin["time"].replace("Z", "+00:00"))
        return abs(moment - written_at) < timedelta(minutes=1)

    changed = {c["dn"]: c for c in diff["objects"]["changed"]}
    target = changed[BOB]["attributes"]["targetAddress"]
    assert (target["before"], target["after"]) == ("SMTP:bob@pop.contoso.com", "SMTP:bob@contoso.com")
    assert target["origin"]["dc"] == dc
    assert near_the_write(target["origin"])
    assert target["origin"]["version"] >= 2
    assert set(changed) == {BOB}

    removed = {r["dn"]: r for r in diff["objects"]["removed"]}
    assert set(removed) == {CONNECTOR}
    assert removed[CONNECTOR]["key"] == str(uuid.UUID(bytes_le=connector_guid))
    assert removed[CONNECTOR]["origin"]["dc"] == dc
    assert near_the_write(removed[CONNECTOR]["origin"])
    assert diff["objects"]["added"] == []

    text = auditor("diff", "-c", str(config), cwd=tmp_path, env=ENV).stdout
    assert f"on {dc}" in text

    # The causes: the connector was in the earlier, passing COEX-601 verdict's evidence.
    done = auditor("report", "-c", str(config), "--since", "1d", "--format", "json", cwd=tmp_path, env=ENV)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    jsonschema.validate(report, json.loads((SCHEMAS / "report.schema.json").read_text("utf-8")))
    [routing] = [f for f in report["findings"]["new"] if f["check"] == "COEX-601"]
    assert routing["subject"] == "pop.contoso.com"
    causes = {c["dn"]: c for c in routing["causes"]}
    assert CONNECTOR in causes
    deleted = causes[CONNECTOR]
    assert (deleted["kind"], deleted["change"], deleted["key"]) == (
        "smtp_connector",
        "removed",
        removed[CONNECTOR]["key"],
    )
    assert deleted["origin"]["dc"] == dc and near_the_write(deleted["origin"])
    grouped = [g for g in report["cause_groups"] if CONNECTOR in {c["dn"] for c in g["changes"]}]
    assert {f["fingerprint"] for g in grouped for f in g["findings"]} >= {routing["fingerprint"]}
    text = auditor("report", "-c", str(config), "--since", "1d", cwd=tmp_path, env=ENV).stdout
    assert "SMTP connector 'To POP01' removed" in text and f"on {dc}" in text
