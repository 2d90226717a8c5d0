"""What the Exchange directory family reads: record kinds, the attributes each keeps, how they compare.

Both directory sources (LDIF exports and live LDAP) filter through these tables, so a value is in a
snapshot only if both would have read it (collector parity). Values are strings: binary attributes
(`BINARY_ATTRIBUTES`) hold base64, booleans `TRUE` / `FALSE` as LDAP writes them, integers their
decimal text.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from auditor.families import KindSpec
from auditor.records import ObjectKind

__all__ = [
    "BINARY_ATTRIBUTES",
    "COLLECTED_ATTRIBUTES",
    "CONFIGURATION_CLASSES",
    "CONFIGURATION_FILTER",
    "CONFIGURATION_KINDS",
    "KINDS",
    "MAIL_ATTRIBUTES",
    "MULTI_VALUED_ATTRIBUTES",
    "READ_ATTRIBUTES",
    "RECIPIENT_FILTER",
    "RECIPIENT_KINDS",
    "canonical_attribute",
    "kind_for_object_classes",
]

RECIPIENT_KINDS = (
    ObjectKind.USER,
    ObjectKind.CONTACT,
    ObjectKind.GROUP,
    ObjectKind.DYNAMIC_GROUP,
    ObjectKind.PUBLIC_FOLDER,
)
# A group is kept only when mail-enabled: one of these is set (the LDAP filter asks the same).
MAIL_ATTRIBUTES = ("mailNickname", "proxyAddresses", "mail")

_RECIPIENT_ATTRIBUTES = (
    "objectClass",
    "cn",
    "displayName",
    "sAMAccountName",
    "userPrincipalName",
    "userAccountControl",
    "mailNickname",
    "mail",
    "proxyAddresses",
    "targetAddress",
    "legacyExchangeDN",
    "homeMDB",
    "homeMTA",
    "msExchHomeServerName",
    "msExchMailboxGuid",
    "showInAddressBook",
    "msExchHideFromAddressLists",
    "msExchPoliciesIncluded",
    "msExchPoliciesExcluded",
    "msExchRecipientTypeDetails",
    "textEncodedORAddress",
    "protocolSettings",
)
# What mail-enabled groups, query-based groups and public folders add to the recipient attributes.
_GROUP_ATTRIBUTES = (*_RECIPIENT_ATTRIBUTES, "groupType")
_DYNAMIC_GROUP_ATTRIBUTES = (*_RECIPIENT_ATTRIBUTES, "msExchDynamicDLFilter", "msExchDynamicDLBaseDN")

# What each directory kind keeps. LDIF and LDAP collectors both filter through this table, so a
# value is in a snapshot only if both would have read it.
COLLECTED_ATTRIBUTES: Mapping[ObjectKind, tuple[str, ...]] = {
    ObjectKind.USER: _RECIPIENT_ATTRIBUTES,
    ObjectKind.CONTACT: _RECIPIENT_ATTRIBUTES,
    ObjectKind.GROUP: _GROUP_ATTRIBUTES,
    ObjectKind.DYNAMIC_GROUP: _DYNAMIC_GROUP_ATTRIBUTES,
    ObjectKind.PUBLIC_FOLDER: _RECIPIENT_ATTRIBUTES,
    ObjectKind.RECIPIENT_POLICY: (
        "objectClass",
        "cn",
        "gatewayProxy",
        "disabledGatewayProxy",
        "msExchNonAuthoritativeDomains",
        "msExchPolicyOrder",
        "msExchPolicyOptionList",
        "purportedSearch",
        "msExchPolicyEnabled",
    ),
    ObjectKind.ACCEPTED_DOMAIN: (
        "objectClass",
        "cn",
        "msExchAcceptedDomainName",
        "msExchAcceptedDomainFlags",
    ),
    ObjectKind.SMTP_CONNECTOR: (
        "objectClass",
        "cn",
        "routingList",
        "msExchSmtpSmartHost",
        "msExchSourceBridgeheadServersDN",
        "msExchSmtpOutboundSecurityFlag",
        "deliveryMechanism",
        "homeMTA",
    ),
    ObjectKind.SMTP_VIRTUAL_SERVER: (
        "objectClass",
        "cn",
        "adminDisplayName",
        "msExchServerBindings",
        "msExchAuthenticationFlags",
        "msExchSmtpRelayForAuth",
        "msExchSmtpRelayIpList",
        "msExchSmtpSmartHost",
        "msExchSmtpSmartHostType",
        "msExchSmtpFullyQualifiedDomainName",
        "msExchAccessSSLFlags",
    ),
    ObjectKind.EXCHANGE_SERVER: (
        "objectClass",
        "cn",
        "networkAddress",
        "legacyExchangeDN",
        "serialNumber",
        "msExchCurrentServerRoles",
    ),
    ObjectKind.MAILBOX_STORE: ("objectClass", "cn", "legacyExchangeDN"),
}

BINARY_ATTRIBUTES = frozenset(
    {
        "objectGUID",
        "objectSid",
        "msExchMailboxGuid",
        "msExchSmtpRelayIpList",
        "msExchPolicyOptionList",
        "msExchIPSecurity",
        "RelayIpList",
    }
)

# Attributes the directory schema declares multi-valued: the differ compares them as sets (order
# means nothing), every other attribute as one value. An attribute not listed here that holds more
# than one value (a POP3-side list, say) is compared as a set too.
MULTI_VALUED_ATTRIBUTES = frozenset(
    {
        "objectClass",
        "proxyAddresses",
        "showInAddressBook",
        "msExchPoliciesIncluded",
        "msExchPoliciesExcluded",
        "protocolSettings",
        "gatewayProxy",
        "disabledGatewayProxy",
        "msExchNonAuthoritativeDomains",
        "msExchPolicyOptionList",
        "routingList",
        "msExchSourceBridgeheadServersDN",
        "msExchServerBindings",
        "networkAddress",
        "serialNumber",
    }
)

# Lower-case names of every attribute a directory collector reads (what LDIF parsing decodes; the
# rest of a full export is syntax-checked and skipped).
READ_ATTRIBUTES = frozenset(
    name.lower() for names in COLLECTED_ATTRIBUTES.values() for name in (*names, "objectGUID")
) | frozenset(name.lower() for name in BINARY_ATTRIBUTES)

_CANONICAL = {name.lower(): name for names in COLLECTED_ATTRIBUTES.values() for name in names} | {
    name.lower(): name for name in BINARY_ATTRIBUTES
}


def canonical_attribute(name: str) -> str:
    """The one spelling of an attribute name (LDAP names are case-insensitive; ldifde lowercases some)."""
    return _CANONICAL.get(name.lower(), name)


# Most derived class first: a connector is also a mailGateway, a policy is also a container; an
# inetOrgPerson is a user (AD derives it from user), so it is collected and judged as one.
_CLASS_TO_KIND: tuple[tuple[str, ObjectKind | None], ...] = (
    ("msexchroutingsmtpconnector", ObjectKind.SMTP_CONNECTOR),
    ("protocolcfgsmtpserver", ObjectKind.SMTP_VIRTUAL_SERVER),
    ("msexchrecipientpolicy", ObjectKind.RECIPIENT_POLICY),
    ("msexchaccepteddomain", ObjectKind.ACCEPTED_DOMAIN),
    ("msexchexchangeserver", ObjectKind.EXCHANGE_SERVER),
    ("msexchprivatemdb", ObjectKind.MAILBOX_STORE),
    ("msexchdynamicdistributionlist", ObjectKind.DYNAMIC_GROUP),
    ("publicfolder", ObjectKind.PUBLIC_FOLDER),
    ("group", ObjectKind.GROUP),
    ("contact", ObjectKind.CONTACT),
    ("computer", None),
    ("user", ObjectKind.USER),
)


def kind_for_object_classes(object_classes: Iterable[str]) -> ObjectKind | None:
    """The snapshot kind of a directory entry, or None when auditor does not keep it."""
    classes = {value.lower() for value in object_classes}
    for class_name, kind in _CLASS_TO_KIND:
        if class_name in classes:
            return kind
    return None


_LABELS = {
    ObjectKind.USER: "user",
    ObjectKind.CONTACT: "contact",
    ObjectKind.GROUP: "mail-enabled group",
    ObjectKind.DYNAMIC_GROUP: "query-based distribution group",
    ObjectKind.PUBLIC_FOLDER: "mail-enabled public folder",
    ObjectKind.RECIPIENT_POLICY: "recipient policy",
    ObjectKind.ACCEPTED_DOMAIN: "accepted domain",
    ObjectKind.SMTP_CONNECTOR: "SMTP connector",
    ObjectKind.SMTP_VIRTUAL_SERVER: "SMTP virtual server",
    ObjectKind.EXCHANGE_SERVER: "Exchange server",
    ObjectKind.MAILBOX_STORE: "mailbox store",
}

KINDS: tuple[KindSpec, ...] = tuple(
    KindSpec(
        name=kind.value,
        label=_LABELS[kind],
        multi_valued=frozenset(n for n in names if n in MULTI_VALUED_ATTRIBUTES),
        binary=frozenset(n for n in names if n in BINARY_ATTRIBUTES),
    )
    for kind, names in COLLECTED_ATTRIBUTES.items()
)


# Users (inetOrgPerson included) and contacts, whatever their mail state (COEX-202 needs the accounts
# of POP3 users who are not mail-enabled); groups only when mail-enabled; query-based distribution
# groups and mail-enabled public folders (under Microsoft Exchange System Objects).
RECIPIENT_FILTER = (
    "(|(&(objectCategory=person)(objectClass=user))(objectClass=contact)"
    "(&(objectClass=group)(|(mailNickname=*)(proxyAddresses=*)(mail=*)))"
    "(objectClass=msExchDynamicDistributionList)(objectClass=publicFolder))"
)
# Most derived Exchange classes of the kinds kept from the Configuration partition.
CONFIGURATION_CLASSES = (
    "msExchRecipientPolicy",
    "msExchAcceptedDomain",
    "msExchRoutingSMTPConnector",
    "protocolCfgSMTPServer",
    "msExchExchangeServer",
    "msExchPrivateMDB",
)
CONFIGURATION_FILTER = "(|" + "".join(f"(objectClass={name})" for name in CONFIGURATION_CLASSES) + ")"
CONFIGURATION_KINDS: tuple[ObjectKind, ...] = tuple(
    kind for kind in (kind_for_object_classes([name]) for name in CONFIGURATION_CLASSES) if kind is not None
)
