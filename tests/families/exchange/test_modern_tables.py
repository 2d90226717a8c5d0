"""The 2007+ collection tables on the lab fixtures' LDIF: kinds (2003 and 2007+ side by side in a
migration forest), the attributes each kind keeps, value encodings, and the LDAP read lists."""

from __future__ import annotations

import base64
from pathlib import Path

from auditor.collect.ldif import decode_export_text, parse_ldif
from auditor.families.exchange.ldap import DEFAULT_TABLES
from auditor.families.exchange.modern import (
    MAILBOX_DATABASE,
    MODERN_BINARY_ATTRIBUTES,
    MODERN_COLLECTED_ATTRIBUTES,
    MODERN_READ_ATTRIBUTES,
    MODERN_TABLES,
    RECEIVE_CONNECTOR,
    SEND_CONNECTOR,
    kept_attributes,
    modern_kind,
    modern_record_from_entry,
)
from auditor.records import ObjectRecord

DATA = Path(__file__).resolve().parents[2] / "ldap" / "data"


def _records(*names: str) -> dict[str, ObjectRecord]:
    records: dict[str, ObjectRecord] = {}
    for name in names:
        path = DATA / name
        for entry in parse_ldif(
            path, decode_export_text(path, path.read_bytes()), binary=MODERN_TABLES.binary
        ):
            record = modern_record_from_entry(entry.dn, entry.attributes)
            if record is not None:
                records[record.dn.split(",", 1)[0].removeprefix("CN=").removeprefix("OU=")] = record
    return records


def test_kinds_in_a_migration_forest() -> None:
    records = _records("org.ldf", "modern.ldf")
    kinds = {name: record.kind for name, record in records.items()}
    assert {n for n, k in kinds.items() if k == RECEIVE_CONNECTOR} == {
        "Relay from LNX01",
        "App Relay",
        "Trusted",
        "Client Frontend EX16",
        "Denied Relay",
        "Everyone Relay",
        "Out Of Order",
    }
    assert {n for n, k in kinds.items() if k == SEND_CONNECTOR} == {"To LNX01", "Internet", "Old Partner"}
    assert kinds["To POP01"] == "smtp_connector"  # the 2003 connector stays 2003
    assert kinds["DB01"] == MAILBOX_DATABASE
    assert kinds["Mailbox Store (LAB01)"] == "mailbox_store"
    assert kinds["EX16"] == kinds["LAB01"] == "exchange_server"
    assert kinds["pop.contoso.com"] == "accepted_domain"
    assert kinds["Modern Policy"] == "recipient_policy"
    assert kinds["Gina Remote"] == "user" and kinds["Ivy Contact"] == "contact"


def test_modern_send_connector_signals() -> None:
    modern_group = "CN=X,CN=Connections,CN=Exchange Routing Group (DWBGZMFD01QNBJR),CN=Routing Groups,CN=AG"
    legacy_group = "CN=X,CN=Connections,CN=First Routing Group,CN=Routing Groups,CN=AG"
    classes = ["top", "mailGateway", "msExchRoutingSMTPConnector"]
    assert modern_kind(modern_group, classes) == SEND_CONNECTOR
    assert modern_kind(legacy_group, classes) == "smtp_connector"
    assert modern_kind(legacy_group, classes, ["msExchVersion"]) == SEND_CONNECTOR
    assert modern_kind(legacy_group, classes, ["msExchSmtpSendPort;binary"]) == SEND_CONNECTOR
    store = "CN=DB,CN=First Storage Group,CN=InformationStore,CN=S,CN=Servers,CN=AG"
    assert modern_kind(store, ["msExchMDB", "msExchPrivateMDB"]) == "mailbox_store"
    assert modern_kind("CN=Databases,CN=AG", ["msExchMDBContainer"]) is None


def test_values_kept_and_encoded() -> None:
    records = _records("org.ldf", "modern.ldf")
    frank = records["Frank Mailuser"].attributes
    assert frank["msExchRecipientTypeDetails"] == ("128",) and frank["msExchRecipientDisplayType"] == ("6",)
    assert frank["msExchVersion"] == ("88218628259840",)
    gina = records["Gina Remote"].attributes
    assert gina["msExchRemoteRecipientType"] == ("4",) and gina["msExchRecipientDisplayType"] == (
        "-2147483642",
    )
    ex16 = records["EX16"].attributes
    assert ex16["versionNumber"] == ("1942063563",) and ex16["serialNumber"] == (
        "Version 15.1 (Build 32507.006)",
    )
    old = records["Old Partner"].attributes
    assert old["msExchSmtpSendEnabled"] == ("FALSE",) and old["routingList"] == ("smtp:*.partner.example;10",)
    client = records["Client Frontend EX16"].attributes
    assert client["msExchSmtpReceiveBindings"] == ("0.0.0.0:587", "[::]:587")
    assert "auditorLabSDDL" not in client  # a lab-only attribute is never kept
    assert records["Modern Policy"].attributes["msExchQueryFilter"] == ("((RecipientType -eq 'MailUser'))",)
    assert records["DB01"].attributes["msExchOwningServer"][0].startswith("CN=EX16,CN=Servers,")


def test_descriptor_is_kept_as_base64_of_the_bytes() -> None:
    blob = bytes(range(40))
    record = modern_record_from_entry(
        "CN=R,CN=SMTP Receive Connectors,CN=Protocols,CN=EX16",
        {"objectClass": ["top", "msExchSmtpReceiveConnector"], "NTSECURITYDESCRIPTOR": [blob]},
    )
    assert record is not None and record.kind == RECEIVE_CONNECTOR and record.key.startswith("dn:")
    assert base64.b64decode(record.attributes["nTSecurityDescriptor"][0]) == blob


def test_read_lists() -> None:
    assert "ntsecuritydescriptor" in MODERN_TABLES.binary and "ntsecuritydescriptor" in MODERN_READ_ATTRIBUTES
    assert set(MODERN_COLLECTED_ATTRIBUTES[RECEIVE_CONNECTOR]) >= MODERN_BINARY_ATTRIBUTES
    assert MODERN_TABLES.asks_for_descriptor(MODERN_TABLES.configuration_attributes)
    assert DEFAULT_TABLES is MODERN_TABLES, "every read collects the 2007+ tables"
    assert "(objectClass=msExchSmtpReceiveConnector)" in MODERN_TABLES.configuration_filter
    assert MODERN_TABLES.recipient_filter == DEFAULT_TABLES.recipient_filter
    for name in ("msExchRecipientTypeDetails", "msExchRecipientDisplayType", "msExchVersion", "objectGUID"):
        assert name in MODERN_TABLES.recipient_attributes
    # Everything the 2003 tables read, the 2007+ tables read too.
    assert set(DEFAULT_TABLES.configuration_attributes) <= set(MODERN_TABLES.configuration_attributes)
    assert set(DEFAULT_TABLES.recipient_attributes) <= set(MODERN_TABLES.recipient_attributes)
    assert set(kept_attributes("smtp_connector")) <= set(MODERN_TABLES.configuration_attributes)
    everything = " ".join(MODERN_TABLES.configuration_attributes + MODERN_TABLES.recipient_attributes).lower()
    assert "password" not in everything
