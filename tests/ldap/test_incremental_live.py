"""Incremental live collection against the lab DC (contract "Incremental collection").

Between a full read and an incremental one, an administrator adds, changes (multi-valued
`proxyAddresses`, and the user with 1,600 of them, read in ranges), renames, moves and deletes
objects, renames an OU holding 300 recipients and another that a query-based group names, takes
the mail attributes off a group, gives them to another, and changes an SMTP connector in the
Configuration partition. The incremental read must give exactly what a full read taken right
after gives, object for object; through the CLI, `auditor diff` between the incremental snapshot
and a `--full` one shows no object change. Then one test per reason to read in full, each
produced for real where the lab can produce it (a DC restored from a copy, a cookie the DC cannot
read, a changed base DN, `full_every`, `--full`, `incremental = false`), the rest (another DC, a
new invocationId, another auditor version) as pure logic; and the paths of an account without
DirSync rights (DirSync with object security, uSNChanged).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import shutil
import signal
import ssl
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import ldap3
import pytest
from ldap3.protocol.microsoft import security_descriptor_control

from auditor.collect import Baseline
from auditor.families.exchange.incremental import (
    DcIdentity,
    IncrementalSettings,
    full_read_reason,
    new_state,
)
from auditor.families.exchange.incremental_merge import renamed_below
from auditor.families.exchange.ldap import LdapSource
from auditor.provenance import AUDITOR_VERSION
from auditor.records import ObjectRecord, SourceInfo
from auditor.store import HistoryStore

pytestmark = pytest.mark.samba

LAB_PASSWORD = "Lab-Adm1n-Passw0rd"  # tests/ldap/conftest.py ADMIN_PASSWORD
SERVICE_DN = "CN=svc-auditor,OU=Lab Modern,DC=contoso,DC=com"  # conftest SERVICE_DN, an ordinary user
SERVICE_PASSWORD = "Lab-User-Passw0rd!"
ENV = {"AUDITOR_TEST_BIND_PASSWORD": LAB_PASSWORD}
SAMPLE = Path(str(resources.files("auditor.sample")))
DOMAIN = "DC=contoso,DC=com"
LAB_MAIL = f"OU=Lab Mail,{DOMAIN}"
GENERATED = f"OU=Generated,{DOMAIN}"
EXCHANGE = "CN=Microsoft Exchange,CN=Services,CN=Configuration,DC=contoso,DC=com"
LAB_CONNECTOR = (
    "CN=To POP01,CN=Connections,CN=First Routing Group,CN=Routing Groups,CN=First Administrative Group,"
    f"CN=Administrative Groups,CN=Lab,{EXCHANGE}"
)
USER_CLASSES = ["top", "person", "organizationalPerson", "user"]
INCR_BASE = f"OU=Incr Base,{DOMAIN}"
DYNAMIC = f"CN=Incr Dynamic,{LAB_MAIL}"
PLAIN_GROUP = f"CN=Incr Plain Group,{LAB_MAIL}"


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


def first_dn(conn: ldap3.Connection, base: str, search_filter: str) -> str:
    conn.search(base, search_filter, ldap3.SUBTREE, attributes=["cn"], size_limit=1)
    return str(next(e["dn"] for e in conn.response if e["type"] == "searchResEntry"))


def change_the_directory(lab: Any) -> int:
    """The changes of the module docstring; returns how many objects were touched."""
    conn = admin(lab)
    many = f"CN=Many Proxies,{GENERATED}"
    renamed = first_dn(conn, GENERATED, "(&(objectClass=user)(cn=Gen User 00001))")
    moved = first_dn(conn, GENERATED, "(&(objectClass=user)(cn=Gen User 00003))")
    deleted = first_dn(conn, GENERATED, "(&(objectClass=user)(cn=Gen User 00004))")
    touched = 0
    conn.add(
        f"CN=Incr New,{LAB_MAIL}",
        USER_CLASSES,
        {
            "sAMAccountName": "incrnew",
            "mail": "incr.new@contoso.com",
            "mailNickname": "incrnew",
            "proxyAddresses": ["SMTP:incr.new@contoso.com", "smtp:incr.other@contoso.com"],
        },
    )
    touched += 1
    conn.modify(
        f"CN=Bob Pop,{LAB_MAIL}",
        {
            "proxyAddresses": [
                (ldap3.MODIFY_ADD, ["smtp:bob.second@contoso.com", "smtp:bob.third@contoso.com"])
            ]
        },
    )
    touched += 1
    conn.modify(many, {"proxyAddresses": [(ldap3.MODIFY_ADD, ["smtp:many.more@contoso.com"])]})
    touched += 1
    conn.modify_dn(renamed, "CN=Gen User Renamed")
    touched += 1
    conn.add(f"OU=Incr Moved,{DOMAIN}", "organizationalUnit")
    touched += 1
    conn.modify_dn(moved, "CN=Gen User 00003", new_superior=f"OU=Incr Moved,{DOMAIN}")
    touched += 1
    conn.delete(deleted)
    touched += 1
    # Mail attributes off a mail-enabled group (`add_mail_group`): it no longer matches the filter.
    conn.modify(
        f"CN=Incr Group,{LAB_MAIL}",
        {"mail": [(ldap3.MODIFY_DELETE, [])], "mailNickname": [(ldap3.MODIFY_DELETE, [])]},
    )
    touched += 1
    # A group without mail attributes gets them: it starts matching the filter.
    conn.modify(PLAIN_GROUP, {"mail": [(ldap3.MODIFY_ADD, ["incr.plain@contoso.com"])]})
    touched += 1
    # 300 recipients get new DNs while their own change tracking says nothing.
    conn.modify_dn(GENERATED, "OU=Generated Renamed")
    touched += 1
    conn.modify(LAB_CONNECTOR, {"routingList": [(ldap3.MODIFY_REPLACE, ["SMTP:incr.example;1"])]})
    touched += 1
    # The query-based group's base DN now reads differently; the group itself is not written.
    conn.modify_dn(INCR_BASE, "OU=Incr Base Renamed")
    touched += 1
    conn.unbind()
    return touched


def add_mail_group(lab: Any) -> None:
    """Before the first read: a mail-enabled group (`change_the_directory` takes its mail attributes
    off), a group without them (it gets one), and a query-based group whose base DN is an OU that
    holds no collected object."""
    conn = admin(lab)
    conn.add(
        f"CN=Incr Group,{LAB_MAIL}",
        ["top", "group"],
        {"sAMAccountName": "incrgroup", "mail": "incr.group@contoso.com", "mailNickname": "incrgroup"},
    )
    conn.add(PLAIN_GROUP, ["top", "group"], {"sAMAccountName": "incrplain"})
    conn.add(INCR_BASE, "organizationalUnit")
    conn.add(
        DYNAMIC,
        ["top", "msExchDynamicDistributionList"],
        {
            "mail": "incr.dynamic@contoso.com",
            "mailNickname": "incrdynamic",
            "msExchDynamicDLFilter": "(objectClass=user)",
            "msExchDynamicDLBaseDN": INCR_BASE,
        },
    )
    conn.unbind()


def read(
    settings: Any, baseline: Baseline | None = None, *, full: bool = False, **options: Any
) -> tuple[LdapSource, dict[str, ObjectRecord]]:
    source = LdapSource(settings, incremental=IncrementalSettings(**options))
    source.use_baseline(baseline, full=full)
    records = {record.key: record for record in source.collect()}
    assert source.info.complete
    return source, records


def baseline_of(source: LdapSource, records: dict[str, ObjectRecord]) -> Baseline:
    """What the store would hand the next pass: the read's source entry and its records."""
    values = list(records.values())
    return Baseline(1, datetime.now(UTC), (dataclasses.replace(source.info),), lambda: iter(values))


def content(records: dict[str, ObjectRecord]) -> dict[str, tuple[str, str, dict[str, tuple[str, ...]]]]:
    return {
        key: (str(r.kind), r.dn, {name: tuple(values) for name, values in r.attributes.items()})
        for key, r in records.items()
    }


# -- the source: incremental equals full --------------------------------------------------------


def test_an_incremental_read_gives_exactly_what_a_full_read_right_after_gives(
    lab: Any, caplog: pytest.LogCaptureFixture
) -> None:
    settings = dataclasses.replace(lab.settings, page_size=200)
    ranged = {"value_range": 500}  # Samba does not range on its own: ask for ranges of 500 values
    add_mail_group(lab)
    first = LdapSource(settings, incremental=IncrementalSettings(), **ranged)
    first.use_baseline(None)
    with caplog.at_level(logging.WARNING):
        before = {r.key: r for r in first.collect()}
    assert "reading in full: no previous complete snapshot" in caplog.text
    assert first.info.mode == "full" and first.info.sync_state is not None
    assert first.info.sync_state["method"] == "dirsync"

    touched = change_the_directory(lab)
    caplog.clear()
    second = LdapSource(settings, incremental=IncrementalSettings(), **ranged)
    second.use_baseline(baseline_of(first, before))
    with caplog.at_level(logging.WARNING):
        after = {r.key: r for r in second.collect()}
    assert "reading in full" not in caplog.text
    assert second.info.mode == "incremental"
    assert second.info.changes_read == touched
    assert second.info.objects == len(after)

    _, full = read(settings, full=True)
    assert content(after) == content(full)
    # ... and the changes are really in it (not the previous snapshot handed back).
    by_dn = {r.dn: r for r in after.values()}
    assert f"CN=Incr New,{LAB_MAIL}" in by_dn
    assert len(by_dn[f"CN=Many Proxies,OU=Generated Renamed,{DOMAIN}"].attributes["proxyAddresses"]) == 1601
    assert "smtp:bob.third@contoso.com" in by_dn[f"CN=Bob Pop,{LAB_MAIL}"].attributes["proxyAddresses"]
    assert f"CN=Gen User Renamed,OU=Generated Renamed,{DOMAIN}" in by_dn
    assert f"CN=Gen User 00003,OU=Incr Moved,{DOMAIN}" in by_dn
    assert not any("Gen User 00004" in dn for dn in by_dn)
    assert not any(dn.endswith(GENERATED) for dn in by_dn)
    assert f"CN=Incr Group,{LAB_MAIL}" not in by_dn and f"CN=Incr Group,{LAB_MAIL}" in {
        r.dn for r in before.values()
    }
    assert tuple(by_dn[LAB_CONNECTOR].attributes["routingList"]) == ("SMTP:incr.example;1",)
    assert tuple(by_dn[DYNAMIC].attributes["msExchDynamicDLBaseDN"]) == (f"OU=Incr Base Renamed,{DOMAIN}",)
    assert PLAIN_GROUP in by_dn and PLAIN_GROUP not in {r.dn for r in before.values()}
    # Attribution keeps working: a re-read object carries the origins of its attributes, and the
    # deleted one the origin of its deletion.
    assert by_dn[f"CN=Bob Pop,{LAB_MAIL}"].origins
    deleted_key = next(k for k, r in before.items() if "Gen User 00004" in r.dn)
    assert deleted_key in second.deletions


@pytest.mark.parametrize("method", ["dirsync-object-security", "usn"])
def test_an_ordinary_account_reads_changes_without_dirsync_rights_and_still_equals_a_full_read(
    lab: Any, caplog: pytest.LogCaptureFixture, method: str
) -> None:
    """An ordinary account may not use plain DirSync (it needs "Replicating Directory Changes"):
    the full read says so on one line and leaves DirSync with object security (what the account
    may read; no deletions, so the next pass lists GUIDs). `usn`: the state a DC refusing both
    leaves (uSNChanged with show-deleted, and the GUID listing); here the stored state says so."""
    settings = dataclasses.replace(lab.settings, bind_dn=SERVICE_DN, password=SERVICE_PASSWORD, page_size=200)
    add_mail_group(lab)
    with caplog.at_level(logging.WARNING):
        first, before = read(settings)
    lines = [r.getMessage() for r in caplog.records if "object security" in r.getMessage()]
    assert len(lines) == 1 and "insufficientAccessRights" in lines[0]
    assert first.info.sync_state is not None and first.info.sync_state["method"] == "dirsync-object-security"
    if method == "usn":
        first.info.sync_state = dict(first.info.sync_state, method="usn", cookies={})
    touched = change_the_directory(lab)
    second, after = read(settings, baseline_of(first, before))
    assert second.info.mode == "incremental"
    assert second.info.sync_state is not None and second.info.sync_state["method"] == method
    # The Lab organization's connector is not readable by this account (neither read has it): the
    # other changes are all read, the deletion found by listing GUIDs (no tombstone is visible to it).
    assert second.info.changes_read == touched - 1
    _, full = read(settings, full=True)
    assert content(after) == content(full)
    assert LAB_CONNECTOR not in {r.dn for r in full.values()}
    assert f"CN=Gen User 00003,OU=Incr Moved,{DOMAIN}" in {r.dn for r in after.values()}
    assert not any("Gen User 00004" in r.dn for r in after.values())


RECEIVE_CONNECTORS = (
    "CN=SMTP Receive Connectors,CN=Protocols,CN=EX16,CN=Servers,"
    "CN=Exchange Administrative Group (FYDIBOHF23SPDLT),CN=Administrative Groups,CN=Lab," + EXCHANGE
)


def test_a_receive_connector_whose_descriptor_alone_changed_is_read_again(lab: Any) -> None:
    """Descriptors are read with the SD-flags control, which DirSync does not send: a change to a
    receive connector's DACL alone must still be in the incremental snapshot. Samba's DirSync
    reports it by itself (this holds without the re-read too); the re-read of every receive
    connector guards a DC that does not (not tested against Windows AD)."""
    first, before = read(lab.settings)
    conn = admin(lab)
    sd_flags = security_descriptor_control(sdflags=0x04)
    conn.search(
        f"CN=Denied Relay,{RECEIVE_CONNECTORS}",
        "(objectClass=*)",
        ldap3.BASE,
        attributes=["nTSecurityDescriptor"],
        controls=sd_flags,
    )
    denied = conn.response[0]["raw_attributes"]["nTSecurityDescriptor"][0]
    target = f"CN=Everyone Relay,{RECEIVE_CONNECTORS}"
    conn.modify(target, {"nTSecurityDescriptor": [(ldap3.MODIFY_REPLACE, [denied])]}, controls=sd_flags)
    conn.unbind()
    second, after = read(lab.settings, baseline_of(first, before))
    assert second.info.mode == "incremental"
    _, full = read(lab.settings, full=True)
    assert content(after) == content(full)
    descriptor = {r.dn: r.attributes.get("nTSecurityDescriptor") for r in after.values()}
    assert (
        descriptor[target]
        != {r.dn: r.attributes.get("nTSecurityDescriptor") for r in before.values()}[target]
    )


def test_a_read_with_nothing_changed_reads_no_change(lab: Any) -> None:
    first, before = read(lab.settings)
    second, after = read(lab.settings, baseline_of(first, before))
    assert (second.info.mode, second.info.changes_read) == ("incremental", 0)
    assert content(after) == content(before)


# -- reasons to read in full, for real ----------------------------------------------------------


def test_a_refused_cookie_is_a_full_read_saying_so(lab: Any, caplog: pytest.LogCaptureFixture) -> None:
    first, before = read(lab.settings)
    assert first.info.sync_state is not None
    state = dict(first.info.sync_state, cookies={"domain": "bm90IGEgY29va2ll", "configuration": "bm90"})
    broken = dataclasses.replace(first.info, sync_state=state)
    baseline = Baseline(1, datetime.now(UTC), (broken,), lambda: iter(before.values()))
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        second, after = read(lab.settings, baseline)
    assert second.info.mode == "full"
    lines = [r.getMessage() for r in caplog.records if "reading in full" in r.getMessage()]
    assert len(lines) == 1 and "DirSync" in lines[0] and "refused" in lines[0]
    assert content(after) == content(before)


def test_a_directory_restored_below_the_stored_usn_is_read_in_full(
    lab: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """The lab DC is put back to its loaded copy (same invocationId, as a restore from a backup
    without a new invocation id would): its highestCommittedUSN is below the one stored."""
    conn = admin(lab)
    for number in range(5):
        conn.modify(f"CN=Bob Pop,{LAB_MAIL}", {"displayName": [(ldap3.MODIFY_REPLACE, [f"Bob {number}"])]})
    conn.unbind()
    first, before = read(lab.settings)
    lab.reset()
    with caplog.at_level(logging.WARNING):
        second, after = read(lab.settings, baseline_of(first, before))
    assert second.info.mode == "full"
    assert "highestCommittedUSN" in caplog.text and "below the stored" in caplog.text
    assert after[next(k for k, r in after.items() if r.dn == f"CN=Bob Pop,{LAB_MAIL}")].attributes[
        "displayName"
    ] == ("Bob Pop",)


def test_full_every_passed_and_forced_full_reads(lab: Any, caplog: pytest.LogCaptureFixture) -> None:
    first, before = read(lab.settings)
    time.sleep(1.1)
    with caplog.at_level(logging.WARNING):
        second, _ = read(lab.settings, baseline_of(first, before), full_every=timedelta(seconds=1))
        third, _ = read(lab.settings, baseline_of(first, before), full=True)
    assert (second.info.mode, third.info.mode) == ("full", "full")
    assert "reading in full: full_every passed" in caplog.text
    assert "reading in full: --full was asked for" in caplog.text


# -- reasons to read in full, as logic ------------------------------------------------------------

IDENTITY = DcIdentity(
    "dc1.contoso.com", "CN=DC1,CN=Servers,CN=Site,CN=Sites,CN=Configuration,DC=x", "a-b", 5000
)
NOW = datetime(2026, 12, 6, 8, 0, tzinfo=UTC)


def _baseline(**state: Any) -> Baseline:
    stored = new_state(IDENTITY, "fp", {"domain": b"c", "configuration": b"d"}, NOW - timedelta(days=1))
    stored.update(state)
    info = SourceInfo(name="directory", kind="ldap", complete=True, sync_state=stored)
    return Baseline(1, NOW, (info,), lambda: iter(()))


@pytest.mark.parametrize(
    ("baseline", "identity", "fingerprint", "expected"),
    [
        (_baseline(), IDENTITY, "fp", None),
        (None, IDENTITY, "fp", "no previous complete snapshot"),
        (_baseline(dc="dc2.contoso.com"), IDENTITY, "fp", "another domain controller answers"),
        (_baseline(server="CN=DC2"), IDENTITY, "fp", "another domain controller answers"),
        (_baseline(invocation_id="c-d"), IDENTITY, "fp", "invocationId changed"),
        (_baseline(usn=6000), IDENTITY, "fp", "highestCommittedUSN 5000 is below the stored 6000"),
        (_baseline(), IDENTITY, "other", "the configured attribute set or naming contexts changed"),
        (
            _baseline(auditor_version="0.0.1"),
            IDENTITY,
            "fp",
            f"auditor's version changed (0.0.1 -> {AUDITOR_VERSION})",
        ),
        (_baseline(full_read_at=(NOW - timedelta(days=8)).isoformat()), IDENTITY, "fp", "full_every passed"),
        (_baseline(format=None), IDENTITY, "fp", "kept no change-tracking state"),
    ],
)
def test_full_read_reasons(
    baseline: Baseline | None, identity: DcIdentity, fingerprint: str, expected: str | None
) -> None:
    reason = full_read_reason(IncrementalSettings(), baseline, "directory", identity, fingerprint, NOW)
    if expected is None:
        assert reason is None
    else:
        assert reason is not None and expected in reason
    assert full_read_reason(
        IncrementalSettings(enabled=False), baseline, "directory", identity, fingerprint, NOW
    ) == ("incremental = false")
    assert full_read_reason(
        IncrementalSettings(), baseline, "directory", identity, fingerprint, NOW, forced=True
    ) == ("--full was asked for")


def test_a_renamed_container_old_dn_comes_from_a_child() -> None:
    assert renamed_below("CN=U,OU=Old,DC=x", "CN=U,OU=New,DC=x", "OU=New,DC=x") == "OU=Old,DC=x"
    assert renamed_below("CN=U,OU=Old,DC=x", "CN=V,OU=New,DC=x", "OU=New,DC=x") is None


# -- through the CLI: auditor diff between the incremental and a --full snapshot ------------------

POP3 = """
[[exchange_server]]
name = "EX01"
fqdn = "ex01.contoso.com"
addresses = ["10.0.0.10"]

[[pop3_server]]
name = "POP01"
fqdn = "pop01.contoso.com"
addresses = ["10.0.0.25"]
export = "pop01"
"""


def live_config(folder: Path, lab: Any, extra: str = "") -> Path:
    path = folder / "live.toml"
    path.write_text(
        f"""organization = "Contoso"
[store]
url = "sqlite:///live.db"
[directory]
url = "ldaps://127.0.0.1:636"
bind_dn = "{lab.settings.bind_dn}"
password_env = "AUDITOR_TEST_BIND_PASSWORD"
ca_file = "{lab.folder / "tls" / "ca.pem"}"
page_size = 200
{extra}
{POP3}""",
        encoding="utf-8",
    )
    return path


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    shutil.copytree(SAMPLE / "pop01", tmp_path / "pop01")
    return tmp_path


def directory_entry(stdout: str) -> dict[str, Any]:
    document = json.loads(stdout)
    assert document["snapshot"]["complete"] is True
    return next(s for s in document["snapshot"]["sources"] if s["kind"] == "ldap")


def test_auditor_diff_between_an_incremental_and_a_full_snapshot_shows_no_object_change(
    auditor: Any, lab: Any, workdir: Path
) -> None:
    config = live_config(workdir, lab)
    add_mail_group(lab)

    last: list[dict[str, Any]] = [{}]

    def check(*extra: str) -> tuple[dict[str, Any], int, str]:
        done = auditor("check", "--once", *extra, "-c", str(config), "--format", "json", cwd=workdir, env=ENV)
        assert done.returncode in (0, 1), done.stderr
        last[0] = json.loads(done.stdout)
        return directory_entry(done.stdout), json.loads(done.stdout)["snapshot"]["id"], done.stderr

    first, first_id, stderr = check()
    assert first["mode"] == "full" and "changes_read" not in first
    assert "reading in full: no previous complete snapshot" in stderr
    touched = change_the_directory(lab)
    incremental, incremental_id, stderr = check()
    assert (incremental["mode"], incremental["changes_read"]) == ("incremental", touched)
    assert "reading in full" not in stderr
    forced, full_id, stderr = check("--full")
    assert forced["mode"] == "full"
    forced_document = last[0]
    assert len([line for line in stderr.splitlines() if "reading in full: --full was asked for" in line]) == 1

    def diff(old: int, new: int) -> dict[str, Any]:
        done = auditor(
            "diff",
            "--from",
            str(old),
            "--to",
            str(new),
            "-c",
            str(config),
            "--format",
            "json",
            cwd=workdir,
            env=ENV,
        )
        assert done.returncode == 0, done.stderr
        objects: dict[str, Any] = json.loads(done.stdout)["objects"]
        return objects

    same = diff(incremental_id, full_id)
    assert (same["added"], same["removed"], same["changed"]) == ([], [], [])
    # Nothing changed since: the pass carries every object over (none read back or hashed) and
    # copies the results; its snapshot and findings are still the full read's.
    done = auditor("check", "--once", "-c", str(config), "--format", "json", cwd=workdir, env=ENV)
    assert done.returncode in (0, 1), done.stderr
    unchanged = json.loads(done.stdout)
    assert (directory_entry(done.stdout)["mode"], directory_entry(done.stdout)["changes_read"]) == (
        "incremental",
        0,
    )
    assert directory_entry(done.stdout)["objects"] == forced["objects"]
    assert unchanged["findings"] == forced_document["findings"]
    nothing = diff(full_id, unchanged["snapshot"]["id"])
    assert (nothing["added"], nothing["removed"], nothing["changed"]) == ([], [], [])
    changed = diff(first_id, incremental_id)
    assert f"CN=Incr New,{LAB_MAIL}" in {o["dn"] for o in changed["added"]}
    assert f"CN=Incr Group,{LAB_MAIL}" in {o["dn"] for o in changed["removed"]}
    assert len(changed["changed"]) >= 300  # the renamed OU's recipients among them
    # Attribution on an incremental pass: the re-read object's change names where it was made.
    bob = next(c for c in changed["changed"] if c["dn"] == f"CN=Bob Pop,{LAB_MAIL}")
    assert bob["attributes"]["proxyAddresses"]["origin"]["dc"] == "DC1"
    # The incremental pass ran its checks on a snapshot rebuilt from the store (key order), the
    # first on the directory's own order: a verdict on objects neither pass changed names the same
    # evidence, in the same order, so it shares the stored evidence set.
    touched_keys = {o["key"] for section in changed.values() for o in section}
    with HistoryStore(f"sqlite:///{workdir / 'live.db'}") as store:
        before = {f.fingerprint: f for f in store.load_findings(first_id)}
        after = {f.fingerprint: f for f in store.load_findings(incremental_id)}
    untouched = [
        fp
        for fp in before.keys() & after.keys()
        if not {ref.key for ref in before[fp].evidence or ()} & touched_keys
    ]
    assert len(untouched) >= 5
    assert any(len(before[fp].evidence or ()) > 1 for fp in untouched)
    assert [after[fp].evidence for fp in untouched] == [before[fp].evidence for fp in untouched]


def test_a_changed_base_dn_is_a_full_read_then_an_ou_base_reads_changes_by_usn(
    auditor: Any, lab: Any, workdir: Path
) -> None:
    """A new base DN changes what is read: read in full, saying why. DirSync needs a naming-context
    root, so under an OU the DC refuses it (said on one line) and the next pass reads uSNChanged."""
    assert_passes = []
    for extra in ("", f'base_dn = "{LAB_MAIL}"', f'base_dn = "{LAB_MAIL}"'):
        config = live_config(workdir, lab, extra=extra)
        done = auditor("check", "--once", "-c", str(config), "--format", "json", cwd=workdir, env=ENV)
        assert done.returncode in (0, 1), done.stderr
        assert_passes.append((directory_entry(done.stdout)["mode"], done.stderr))
    (first, _), (second, stderr), (third, last_stderr) = assert_passes
    assert (first, second, third) == ("full", "full", "incremental")
    assert "reading in full: the configured attribute set or naming contexts changed" in stderr
    assert len([line for line in stderr.splitlines() if "DirSync" in line and "uSNChanged" in line]) == 1
    assert "reading in full" not in last_stderr


def test_incremental_false_always_reads_in_full(auditor: Any, lab: Any, workdir: Path) -> None:
    config = live_config(workdir, lab, extra="incremental = false")
    for _ in range(2):
        done = auditor("check", "--once", "-c", str(config), "--format", "json", cwd=workdir, env=ENV)
        assert done.returncode in (0, 1), done.stderr
        entry = directory_entry(done.stdout)
        assert entry["mode"] == "full" and "changes_read" not in entry


def test_full_without_once_is_refused(auditor: Any, workdir: Path, lab: Any) -> None:
    done = auditor("check", "--full", "-c", str(live_config(workdir, lab)), cwd=workdir, env=ENV)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1].endswith("--full applies to one pass: use it with --once")


def test_a_directory_that_stops_answering_mid_incremental_pass_stores_nothing_complete(
    auditor: Any, lab: Any, workdir: Path
) -> None:
    """An incremental pass whose DC stops answering is exit 2 with one line and an incomplete
    snapshot; its cookie is never the next pass's baseline, which still reads every change since
    the last complete snapshot."""
    config = live_config(workdir, lab, extra="timeout = 2\nretries = 0")
    add_mail_group(lab)

    def check() -> Any:
        return auditor("check", "--once", "-c", str(config), "--format", "json", cwd=workdir, env=ENV)

    assert check().returncode in (0, 1)
    touched = change_the_directory(lab)
    os.killpg(lab.pid, signal.SIGSTOP)
    try:
        stopped = check()
    finally:
        os.killpg(lab.pid, signal.SIGCONT)
    assert stopped.returncode == 2
    assert len(stopped.stderr.strip().splitlines()) == 1, stopped.stderr
    assert LAB_PASSWORD not in stopped.stderr
    history = auditor("history", "-c", str(config), "--format", "json", cwd=workdir, env=ENV)
    assert [s["complete"] for s in json.loads(history.stdout)["snapshots"]] == [False, True]
    again = check()
    assert again.returncode in (0, 1), again.stderr
    entry = directory_entry(again.stdout)
    assert (entry["mode"], entry["changes_read"]) == ("incremental", touched)
