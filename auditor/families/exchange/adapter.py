"""The Exchange directory family's adapter: raw directory records -> the model's concepts.

Everything here speaks Exchange: attribute names, flag bits, the policy-option GUIDs that tell a
Mailbox Manager policy from an e-mail address policy, the IIS relay blob on an SMTP virtual server,
and Exchange's defaults for absent attributes. The model and the checks see decoded values and the
notes written here, never a record.

Decoding is lenient on purpose: a value that cannot be decoded (a relay blob cut short or of an
unknown layout, a non-numeric flag) becomes an unreadable `Field` so that a check reports `error`
for a human to review; building a snapshot never raises.
"""

from __future__ import annotations

import re
import uuid

from auditor.families.exchange import modern_adapter as modern
from auditor.families.exchange.modern import MAILBOX_DATABASE, RECEIVE_CONNECTOR, SEND_CONNECTOR
from auditor.families.iis_relaylist import (
    RelayList,
    RelayListDecodeError,
    RelayMode,
    decode_relay_list,
    to_relay_policy,
)
from auditor.model.codecs import (
    Field,
    ProxyAddress,
    decode_base64,
    parse_bool,
    parse_int,
    primary_smtp,
)
from auditor.model.directory import (
    LEGACY,
    AddressSpace,
    ExchangeServer,
    MailboxStore,
    ObjectRef,
    Recipient,
    RecipientKind,
    RecipientPolicy,
    SmtpConnector,
)
from auditor.model.snapshot import Snapshot
from auditor.model.transport import RelayPolicy, SmtpService, SystemRole
from auditor.records import ObjectKind, ObjectRecord

__all__ = [
    "EAP_POLICY_GUID",
    "MAILBOX_MANAGER_POLICY_GUID",
    "ExchangeAdapter",
    "parse_address_space",
]

EAP_POLICY_GUID = "26491cfc-9e50-4857-861b-0cb8df22b5d7"
MAILBOX_MANAGER_POLICY_GUID = "3b6813ec-ce89-42ba-9442-d87d4aa30dbc"
EXCHANGE_DEFAULT_AUTH_FLAGS = 7  # msExchAuthenticationFlags absent: anonymous | basic | integrated
BASIC, INTEGRATED = 2, 4


_ABSENT = (None,)
_KIND_OF = {kind.value: kind for kind in RecipientKind}


def _recipient(record: ObjectRecord) -> Recipient:
    # `record.first(name)` spelled out (`(get(name) or _ABSENT)[0]`): the same value, without a
    # method call per attribute for each of 100,000 recipients a pass builds.
    get = record.attributes.get
    target = (get("targetAddress") or _ABSENT)[0]
    mail = (get("mail") or _ABSENT)[0]
    proxies = tuple(ProxyAddress.parse(v) for v in get("proxyAddresses", ()))
    type_details = parse_int((get("msExchRecipientTypeDetails") or _ABSENT)[0])
    recipient_type, type_label = modern.recipient_type(type_details)
    show_in_address_book = get("showInAddressBook")
    return Recipient(
        kind=_KIND_OF.get(record.kind) or RecipientKind(record.kind),
        dn=record.dn,
        key=record.key,
        name=(get("cn") or _ABSENT)[0] or record.dn.split(",", 1)[0].partition("=")[2],
        display_name=(get("displayName") or _ABSENT)[0],
        sam_account_name=(get("sAMAccountName") or _ABSENT)[0],
        user_principal_name=(get("userPrincipalName") or _ABSENT)[0],
        user_account_control=parse_int((get("userAccountControl") or _ABSENT)[0]),
        mail_nickname=(get("mailNickname") or _ABSENT)[0],
        mail=mail,
        proxy_addresses=proxies,
        target_address=ProxyAddress.parse(target) if target else None,
        legacy_exchange_dn=(get("legacyExchangeDN") or _ABSENT)[0],
        home_mdb=(get("homeMDB") or _ABSENT)[0],
        home_server_name=(get("msExchHomeServerName") or _ABSENT)[0],
        show_in_address_book=show_in_address_book or (),
        hidden_from_address_lists=parse_bool((get("msExchHideFromAddressLists") or _ABSENT)[0]) is True,
        has_show_in_address_book_attribute="showInAddressBook" in record.attributes,
        primary_smtp=primary_smtp(mail, proxies),
        smtp_addresses=frozenset([p.lower for p in proxies if p.is_smtp] + ([mail.lower()] if mail else [])),
        recipient_type_details=type_details,
        recipient_type=recipient_type,
        recipient_type_label=type_label,
        recipient_display_type=parse_int((get("msExchRecipientDisplayType") or _ABSENT)[0]),
        modern_stamped=(get("msExchVersion") or _ABSENT)[0] is not None,
    )


def _recipient_policy(record: ObjectRecord) -> RecipientPolicy:
    guids = set()
    for value in record.values("msExchPolicyOptionList"):
        raw = decode_base64(value)
        if raw is not None and len(raw) == 16:
            guids.add(str(uuid.UUID(bytes_le=raw)))
    return RecipientPolicy(
        dn=record.dn,
        key=record.key,
        name=record.first("cn") or record.dn,
        gateway_proxies=tuple(ProxyAddress.parse(v) for v in record.values("gatewayProxy")),
        disabled_gateway_proxies=tuple(ProxyAddress.parse(v) for v in record.values("disabledGatewayProxy")),
        non_authoritative=frozenset(
            v.strip().lower() for v in record.values("msExchNonAuthoritativeDomains")
        ),
        order=parse_int(record.first("msExchPolicyOrder")),
        # Mailbox Manager policies share the class; only their option GUID tells them apart.
        is_mailbox_manager_policy=MAILBOX_MANAGER_POLICY_GUID in guids and EAP_POLICY_GUID not in guids,
    )


def parse_address_space(text: str) -> AddressSpace:
    """One `routingList` entry: `[Local:]TYPE:ADDRESS;COST` (X.400 addresses keep their `;`)."""
    value = text.strip()
    local = False
    if value.lower().startswith("local:"):
        local, value = True, value[len("local:") :]
    type_, sep, rest = value.partition(":")
    if not sep:
        type_, rest = "smtp", value
    cost = 1
    if type_.lower() != "x400" and ";" in rest:
        rest, _, cost_text = rest.rpartition(";")
        cost = parse_int(cost_text) or 1
    return AddressSpace(type=type_.lower(), address=rest.strip(), cost=cost, local=local)


def _smtp_connector(record: ObjectRecord) -> SmtpConnector:
    """A 2003 SMTP connector, or (kind `send_connector`) a 2007+ send connector."""
    hosts = record.first("msExchSmtpSmartHost") or ""
    extra = modern.send_connector_fields(record) if record.kind == SEND_CONNECTOR else {}
    return SmtpConnector(
        dn=record.dn,
        key=record.key,
        name=record.first("cn") or record.dn,
        address_spaces=tuple(parse_address_space(v) for v in record.values("routingList")),
        smart_hosts=tuple(h.strip() for h in re.split(r"[;,]", hosts) if h.strip()),
        source_bridgeheads=record.values("msExchSourceBridgeheadServersDN"),
        **extra,  # type: ignore[arg-type]
    )


def _exchange_server(record: ObjectRecord) -> ExchangeServer:
    hosts = []
    for value in record.values("networkAddress"):
        protocol, _, host = value.partition(":")
        if protocol.lower() == "ncacn_ip_tcp" and host:
            hosts.append(host.strip())
    return modern.exchange_server(record, tuple(hosts))


def _server_cn_from_vs_dn(dn: str) -> str:
    """`CN=1,CN=SMTP,CN=Protocols,CN=EX01,...` -> `EX01`."""
    parts = [p.strip() for p in re.split(r"(?<!\\),", dn)]
    for index, part in enumerate(parts):
        if part.lower() == "cn=protocols" and index + 1 < len(parts):
            return parts[index + 1].partition("=")[2]
    return ""


def _exchange_relay(raw: str | None) -> Field[RelayPolicy]:
    """`msExchSmtpRelayIpList`; absent is Exchange's default, "only the list below" with nobody."""
    source = "msExchSmtpRelayIpList"
    if raw is None:
        nobody = RelayList(mode=RelayMode.ONLY_LIST, grants=(), denies=())
        return Field.absent(to_relay_policy(nobody), source=source, note="not set: Exchange's default")
    blob = decode_base64(raw)
    if blob is None:
        return Field.unreadable(raw, source=source, note=f"{source} is not valid base64; review it by hand")
    try:
        relay = decode_relay_list(blob)
    except RelayListDecodeError as exc:
        return Field.unreadable(
            raw, source=source, note=f"{source} cannot be decoded ({exc}); review it by hand"
        )
    return Field.present(to_relay_policy(relay), raw=raw, source=source, note=relay.describe())


def _virtual_server(record: ObjectRecord) -> SmtpService:
    raw_flags = record.first("msExchAuthenticationFlags")
    raw_relay = record.first("msExchSmtpRelayForAuth")
    flags_source, relay_source = "msExchAuthenticationFlags", "msExchSmtpRelayForAuth"
    flags = parse_int(raw_flags)
    client_auth: Field[bool]
    if raw_flags is not None and flags is None:
        client_auth = Field.unreadable(raw_flags, source=flags_source, note=f"{flags_source} {raw_flags!r}")
    else:
        effective = EXCHANGE_DEFAULT_AUTH_FLAGS if flags is None else flags
        offered = bool(effective & (BASIC | INTEGRATED))
        note = (
            f"authentication flags {effective}"
            if offered
            else f"{flags_source} {effective} offers neither Basic (2) nor Integrated (4)"
        )
        client_auth = (
            Field.absent(offered, source=flags_source, note=note)
            if flags is None
            else Field.present(offered, raw=raw_flags, source=flags_source, note=note)
        )
    relay_for_auth: Field[bool]
    relay_value = parse_bool(raw_relay)
    if raw_relay is None:
        relay_for_auth = Field.absent(True, source=relay_source, note="authenticated clients may relay")
    elif relay_value is None:
        relay_for_auth = Field.unreadable(
            raw_relay, source=relay_source, note=f"{relay_source} {raw_relay!r}"
        )
    else:
        note = (
            "authenticated clients may relay"
            if relay_value
            else f"{relay_source} is FALSE: authenticated clients may not relay"
        )
        relay_for_auth = Field.present(relay_value, raw=raw_relay, source=relay_source, note=note)
    smart_host = record.first("msExchSmtpSmartHost")
    host_type = parse_int(record.first("msExchSmtpSmartHostType"))
    return SmtpService(
        role=SystemRole.EXCHANGE,
        system=_server_cn_from_vs_dn(record.dn),
        subject=record.dn,
        name=record.first("adminDisplayName") or record.first("cn") or record.dn,
        ref=ObjectRef(record.kind, record.key, record.dn),
        client_auth=client_auth,
        relay_for_authenticated=relay_for_auth,
        relay=_exchange_relay(record.first("msExchSmtpRelayIpList")),
        smart_host=(
            Field.present(smart_host, raw=smart_host, source="msExchSmtpSmartHost")
            if smart_host
            else Field.absent(source="msExchSmtpSmartHost", note="msExchSmtpSmartHost is not set")
        ),
        smart_host_always=Field.present(host_type == 2, source="msExchSmtpSmartHostType")
        if host_type is not None
        else Field.absent(False, source="msExchSmtpSmartHostType"),
        dn=record.dn,
        fqdn=record.first("msExchSmtpFullyQualifiedDomainName"),
        generation=LEGACY,
    )


class ExchangeAdapter:
    """Builds directory objects and Exchange's SMTP services from one snapshot's records."""

    def add(self, record: ObjectRecord, snap: Snapshot) -> None:
        kind = record.kind
        if kind in _RECIPIENT_KINDS:
            snap.recipients.append(_recipient(record))
        elif kind == ObjectKind.RECIPIENT_POLICY:
            snap.recipient_policies.append(_recipient_policy(record))
        elif kind == ObjectKind.ACCEPTED_DOMAIN:
            snap.accepted_domains.append(modern.accepted_domain(record))
        elif kind in (ObjectKind.SMTP_CONNECTOR, SEND_CONNECTOR):
            snap.smtp_connectors.append(_smtp_connector(record))
        elif kind == RECEIVE_CONNECTOR:
            connector, service = modern.receive_connector(record)
            snap.receive_connectors.append(connector)
            snap.smtp_services.append(service)
        elif kind == MAILBOX_DATABASE:
            snap.mailbox_stores.append(modern.mailbox_database(record))
        elif kind == ObjectKind.SMTP_VIRTUAL_SERVER:
            snap.smtp_services.append(_virtual_server(record))
        elif kind == ObjectKind.EXCHANGE_SERVER:
            snap.exchange_servers.append(_exchange_server(record))
        elif kind == ObjectKind.MAILBOX_STORE:
            snap.mailbox_stores.append(
                MailboxStore(dn=record.dn, key=record.key, name=record.first("cn") or record.dn)
            )

    def finish(self, snap: Snapshot) -> None:
        """Nothing spans several records in this family (yet)."""


_RECIPIENT_KINDS = frozenset(kind.value for kind in RecipientKind)
