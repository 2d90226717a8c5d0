"""Collection tables for Exchange 2007 and later: new kinds, the attributes each keeps, and the
2007+ attributes of the kinds the 2003 tables already have.

New kinds (research modern-model §5.3):

| kind | objects | why it is its own kind |
| --- | --- | --- |
| `send_connector` | `msExchRoutingSMTPConnector` that is 2007+ (below) | same class as a 2003 SMTP connector, other routing rules |
| `receive_connector` | `msExchSmtpReceiveConnector` | with its `nTSecurityDescriptor` (base64): who may relay |
| `mailbox_database` | `msExchPrivateMDB` under `CN=Databases` (2010+) | org-level, no longer under a server |

A connector of class `msExchRoutingSMTPConnector` is a 2007+ send connector when it carries
`msExchVersion` (every 2007+ managed object does; absent means 2003-era), a 2007+-only send
attribute (`msExchSmtpSendPort`, `msExchSmtpSendEnabled`, `msExchSmtpSendFlags`), or sits in the
routing group 2007+ setup creates, `Exchange Routing Group (DWBGZMFD01QNBJR)`. Otherwise it stays
a 2003 `smtp_connector`: a 2003 -> 2010 migration forest holds both.

Values stay strings as `auditor.records` keeps them (binary base64, Booleans `TRUE`/`FALSE`).
Wiring into `auditor.records` is the integrator's: `MODERN_TABLES` is a complete `DirectoryTables`
that `LdapSource`, `export_ldif` and an LDIF read (`modern_record_from_entry`) can use today.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence

from auditor.collect import RawValue
from auditor.families.exchange.attributes import (
    BINARY_ATTRIBUTES,
    COLLECTED_ATTRIBUTES,
    CONFIGURATION_CLASSES,
    MAIL_ATTRIBUTES,
    RECIPIENT_FILTER,
    RECIPIENT_KINDS,
    kind_for_object_classes,
)
from auditor.families.exchange.entries import guid_from_value
from auditor.families.exchange.tables import DESCRIPTOR_ATTRIBUTE, DirectoryTables
from auditor.records import ObjectKind, ObjectRecord

__all__ = [
    "MAILBOX_DATABASE",
    "MODERN_ADMINISTRATIVE_GROUP",
    "MODERN_BINARY_ATTRIBUTES",
    "MODERN_BOOLEAN_ATTRIBUTES",
    "MODERN_COLLECTED_ATTRIBUTES",
    "MODERN_CONFIGURATION_CLASSES",
    "MODERN_CONFIGURATION_FILTER",
    "MODERN_EXTRA_ATTRIBUTES",
    "MODERN_KINDS",
    "MODERN_MULTI_VALUED_ATTRIBUTES",
    "MODERN_READ_ATTRIBUTES",
    "MODERN_ROUTING_GROUP",
    "MODERN_TABLES",
    "RECEIVE_CONNECTOR",
    "SEND_CONNECTOR",
    "kept_attributes",
    "modern_kind",
    "modern_record_from_entry",
]

SEND_CONNECTOR = "send_connector"
RECEIVE_CONNECTOR = "receive_connector"
MAILBOX_DATABASE = "mailbox_database"
MODERN_KINDS = (SEND_CONNECTOR, RECEIVE_CONNECTOR, MAILBOX_DATABASE)

MODERN_ROUTING_GROUP = "Exchange Routing Group (DWBGZMFD01QNBJR)"
MODERN_ADMINISTRATIVE_GROUP = "Exchange Administrative Group (FYDIBOHF23SPDLT)"

# What each new kind keeps. Never a password: msExchSmtpOutboundSecurityPassword is not read.
MODERN_COLLECTED_ATTRIBUTES: Mapping[str, tuple[str, ...]] = {
    SEND_CONNECTOR: (
        "objectClass",
        "cn",
        "routingList",
        "msExchSmtpSmartHost",
        "msExchSourceBridgeheadServersDN",
        "msExchSmtpSendPort",
        "msExchSmtpSendEnabled",
        "msExchSMTPSendConnectorFQDN",
        "msExchSmtpSendBindingIPAddress",
        "msExchSmtpSendTlsDomain",
        "msExchSmtpOutboundSecurityFlag",
        "msExchSmtpSendFlags",
        "msExchSmtpMaxMessageSize",
        "deliveryMechanism",
        "homeMTA",
        "msExchVersion",
    ),
    RECEIVE_CONNECTOR: (
        "objectClass",
        "cn",
        "msExchSmtpReceiveBindings",
        "msExchSmtpReceiveRemoteIPRanges",
        "msExchSMTPReceiveInboundSecurityFlag",
        "msExchSmtpReceiveRole",
        "msExchSmtpReceiveEnabled",
        "msExchSMTPReceiveConnectorFQDN",
        "msExchSmtpReceiveProtocolRestrictions",
        "msExchSmtpReceiveProtocolOptions",
        "msExchSmtpReceiveMaxMessageSize",
        "msExchSmtpReceiveMaxRecipientsPerMessage",
        "msExchSMTPReceiveDefaultAcceptedDomainLink",
        "msExchVersion",
        DESCRIPTOR_ATTRIBUTE,
    ),
    MAILBOX_DATABASE: (
        "objectClass",
        "cn",
        "legacyExchangeDN",
        "msExchOwningServer",
        "msExchVersion",
    ),
}

# 2007+ attributes of kinds the 2003 tables have (kept in addition to COLLECTED_ATTRIBUTES[kind]).
_RECIPIENT_EXTRA = (
    "msExchRecipientTypeDetails",
    "msExchRecipientDisplayType",
    "msExchRemoteRecipientType",
    "msExchVersion",
)
MODERN_EXTRA_ATTRIBUTES: Mapping[str, tuple[str, ...]] = {
    ObjectKind.USER: _RECIPIENT_EXTRA,
    ObjectKind.CONTACT: _RECIPIENT_EXTRA,
    ObjectKind.GROUP: _RECIPIENT_EXTRA,
    ObjectKind.DYNAMIC_GROUP: _RECIPIENT_EXTRA,
    ObjectKind.PUBLIC_FOLDER: _RECIPIENT_EXTRA,
    ObjectKind.RECIPIENT_POLICY: (
        "msExchQueryFilter",
        "msExchRecipientFilterFlags",
        "msExchSearchBase",
        "msExchVersion",
    ),
    ObjectKind.ACCEPTED_DOMAIN: ("msExchCatchAllRecipientLink", "msExchVersion"),
    ObjectKind.EXCHANGE_SERVER: ("versionNumber", "msExchServerSite", "msExchVersion"),
}

MODERN_BINARY_ATTRIBUTES = frozenset({DESCRIPTOR_ATTRIBUTE})
MODERN_BOOLEAN_ATTRIBUTES = frozenset(
    {
        "msExchHideFromAddressLists",
        "msExchSmtpRelayForAuth",
        "msExchPolicyEnabled",
        "msExchSmtpSendEnabled",
        "msExchSmtpReceiveEnabled",
    }
)
MODERN_MULTI_VALUED_ATTRIBUTES = frozenset({"msExchSmtpReceiveBindings", "msExchSmtpReceiveRemoteIPRanges"})

MODERN_CONFIGURATION_CLASSES = (*CONFIGURATION_CLASSES, "msExchSmtpReceiveConnector")
MODERN_CONFIGURATION_FILTER = (
    "(|" + "".join(f"(objectClass={name})" for name in MODERN_CONFIGURATION_CLASSES) + ")"
)

_SEND_ONLY_2007 = ("msExchSmtpSendPort", "msExchSmtpSendEnabled", "msExchSmtpSendFlags", "msExchVersion")
_BINARY = frozenset(name.lower() for name in (*BINARY_ATTRIBUTES, *MODERN_BINARY_ATTRIBUTES))
_BOOLEAN = frozenset(name.lower() for name in MODERN_BOOLEAN_ATTRIBUTES)
_KNOWN_KINDS = frozenset(kind.value for kind in ObjectKind)
_CONFIGURATION_KINDS = (
    ObjectKind.RECIPIENT_POLICY,
    ObjectKind.ACCEPTED_DOMAIN,
    ObjectKind.SMTP_CONNECTOR,
    ObjectKind.SMTP_VIRTUAL_SERVER,
    ObjectKind.EXCHANGE_SERVER,
    ObjectKind.MAILBOX_STORE,
)


def kept_attributes(kind: str) -> tuple[str, ...]:
    """Every attribute a record of `kind` keeps under the 2007+ tables, in a stable order."""
    if kind in MODERN_COLLECTED_ATTRIBUTES:
        return MODERN_COLLECTED_ATTRIBUTES[kind]
    base = COLLECTED_ATTRIBUTES.get(ObjectKind(kind), ()) if kind in _KNOWN_KINDS else ()
    return tuple(dict.fromkeys((*base, *MODERN_EXTRA_ATTRIBUTES.get(kind, ()))))


_ALL_NAMES = {
    name.lower(): name
    for kind in (*MODERN_KINDS, *(k.value for k in ObjectKind))
    for name in kept_attributes(kind)
} | {name.lower(): name for name in (*BINARY_ATTRIBUTES, *MODERN_BINARY_ATTRIBUTES, "objectGUID")}

# Lower-case names an LDIF reader must decode for these tables (the rest may be skipped).
MODERN_READ_ATTRIBUTES = frozenset(_ALL_NAMES)


def _rdn_values(dn: str) -> list[str]:
    """The values of a DN's RDNs, lower-case, outermost last (enough to find a container by name)."""
    values = []
    for part in dn.split(","):
        _, _, value = part.partition("=")
        values.append(value.strip().lower())
    return values


def _is_modern_send_connector(dn: str, names: set[str]) -> bool:
    if any(name.lower() in names for name in _SEND_ONLY_2007):
        return True
    return MODERN_ROUTING_GROUP.lower() in _rdn_values(dn)[1:]


def modern_kind(dn: str, object_classes: Sequence[str], attribute_names: Sequence[str] = ()) -> str | None:
    """The kind of a directory entry under the 2007+ tables (None: not kept)."""
    classes = {value.lower() for value in object_classes}
    names = {name.split(";", 1)[0].lower() for name in attribute_names}
    if "msexchsmtpreceiveconnector" in classes:
        return RECEIVE_CONNECTOR
    if "msexchroutingsmtpconnector" in classes:
        return SEND_CONNECTOR if _is_modern_send_connector(dn, names) else ObjectKind.SMTP_CONNECTOR.value
    if "msexchprivatemdb" in classes and "databases" in _rdn_values(dn)[1:2]:
        return MAILBOX_DATABASE
    kind = kind_for_object_classes(object_classes)
    return kind.value if kind is not None else None


def _text(value: RawValue) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else value


def _encode(name: str, value: RawValue) -> str:
    lower = name.lower()
    if lower in _BINARY:
        raw = value if isinstance(value, bytes) else value.encode("latin-1")
        return base64.b64encode(raw).decode("ascii")
    text = _text(value)
    return text.strip().upper() if lower in _BOOLEAN else text


def modern_record_from_entry(dn: str, attributes: Mapping[str, Sequence[RawValue]]) -> ObjectRecord | None:
    """The record for a directory entry under the 2007+ tables, or None when it is not kept.

    The same shape as `entries.record_from_entry` (key: canonical objectGUID, else `dn:<dn>`);
    attribute names in any case and with options (`;range=`, `;binary`) are accepted.
    """
    by_name: dict[str, Sequence[RawValue]] = {}
    for name, values in attributes.items():
        base = name.split(";", 1)[0]
        by_name[_ALL_NAMES.get(base.lower(), base)] = values
    object_classes = [_text(v) for v in by_name.get("objectClass", ())]
    kind = modern_kind(dn, object_classes, list(by_name))
    if kind is None:
        return None
    if kind == ObjectKind.GROUP and not any(by_name.get(name) for name in MAIL_ATTRIBUTES):
        return None  # a group that is not mail-enabled: no address, nothing for a mail audit
    guid_values = by_name.get("objectGUID", ())
    guid = guid_from_value(guid_values[0]) if guid_values else None
    kept: dict[str, tuple[str, ...]] = {}
    for name in kept_attributes(kind):
        found = by_name.get(name)
        if found:
            kept[name] = tuple(_encode(name, value) for value in found)
    return ObjectRecord(kind=kind, key=guid if guid else "dn:" + dn.lower(), dn=dn, attributes=kept)


def _attributes(kinds: Sequence[str]) -> tuple[str, ...]:
    names: dict[str, None] = {}
    for kind in kinds:
        names.update(dict.fromkeys(kept_attributes(kind)))
    names["objectGUID"] = None
    return tuple(names)


MODERN_TABLES = DirectoryTables(
    recipient_filter=RECIPIENT_FILTER,
    configuration_filter=MODERN_CONFIGURATION_FILTER,
    recipient_attributes=_attributes([kind.value for kind in RECIPIENT_KINDS]),
    configuration_attributes=_attributes([*(k.value for k in _CONFIGURATION_KINDS), *MODERN_KINDS]),
    binary=_BINARY,
    record=modern_record_from_entry,
)
