"""Add the Exchange attributes and classes auditor reads to a Samba AD DC's schema, over LDAP.

Samba ships no Exchange schema. This defines what `auditor.records.COLLECTED_ATTRIBUTES` and the
2007+ tables (`auditor.families.exchange.modern`) need that the base AD schema lacks (Exchange names
and syntaxes, binary ones as octet strings) and the classes the Exchange configuration tree uses
(2003, and 2007 to Subscription Edition: send connectors, receive connectors, databases under
`CN=Databases`), so that ldifde exports of such organizations load as they are. Lab only: the OIDs are from the RFC 5612 documentation arc, not
Exchange's; the classes are deliberately permissive (any parent, any Exchange attribute).

Idempotent: names that already exist are skipped. Needs `dsdb:schema update allowed = true`.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import ldap3

sys.path.insert(0, str(Path(__file__).resolve().parent))
from labconn import add_connection_arguments, connect

ARC = "1.3.6.1.4.1.32473.1"
STRING, DN, OCTET, BOOLEAN, INTEGER, LARGE = "string", "dn", "octet", "boolean", "integer", "large"
_SYNTAX = {
    STRING: ("2.5.5.12", "64"),
    DN: ("2.5.5.1", "127"),
    OCTET: ("2.5.5.10", "4"),
    BOOLEAN: ("2.5.5.8", "1"),
    INTEGER: ("2.5.5.9", "2"),
    LARGE: ("2.5.5.16", "65"),
}
# BER of 1.3.12.2.1011.28.0.714, the oMObjectClass every DN-syntax attribute carries.
_DN_OM_OBJECT_CLASS = bytes.fromhex("2b0c0287731c00854a")

# (lDAPDisplayName, syntax, single-valued)
ATTRIBUTES: tuple[tuple[str, str, bool], ...] = (
    # recipients
    ("mailNickname", STRING, True),
    ("targetAddress", STRING, True),
    ("homeMDB", DN, True),
    ("homeMTA", DN, True),
    ("msExchHomeServerName", STRING, True),
    ("msExchMailboxGuid", OCTET, True),
    ("msExchHideFromAddressLists", BOOLEAN, True),
    ("msExchPoliciesIncluded", STRING, False),
    ("msExchPoliciesExcluded", STRING, False),
    ("msExchRecipientTypeDetails", LARGE, True),
    ("msExchRecipientDisplayType", INTEGER, True),
    ("protocolSettings", STRING, False),
    ("internetEncoding", INTEGER, True),
    ("msExchMasterAccountSid", OCTET, True),
    # recipient policies, accepted domains
    ("gatewayProxy", STRING, False),
    ("disabledGatewayProxy", STRING, False),
    ("msExchNonAuthoritativeDomains", STRING, False),
    ("msExchPolicyOrder", INTEGER, True),
    ("msExchPolicyOptionList", OCTET, False),
    ("msExchPolicyEnabled", BOOLEAN, True),
    ("msExchAcceptedDomainName", STRING, True),
    ("msExchAcceptedDomainFlags", INTEGER, True),
    # SMTP connectors
    ("routingList", STRING, False),
    ("msExchSmtpSmartHost", STRING, True),
    ("msExchSourceBridgeheadServersDN", DN, False),
    ("msExchSmtpOutboundSecurityFlag", INTEGER, True),
    ("deliveryMechanism", INTEGER, True),
    # SMTP virtual servers
    ("msExchServerBindings", STRING, False),
    ("msExchSecureBindings", STRING, False),
    ("msExchAuthenticationFlags", INTEGER, True),
    ("msExchNTAuthenticationProviders", STRING, True),
    ("msExchSmtpRelayForAuth", BOOLEAN, True),
    ("msExchSmtpRelayIpList", OCTET, False),
    ("msExchIPSecurity", OCTET, True),
    ("msExchSmtpSmartHostType", INTEGER, True),
    ("msExchSmtpFullyQualifiedDomainName", STRING, True),
    ("msExchAccessSSLFlags", INTEGER, True),
    ("msExchServerAutoStart", BOOLEAN, True),
    ("msExchSmtpMaxMessageSize", INTEGER, True),
    # servers
    ("msExchCurrentServerRoles", INTEGER, True),
    # 2007+ (appended: the OIDs above are positional and must not move)
    ("msExchRemoteRecipientType", LARGE, True),
    ("msExchVersion", LARGE, True),
    ("msExchCatchAllRecipientLink", DN, True),
    ("msExchQueryFilter", STRING, True),
    ("msExchRecipientFilterFlags", INTEGER, True),
    ("msExchSearchBase", DN, True),
    ("msExchServerSite", DN, True),
    ("msExchSmtpSendPort", INTEGER, True),
    ("msExchSmtpSendEnabled", BOOLEAN, True),
    ("msExchSMTPSendConnectorFQDN", STRING, True),
    ("msExchSmtpSendBindingIPAddress", STRING, True),
    ("msExchSmtpSendTlsDomain", STRING, True),
    ("msExchSmtpSendFlags", INTEGER, True),
    ("msExchSmtpReceiveBindings", STRING, False),
    ("msExchSmtpReceiveRemoteIPRanges", STRING, False),
    ("msExchSMTPReceiveInboundSecurityFlag", INTEGER, True),
    ("msExchSmtpReceiveRole", INTEGER, True),
    ("msExchSmtpReceiveEnabled", BOOLEAN, True),
    ("msExchSMTPReceiveConnectorFQDN", STRING, True),
    ("msExchSmtpReceiveProtocolRestrictions", INTEGER, True),
    ("msExchSmtpReceiveProtocolOptions", INTEGER, True),
    ("msExchSmtpReceiveMaxMessageSize", INTEGER, True),
    ("msExchSmtpReceiveMaxRecipientsPerMessage", INTEGER, True),
    ("msExchSMTPReceiveDefaultAcceptedDomainLink", DN, True),
    ("msExchOwningServer", DN, True),
    # query-based distribution groups
    ("msExchDynamicDLFilter", STRING, True),
    ("msExchDynamicDLBaseDN", DN, True),
)
_EXCHANGE_ATTRIBUTES = tuple(name for name, _, _ in ATTRIBUTES)
_RECIPIENT_ATTRIBUTES = (*_EXCHANGE_ATTRIBUTES[:14], "msExchRemoteRecipientType", "msExchVersion")
_CONFIG_MAY_CONTAIN = (
    *(name for name in _EXCHANGE_ATTRIBUTES[14:] if name != "msExchRemoteRecipientType"),
    "legacyExchangeDN",
    "networkAddress",
    "serialNumber",
    "versionNumber",
    "homeMTA",
    "purportedSearch",
    "adminDisplayName",
    "displayName",
)

# (lDAPDisplayName, subClassOf), in the order they must be added (superclass first). Chains follow
# Exchange (connector: top > msExchConnector > mailGateway > msExchRoutingSMTPConnector; virtual
# server: top > protocolCfg > protocolCfgSMTP > protocolCfgSMTPServer; store: msExchMDB > msExchPrivateMDB;
# policy: msExchGenericPolicy > msExchRecipientPolicy).
CLASSES: tuple[tuple[str, str], ...] = (
    ("msExchContainer", "container"),
    ("msExchOrganizationContainer", "top"),
    ("msExchAdminGroupContainer", "top"),
    ("msExchAdminGroup", "top"),
    ("msExchRoutingGroupContainer", "top"),
    ("msExchRoutingGroup", "top"),
    ("msExchConnectors", "top"),
    ("msExchServersContainer", "top"),
    ("msExchExchangeServer", "server"),
    ("msExchProtocolCfgProtocolContainer", "top"),
    ("msExchProtocolCfgSMTPContainer", "top"),
    ("msExchRecipientPolicyContainer", "top"),
    ("msExchGenericPolicy", "top"),
    ("msExchRecipientPolicy", "msExchGenericPolicy"),
    ("msExchConnector", "top"),
    ("mailGateway", "msExchConnector"),
    ("msExchRoutingSMTPConnector", "mailGateway"),
    ("protocolCfg", "top"),
    ("protocolCfgSMTP", "protocolCfg"),
    ("protocolCfgSMTPServer", "protocolCfgSMTP"),
    ("msExchInformationStore", "top"),
    ("msExchStorageGroup", "top"),
    ("msExchMDB", "top"),
    ("msExchPrivateMDB", "msExchMDB"),
    ("msExchPublicMDB", "msExchMDB"),
    ("msExchTransportSettings", "top"),
    ("msExchAcceptedDomain", "top"),
    ("mTA", "top"),
    ("addressBookContainer", "top"),
    # 2007+
    ("msExchSmtpReceiveConnector", "top"),
    ("msExchMDBContainer", "top"),
    # Recipients that are neither users nor contacts: they carry mailRecipient like groups do.
    ("publicFolder", "top"),
    ("msExchDynamicDistributionList", "top"),
)
RECIPIENT_CLASSES = ("publicFolder", "msExchDynamicDistributionList")

BASE_CLASSES_ANYWHERE = ("addressBookContainer", "mTA", "container", "server", "msExchConfigurationContainer")


def _existing(conn: ldap3.Connection, schema_dn: str, names: tuple[str, ...]) -> set[str]:
    found: set[str] = set()
    wanted = "".join(f"(lDAPDisplayName={name})" for name in names)
    conn.search(schema_dn, f"(|{wanted})", ldap3.LEVEL, attributes=["lDAPDisplayName"])
    for entry in conn.response or []:
        if entry.get("type") == "searchResEntry":
            found.update(v.decode() for v in entry["raw_attributes"].get("lDAPDisplayName", []))
    return found & set(names)


def _update_now(conn: ldap3.Connection) -> None:
    if not conn.modify("", {"schemaUpdateNow": [(ldap3.MODIFY_ADD, ["1"])]}):
        raise SystemExit(f"schemaUpdateNow failed: {conn.result}")


def _check(conn: ldap3.Connection, ok: bool, what: str) -> None:
    if not ok:
        raise SystemExit(f"{what}: {conn.result.get('description')} {conn.result.get('message')}")


def extend(conn: ldap3.Connection, schema_dn: str) -> tuple[int, int]:
    """Add what is missing; returns (attributes added, classes added)."""
    existing = _existing(conn, schema_dn, _EXCHANGE_ATTRIBUTES + tuple(n for n, _ in CLASSES))
    added_attributes = 0
    for index, (name, syntax, single) in enumerate(ATTRIBUTES, start=1):
        if name in existing:
            continue
        attribute_syntax, om_syntax = _SYNTAX[syntax]
        values: dict[str, object] = {
            "objectClass": ["top", "attributeSchema"],
            "attributeID": f"{ARC}.1.{index}",
            "lDAPDisplayName": name,
            "attributeSyntax": attribute_syntax,
            "oMSyntax": om_syntax,
            "isSingleValued": "TRUE" if single else "FALSE",
            "searchFlags": "1" if name in ("mailNickname", "msExchAcceptedDomainName") else "0",
        }
        if syntax == DN:
            values["oMObjectClass"] = _DN_OM_OBJECT_CLASS
        _check(conn, conn.add(f"CN={name},{schema_dn}", attributes=values), f"add attribute {name}")
        added_attributes += 1
    _update_now(conn)

    added_classes = 0
    for index, (name, superclass) in enumerate(CLASSES, start=1):
        if name in existing:
            continue
        values = {
            "objectClass": ["top", "classSchema"],
            "governsID": f"{ARC}.2.{index}",
            "lDAPDisplayName": name,
            "subClassOf": superclass,
            "objectClassCategory": "1",
            "possSuperiors": ["top"],
            "rDNAttID": "cn",
            "mayContain": list(_CONFIG_MAY_CONTAIN),
        }
        if name in RECIPIENT_CLASSES:
            values["auxiliaryClass"] = ["mailRecipient"]
            values["mayContain"] = [*_CONFIG_MAY_CONTAIN, "mail"]
        _check(conn, conn.add(f"CN={name},{schema_dn}", attributes=values), f"add class {name}")
        added_classes += 1
    _update_now(conn)

    # Base classes that appear inside the Exchange tree may sit under any parent here too.
    for name in BASE_CLASSES_ANYWHERE:
        conn.search(schema_dn, f"(lDAPDisplayName={name})", ldap3.LEVEL, attributes=["possSuperiors"])
        found = [e for e in conn.response or [] if e.get("type") == "searchResEntry"]
        if not found:
            continue
        superiors = {v.decode().lower() for v in found[0]["raw_attributes"].get("possSuperiors", [])}
        if "top" not in superiors:
            changes = {"possSuperiors": [(ldap3.MODIFY_ADD, ["top"])]}
            _check(conn, conn.modify(found[0]["dn"], changes), f"allow {name} under any parent")
    _update_now(conn)

    # Exchange puts its recipient attributes on the mailRecipient auxiliary class, which both user
    # and contact carry: entries then keep their plain objectClass values.
    mail_recipient = f"CN=Mail-Recipient,{schema_dn}"
    conn.search(mail_recipient, "(objectClass=*)", ldap3.BASE, attributes=["mayContain"])
    have = {
        v.decode().lower()
        for e in conn.response or []
        for v in e.get("raw_attributes", {}).get("mayContain", [])
    }
    missing = [name for name in _RECIPIENT_ATTRIBUTES if name.lower() not in have]
    if missing:
        _check(
            conn,
            conn.modify(mail_recipient, {"mayContain": [(ldap3.MODIFY_ADD, missing)]}),
            "extend mailRecipient",
        )
        _update_now(conn)
    return added_attributes, added_classes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_connection_arguments(parser)
    args = parser.parse_args()
    started = time.monotonic()
    conn = connect(args)
    conn.search("", "(objectClass=*)", ldap3.BASE, attributes=["schemaNamingContext"])
    schema_dn = conn.response[0]["raw_attributes"]["schemaNamingContext"][0].decode()
    attributes, classes = extend(conn, schema_dn)
    conn.unbind()
    print(
        f"exchange_schema: {attributes} attributes, {classes} classes added in {time.monotonic() - started:.1f} s"
    )


if __name__ == "__main__":
    main()
