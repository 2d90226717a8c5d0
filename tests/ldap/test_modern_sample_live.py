"""Live parity of the bundled modern sample (issues 10 and 11): `auditor check --once` over LDAPS
against a Samba DC holding auditor/sample_modern/*.ldf, with the sample's POP3 hosts (LNX01 and
LNX02, Linux; POP01, Windows) read from their export folders as the sample's config says, gives the
findings of `auditor check --once --sample modern`, and `auditor export-ldif` of that DC reads back
as the live read did, value for value.

Two differences between the sample's LDIF and any directory are asserted here, never skipped:

- Broken Import's descriptor is cut short at 60 bytes. Samba refuses to store it (its descriptor
  module answers operationsError, as AD would refuse it: a directory never holds a descriptor it
  cannot parse), so the lab loader adds the connector without it and the DC gives it the default:
  only ACEs inherited from its parents, none for an unauthenticated sender. Live, COEX-703 and
  COEX-901 pass for it; from the LDIF they are `error`. A cut-short descriptor is an offline-only
  mistake (an export damaged in transit).
- Samba appends the ACEs the parents pass down (Enterprise Admins and Domain Admins, full control)
  after the ones it was given. No verdict depends on them: the same relay verdicts, message for
  message, come out of every live descriptor with and without its inherited ACEs.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import shutil
import ssl
from importlib import resources
from pathlib import Path
from typing import Any

import ldap3
import make_sample_modern
import pytest

from auditor.collect.ldif import decode_export_text, parse_ldif
from auditor.families.exchange.descriptor import SecurityDescriptor, decode_descriptor_value
from auditor.families.exchange.flags import parse_int
from auditor.families.exchange.ldap import LdapSource
from auditor.families.exchange.modern import MODERN_TABLES, RECEIVE_CONNECTOR
from auditor.families.exchange.permissions import (
    ANONYMOUS_LOGON,
    AUTHENTICATED_USERS,
    EVERYONE,
    EXTERNALLY_SECURED_SERVERS,
    relay,
    unauthenticated_principals,
)
from auditor.records import ObjectRecord

pytestmark = pytest.mark.samba

SAMPLE = Path(str(resources.files("auditor.sample_modern")))
PASSWORD_ENV = "AUDITOR_TEST_BIND_PASSWORD"
POP3_HOSTS = ("LNX01", "LNX02", "POP01")  # their export folders sit beside the sample's config
BROKEN = f"CN=Broken Import,{make_sample_modern.RECEIVE}"
CUT_SHORT_AT = make_sample_modern.CUT_SHORT["Broken Import"]
LAB_SID = "S-1-5-21-0-0-0"  # only for Samba's SDDL rendering
INHERITED = 0x10

Finding = tuple[str, str, str, str]


def _live_config(folder: Path, lab: Any, *, store: str) -> Path:
    """The sample's own auditor.toml with its [directory] read over LDAPS from the lab instead."""
    text = (SAMPLE / "auditor.toml").read_text(encoding="utf-8")
    offline = '[directory]\nldif = ["modern-domain.ldf", "modern-configuration.ldf"]\n'
    assert offline in text
    live = (
        f'[store]\nurl = "sqlite:///{store}"\n\n'
        f'[directory]\nurl = "ldaps://127.0.0.1:636"\nbind_dn = "{lab.settings.bind_dn}"\n'
        f'password_env = "{PASSWORD_ENV}"\nca_file = "{lab.folder / "tls" / "ca.pem"}"\npage_size = 200\n'
    )
    path = folder / f"{store}.toml"
    path.write_text(text.replace(offline, live), encoding="utf-8")
    return path


def _export_config(folder: Path, store: str) -> Path:
    text = (SAMPLE / "auditor.toml").read_text(encoding="utf-8")
    offline = 'ldif = ["modern-domain.ldf", "modern-configuration.ldf"]'
    path = folder / "export.toml"
    path.write_text(
        text.replace(offline, 'ldif = ["exported-domain.ldf", "exported-configuration.ldf"]').replace(
            "[directory]", f'[store]\nurl = "sqlite:///{store}"\n\n[directory]'
        ),
        encoding="utf-8",
    )
    return path


@dataclasses.dataclass
class Runs:
    """Every CLI run of the module, once: live, the bundled sample's LDIF, the export of the live
    DC, and the diff of live vs export; `work` holds their files (the exported LDIF)."""

    work: Path
    live: dict[str, Any]
    sample: dict[str, Any]
    exported: dict[str, Any]
    diff: dict[str, Any]


@pytest.fixture(scope="module")
def runs(modern_lab: Any, auditor_cli: Any, tmp_path_factory: pytest.TempPathFactory) -> Runs:
    modern_lab.ensure_running()
    work = tmp_path_factory.mktemp("modern-live")
    for host in POP3_HOSTS:
        shutil.copytree(SAMPLE / host.lower(), work / host.lower())
    admin = {PASSWORD_ENV: modern_lab.admin_password}

    def json_run(*args: str, env: dict[str, str] | None = None, code: int = 1) -> dict[str, Any]:
        done = auditor_cli(*args, "--format", "json", cwd=work, env=env)
        assert done.returncode == code, done.stderr
        document = json.loads(done.stdout)
        assert isinstance(document, dict)
        return document

    live_config = _live_config(work, modern_lab, store="shared.db")
    live = json_run("check", "--once", "-c", str(live_config), env=admin)
    exported = auditor_cli(
        "export-ldif",
        "-c",
        str(live_config),
        "--domain-out",
        "exported-domain.ldf",
        "--configuration-out",
        "exported-configuration.ldf",
        cwd=work,
        env=admin,
    )
    assert exported.returncode == 0, exported.stderr
    # The export goes into the same store, so `auditor diff` compares it with the live snapshot.
    from_export = json_run("check", "--once", "-c", str(_export_config(work, "shared.db")))
    ids = [str(document["snapshot"]["id"]) for document in (live, from_export)]
    diff = json_run("diff", "-c", str(live_config), "--from", ids[0], "--to", ids[1], env=admin, code=0)
    sample = json_run("check", "--once", "--sample", "modern")
    return Runs(work=work, live=live, sample=sample, exported=from_export, diff=diff)


def findings(document: dict[str, Any]) -> set[Finding]:
    assert document["snapshot"]["complete"] is True
    return {(f["check"], f["subject"], f["status"], f["message"]) for f in document["findings"]}


def check_counts(document: dict[str, Any]) -> dict[str, tuple[str, int, int, int, int]]:
    return {
        c["id"]: (c["status"], c["failed"], c["passed"], c["errors"], c["waived"]) for c in document["checks"]
    }


def test_the_modern_sample_read_over_ldaps_gives_the_findings_of_its_ldif(runs: Runs) -> None:
    live, sample = findings(runs.live), findings(runs.sample)
    broken_offline = {f for f in sample if f[1] == BROKEN}
    assert {(c, s) for c, s, _, _ in broken_offline} == {("COEX-703", BROKEN), ("COEX-901", BROKEN)}
    assert all(status == "error" and "cannot be decoded" in msg for _, _, status, msg in broken_offline)
    # Live, Broken Import holds the DC's default descriptor (see the module docstring): it passes.
    assert not {f for f in live if f[1] == BROKEN}
    assert live == sample - broken_offline
    # Check by check, the same counts, but for Broken Import's error that is a pass live.
    live_counts, sample_counts = check_counts(runs.live), check_counts(runs.sample)
    for check in ("COEX-703", "COEX-901"):
        status, failed, passed, errors, waived = sample_counts.pop(check)
        assert (status, errors) == ("error", 1)
        assert live_counts.pop(check) == ("fail", failed, passed + 1, 0, waived)
    assert live_counts == sample_counts
    # The sample's deliberate mistakes, found live (auditor/sample_modern/README.md).
    failing = {(c, s.split(",")[0].removeprefix("CN=")) for c, s, status, _ in live if status == "fail"}
    assert {
        ("COEX-301", "fabrikam.example"),
        ("COEX-602", "northwind.example"),
        ("COEX-601", "lists.contoso.com"),
        ("COEX-703", "App Relay"),
        ("COEX-901", "App Relay"),
        ("COEX-703", "Scanner Relay"),
        ("COEX-703", "Legacy Trusted"),
        ("COEX-704", "Legacy Trusted"),
        ("COEX-705", "To POP01 Fabrikam"),
        ("COEX-405", "Carol Clark"),
        ("COEX-101", "Oscar Orphan"),
        ("COEX-904", "EX16"),
        # the Linux hosts beside the live directory (auditor/sample_modern/README.md)
        ("COEX-305", "northwindtraders.com"),
        ("COEX-303", "nancy@northwindtraders.com"),
        ("COEX-303", "partners.contoso.com"),
        ("COEX-301", "sales.contoso.com"),
        ("COEX-202", "erin@pop.contoso.com"),
        ("COEX-203", "LNX02"),
        ("COEX-204", "LNX02"),
        ("COEX-702", "LNX02"),
        ("COEX-705", "LNX02"),
    } <= failing
    # ... and LNX01's relay through EX16, taken by its own receive connector, is no finding (passes)
    judged = {(c, s.split(",")[0].removeprefix("CN=")) for c, s, _, _ in live}
    assert not {("COEX-702", "LNX01"), ("COEX-703", "Relay from LNX01"), ("COEX-705", "To LNX01")} & judged


def test_export_ldif_of_the_live_dc_reads_back_as_the_live_read(runs: Runs) -> None:
    assert findings(runs.exported) == findings(runs.live)
    assert check_counts(runs.exported) == check_counts(runs.live)
    # Same store: the product's own differ, keyed on objectGUID, finds no object and no finding changed.
    assert runs.diff["objects"] == {"added": [], "removed": [], "changed": []}
    assert runs.diff["findings"]["new"] == [] and runs.diff["findings"]["resolved"] == []
    assert {(f["check"], f["subject"]) for f in runs.diff["findings"]["persisting"]} == {
        (c, s) for c, s, _, _ in findings(runs.live)
    }


def _dns(paths: list[Path]) -> set[str]:
    found = set()
    for path in paths:
        text = decode_export_text(path, path.read_bytes())
        found |= {entry.dn.lower() for entry in parse_ldif(path, text, wanted={"objectclass"})}
    return found


def test_the_live_read_holds_the_sample_and_the_dcs_own_accounts(runs: Runs) -> None:
    exported = _dns([runs.work / "exported-domain.ldf", runs.work / "exported-configuration.ldf"])
    sample = _dns([SAMPLE / "modern-domain.ldf", SAMPLE / "modern-configuration.ldf"])
    # Every Samba DC has these users; without mail they give no finding.
    assert exported - sample == {
        f"cn={name},cn=users,dc=contoso,dc=com" for name in ("administrator", "guest", "krbtgt", "dns-dc1")
    }
    objects = {s["name"]: s["objects"] for s in runs.live["snapshot"]["sources"]}
    in_sample = {s["name"]: s["objects"] for s in runs.sample["snapshot"]["sources"]}
    assert objects["directory"] == len(exported)
    assert in_sample["directory"] == len(exported & sample)
    for host in POP3_HOSTS:
        assert objects[f"pop3:{host}"] == in_sample[f"pop3:{host}"] > 0


# Below: the two lab differences of the module docstring, shown on the DC itself.


def _sample_descriptors() -> dict[str, bytes]:
    """Receive connector DN (lower-case) -> the nTSecurityDescriptor bytes of the sample's LDIF."""
    path = SAMPLE / "modern-configuration.ldf"
    found = {}
    text = decode_export_text(path, path.read_bytes())
    binary = {"ntsecuritydescriptor"}
    for entry in parse_ldif(path, text, binary=binary, wanted=binary | {"objectclass"}):
        for name, values in entry.attributes.items():
            if name.lower() == "ntsecuritydescriptor":
                value = values[0]
                assert isinstance(value, bytes)
                found[entry.dn.lower()] = value
    return found


def _samba_decode(blobs: list[str]) -> list[dict[str, Any]]:
    import load_org  # deploy/lab: Samba's own NDR decoder, not auditor's

    decoded = load_org.samba_sd("decode", LAB_SID, blobs)
    return [item for item in decoded if isinstance(item, dict)]


@pytest.fixture(scope="module")
def live_connectors(modern_lab: Any) -> dict[str, ObjectRecord]:
    modern_lab.ensure_running()
    return {
        r.dn.lower(): r
        for r in LdapSource(modern_lab.settings, tables=MODERN_TABLES).collect()
        if r.kind == RECEIVE_CONNECTOR
    }


def test_samba_refuses_the_cut_short_descriptor(modern_lab: Any) -> None:
    cut_short = _sample_descriptors()[BROKEN.lower()]
    assert len(cut_short) == CUT_SHORT_AT
    settings = modern_lab.settings
    tls = ldap3.Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=settings.ca_file)
    server = ldap3.Server("127.0.0.1", port=636, use_ssl=True, tls=tls, get_info=ldap3.NONE)
    conn = ldap3.Connection(
        server, settings.bind_dn, settings.password, auto_bind=True, raise_exceptions=False
    )
    probe = f"CN=Cut Short Probe,{make_sample_modern.RECEIVE}"
    added = False
    try:
        added = conn.add(
            probe,
            attributes={
                "objectClass": ["top", "msExchSmtpReceiveConnector"],
                "nTSecurityDescriptor": cut_short,
            },
        )
        answer = dict(conn.result)
        assert not conn.search(probe, "(objectClass=*)", ldap3.BASE, attributes=["1.1"])
    finally:
        if added:
            conn.delete(probe)
        conn.unbind()
    assert not added
    assert answer["description"] == "operationsError" and "descriptor" in answer["message"], answer


def test_broken_import_holds_the_dcs_default_descriptor(live_connectors: dict[str, ObjectRecord]) -> None:
    (samba,) = _samba_decode([live_connectors[BROKEN.lower()].attributes["nTSecurityDescriptor"][0]])
    assert samba["dacl"], samba
    assert all(ace["flags"] & INHERITED for ace in samba["dacl"]), samba["sddl"]
    unauthenticated = {ANONYMOUS_LOGON, EVERYONE, EXTERNALLY_SECURED_SERVERS, AUTHENTICATED_USERS}
    assert not {ace["sid"] for ace in samba["dacl"]} & unauthenticated, samba["sddl"]


def test_samba_keeps_the_sample_aces_and_appends_inherited_ones(
    live_connectors: dict[str, ObjectRecord],
) -> None:
    sample = _sample_descriptors()
    names = sorted(dn for dn in sample if dn != BROKEN.lower())
    assert set(live_connectors) == set(sample) and len(names) == 8
    given = _samba_decode([base64.b64encode(sample[dn]).decode() for dn in names])
    read = _samba_decode([live_connectors[dn].attributes["nTSecurityDescriptor"][0] for dn in names])
    for dn, theirs, live in zip(names, given, read, strict=True):
        explicit = [ace for ace in live["dacl"] if not ace["flags"] & INHERITED]
        inherited = live["dacl"][len(explicit) :]
        assert explicit == theirs["dacl"], dn
        assert inherited and all(ace["flags"] & INHERITED for ace in inherited), dn
        # What the parents pass down: full control for Enterprise Admins (-519) and Domain Admins (-512).
        trustees = {ace["sid"] for ace in inherited}
        assert all(sid.startswith("S-1-5-21-") for sid in trustees), trustees
        assert {sid.rsplit("-", 1)[1] for sid in trustees} == {"512", "519"}, trustees


def _without_inherited(descriptor: SecurityDescriptor) -> SecurityDescriptor:
    assert descriptor.dacl is not None
    aces = tuple(ace for ace in descriptor.dacl.aces if not ace.inherited)
    return dataclasses.replace(descriptor, dacl=dataclasses.replace(descriptor.dacl, aces=aces))


def test_no_relay_verdict_depends_on_the_inherited_aces(live_connectors: dict[str, ObjectRecord]) -> None:
    for dn, record in live_connectors.items():
        descriptor = decode_descriptor_value(record.attributes["nTSecurityDescriptor"][0])
        assert isinstance(descriptor, SecurityDescriptor), dn
        stripped = _without_inherited(descriptor)
        assert stripped != descriptor, dn
        flags = parse_int(record.first("msExchSMTPReceiveInboundSecurityFlag"))
        for principals in (unauthenticated_principals(flags), {AUTHENTICATED_USERS}):
            assert relay(descriptor, principals) == relay(stripped, principals), (dn, principals)
