"""Directory objects: recipients of every kind, address policies, accepted domains, connectors, servers.

These are what Active Directory says about mail, typed. They are built by a source family's adapter
(today the Exchange directory family, from LDAP or `ldifde` records) and read by the checks; they
hold decoded values only (no raw records), so a check cannot depend on how an attribute was spelt
or encoded. `ref` names the stored object each one came from: findings cite it as evidence.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum

from auditor.model.codecs import ProxyAddress, normalize_domain, normalize_host

__all__ = [
    "AcceptedDomain",
    "AcceptedDomainType",
    "AddressSpace",
    "ExchangeServer",
    "MailboxStore",
    "ObjectRef",
    "Recipient",
    "RecipientKind",
    "RecipientPolicy",
    "SmtpConnector",
]


@dataclass(frozen=True, slots=True)
class ObjectRef:
    """A stored object: its kind, its key (objectGUID where there is one) and where it lives."""

    kind: str
    key: str
    dn: str


class RecipientKind(StrEnum):
    """Every kind of object that can hold an SMTP address; values are the record kinds."""

    USER = "user"
    CONTACT = "contact"
    GROUP = "group"
    DYNAMIC_GROUP = "dynamic_group"
    PUBLIC_FOLDER = "public_folder"


@dataclass(frozen=True, slots=True)
class Recipient:
    """A user (`inetOrgPerson` included), contact, mail-enabled group, query-based distribution group
    or mail-enabled public folder, with whatever mail attributes it carries."""

    kind: RecipientKind
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
    primary_smtp: str | None
    smtp_addresses: frozenset[str]
    recipient_type_details: int | None = None

    @property
    def ref(self) -> ObjectRef:
        return ObjectRef(self.kind.value, self.key, self.dn)

    @property
    def is_user(self) -> bool:
        return self.kind is RecipientKind.USER

    @property
    def is_contact(self) -> bool:
        return self.kind is RecipientKind.CONTACT

    @property
    def is_group(self) -> bool:
        """A distribution or security group, or a query-based distribution group."""
        return self.kind in (RecipientKind.GROUP, RecipientKind.DYNAMIC_GROUP)

    @property
    def is_public_folder(self) -> bool:
        return self.kind is RecipientKind.PUBLIC_FOLDER

    @property
    def kind_label(self) -> str:
        """How messages name the object's kind: `user`, `contact`, `group`, ..."""
        return {
            RecipientKind.DYNAMIC_GROUP: "query-based distribution group",
            RecipientKind.PUBLIC_FOLDER: "public folder",
        }.get(self.kind, self.kind.value)

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
    """An e-mail address policy: the SMTP domains it stamps, and which it is responsible for."""

    dn: str
    key: str
    name: str
    gateway_proxies: tuple[ProxyAddress, ...]
    disabled_gateway_proxies: tuple[ProxyAddress, ...]
    non_authoritative: frozenset[str]
    order: int | None
    is_mailbox_manager_policy: bool

    @property
    def ref(self) -> ObjectRef:
        return ObjectRef("recipient_policy", self.key, self.dn)

    def smtp_domains(self) -> Iterator[tuple[str, bool]]:
        """(domain, authoritative) for each enabled SMTP rule of this policy."""
        disabled = {str(p).lower() for p in self.disabled_gateway_proxies}
        for proxy in self.gateway_proxies:
            if not proxy.is_smtp or not proxy.domain or str(proxy).lower() in disabled:
                continue
            yield proxy.domain, str(proxy).lower() not in self.non_authoritative


class AcceptedDomainType(StrEnum):
    AUTHORITATIVE = "Authoritative"
    EXTERNAL_RELAY = "ExternalRelay"
    INTERNAL_RELAY = "InternalRelay"
    UNDEFINED = "undefined"


@dataclass(frozen=True, slots=True)
class AcceptedDomain:
    """An accepted domain; `domain` may be a `*.parent` pattern."""

    dn: str
    key: str
    domain: str
    type: AcceptedDomainType

    @property
    def ref(self) -> ObjectRef:
        return ObjectRef("accepted_domain", self.key, self.dn)

    @property
    def authoritative(self) -> bool:
        return self.type is AcceptedDomainType.AUTHORITATIVE


@dataclass(frozen=True, slots=True)
class AddressSpace:
    """One address space of a connector: type, address pattern, cost, `Local:` scope."""

    type: str
    address: str
    cost: int
    local: bool

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
    """An outbound connector of Exchange: the address spaces it takes and where it sends them."""

    dn: str
    key: str
    name: str
    address_spaces: tuple[AddressSpace, ...]
    smart_hosts: tuple[str, ...]
    source_bridgeheads: tuple[str, ...]

    @property
    def ref(self) -> ObjectRef:
        return ObjectRef("smtp_connector", self.key, self.dn)

    @property
    def uses_dns(self) -> bool:
        return not self.smart_hosts


@dataclass(frozen=True, slots=True)
class ExchangeServer:
    dn: str
    key: str
    name: str
    network_hosts: tuple[str, ...]
    legacy_exchange_dn: str | None

    @property
    def ref(self) -> ObjectRef:
        return ObjectRef("exchange_server", self.key, self.dn)

    def designations(self) -> frozenset[str]:
        return frozenset(normalize_host(h) for h in (self.name, *self.network_hosts) if h)


@dataclass(frozen=True, slots=True)
class MailboxStore:
    dn: str
    key: str
    name: str

    @property
    def ref(self) -> ObjectRef:
        return ObjectRef("mailbox_store", self.key, self.dn)
