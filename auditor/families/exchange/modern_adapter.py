"""Exchange 2007+ records -> the model: send connectors, receive connectors, servers, databases.

The part of the Exchange family's adapter that knows the 2007+ vocabulary: accepted-domain flags,
`msExchSmtpOutboundSecurityFlag`, `msExchSMTPReceiveInboundSecurityFlag`, the receive connector's
`nTSecurityDescriptor` and `relay(C, P)`, `RemoteIPRanges`, server versions and roles, recipient
type details. Every value that cannot be decoded becomes something a check reports as `error`
(an unreadable `Field`, a `PermissionVerdict` with status error, an entry in `unreadable`), never
a default that could pass; building the snapshot never raises.
"""

from __future__ import annotations

import re

from auditor.families.exchange.descriptor import (
    SecurityDescriptor,
    UndecodableDescriptor,
    decode_descriptor_value,
)
from auditor.families.exchange.flags import (
    MAILBOX_TYPE_DETAILS,
    RECEIVE_AUTH_DEFAULT,
    AcceptedDomainFlag,
    ReceiveAuthMechanism,
    RecipientTypeDetails,
    SendOutboundSecurity,
    ServerRole,
)
from auditor.families.exchange.ipranges import (
    IpInterval,
    IpRangeError,
    parse_binding,
    parse_remote_ip_range,
)
from auditor.families.exchange.permissions import (
    AUTHENTICATED_USERS,
    RelayVerdict,
    relay,
    unauthenticated_principals,
)
from auditor.families.exchange.tables import DESCRIPTOR_ATTRIBUTE
from auditor.families.exchange.versions import (
    SUPPORT,
    ExchangeVersion,
    UnreadableVersion,
    is_transport_server,
    server_roles,
    server_version,
)
from auditor.model.codecs import Field, normalize_domain, parse_bool, parse_int
from auditor.model.directory import (
    MODERN,
    AcceptedDomain,
    AcceptedDomainType,
    ExchangeServer,
    MailboxStore,
    RecipientType,
)
from auditor.model.receive import AddressRange, ListenBinding, PermissionVerdict, ReceiveConnector
from auditor.model.transport import RelayPolicy, SmtpService, SystemRole
from auditor.records import ObjectRecord

__all__ = [
    "accepted_domain",
    "exchange_server",
    "mailbox_database",
    "receive_connector",
    "recipient_type",
    "send_connector_fields",
    "server_dn_of",
]

_ACCEPTED_TYPES = {
    0: AcceptedDomainType.AUTHORITATIVE,
    1: AcceptedDomainType.EXTERNAL_RELAY,
    2: AcceptedDomainType.INTERNAL_RELAY,
    3: AcceptedDomainType.UNDEFINED,
}
FLAGS = "msExchAcceptedDomainFlags"


def accepted_domain(record: ObjectRecord) -> AcceptedDomain:
    """`msExchAcceptedDomainFlags & 3` is the type; a value that is not a number is undefined
    (an `error` for the checks), as is type 3."""
    raw = record.first(FLAGS)
    flags = parse_int(raw)
    name = record.first("msExchAcceptedDomainName") or record.first("cn") or ""
    if raw is not None and flags is None:
        domain_type, note = AcceptedDomainType.UNDEFINED, f"{FLAGS} {raw!r} is not a number"
    else:
        value = flags or 0
        domain_type = _ACCEPTED_TYPES[value & 3]
        note = f"{FLAGS} {value} & 3 = {value & 3}" + (" (no domain type)" if value & 3 == 3 else "")
    return AcceptedDomain(
        dn=record.dn,
        key=record.key,
        domain=normalize_domain(name),
        type=domain_type,
        match_subdomains=bool((flags or 0) & AcceptedDomainFlag.MATCH_SUB_DOMAINS),
        name=record.first("cn") or "",
        type_note=note,
    )


_REMOTE_MAILBOXES = frozenset(
    {
        RecipientTypeDetails.REMOTE_USER_MAILBOX,
        RecipientTypeDetails.REMOTE_ROOM_MAILBOX,
        RecipientTypeDetails.REMOTE_EQUIPMENT_MAILBOX,
        RecipientTypeDetails.REMOTE_SHARED_MAILBOX,
        RecipientTypeDetails.REMOTE_TEAM_MAILBOX,
        RecipientTypeDetails.REMOTE_GROUP_MAILBOX,
    }
)
_TYPE_NAMES = {
    int(flag): "".join(w.title() for w in (flag.name or "").split("_")) for flag in RecipientTypeDetails
}


def recipient_type(value: int | None) -> tuple[RecipientType | None, str | None]:
    """The model's recipient type for `msExchRecipientTypeDetails` and how messages name it."""
    if value is None:
        return None, None
    name = _TYPE_NAMES.get(value)
    label = f"{name} ({value})" if name else f"msExchRecipientTypeDetails {value}"
    if value in MAILBOX_TYPE_DETAILS:
        return RecipientType.MAILBOX, label
    if value == RecipientTypeDetails.MAIL_USER:
        return RecipientType.MAIL_USER, label
    if value in _REMOTE_MAILBOXES:
        return RecipientType.REMOTE_MAILBOX, label
    return RecipientType.OTHER, label


def server_dn_of(dn: str) -> str:
    """The server a `CN=...,CN=Protocols,CN=<server>,...` DN lives under (a receive connector or a
    source bridgehead `CN=1,CN=SMTP,CN=Protocols,CN=<server>,...`); the DN itself otherwise."""
    parts = [p.strip() for p in re.split(r"(?<!\\),", dn)]
    for index, part in enumerate(parts):
        if part.lower() == "cn=protocols" and index + 1 < len(parts):
            return ",".join(parts[index + 1 :])
    return dn


def _cn(dn: str) -> str:
    return dn.split(",", 1)[0].partition("=")[2]


# -- send connectors ---------------------------------------------------------------------------

OUTBOUND = "msExchSmtpOutboundSecurityFlag"


def send_connector_fields(record: ObjectRecord) -> dict[str, object]:
    """The 2007+ fields of a send connector (`SmtpConnector` keyword arguments)."""
    raw_enabled = record.first("msExchSmtpSendEnabled")
    enabled = parse_bool(raw_enabled)
    raw_flags = record.first(OUTBOUND)
    flags = parse_int(raw_flags)
    require: Field[bool]
    ignore: Field[bool]
    if raw_flags is None:
        require = Field.absent(False, source=OUTBOUND, note=f"{OUTBOUND} not set: RequireTLS is off")
        ignore = Field.absent(False, source=OUTBOUND, note="IgnoreSTARTTLS is off")
    elif flags is None:
        note = f"{OUTBOUND} {raw_flags!r} is not a number; review the connector's TLS settings by hand"
        require = Field.unreadable(raw_flags, source=OUTBOUND, note=note)
        ignore = Field.unreadable(raw_flags, source=OUTBOUND, note=note)
    else:
        has_require = bool(flags & SendOutboundSecurity.REQUIRE_TLS)
        has_ignore = bool(flags & SendOutboundSecurity.IGNORE_STARTTLS)
        require = Field.present(
            has_require,
            raw=raw_flags,
            source=OUTBOUND,
            note=f"{OUTBOUND} {flags}: RequireTLS (0x4) {'on' if has_require else 'off'}",
        )
        ignore = Field.present(
            has_ignore,
            raw=raw_flags,
            source=OUTBOUND,
            note=f"{OUTBOUND} {flags}: IgnoreSTARTTLS (0x800000) {'on' if has_ignore else 'off'}",
        )
    port = parse_int(record.first("msExchSmtpSendPort"))
    return {
        "kind": record.kind,
        "generation": MODERN,
        # Exchange's default is enabled; a value that is not a Boolean is not taken as "disabled".
        "enabled": enabled is not False,
        "enabled_note": "msExchSmtpSendEnabled is FALSE" if enabled is False else "",
        "source_servers": tuple(server_dn_of(dn) for dn in record.values("msExchSourceBridgeheadServersDN")),
        "require_tls": require,
        "ignore_starttls": ignore,
        "port": port if port and 0 < port < 65536 else 25,
    }


# -- servers and databases ---------------------------------------------------------------------


def exchange_server(record: ObjectRecord, hosts: tuple[str, ...]) -> ExchangeServer:
    """A server with its version (serialNumber first, versionNumber fallback), roles and support."""
    found = server_version(record.values("serialNumber"), record.first("versionNumber"))
    version: ExchangeVersion | None = found if isinstance(found, ExchangeVersion) else None
    roles = server_roles(record.first("msExchCurrentServerRoles"))
    generation = version.generation if version is not None else None
    modern = generation.modern if generation is not None else bool(version and version.major >= 8)
    support = SUPPORT.get(generation) if generation is not None else None
    return ExchangeServer(
        dn=record.dn,
        key=record.key,
        name=record.first("cn") or record.dn,
        network_hosts=hosts,
        legacy_exchange_dn=record.first("legacyExchangeDN"),
        version=str(version) if version else None,
        version_source=version.source if version else None,
        version_problem=found.problem if isinstance(found, UnreadableVersion) else None,
        generation=generation.value if generation is not None else None,
        modern=modern,
        roles=tuple((role.name or "").lower() for role in ServerRole if roles is not None and roles & role),
        # A 2007+ server whose roles were not read is taken as a transport server (2013+ Mailbox
        # servers all run transport); a 2003 server routes through its virtual servers.
        transport=is_transport_server(version, roles) or (modern and roles is None),
        edge=bool(roles is not None and roles & ServerRole.EDGE),
        end_of_support=support.end if support else None,
        support_known=support is not None,
        support_source=support.source if support else "",
    )


def mailbox_database(record: ObjectRecord) -> MailboxStore:
    return MailboxStore(
        dn=record.dn,
        key=record.key,
        name=record.first("cn") or _cn(record.dn),
        kind=record.kind,
        generation=MODERN,
        owning_server=record.first("msExchOwningServer"),
    )


# -- receive connectors ------------------------------------------------------------------------

INBOUND = "msExchSMTPReceiveInboundSecurityFlag"


def _verdict(answer: RelayVerdict) -> PermissionVerdict:
    return PermissionVerdict(
        status=answer.status,
        reason=answer.reason,
        granting=tuple(ace.to_sddl() for ace in answer.granting),
        denying=tuple(ace.to_sddl() for ace in answer.denying),
        through_everyone=answer.through_everyone,
    )


def _range(interval: IpInterval) -> AddressRange:
    return AddressRange(interval.text, interval.version, interval.low, interval.high)


def _auth(raw: str | None) -> tuple[int | None, str]:
    flags = parse_int(raw)
    if raw is None:
        return RECEIVE_AUTH_DEFAULT, f"{INBOUND} not set (Exchange's default {RECEIVE_AUTH_DEFAULT})"
    if flags is None:
        return None, f"{INBOUND} {raw!r} is not a number"
    names = [m.name for m in ReceiveAuthMechanism if flags & m and m.name]
    shown = "|".join(n.title().replace("_", "") for n in names) or "None"
    return flags, f"{INBOUND} {flags} ({shown})"


def _relay_policy(
    connector: ReceiveConnector, ranges: tuple[AddressRange, ...], unreadable: list[str]
) -> Field[RelayPolicy]:
    """relay(C, unauthenticated) and the remote ranges as the SMTP service's relay policy."""
    source = f"{DESCRIPTOR_ATTRIBUTE} / msExchSmtpReceiveRemoteIPRanges"
    verdict = connector.anonymous_relay
    if not connector.enabled:
        disabled = RelayPolicy(only_listed=True, description="disabled (msExchSmtpReceiveEnabled FALSE)")
        return Field.present(disabled, source=source, note=disabled.description)
    if verdict.is_error:
        return Field.unreadable(
            None, source=source, note=f"who may relay cannot be judged: {verdict.reason}; review it by hand"
        )
    if not verdict.granted:
        nobody = RelayPolicy(only_listed=True, description=f"no anonymous relay: {verdict.reason}")
        return Field.present(nobody, source=source, note=nobody.description)
    if unreadable:
        return Field.unreadable(
            None,
            source=source,
            note=f"anonymous relay is granted ({verdict.reason}) but remote ranges cannot be read: "
            + "; ".join(unreadable),
        )
    wide = [r for r in ranges if r.wider_than()]
    shown = ", ".join(r.text for r in ranges) or "no remote range"
    policy = RelayPolicy(
        only_listed=True,
        grants=tuple(net for r in ranges for net in r.networks()),
        description=f"anonymous relay for {shown} ({verdict.reason})",
        too_wide=(
            f"anonymous relay for {', '.join(r.text for r in wide)}, wider than /16 (IPv4) or /48 (IPv6) "
            f"({verdict.reason})"
            if wide
            else None
        ),
    )
    return Field.present(policy, source=source, note=policy.description)


def receive_connector(record: ObjectRecord) -> tuple[ReceiveConnector, SmtpService]:
    """The connector as the model's directory concept and as an SMTP service of Exchange."""
    unreadable: list[str] = []
    bindings: list[ListenBinding] = []
    for text in record.values("msExchSmtpReceiveBindings"):
        try:
            binding = parse_binding(text)
        except IpRangeError as exc:
            unreadable.append(f"binding {exc}")
            continue
        bindings.append(ListenBinding(binding.text, binding.address, binding.port))
    ranges: list[AddressRange] = []
    for text in record.values("msExchSmtpReceiveRemoteIPRanges"):
        try:
            ranges.append(_range(parse_remote_ip_range(text)))
        except IpRangeError as exc:
            unreadable.append(f"remote range {exc}")
    raw_enabled = record.first("msExchSmtpReceiveEnabled")
    enabled = parse_bool(raw_enabled) is not False
    auth_flags, auth_note = _auth(record.first(INBOUND))
    if auth_flags is None:
        unreadable.append(auth_note)
    external = bool(auth_flags and auth_flags & ReceiveAuthMechanism.EXTERNAL_AUTHORITATIVE)
    raw_descriptor = record.first(DESCRIPTOR_ATTRIBUTE)
    descriptor: SecurityDescriptor | UndecodableDescriptor | None = (
        decode_descriptor_value(raw_descriptor) if raw_descriptor is not None else None
    )
    if descriptor is None:
        missing = PermissionVerdict(
            "error", f"{DESCRIPTOR_ATTRIBUTE} was not read (ask for it by name, with the SD-flags control)"
        )
        anonymous = authenticated = missing
    elif auth_flags is None:
        anonymous = PermissionVerdict("error", f"{auth_note}: who counts as unauthenticated is unknown")
        authenticated = _verdict(relay(descriptor, {AUTHENTICATED_USERS}))
    else:
        anonymous = _verdict(relay(descriptor, unauthenticated_principals(auth_flags)))
        authenticated = _verdict(relay(descriptor, {AUTHENTICATED_USERS}))
    server_dn = server_dn_of(record.dn)
    connector = ReceiveConnector(
        dn=record.dn,
        key=record.key,
        name=record.first("cn") or _cn(record.dn),
        server=_cn(server_dn) if server_dn != record.dn else "",
        server_dn=server_dn if server_dn != record.dn else "",
        enabled=enabled,
        bindings=tuple(bindings),
        remote_ranges=tuple(ranges),
        external_authoritative=external,
        anonymous_relay=anonymous,
        authenticated_relay=authenticated,
        permissions_read=descriptor is not None,
        auth_note=auth_note,
        unreadable=tuple(unreadable),
    )
    return connector, _service(connector, auth_flags, auth_note, list(unreadable))


def _service(
    connector: ReceiveConnector, auth_flags: int | None, auth_note: str, unreadable: list[str]
) -> SmtpService:
    client_auth: Field[bool]
    if auth_flags is None:
        client_auth = Field.unreadable(None, source=INBOUND, note=auth_note)
    else:
        integrated = bool(auth_flags & ReceiveAuthMechanism.INTEGRATED)
        basic_tls = bool(
            auth_flags & ReceiveAuthMechanism.BASIC_AUTH
            and auth_flags & ReceiveAuthMechanism.BASIC_AUTH_REQUIRE_TLS
        )
        offered = integrated or basic_tls
        note = auth_note if offered else f"{auth_note} offers neither Integrated nor Basic after TLS"
        client_auth = Field.present(offered, source=INBOUND, note=note)
    verdict = connector.authenticated_relay
    relay_source = f"{DESCRIPTOR_ATTRIBUTE} (Authenticated Users)"
    relay_for_auth: Field[bool] = (
        Field.unreadable(None, source=relay_source, note=verdict.reason)
        if verdict.is_error
        else Field.present(verdict.granted, source=relay_source, note=verdict.reason)
    )
    state = "" if connector.enabled else " (disabled)"
    return SmtpService(
        role=SystemRole.EXCHANGE,
        system=connector.server,
        subject=connector.dn,
        name=connector.name + state,
        ref=connector.ref,
        client_auth=client_auth,
        relay_for_authenticated=relay_for_auth,
        relay=_relay_policy(connector, connector.remote_ranges, unreadable),
        smart_host=Field.absent(source="receive connector", note="a receive connector sends nothing"),
        smart_host_always=Field.absent(False, source="receive connector"),
        dn=connector.dn,
        generation=MODERN,
    )
