"""Typed domain objects, built from `ObjectRecord`s, that the checks read.

Checks are pure functions of a `Snapshot`: no LDAP, no files, no clock. Everything a check needs
to decide is parsed once here (proxy addresses, address spaces, flags), and the indexes that make
checks linear over 100,000 recipients live on `Snapshot` (built lazily, once).

Parsing here is lenient on purpose: a value that cannot be decoded (a relay blob of an unknown
layout, a non-numeric flag) is kept as "unknown" so the check can report `error` for a human to
review; it never raises while building the snapshot.
"""

from __future__ import annotations

import base64
import binascii
import gc
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property, lru_cache

from auditor.records import ObjectKind, ObjectRecord, SourceInfo

__all__ = [
    "AD_INTEGRATED_AUTH_GUID",
    "EAP_POLICY_GUID",
    "MAILBOX_MANAGER_POLICY_GUID",
    "AcceptedDomain",
    "AddressSpace",
    "ExchangeServer",
    "MailboxStore",
    "Pop3Domain",
    "Pop3Mailbox",
    "Pop3Server",
    "ProxyAddress",
    "Recipient",
    "RecipientPolicy",
    "SmtpConnector",
    "SmtpVirtualServer",
    "Snapshot",
    "normalize_dn",
    "normalize_domain",
    "normalize_host",
]

EAP_POLICY_GUID = "26491cfc-9e50-4857-861b-0cb8df22b5d7"
MAILBOX_MANAGER_POLICY_GUID = "3b6813ec-ce89-42ba-9442-d87d4aa30dbc"
AD_INTEGRATED_AUTH_GUID = "ef9d811e-36c5-497f-ade7-2b36df172824"


def normalize_domain(domain: str) -> str:
    """Domains compare exactly, case-insensitively, trailing dot stripped (checks.md, Terms)."""
    return domain.strip().rstrip(".").lower()


def normalize_host(host: str) -> str:
    """A smart-host or server designation: brackets and trailing dot stripped, lower case."""
    host = host.strip()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host.rstrip(".").lower()


def _int(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(value.strip(), 0) if value.strip().lower().startswith("0x") else int(value.strip())
    except ValueError:
        return None


_IIS_AUTH_FLAG_NAMES = {"authanonymous": 1, "authbasic": 2, "authntlm": 4, "authmd5": 16, "authpassport": 64}


def _auth_flags(value: str | None) -> int | None:
    """IIS `AuthFlags` as a number, or as MetaBase.xml's `AuthAnonymous | AuthBasic` names."""
    number = _int(value)
    if number is not None or value is None:
        return number
    total = 0
    for name in value.split("|"):
        bit = _IIS_AUTH_FLAG_NAMES.get(name.strip().lower())
        if bit is None:
            return None
        total |= bit
    return total


@lru_cache(maxsize=65536)
def normalize_dn(dn: str) -> str:
    """DNs compare case-insensitively, ignoring blanks around the separators."""
    return ",".join(part.strip() for part in re.split(r"(?<!\\),", dn)).lower()


def _bool(value: str | None) -> bool | None:
    if value is None:
        return None
    text = value.strip().upper()
    if text in {"TRUE", "YES"}:
        return True
    if text in {"FALSE", "NO"}:
        return False
    number = _int(text)
    return None if number is None else number != 0


def _b64(value: str | None) -> bytes | None:
    if value is None:
        return None
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None


class ProxyAddress:
    """`TYPE:address`; an upper-case type prefix marks the primary address of that type.

    A plain slotted class with its derived values computed once: a snapshot holds hundreds of
    thousands of these and checks read `lower` / `is_smtp` in their inner loops.
    """

    __slots__ = ("address", "is_primary", "is_smtp", "lower", "prefix")

    def __init__(self, prefix: str, address: str) -> None:
        self.prefix = prefix
        self.address = address
        self.lower = address.lower()
        self.is_smtp = prefix.lower() == "smtp"
        self.is_primary = prefix == "SMTP"

    @classmethod
    def parse(cls, text: str) -> ProxyAddress:
        prefix, sep, address = text.partition(":")
        if not sep:
            return cls("", text.strip())
        return cls(prefix.strip(), address.strip())

    @property
    def domain(self) -> str:
        """Whatever follows the last `@` (also right for templates such as `%g.%s@dom`)."""
        return normalize_domain(self.address.rpartition("@")[2]) if "@" in self.address else ""

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ProxyAddress):
            return NotImplemented
        return (self.prefix, self.address) == (other.prefix, other.address)

    def __hash__(self) -> int:
        return hash((self.prefix, self.address))

    def __repr__(self) -> str:
        return f"ProxyAddress(prefix={self.prefix!r}, address={self.address!r})"

    def __str__(self) -> str:
        return f"{self.prefix}:{self.address}" if self.prefix else self.address


def _primary_smtp(mail: str | None, proxies: tuple[ProxyAddress, ...]) -> str | None:
    """`mail` when it equals one of the `SMTP:` entries, else the first `SMTP:` entry (checks.md)."""
    primaries = [p for p in proxies if p.is_primary]
    if mail and any(p.lower == mail.lower() for p in primaries):
        return mail
    return primaries[0].address if primaries else None


@dataclass(frozen=True, slots=True)
class Recipient:
    """A user or contact with whatever mail attributes it carries."""

    record: ObjectRecord
    is_contact: bool
    dn: str
    key: str
    name: str
    display_name: str | None
    sam_account_name: str | None
    user_principal_name: str | None
    user_account_control: int | None
    mail_nickname: str | None
    mail: str | None
    proxy_addresses: tuple[ProxyAddress, ...]
    target_address: ProxyAddress | None
    legacy_exchange_dn: str | None
    home_mdb: str | None
    home_server_name: str | None
    show_in_address_book: tuple[str, ...]
    hidden_from_address_lists: bool
    has_show_in_address_book_attribute: bool
    # Derived once in from_record (checks read them per recipient, often several times).
    primary_smtp: str | None = None
    smtp_addresses: frozenset[str] = frozenset()

    @classmethod
    def from_record(cls, record: ObjectRecord) -> Recipient:
        attributes = record.attributes
        target = record.first("targetAddress")
        mail = record.first("mail")
        proxies = tuple(ProxyAddress.parse(v) for v in attributes.get("proxyAddresses", ()))
        return cls(
            record=record,
            is_contact=record.kind == ObjectKind.CONTACT,
            dn=record.dn,
            key=record.key,
            name=record.first("cn") or record.dn.split(",", 1)[0].partition("=")[2],
            display_name=record.first("displayName"),
            sam_account_name=record.first("sAMAccountName"),
            user_principal_name=record.first("userPrincipalName"),
            user_account_control=_int(record.first("userAccountControl")),
            mail_nickname=record.first("mailNickname"),
            mail=mail,
            proxy_addresses=proxies,
            target_address=ProxyAddress.parse(target) if target else None,
            legacy_exchange_dn=record.first("legacyExchangeDN"),
            home_mdb=record.first("homeMDB"),
            home_server_name=record.first("msExchHomeServerName"),
            show_in_address_book=record.values("showInAddressBook"),
            hidden_from_address_lists=_bool(record.first("msExchHideFromAddressLists")) is True,
            has_show_in_address_book_attribute="showInAddressBook" in attributes,
            primary_smtp=_primary_smtp(mail, proxies),
            smtp_addresses=frozenset(
                [p.lower for p in proxies if p.is_smtp] + ([mail.lower()] if mail else [])
            ),
        )

    @property
    def is_user(self) -> bool:
        return not self.is_contact

    @property
    def disabled(self) -> bool:
        return self.user_account_control is not None and bool(self.user_account_control & 2)

    @property
    def is_mailbox_enabled(self) -> bool:
        """Exchange's own GAL filter: a user with `mailNickname` and `homeMDB` or `msExchHomeServerName`."""
        return self.is_user and bool(self.mail_nickname) and bool(self.home_mdb or self.home_server_name)

    @property
    def is_mail_enabled_user(self) -> bool:
        """A user with `mailNickname` and no mailbox (its mail goes to `targetAddress`)."""
        return self.is_user and bool(self.mail_nickname) and not (self.home_mdb or self.home_server_name)

    @property
    def is_mail_recipient(self) -> bool:
        return bool(self.mail_nickname)

    @property
    def smtp_proxy_addresses(self) -> tuple[ProxyAddress, ...]:
        return tuple(p for p in self.proxy_addresses if p.is_smtp)


@dataclass(frozen=True, slots=True)
class RecipientPolicy:
    record: ObjectRecord
    dn: str
    name: str
    gateway_proxies: tuple[ProxyAddress, ...]
    disabled_gateway_proxies: tuple[ProxyAddress, ...]
    non_authoritative: frozenset[str]
    order: int | None
    option_guids: frozenset[str]

    @classmethod
    def from_record(cls, record: ObjectRecord) -> RecipientPolicy:
        guids = set()
        for value in record.values("msExchPolicyOptionList"):
            raw = _b64(value)
            if raw is not None and len(raw) == 16:
                import uuid

                guids.add(str(uuid.UUID(bytes_le=raw)))
        return cls(
            record=record,
            dn=record.dn,
            name=record.first("cn") or record.dn,
            gateway_proxies=tuple(ProxyAddress.parse(v) for v in record.values("gatewayProxy")),
            disabled_gateway_proxies=tuple(
                ProxyAddress.parse(v) for v in record.values("disabledGatewayProxy")
            ),
            non_authoritative=frozenset(
                v.strip().lower() for v in record.values("msExchNonAuthoritativeDomains")
            ),
            order=_int(record.first("msExchPolicyOrder")),
            option_guids=frozenset(guids),
        )

    @property
    def is_mailbox_manager_policy(self) -> bool:
        """Mailbox Manager policies share the class; only their option GUID tells them apart."""
        return MAILBOX_MANAGER_POLICY_GUID in self.option_guids and EAP_POLICY_GUID not in self.option_guids

    def smtp_domains(self) -> Iterator[tuple[str, bool]]:
        """(domain, authoritative) for each enabled SMTP rule of this policy."""
        disabled = {str(p).lower() for p in self.disabled_gateway_proxies}
        for proxy in self.gateway_proxies:
            if not proxy.is_smtp or not proxy.domain or str(proxy).lower() in disabled:
                continue
            yield proxy.domain, str(proxy).lower() not in self.non_authoritative


@dataclass(frozen=True, slots=True)
class AcceptedDomain:
    record: ObjectRecord
    dn: str
    domain: str
    flags: int

    @classmethod
    def from_record(cls, record: ObjectRecord) -> AcceptedDomain:
        return cls(
            record=record,
            dn=record.dn,
            domain=normalize_domain(record.first("msExchAcceptedDomainName") or record.first("cn") or ""),
            flags=_int(record.first("msExchAcceptedDomainFlags")) or 0,
        )

    @property
    def authoritative(self) -> bool:
        return self.flags & 3 == 0


@dataclass(frozen=True, slots=True)
class AddressSpace:
    """One `routingList` entry: `[Local:]TYPE:ADDRESS;COST`."""

    type: str
    address: str
    cost: int
    local: bool

    @classmethod
    def parse(cls, text: str) -> AddressSpace:
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
            cost = _int(cost_text) or 1
        return cls(type=type_.lower(), address=rest.strip(), cost=cost, local=local)

    @property
    def is_smtp(self) -> bool:
        return self.type == "smtp"

    @property
    def pattern(self) -> str:
        return normalize_domain(self.address) if self.address != "*" else "*"

    def matches(self, domain: str) -> bool:
        pattern, domain = self.pattern, normalize_domain(domain)
        if pattern == "*":
            return True
        if pattern.startswith("*."):
            return domain.endswith(pattern[1:])
        return domain == pattern

    def specificity(self, domain: str) -> tuple[int, int]:
        """Exact beats the longest `*.parent`, which beats `*` (Exchange 2003 connector choice)."""
        pattern = self.pattern
        if pattern == "*":
            return (0, 0)
        if pattern.startswith("*."):
            return (1, len(pattern))
        return (2, len(pattern))


@dataclass(frozen=True, slots=True)
class SmtpConnector:
    record: ObjectRecord
    dn: str
    name: str
    address_spaces: tuple[AddressSpace, ...]
    smart_hosts: tuple[str, ...]
    source_bridgeheads: tuple[str, ...]

    @classmethod
    def from_record(cls, record: ObjectRecord) -> SmtpConnector:
        hosts = record.first("msExchSmtpSmartHost") or ""
        return cls(
            record=record,
            dn=record.dn,
            name=record.first("cn") or record.dn,
            address_spaces=tuple(AddressSpace.parse(v) for v in record.values("routingList")),
            smart_hosts=tuple(h.strip() for h in re.split(r"[;,]", hosts) if h.strip()),
            source_bridgeheads=record.values("msExchSourceBridgeheadServersDN"),
        )

    @property
    def uses_dns(self) -> bool:
        return not self.smart_hosts


def _server_cn_from_vs_dn(dn: str) -> str:
    """`CN=1,CN=SMTP,CN=Protocols,CN=EX01,...` -> `EX01`."""
    parts = [p.strip() for p in re.split(r"(?<!\\),", dn)]
    for index, part in enumerate(parts):
        if part.lower() == "cn=protocols" and index + 1 < len(parts):
            return parts[index + 1].partition("=")[2]
    return ""


@dataclass(frozen=True, slots=True)
class SmtpVirtualServer:
    record: ObjectRecord
    dn: str
    server_name: str
    auth_flags: int | None
    relay_for_auth: bool | None
    relay_ip_list: bytes | None
    relay_ip_list_present: bool
    smart_host: str | None
    smart_host_type: int | None
    fqdn: str | None

    @classmethod
    def from_record(cls, record: ObjectRecord) -> SmtpVirtualServer:
        raw = record.first("msExchSmtpRelayIpList")
        return cls(
            record=record,
            dn=record.dn,
            server_name=_server_cn_from_vs_dn(record.dn),
            auth_flags=_int(record.first("msExchAuthenticationFlags")),
            relay_for_auth=_bool(record.first("msExchSmtpRelayForAuth")),
            relay_ip_list=_b64(raw) if raw is not None else None,
            relay_ip_list_present=raw is not None,
            smart_host=record.first("msExchSmtpSmartHost"),
            smart_host_type=_int(record.first("msExchSmtpSmartHostType")),
            fqdn=record.first("msExchSmtpFullyQualifiedDomainName"),
        )


@dataclass(frozen=True, slots=True)
class ExchangeServer:
    record: ObjectRecord
    dn: str
    name: str
    network_hosts: tuple[str, ...]
    legacy_exchange_dn: str | None

    @classmethod
    def from_record(cls, record: ObjectRecord) -> ExchangeServer:
        hosts = []
        for value in record.values("networkAddress"):
            protocol, _, host = value.partition(":")
            if protocol.lower() == "ncacn_ip_tcp" and host:
                hosts.append(host.strip())
        return cls(
            record=record,
            dn=record.dn,
            name=record.first("cn") or record.dn,
            network_hosts=tuple(hosts),
            legacy_exchange_dn=record.first("legacyExchangeDN"),
        )

    def designations(self) -> frozenset[str]:
        return frozenset(normalize_host(h) for h in (self.name, *self.network_hosts) if h)


@dataclass(frozen=True, slots=True)
class MailboxStore:
    record: ObjectRecord
    dn: str
    name: str

    @classmethod
    def from_record(cls, record: ObjectRecord) -> MailboxStore:
        return cls(record=record, dn=record.dn, name=record.first("cn") or record.dn)


@dataclass(frozen=True, slots=True)
class Pop3Server:
    """A POP3 server: what the config says of it plus what its export folder holds.

    Metabase values are already resolved through IIS inheritance (`/LM/SmtpSvc/1`, then
    `/LM/SmtpSvc`); `relay_ip_list_location` says where the relay list was found.
    """

    record: ObjectRecord
    name: str
    fqdn: str | None
    addresses: tuple[str, ...]
    export_files: frozenset[str]
    winpop_auth_methods: tuple[str, ...]
    winpop_auth_current: str | None
    registry_auth_methods: tuple[str, ...]
    registry_default_auth_method: int | None
    smart_host: str | None
    smart_host_type: int | None
    auth_flags: int | None
    relay_for_auth: bool | None
    relay_ip_list: bytes | None
    relay_ip_list_present: bool
    relay_ip_list_location: str | None

    @classmethod
    def from_record(cls, record: ObjectRecord) -> Pop3Server:
        raw = record.first("RelayIpList")
        return cls(
            record=record,
            name=record.first("name") or record.dn,
            fqdn=record.first("fqdn"),
            addresses=record.values("addresses"),
            export_files=frozenset(record.values("exportFiles")),
            winpop_auth_methods=record.values("winpopAuthMethods"),
            winpop_auth_current=record.first("winpopAuthCurrent"),
            registry_auth_methods=record.values("regAuthMethods"),
            registry_default_auth_method=_int(record.first("regDefaultAuthMethod")),
            smart_host=record.first("SmartHost"),
            smart_host_type=_int(record.first("SmartHostType")),
            auth_flags=_auth_flags(record.first("AuthFlags")),
            relay_for_auth=_bool(record.first("RelayForAuth")),
            relay_ip_list=(_b64(raw) if raw else b"") if raw is not None else None,
            relay_ip_list_present=raw is not None,
            relay_ip_list_location=record.first("RelayIpListLocation"),
        )

    @property
    def has_metabase(self) -> bool:
        return "MetaBase.xml" in self.export_files

    @property
    def registry_auth_guid(self) -> str | None:
        """The GUID `DefaultAuthMethod` indexes in `AuthMethods`, normalised; None when unresolvable."""
        index = self.registry_default_auth_method
        if index is None or not 0 <= index < len(self.registry_auth_methods):
            return None
        return self.registry_auth_methods[index].strip("{} ").lower()

    def designations(self) -> frozenset[str]:
        return frozenset(normalize_host(h) for h in (self.name, self.fqdn or "", *self.addresses) if h)


@dataclass(frozen=True, slots=True)
class Pop3Domain:
    """A domain a POP3 server knows: from `winpop list` (`source` "winpop") or from an
    `IIsSmtpDomain` key of its MetaBase (`source` "metabase", with that key's `RouteAction`)."""

    record: ObjectRecord
    server: str
    domain: str
    source: str
    route_action: int | None

    @classmethod
    def from_record(cls, record: ObjectRecord) -> Pop3Domain:
        return cls(
            record=record,
            server=record.first("server") or "",
            domain=normalize_domain(record.first("domain") or ""),
            source=record.first("source") or "",
            route_action=_int(record.first("RouteAction")),
        )

    @property
    def delivers_locally(self) -> bool:
        """A metabase domain is a POP3 (local delivery) domain only with RouteAction's DELIVER bit 32."""
        return self.route_action is not None and bool(self.route_action & 32)


@dataclass(frozen=True, slots=True)
class Pop3Mailbox:
    record: ObjectRecord
    server: str
    domain: str
    mailbox: str

    @classmethod
    def from_record(cls, record: ObjectRecord) -> Pop3Mailbox:
        return cls(
            record=record,
            server=record.first("server") or "",
            domain=normalize_domain(record.first("domain") or ""),
            mailbox=record.first("mailbox") or "",
        )

    @property
    def address(self) -> str:
        return f"{self.mailbox}@{self.domain}".lower()


@dataclass
class Snapshot:
    """Everything collected in one pass, typed, with the indexes checks need.

    `coverage` is the union of the sources' coverage (`domain`, `configuration`, `pop3:<name>`,
    `pop3:<name>:<file>`): checks use it to report `skipped` instead of a vacuous `pass`.
    """

    recipients: list[Recipient] = field(default_factory=list)
    recipient_policies: list[RecipientPolicy] = field(default_factory=list)
    accepted_domains: list[AcceptedDomain] = field(default_factory=list)
    smtp_connectors: list[SmtpConnector] = field(default_factory=list)
    smtp_virtual_servers: list[SmtpVirtualServer] = field(default_factory=list)
    exchange_servers: list[ExchangeServer] = field(default_factory=list)
    mailbox_stores: list[MailboxStore] = field(default_factory=list)
    pop3_servers: list[Pop3Server] = field(default_factory=list)
    pop3_domains: list[Pop3Domain] = field(default_factory=list)
    pop3_mailboxes: list[Pop3Mailbox] = field(default_factory=list)
    coverage: set[str] = field(default_factory=set)
    sources: list[SourceInfo] = field(default_factory=list)
    # From the config's [[exchange_server]] tables: server name (lower case) -> extra host names.
    configured_exchange_hosts: dict[str, frozenset[str]] = field(default_factory=dict)

    @classmethod
    def from_records(cls, records: Iterable[ObjectRecord], sources: Sequence[SourceInfo] = ()) -> Snapshot:
        snap = cls(sources=list(sources))
        for source in sources:
            snap.coverage |= source.coverage
        builders: dict[str, tuple[object, Callable[[ObjectRecord], object]]] = {
            ObjectKind.USER: (snap.recipients, Recipient.from_record),
            ObjectKind.CONTACT: (snap.recipients, Recipient.from_record),
            ObjectKind.RECIPIENT_POLICY: (snap.recipient_policies, RecipientPolicy.from_record),
            ObjectKind.ACCEPTED_DOMAIN: (snap.accepted_domains, AcceptedDomain.from_record),
            ObjectKind.SMTP_CONNECTOR: (snap.smtp_connectors, SmtpConnector.from_record),
            ObjectKind.SMTP_VIRTUAL_SERVER: (snap.smtp_virtual_servers, SmtpVirtualServer.from_record),
            ObjectKind.EXCHANGE_SERVER: (snap.exchange_servers, ExchangeServer.from_record),
            ObjectKind.MAILBOX_STORE: (snap.mailbox_stores, MailboxStore.from_record),
            ObjectKind.POP3_SERVER: (snap.pop3_servers, Pop3Server.from_record),
            ObjectKind.POP3_DOMAIN: (snap.pop3_domains, Pop3Domain.from_record),
            ObjectKind.POP3_MAILBOX: (snap.pop3_mailboxes, Pop3Mailbox.from_record),
        }
        collecting = gc.isenabled()
        gc.disable()
        try:
            for record in records:
                found = builders.get(record.kind)
                if found is None:
                    continue
                target, build = found
                target.append(build(record))  # type: ignore[attr-defined]
        finally:
            if collecting:
                gc.enable()
        return snap

    # -- what was looked at -------------------------------------------------------------------

    @property
    def has_domain_partition(self) -> bool:
        return "domain" in self.coverage

    @property
    def has_configuration(self) -> bool:
        return "configuration" in self.coverage

    def has_pop3_file(self, server: str, file_name: str) -> bool:
        return f"pop3:{server}:{file_name}" in self.coverage

    # -- domain terms (checks.md) ---------------------------------------------------------------

    @cached_property
    def exchange_domains(self) -> dict[str, bool]:
        """`D_ex` mapped to whether the domain is in `A_ex` (authoritative anywhere wins)."""
        domains: dict[str, bool] = {}
        for policy in self.recipient_policies:
            if policy.is_mailbox_manager_policy:
                continue
            for domain, authoritative in policy.smtp_domains():
                domains[domain] = domains.get(domain, False) or authoritative
        for accepted in self.accepted_domains:
            if accepted.domain:
                domains[accepted.domain] = domains.get(accepted.domain, False) or accepted.authoritative
        return domains

    @cached_property
    def authoritative_domains(self) -> frozenset[str]:
        return frozenset(d for d, authoritative in self.exchange_domains.items() if authoritative)

    @cached_property
    def _wildcard_parents(self) -> tuple[tuple[str, bool], ...]:
        """`*.parent` accepted domains as (`.parent`, authoritative)."""
        return tuple((d[1:], a) for d, a in self.exchange_domains.items() if d.startswith("*."))

    def is_authoritative(self, domain: str) -> bool:
        """`A_ex` membership, including `*.parent` accepted domains that match subdomains."""
        domain = normalize_domain(domain)
        if domain in self.authoritative_domains:
            return True
        return any(a and domain.endswith(parent) for parent, a in self._wildcard_parents)

    def is_exchange_domain(self, domain: str) -> bool:
        """`D_ex` membership (authoritative or not), including `*.parent` accepted domains."""
        domain = normalize_domain(domain)
        if domain in self.exchange_domains:
            return True
        return any(domain.endswith(parent) for parent, _ in self._wildcard_parents)

    @cached_property
    def exchange_domain_sources(self) -> dict[str, list[tuple[str, bool]]]:
        """Domain of `D_ex` -> every (policy or accepted domain, authoritative) that names it."""
        index: dict[str, list[tuple[str, bool]]] = defaultdict(list)
        for policy in self.recipient_policies:
            if policy.is_mailbox_manager_policy:
                continue
            for domain, authoritative in policy.smtp_domains():
                index[domain].append((f"recipient policy {policy.name!r}", authoritative))
        for accepted in self.accepted_domains:
            if accepted.domain:
                index[accepted.domain].append((f"accepted domain {accepted.dn}", accepted.authoritative))
        return dict(index)

    def authoritative_sources(self, domain: str) -> list[str]:
        """What makes `domain` authoritative (for messages): policy names, accepted domains."""
        domain = normalize_domain(domain)
        found = [name for name, a in self.exchange_domain_sources.get(domain, []) if a]
        for pattern, sources in self.exchange_domain_sources.items():
            if pattern.startswith("*.") and domain.endswith(pattern[1:]):
                found += [f"{name} ({pattern})" for name, a in sources if a]
        return found

    @cached_property
    def exchange_organization_name(self) -> str | None:
        """The organization's `CN` (the RDN above `CN=Microsoft Exchange`) from any Exchange object."""
        for collection in (self.exchange_servers, self.recipient_policies, self.smtp_connectors):
            for item in collection:
                parts = [p.strip() for p in re.split(r"(?<!\\),", item.record.dn)]
                for index, part in enumerate(parts[1:], start=1):
                    if part.lower() == "cn=microsoft exchange":
                        return parts[index - 1].partition("=")[2] or None
        return None

    @cached_property
    def pop3_domains_by_server(self) -> dict[str, frozenset[str]]:
        """`D_pop(S)`: `winpop list` when exported, else the metabase's POP3 (RouteAction & 32) domains.

        Keyed by the server name as the POP3 records spell it; use `pop3_domains_of` to look up.
        """
        winpop: dict[str, set[str]] = defaultdict(set)
        metabase: dict[str, set[str]] = defaultdict(set)
        servers: set[str] = set()
        for entry in self.pop3_domains:
            servers.add(entry.server)
            if entry.source == "winpop":
                winpop[entry.server].add(entry.domain)
            elif entry.source == "metabase" and entry.delivers_locally:
                metabase[entry.server].add(entry.domain)
        result: dict[str, frozenset[str]] = {}
        for server in servers:
            exported = server in winpop or self.has_pop3_file(server, "winpop-list.txt")
            chosen = winpop.get(server, set()) if exported else metabase.get(server, set())
            result[server] = frozenset(d for d in chosen if d)
        return result

    def pop3_domains_of(self, server: str) -> frozenset[str]:
        """`D_pop(S)` by POP3 server name, case-insensitively."""
        return self._pop3_domains_lower.get(server.lower(), frozenset())

    @cached_property
    def _pop3_domains_lower(self) -> dict[str, frozenset[str]]:
        merged: dict[str, frozenset[str]] = {}
        for server, domains in self.pop3_domains_by_server.items():
            merged[server.lower()] = merged.get(server.lower(), frozenset()) | domains
        return merged

    @cached_property
    def pop3_servers_by_domain(self) -> dict[str, tuple[str, ...]]:
        """POP3 domain -> the names of the servers hosting it (sorted)."""
        index: dict[str, set[str]] = defaultdict(set)
        for server, domains in self.pop3_domains_by_server.items():
            for domain in domains:
                index[domain].add(server)
        return {domain: tuple(sorted(servers)) for domain, servers in index.items()}

    @cached_property
    def all_pop3_domains(self) -> frozenset[str]:
        return frozenset(d for domains in self.pop3_domains_by_server.values() for d in domains)

    # -- indexes ---------------------------------------------------------------------------------

    @cached_property
    def recipients_by_address(self) -> dict[str, list[Recipient]]:
        """Lower-case SMTP address -> every object that claims it (`proxyAddresses` and `mail`)."""
        index: dict[str, list[Recipient]] = defaultdict(list)
        for recipient in self.recipients:
            for address in recipient.smtp_addresses:
                index[address].append(recipient)
        return dict(index)

    @cached_property
    def users_by_sam_account_name(self) -> dict[str, list[Recipient]]:
        index: dict[str, list[Recipient]] = defaultdict(list)
        for recipient in self.recipients:
            if recipient.sam_account_name:
                index[recipient.sam_account_name.lower()].append(recipient)
        return dict(index)

    @cached_property
    def recipients_by_upn(self) -> dict[str, list[Recipient]]:
        index: dict[str, list[Recipient]] = defaultdict(list)
        for recipient in self.recipients:
            if recipient.user_principal_name:
                index[recipient.user_principal_name.lower()].append(recipient)
        return dict(index)

    @cached_property
    def recipients_by_target_address(self) -> dict[str, list[Recipient]]:
        index: dict[str, list[Recipient]] = defaultdict(list)
        for recipient in self.recipients:
            if recipient.target_address is not None:
                index[recipient.target_address.lower].append(recipient)
        return dict(index)

    @cached_property
    def recipients_by_proxy_address(self) -> dict[str, list[Recipient]]:
        """Lower-case SMTP proxy address -> objects (what Exchange's categorizer resolves; not `mail`)."""
        index: dict[str, list[Recipient]] = defaultdict(list)
        for recipient in self.recipients:
            for address in {p.lower for p in recipient.proxy_addresses if p.is_smtp}:
                index[address].append(recipient)
        return dict(index)

    @cached_property
    def has_show_in_address_book_data(self) -> bool:
        """Whether `showInAddressBook` was read at all (it is not in the global catalog)."""
        return any(r.has_show_in_address_book_attribute for r in self.recipients)

    @cached_property
    def pop3_mailbox_addresses(self) -> dict[str, frozenset[str]]:
        """POP3 server name (lower case) -> its mailboxes' lower-case addresses."""
        index: dict[str, set[str]] = defaultdict(set)
        for mailbox in self.pop3_mailboxes:
            index[mailbox.server.lower()].add(mailbox.address)
        return {server: frozenset(addresses) for server, addresses in index.items()}

    @cached_property
    def mailbox_store_dns(self) -> frozenset[str]:
        return frozenset(normalize_dn(store.dn) for store in self.mailbox_stores)

    @cached_property
    def virtual_server_dns(self) -> frozenset[str]:
        return frozenset(normalize_dn(vs.dn) for vs in self.smtp_virtual_servers)

    def pop3_server(self, name: str) -> Pop3Server | None:
        for server in self.pop3_servers:
            if server.name.lower() == name.lower():
                return server
        return None

    def exchange_designations(self, server: ExchangeServer) -> frozenset[str]:
        """cn, `networkAddress` hosts, virtual-server FQDNs and configured addresses of a server."""
        names = set(server.designations())
        names |= {normalize_host(h) for h in self.configured_exchange_hosts.get(server.name.lower(), ())}
        names |= {
            normalize_host(vs.fqdn)
            for vs in self.smtp_virtual_servers
            if vs.fqdn and vs.server_name.lower() == server.name.lower()
        }
        return frozenset(names)

    def exchange_server_for_host(self, host: str) -> ExchangeServer | None:
        """The Exchange server a host name or `[IP]` designates (checks.md, Terms), or None."""
        wanted = normalize_host(host)
        for server in self.exchange_servers:
            if wanted in self.exchange_designations(server):
                return server
        return None

    def pop3_server_for_host(self, host: str) -> Pop3Server | None:
        """The POP3 server a host name or `[IP]` designates (its name, fqdn or an address), or None."""
        wanted = normalize_host(host)
        for server in self.pop3_servers:
            if wanted in server.designations():
                return server
        return None

    @property
    def object_count(self) -> int:
        return sum(
            len(collection)
            for collection in (
                self.recipients,
                self.recipient_policies,
                self.accepted_domains,
                self.smtp_connectors,
                self.smtp_virtual_servers,
                self.exchange_servers,
                self.mailbox_stores,
                self.pop3_servers,
                self.pop3_domains,
                self.pop3_mailboxes,
            )
        )
