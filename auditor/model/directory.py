"""Directory objects: recipients of every kind, address policies, accepted domains, connectors, servers.

These are what Active Directory says about mail, typed. They are built by a source family's adapter
(today the Exchange directory family, from LDAP or `ldifde` records) and read by the checks; they
hold decoded values only (no raw records), so a check cannot depend on how an attribute was spelt
or encoded. `ref` names the stored object each one came from: findings cite it as evidence.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from auditor.model.codecs import Field, ProxyAddress, normalize_domain, normalize_host

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
    "RecipientType",
    "SmtpConnector",
]

# Generations an object can belong to (checks.md "Generation"): the 2003 model or the 2007+ one.
LEGACY, MODERN = "2003", "2007+"


@dataclass(frozen=True, slots=True)
class ObjectRef:
    """A stored object: its kind, its key (objectGUID where there is one) and where it lives."""

    kind: str
    key: str
    dn: str


class RecipientType(StrEnum):
    """What a 2007+ recipient says it is (its type details), in the terms the checks use."""

    MAILBOX = "mailbox"  # user, linked, shared, room or equipment mailbox
    MAIL_USER = "mail-user"
    REMOTE_MAILBOX = "remote-mailbox"  # hybrid: the mailbox lives elsewhere
    OTHER = "other"


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
    # 2007+: what the type details say (None: not stamped, judge the 2003 shape) and how to name it.
    recipient_type: RecipientType | None = None
    recipient_type_label: str | None = None
    recipient_display_type: int | None = None
    # The object carries an Exchange 2007+ object version (msExchVersion): provisioned by 2007+.
    modern_stamped: bool = False
    # The stored object this is (evidence). Made once: checks name a recipient as evidence several
    # times each (an address, a primary, a mailbox...), half a million times at 100,000 recipients,
    # and every finding that names it then shares one reference instead of holding its own.
    ref: ObjectRef = dataclasses.field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "ref", ObjectRef(self.kind.value, self.key, self.dn))

    @property
    def generation(self) -> str:
        return MODERN if (self.modern_stamped or self.recipient_type is not None) else LEGACY

    @property
    def is_mailbox(self) -> bool:
        """A mailbox (COEX-101's subjects): typed a mailbox in 2007+, else the 2003 shape."""
        if self.recipient_type is not None:
            return self.is_user and self.recipient_type is RecipientType.MAILBOX
        return self.is_mailbox_enabled

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
    # `*.x`, or the match-subdomains flag on `x`: covers `x` and every subdomain of `x`.
    match_subdomains: bool = False
    name: str = ""
    type_note: str = ""

    @property
    def ref(self) -> ObjectRef:
        return ObjectRef("accepted_domain", self.key, self.dn)

    @property
    def authoritative(self) -> bool:
        return self.type is AcceptedDomainType.AUTHORITATIVE

    @property
    def base(self) -> str:
        """The domain without a leading `*.`: `*.contoso.com` -> `contoso.com`."""
        return self.domain[2:] if self.domain.startswith("*.") else self.domain

    @property
    def covers_subdomains(self) -> bool:
        return self.match_subdomains or self.domain.startswith("*.")

    def covers(self, domain: str) -> bool:
        """Whether this accepted domain takes `domain` (checks.md: `*.x` covers `x` and `*.x`)."""
        domain, base = normalize_domain(domain), self.base
        if not base:
            return False
        if domain == base:
            return True
        return self.covers_subdomains and domain.endswith("." + base)

    def describe(self) -> str:
        scope = f"{self.base} and its subdomains" if self.covers_subdomains else self.base
        label = f" {self.name!r}" if self.name and self.name.lower() != self.domain else ""
        return f"accepted domain{label} ({scope}, {self.type.value})"


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

    def matches_modern(self, domain: str) -> bool:
        """2007+ matching: as `matches`, but `*.parent` also matches `parent` itself."""
        pattern = self.pattern
        if pattern.startswith("*.") and normalize_domain(domain) == pattern[2:]:
            return True
        return self.matches(domain)

    def specificity(self, domain: str) -> tuple[int, int]:
        """Exact beats the longest `*.parent`, which beats `*` (Exchange 2003 connector choice)."""
        pattern = self.pattern
        if pattern == "*":
            return (0, 0)
        if pattern.startswith("*."):
            return (1, len(pattern))
        return (2, len(pattern))


_TLS_OFF: Field[bool] = Field.absent(False)


@dataclass(frozen=True, slots=True)
class SmtpConnector:
    """An outbound connector of Exchange: the address spaces it takes and where it sends them."""

    dn: str
    key: str
    name: str
    address_spaces: tuple[AddressSpace, ...]
    smart_hosts: tuple[str, ...]
    source_bridgeheads: tuple[str, ...]
    # 2007+ send connectors (kind `send_connector`); a 2003 SMTP connector keeps the defaults.
    kind: str = "smtp_connector"
    generation: str = LEGACY
    enabled: bool = True
    enabled_note: str = ""
    # The servers its source bridgeheads / source transport servers name (server DNs).
    source_servers: tuple[str, ...] = ()
    require_tls: Field[bool] = _TLS_OFF
    ignore_starttls: Field[bool] = _TLS_OFF
    port: int = 25

    @property
    def ref(self) -> ObjectRef:
        return ObjectRef(self.kind, self.key, self.dn)

    @property
    def modern(self) -> bool:
        return self.generation == MODERN

    @property
    def uses_dns(self) -> bool:
        return not self.smart_hosts


@dataclass(frozen=True, slots=True)
class ExchangeServer:
    """An Exchange server; the version fields come from `serialNumber` (else `versionNumber`).

    `generation` is the release (`2003`, `2016`, `SE`, ...; None when unknown), `version_problem`
    says why the version attributes could not be read, `modern` is 2007 or later, `transport`
    whether the server routes mail (Hub Transport, or a 2013+ Mailbox server; never Edge).
    """

    dn: str
    key: str
    name: str
    network_hosts: tuple[str, ...]
    legacy_exchange_dn: str | None
    version: str | None = None
    version_source: str | None = None
    version_problem: str | None = None
    generation: str | None = None
    modern: bool = False
    roles: tuple[str, ...] = ()
    transport: bool = False
    edge: bool = False
    # End of support of its generation (None: supported, modern lifecycle) and where that is from.
    end_of_support: date | None = None
    support_known: bool = False
    support_source: str = ""

    @property
    def ref(self) -> ObjectRef:
        return ObjectRef("exchange_server", self.key, self.dn)

    def designations(self) -> frozenset[str]:
        return frozenset(normalize_host(h) for h in (self.name, *self.network_hosts) if h)


@dataclass(frozen=True, slots=True)
class MailboxStore:
    """A mailbox store (2003, under its server) or a 2010+ mailbox database (kind `mailbox_database`)."""

    dn: str
    key: str
    name: str
    kind: str = "mailbox_store"
    generation: str = LEGACY
    owning_server: str | None = None

    @property
    def ref(self) -> ObjectRef:
        return ObjectRef(self.kind, self.key, self.dn)
