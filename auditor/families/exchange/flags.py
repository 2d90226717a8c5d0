"""Exchange 2007+ bit fields and enumerations, as named constants, with their decoders.

Values are those of research modern-model §1.2-§1.7 (Exchange 2013 CU23 definitions; 2016, 2019
and SE share the 15.x schema). Every decoder takes the attribute's text as a record holds it and
answers None for a value that is not a number, so a caller can tell "absent" (no value) from
"unreadable" (a value that is not what Exchange writes) and report the latter as `error`.

Test bits, never equality, for the role and recipient masks: concrete values per version are not
confirmed (research §9 items 3-4).
"""

from __future__ import annotations

from enum import IntEnum, IntFlag

__all__ = [
    "MAILBOX_TYPE_DETAILS",
    "RECEIVE_AUTH_DEFAULT",
    "AcceptedDomainFlag",
    "AcceptedDomainType",
    "PermissionGroups",
    "ReceiveAuthMechanism",
    "ReceiveProtocolOptions",
    "ReceiveProtocolRestrictions",
    "RecipientDisplayType",
    "RecipientTypeDetails",
    "RemoteRecipientType",
    "SendConnectorFlags",
    "SendOutboundSecurity",
    "ServerRole",
    "SmartHostAuthMechanism",
    "TlsAuthLevel",
    "TransportRole",
    "accepted_domain_type",
    "parse_bool",
    "parse_int",
    "smart_host_auth_mechanism",
    "tls_auth_level",
]


def parse_int(text: str | None) -> int | None:
    """The integer an LDAP INTEGER / LargeInteger value holds, or None when absent or not a number."""
    if text is None:
        return None
    stripped = text.strip()
    body = stripped[1:] if stripped[:1] in "+-" else stripped
    if not body.isascii() or not body.isdigit():
        return None
    return int(stripped)


def parse_bool(text: str | None) -> bool | None:
    """LDAP Boolean (`TRUE` / `FALSE`), or None when absent or anything else."""
    if text is None:
        return None
    value = text.strip().upper()
    return True if value == "TRUE" else False if value == "FALSE" else None


# -- accepted domains (msExchAcceptedDomainFlags) ---------------------------------------------


class AcceptedDomainType(IntEnum):
    """`msExchAcceptedDomainFlags & 3`; 3 is undefined (an `error` for the checks)."""

    AUTHORITATIVE = 0
    EXTERNAL_RELAY = 1
    INTERNAL_RELAY = 2


class AcceptedDomainFlag(IntFlag):
    """The other bits of `msExchAcceptedDomainFlags`."""

    DEFAULT = 1 << 2
    ADDRESS_BOOK_ENABLED = 1 << 3  # recipient lookup (Edge)
    X400_AUTHORITATIVE = 1 << 4
    FEDERATED_AUTH = 1 << 5
    PENDING_REMOVAL = 1 << 6
    LIVE_ID_BUSINESS = 1 << 7
    OUTBOUND_ONLY = 1 << 8
    DEFAULT_FEDERATED_DOMAIN = 1 << 9
    NEGO2 = 1 << 10
    COEXISTENCE = 1 << 11
    DUAL_PROVISIONING = 1 << 12
    PENDING_FEDERATED_ACCOUNT_NAMESPACE = 1 << 13
    PENDING_FEDERATED_DOMAIN = 1 << 14
    INITIAL_DOMAIN = 1 << 15
    MATCH_SUB_DOMAINS = 1 << 16  # like a `*.` name: the domain and every subdomain
    PENDING_COMPLETION = 1 << 17


def accepted_domain_type(flags: int) -> AcceptedDomainType | None:
    """The domain type of a flags value; None for the undefined type 3."""
    value = flags & 3
    return AcceptedDomainType(value) if value != 3 else None


# -- send connectors (msExchRoutingSMTPConnector, 2007+) ---------------------------------------


class SendOutboundSecurity(IntFlag):
    """`msExchSmtpOutboundSecurityFlag` on a 2007+ send connector (default 0)."""

    REQUIRE_TLS = 0x4
    FORCE_HELO = 0x400000
    IGNORE_STARTTLS = 0x800000


class SendConnectorFlags(IntFlag):
    """Single bits of `msExchSmtpSendFlags`; bits 4-11 and 20-31 are fields (decoders below)."""

    USE_EXTERNAL_DNS_SERVERS = 0x2
    DOMAIN_SECURE_ENABLED = 0x4
    REQUIRE_OORG = 0x8
    FRONTEND_PROXY_ENABLED = 0x2000
    CLOUD_SERVICES_MAIL_ENABLED = 0x20000


class TlsAuthLevel(IntEnum):
    NONE = 0
    ENCRYPTION_ONLY = 1
    CERTIFICATE_VALIDATION = 2
    DOMAIN_VALIDATION = 4


class SmartHostAuthMechanism(IntFlag):
    NONE = 0
    BASIC_AUTH = 2
    BASIC_AUTH_REQUIRE_TLS = 4
    EXCHANGE_SERVER = 8
    EXTERNAL_AUTHORITATIVE = 16


def tls_auth_level(send_flags: int) -> int:
    """TlsAuthLevel field of `msExchSmtpSendFlags` (bits 4-11); compare with `TlsAuthLevel`."""
    return (send_flags & 0xFF0) >> 4


def smart_host_auth_mechanism(send_flags: int) -> SmartHostAuthMechanism:
    """SmartHostAuthMechanism field of `msExchSmtpSendFlags` (bits 20-31)."""
    return SmartHostAuthMechanism((send_flags & 0xFFF00000) >> 20)


# -- receive connectors (msExchSmtpReceiveConnector) -------------------------------------------


class ReceiveAuthMechanism(IntFlag):
    """`msExchSMTPReceiveInboundSecurityFlag` (the connector's AuthMechanism)."""

    TLS = 1
    INTEGRATED = 2
    BASIC_AUTH = 4
    BASIC_AUTH_REQUIRE_TLS = 8
    EXCHANGE_SERVER = 16
    EXTERNAL_AUTHORITATIVE = 32  # sessions run as Externally Secured Servers


RECEIVE_AUTH_DEFAULT = (
    29  # Exchange's default when the attribute is absent: Tls|BasicAuth|BasicAuthRequireTLS|ExchangeServer
)


class ReceiveProtocolRestrictions(IntFlag):
    """`msExchSmtpReceiveProtocolRestrictions` (default 0)."""

    REQUIRE_EHLO_DOMAIN = 4
    REQUIRE_TLS = 8
    ENABLE_AUTH_GSSAPI = 16
    EXTENDED_PROTECTION_TLS_TERMINATED_AT_PROXY = 32
    LIVE_CREDENTIAL_ENABLED = 32768


class ReceiveProtocolOptions(IntFlag):
    """`msExchSmtpReceiveProtocolOptions` (default 445)."""

    SIZE_ENABLED = 1
    BINARY_MIME = 4
    CHUNKING = 8
    DSN = 16
    ENHANCED_STATUS_CODES = 32
    PIPELINING = 128
    EIGHT_BIT_MIME = 256
    DOMAIN_SECURE = 512
    LONG_ADDRESSES = 1024
    ORAR = 2048
    SUPPRESS_X_ANONYMOUS_TLS = 4096
    ADVERTISE_CLIENT_SETTINGS = 8192
    BARE_LINEFEED_REJECTION = 16384
    PROXY = 32768
    SMTP_UTF8 = 65536


class TransportRole(IntEnum):
    """`msExchSmtpReceiveRole`: the transport service a receive connector belongs to."""

    HUB_TRANSPORT = 32  # default
    FRONTEND_TRANSPORT = 16384


class PermissionGroups(IntFlag):
    """Exchange's PermissionGroups: not stored (computed from the DACL); named in remediation text."""

    ANONYMOUS_USERS = 1
    EXCHANGE_USERS = 2
    EXCHANGE_SERVERS = 4
    EXCHANGE_LEGACY_SERVERS = 8
    PARTNERS = 16
    CUSTOM = 32


# -- servers (msExchCurrentServerRoles) --------------------------------------------------------


class ServerRole(IntFlag):
    """2007+ role bits of `msExchCurrentServerRoles`."""

    CAFE = 1
    MAILBOX = 2
    CLIENT_ACCESS = 4
    UNIFIED_MESSAGING = 16
    HUB_TRANSPORT = 32
    EDGE = 64
    MONITORING = 128
    FRONTEND_TRANSPORT = 16384
    CAFE_ARRAY = 32768


# -- recipients (domain NC) ---------------------------------------------------------------------


class RecipientTypeDetails(IntFlag):
    """`msExchRecipientTypeDetails` (LargeInteger)."""

    USER_MAILBOX = 1
    LINKED_MAILBOX = 2
    SHARED_MAILBOX = 4
    LEGACY_MAILBOX = 8
    ROOM_MAILBOX = 16
    EQUIPMENT_MAILBOX = 32
    MAIL_CONTACT = 64
    MAIL_USER = 128
    MAIL_UNIVERSAL_DISTRIBUTION_GROUP = 256
    MAIL_NON_UNIVERSAL_GROUP = 512
    MAIL_UNIVERSAL_SECURITY_GROUP = 1024
    DYNAMIC_DISTRIBUTION_GROUP = 2048
    PUBLIC_FOLDER = 4096
    SYSTEM_ATTENDANT_MAILBOX = 8192
    SYSTEM_MAILBOX = 16384
    MAIL_FOREST_CONTACT = 32768
    USER = 65536
    CONTACT = 131072
    UNIVERSAL_DISTRIBUTION_GROUP = 262144
    UNIVERSAL_SECURITY_GROUP = 524288
    NON_UNIVERSAL_GROUP = 1048576
    DISABLED_USER = 2097152
    MICROSOFT_EXCHANGE = 4194304
    ARBITRATION_MAILBOX = 8388608
    MAILBOX_PLAN = 16777216
    LINKED_USER = 33554432
    ROOM_LIST = 268435456
    DISCOVERY_MAILBOX = 536870912
    ROLE_GROUP = 1073741824
    REMOTE_USER_MAILBOX = 2147483648
    COMPUTER = 4294967296
    REMOTE_ROOM_MAILBOX = 8589934592
    REMOTE_EQUIPMENT_MAILBOX = 17179869184
    REMOTE_SHARED_MAILBOX = 34359738368
    PUBLIC_FOLDER_MAILBOX = 68719476736
    TEAM_MAILBOX = 137438953472
    REMOTE_TEAM_MAILBOX = 274877906944
    MONITORING_MAILBOX = 549755813888
    GROUP_MAILBOX = 1099511627776
    LINKED_ROOM_MAILBOX = 2199023255552
    AUDIT_LOG_MAILBOX = 4398046511104
    REMOTE_GROUP_MAILBOX = 8796093022208


# The values COEX-101 treats as mailboxes (checks.md: {1, 2, 4, 16, 32}).
MAILBOX_TYPE_DETAILS = frozenset(
    {
        RecipientTypeDetails.USER_MAILBOX,
        RecipientTypeDetails.LINKED_MAILBOX,
        RecipientTypeDetails.SHARED_MAILBOX,
        RecipientTypeDetails.ROOM_MAILBOX,
        RecipientTypeDetails.EQUIPMENT_MAILBOX,
    }
)


class RecipientDisplayType(IntEnum):
    """`msExchRecipientDisplayType`; synced (hybrid) variants are negative."""

    MAILBOX_USER = 0
    DISTRIBUTION_GROUP = 1
    PUBLIC_FOLDER = 2
    DYNAMIC_DISTRIBUTION_GROUP = 3
    ORGANIZATION = 4
    PRIVATE_DISTRIBUTION_LIST = 5
    REMOTE_MAIL_USER = 6  # mail users and mail contacts
    CONFERENCE_ROOM_MAILBOX = 7
    EQUIPMENT_MAILBOX = 8
    ARBITRATION_MAILBOX = 10
    MAILBOX_PLAN = 11
    LINKED_USER = 12
    ROOM_LIST = 15
    TEAM_MAILBOX_USER = 16
    GROUP_MAILBOX_USER = 17
    ACLABLE_MAILBOX_USER = 1073741824
    ACLABLE_REMOTE_MAIL_USER = 1073741830
    SECURITY_DISTRIBUTION_GROUP = 1073741833
    SYNCED_MAILBOX_USER = -2147483642
    SYNCED_REMOTE_MAIL_USER = -2147482106


class RemoteRecipientType(IntFlag):
    """`msExchRemoteRecipientType` (hybrid)."""

    PROVISION_MAILBOX = 1
    PROVISION_ARCHIVE = 2
    MIGRATED = 4
    DEPROVISION_MAILBOX = 8
    DEPROVISION_ARCHIVE = 16
    ROOM_MAILBOX = 32
    EQUIPMENT_MAILBOX = 64
    TEAM_MAILBOX = 128
