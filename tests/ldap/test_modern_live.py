"""Exchange 2007+ objects read from the Samba AD DC lab with the 2007+ tables: receive connector
descriptors read back over LDAPS (as Administrator and as an ordinary account, with the SD-flags
control), decoded ACEs equal to what the SDDL said (Samba packed them), relay verdicts, versions,
and live vs export-LDIF parity value for value, descriptors included."""

from __future__ import annotations

import base64
import dataclasses
import ssl
from pathlib import Path
from typing import Any

import ldap3
import pytest
from ldap3.protocol.microsoft import security_descriptor_control

from auditor.collect.ldif import decode_export_text, parse_ldif
from auditor.families.exchange.descriptor import SecurityDescriptor, decode_descriptor_value
from auditor.families.exchange.flags import parse_int
from auditor.families.exchange.ipranges import parse_binding, read_remote_ip_ranges
from auditor.families.exchange.ldap import LdapSource
from auditor.families.exchange.ldif_export import export_ldif
from auditor.families.exchange.modern import (
    MAILBOX_DATABASE,
    MODERN_READ_ATTRIBUTES,
    MODERN_TABLES,
    RECEIVE_CONNECTOR,
    SEND_CONNECTOR,
    modern_record_from_entry,
)
from auditor.families.exchange.permissions import AUTHENTICATED_USERS, relay, unauthenticated_principals
from auditor.families.exchange.versions import ExchangeVersion, Generation, server_version
from auditor.records import ObjectRecord

from .conftest import DATA, SERVICE_DN, SERVICE_PASSWORD

pytestmark = pytest.mark.samba

LAB_SID = "S-1-5-21-0-0-0"  # only for Samba's SDDL rendering; the fixtures use no domain-relative alias
RECEIVE_CONNECTORS = (
    "CN=SMTP Receive Connectors,CN=Protocols,CN=EX16,CN=Servers,"
    "CN=Exchange Administrative Group (FYDIBOHF23SPDLT),CN=Administrative Groups,"
    "CN=Lab,CN=Microsoft Exchange,CN=Services,CN=Configuration,DC=contoso,DC=com"
)


def _samba_sd(command: str, items: list[str]) -> list[Any]:
    import load_org  # deploy/lab, on sys.path through tests/ldap/conftest.py

    return load_org.samba_sd(command, LAB_SID, items)


def _by_key(records: Any) -> dict[str, ObjectRecord]:
    found: dict[str, ObjectRecord] = {}
    for record in records:
        assert record.key not in found
        found[record.key] = record
    return found


def _lab_sddl() -> dict[str, str]:
    """DN (lower-case) -> the SDDL modern.ldf gives it (what load_org had Samba pack)."""
    path = DATA / "modern.ldf"
    found = {}
    for entry in parse_ldif(path, decode_export_text(path, path.read_bytes()), binary=MODERN_TABLES.binary):
        for name, values in entry.attributes.items():
            if name.lower() == "auditorlabsddl":
                found[entry.dn.lower()] = str(values[0])
    return found


def _aces(descriptor: SecurityDescriptor, *, inherited: bool | None = None) -> list[dict[str, Any]]:
    assert descriptor.dacl is not None
    return [
        {
            "type": ace.type,
            "flags": ace.flags,
            "mask": ace.mask,
            "sid": ace.sid,
            "object_type": ace.object_type,
            "inherited_object_type": ace.inherited_object_type,
        }
        for ace in descriptor.dacl.aces
        if inherited is None or ace.inherited == inherited
    ]


def _descriptor(record: ObjectRecord) -> SecurityDescriptor:
    decoded = decode_descriptor_value(record.attributes["nTSecurityDescriptor"][0])
    assert isinstance(decoded, SecurityDescriptor), decoded
    return decoded


@pytest.fixture(scope="module")
def modern(samba_lab: Any) -> dict[str, ObjectRecord]:
    samba_lab.ensure_running()
    return _by_key(LdapSource(samba_lab.settings, tables=MODERN_TABLES).collect())


@pytest.fixture(scope="module")
def connectors(modern: dict[str, ObjectRecord]) -> dict[str, ObjectRecord]:
    return {r.first("cn") or "": r for r in modern.values() if r.kind == RECEIVE_CONNECTOR}


def test_every_receive_connector_is_read_with_its_descriptor(connectors: dict[str, ObjectRecord]) -> None:
    expected = {dn for dn in _lab_sddl() if dn.endswith("," + RECEIVE_CONNECTORS.lower())}
    assert {r.dn.lower() for r in connectors.values()} == expected and len(expected) == 7
    for record in connectors.values():
        descriptor = _descriptor(record)
        # SD-flags 0x04: the DACL only, no owner, group or SACL.
        assert (descriptor.owner, descriptor.group, descriptor.sacl) == (None, None, None)


def test_explicit_aces_are_what_the_sddl_said(connectors: dict[str, ObjectRecord]) -> None:
    sddl = _lab_sddl()
    names = sorted(connectors)
    packed = _samba_sd("encode", [sddl[connectors[n].dn.lower()] for n in names])
    as_written = _samba_sd("decode", packed)
    for name, written in zip(names, as_written, strict=True):
        descriptor = _descriptor(connectors[name])
        assert _aces(descriptor, inherited=False) == written["dacl"], name
        # Samba adds what the parents pass down, marked inherited and after the explicit ACEs.
        assert _aces(descriptor, inherited=True), name


def test_the_whole_dacl_as_read_is_what_samba_decodes(connectors: dict[str, ObjectRecord]) -> None:
    names = sorted(connectors)
    samba = _samba_sd("decode", [connectors[n].attributes["nTSecurityDescriptor"][0] for n in names])
    for name, theirs in zip(names, samba, strict=True):
        assert _aces(_descriptor(connectors[name])) == theirs["dacl"], name


def test_relay_verdicts_on_the_live_descriptors(connectors: dict[str, ObjectRecord]) -> None:
    verdicts = {}
    for name, record in connectors.items():
        principals = unauthenticated_principals(
            parse_int(record.first("msExchSMTPReceiveInboundSecurityFlag"))
        )
        verdicts[name] = relay(_descriptor(record), principals)
    assert {name: v.status for name, v in verdicts.items()} == {
        "Relay from LNX01": "granted",
        "App Relay": "granted",
        "Trusted": "granted",  # ExternalAuthoritative: Externally Secured Servers hold the right
        "Client Frontend EX16": "not-granted",
        "Denied Relay": "not-granted",  # the deny cancels the grant
        "Everyone Relay": "granted",
        "Out Of Order": "error",  # Samba keeps the order it was given: allow before deny
    }
    assert verdicts["Everyone Relay"].through_everyone
    assert "cancelled" in verdicts["Denied Relay"].reason
    assert relay(_descriptor(connectors["Client Frontend EX16"]), {AUTHENTICATED_USERS}).granted


def test_addresses_of_the_live_connectors(connectors: dict[str, ObjectRecord]) -> None:
    def ranges(name: str) -> list[Any]:
        return read_remote_ip_ranges(connectors[name].values("msExchSmtpReceiveRemoteIPRanges"))

    (app,) = ranges("App Relay")
    assert app.form == "cidr" and app.wider_than() and app.contains("10.0.0.25")
    (lnx,) = ranges("Relay from LNX01")
    assert lnx.size == 1 and app.contains_interval(lnx)
    assert [r.form for r in ranges("Denied Relay")] == ["netmask", "range"]
    assert [(r.form, r.version) for r in ranges("Everyone Relay")] == [("cidr", 6), ("single", 6)]
    assert [str(r) for r in ranges("Client Frontend EX16")] == [
        "0.0.0.0-255.255.255.255",
        "::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
    ]
    bindings = [
        parse_binding(b) for b in connectors["Client Frontend EX16"].values("msExchSmtpReceiveBindings")
    ]
    assert [(b.is_any, b.version, b.port) for b in bindings] == [(True, 4, 587), (True, 6, 587)]


def test_an_ordinary_account_reads_the_same_dacls_with_the_sd_flags_control(
    samba_lab: Any, connectors: dict[str, ObjectRecord]
) -> None:
    service = dataclasses.replace(samba_lab.settings, bind_dn=SERVICE_DN, password=SERVICE_PASSWORD)
    read = {
        r.first("cn"): r
        for r in LdapSource(service, tables=MODERN_TABLES).collect()
        if r.kind == RECEIVE_CONNECTOR
    }
    assert {name: r.attributes for name, r in read.items()} == {
        name: r.attributes for name, r in connectors.items()
    }


def _raw_descriptors(samba_lab: Any, bind_dn: str, password: str, controls: Any) -> dict[str, list[bytes]]:
    tls = ldap3.Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=samba_lab.settings.ca_file)
    server = ldap3.Server("127.0.0.1", port=636, use_ssl=True, tls=tls, get_info=ldap3.NONE)
    conn = ldap3.Connection(
        server, bind_dn, password, auto_bind=True, check_names=False, raise_exceptions=False
    )
    try:
        conn.search(
            RECEIVE_CONNECTORS,
            "(objectClass=msExchSmtpReceiveConnector)",
            attributes=["cn", "nTSecurityDescriptor"],
            controls=controls,
        )
        assert conn.result["description"] == "success", conn.result
        return {
            item["raw_attributes"]["cn"][0].decode(): item["raw_attributes"].get("nTSecurityDescriptor", [])
            for item in conn.response or []
            if item.get("type") == "searchResEntry"
        }
    finally:
        conn.unbind()


def test_what_the_control_changes(samba_lab: Any, connectors: dict[str, ObjectRecord]) -> None:
    """Without the control an admin gets owner, group and DACL, and an ordinary account gets no
    descriptor at all (the server will not hand it the SACL part); with it both get the DACL alone,
    the form auditor stores."""
    admin = (samba_lab.settings.bind_dn, samba_lab.settings.password)
    stored = {name: r.attributes["nTSecurityDescriptor"][0] for name, r in connectors.items()}
    for bind_dn, password in (admin, (SERVICE_DN, SERVICE_PASSWORD)):
        with_control = _raw_descriptors(samba_lab, bind_dn, password, security_descriptor_control(sdflags=4))
        assert {name: base64.b64encode(v[0]).decode() for name, v in with_control.items()} == stored
    as_admin = _raw_descriptors(samba_lab, *admin, None)
    assert set(as_admin) == set(stored)
    for name, values in as_admin.items():
        decoded = decode_descriptor_value(values[0])
        assert isinstance(decoded, SecurityDescriptor) and decoded.owner == "S-1-5-32-544", name
        assert _aces(decoded) == _aces(_descriptor(connectors[name])), name
    as_service = _raw_descriptors(samba_lab, SERVICE_DN, SERVICE_PASSWORD, None)
    assert as_service == {name: [] for name in stored}


def test_2007_kinds_versions_and_generations(modern: dict[str, ObjectRecord]) -> None:
    kinds: dict[str, set[str]] = {}
    for record in modern.values():
        kinds.setdefault(record.kind, set()).add(record.first("cn") or "")
    assert kinds[SEND_CONNECTOR] == {"To LNX01", "Internet", "Old Partner"}
    assert kinds[MAILBOX_DATABASE] == {"DB01"}
    assert "To POP01" in kinds["smtp_connector"] and "Mailbox Store (LAB01)" in kinds["mailbox_store"]
    generations = {}
    for record in modern.values():
        if record.kind == "exchange_server":
            version = server_version(record.values("serialNumber"), record.first("versionNumber"))
            if isinstance(version, ExchangeVersion):
                generations[record.first("cn")] = version.generation
    assert generations["EX16"] is Generation.EXCHANGE_2016
    assert generations["SE01"] is Generation.SUBSCRIPTION_EDITION
    frank = next(r for r in modern.values() if r.first("cn") == "Frank Mailuser")
    assert frank.attributes["msExchRecipientTypeDetails"] == ("128",)
    assert frank.attributes["msExchRecipientDisplayType"] == ("6",)


def _read_export(paths: list[Path]) -> dict[str, ObjectRecord]:
    records = []
    for path in paths:
        text = decode_export_text(path, path.read_bytes())
        for entry in parse_ldif(path, text, binary=MODERN_TABLES.binary, wanted=MODERN_READ_ATTRIBUTES):
            record = modern_record_from_entry(entry.dn, entry.attributes)
            if record is not None:
                records.append(record)
    return _by_key(records)


def test_export_ldif_reads_back_value_for_value(
    samba_lab: Any, modern: dict[str, ObjectRecord], tmp_path: Path
) -> None:
    samba_lab.ensure_running()
    domain, configuration = tmp_path / "domain.ldf", tmp_path / "configuration.ldf"
    export_ldif(samba_lab.settings, domain, configuration, tables=MODERN_TABLES)
    assert b"\r\nnTSecurityDescriptor:: " in configuration.read_bytes()
    assert _read_export([domain, configuration]) == modern
