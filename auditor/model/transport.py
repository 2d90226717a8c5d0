"""Transport concepts that every product maps onto: SMTP services, mailbox services, domains, mailboxes.

An IIS SMTP virtual server on a Windows POP3 server, an Exchange 2003 SMTP virtual server and a
Postfix `smtpd` service are the same thing to the principles: an SMTP service that offers client
authentication (or not), relays for authenticated clients (or not), relays by address for some
networks (or for everyone), and sends through a smart host (always, or after trying DNS). The POP3
service of Windows and Dovecot are the same too: a mailbox service authenticating its users through
some backend. Source families translate their settings into these concepts, with their own words in
each field's `note`; checks judge the concepts and never learn a product's file names or bit masks.

    Pop3Host        a POP3 side host: name, addresses, what was read of it (capabilities),
                    its SMTP services, its mailbox service, and optionally its own routing rules
    SmtpService     one SMTP service of an Exchange server or a POP3 host
    RelayPolicy     who may relay without authenticating (decoded), or the field is unreadable
    MailboxService  the POP3/IMAP service and the authentication backends it uses
    MailDomain      a domain a host hosts (delivers locally) or relays
    Mailbox         one mailbox of a host
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from auditor.model.codecs import Field, normalize_host
from auditor.model.directory import ObjectRef

__all__ = [
    "AuthBackend",
    "Capability",
    "HostDecision",
    "HostRouting",
    "IPNetwork",
    "MailDomain",
    "Mailbox",
    "MailboxService",
    "Pop3Host",
    "RelayPolicy",
    "SmtpService",
    "SystemRole",
]

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
# Grants wider than these are an open relay (checks.md COEX-901, "Open relay (Postfix)").
WIDEST_IPV4_PREFIX = 16
WIDEST_IPV6_PREFIX = 48


class Capability(StrEnum):
    """What was read of a POP3 host; a check that needs a capability that was not read skips."""

    SMTP_SETTINGS = "smtp-settings"
    AUTH = "auth"
    DOMAINS = "domains"
    MAILBOXES = "mailboxes"


class SystemRole(StrEnum):
    EXCHANGE = "exchange"
    POP3_HOST = "pop3-host"


@dataclass(frozen=True, slots=True)
class RelayPolicy:
    """Who may relay through a service without authenticating, decoded.

    `only_listed` False means every client may relay except `denies` (`everyone_reason` says why, in
    the product's words). `grants` never holds a "nobody" placeholder. `description` is one line for
    messages.
    """

    only_listed: bool
    grants: tuple[IPNetwork, ...] = ()
    denies: tuple[IPNetwork, ...] = ()
    description: str = ""
    everyone_reason: str | None = None
    # Set when a grant is wider than an open relay's limit in a way CIDR prefixes do not show
    # (a `low-high` range of more than a /16's addresses): the reason, in the product's words.
    too_wide: str | None = None

    def grants_address(self, address: str) -> bool:
        """Whether a client at `address` may relay by address under this policy."""
        try:
            ip = ipaddress.ip_address(address.strip().strip("[]"))
        except ValueError:
            return False
        if any(ip in net for net in self.denies if net.version == ip.version):
            return False
        if not self.only_listed:
            return True
        return any(ip in net for net in self.grants if net.version == ip.version)

    def widest_grant(self, version: int = 4) -> IPNetwork | None:
        grants = sorted((g for g in self.grants if g.version == version), key=lambda n: n.prefixlen)
        return grants[0] if grants else None

    def open_reason(self) -> str | None:
        """Why this policy makes an open relay (checks.md COEX-901), or None when it does not."""
        if not self.only_listed:
            return self.everyone_reason or f"relays for every client ({self.description})"
        if self.too_wide:
            return self.too_wide
        for version, limit in ((4, WIDEST_IPV4_PREFIX), (6, WIDEST_IPV6_PREFIX)):
            widest = self.widest_grant(version)
            if widest is not None and widest.prefixlen < limit:
                return f"relay list grants {widest}, wider than /{limit} ({self.description})"
        return None


@dataclass(frozen=True, slots=True)
class SmtpService:
    """One SMTP service. `subject` is how findings name it (a DN, a host name, `HOST:service`)."""

    role: SystemRole
    system: str
    subject: str
    name: str
    ref: ObjectRef
    client_auth: Field[bool]
    relay_for_authenticated: Field[bool]
    relay: Field[RelayPolicy]
    smart_host: Field[str]
    smart_host_always: Field[bool]
    dn: str | None = None
    fqdn: str | None = None
    # "2003" for an Exchange 2003 / IIS SMTP virtual server, "2007+" for a receive connector.
    generation: str = ""


@dataclass(frozen=True, slots=True)
class AuthBackend:
    """One way the mailbox service checks passwords. `ad_backed` None: a human must look."""

    ad_backed: bool | None
    statement: str


@dataclass(frozen=True, slots=True)
class MailboxService:
    """The POP3/IMAP service of a host. `ad_method_name` is what the product calls AD-backed auth."""

    system: str
    ad_method_name: str
    backends: tuple[AuthBackend, ...]
    protocols: tuple[str, ...] = ("pop3",)


@dataclass(frozen=True, slots=True)
class MailDomain:
    """A domain a host knows: `hosted` (delivered locally: `D_pop(S)`) or `relayed` (forwarded)."""

    system: str
    domain: str
    hosted: bool
    relayed: bool = False
    source: str = ""
    ref: ObjectRef | None = None


@dataclass(frozen=True, slots=True)
class Mailbox:
    system: str
    local: str
    domain: str
    ref: ObjectRef | None = None

    @property
    def address(self) -> str:
        return f"{self.local}@{self.domain}".lower()

    # Older checks called the local part `mailbox` and the host `server`.
    @property
    def mailbox(self) -> str:
        return self.local

    @property
    def server(self) -> str:
        return self.system


@dataclass(frozen=True, slots=True)
class HostDecision:
    """What a host does with a message: stop (`outcome`), or hand it to `next_host` (a host name)."""

    rule: str
    outcome: str | None = None
    next_host: str | None = None
    address: str | None = None
    unknown_rule: str | None = None  # the rule to show when `next_host` designates no known system
    refs: tuple[ObjectRef, ...] = ()  # the stored objects the decision read (beyond the host itself)


class HostRouting(Protocol):
    """A family's own routing rules for its hosts (the default: local domains, then the smart host)."""

    def decide(self, host: Pop3Host, address: str) -> HostDecision: ...


@dataclass(slots=True)
class Pop3Host:
    """A host on the POP3 side: what the config says of it plus what its export held.

    `outbound` is the service whose smart host carries the host's outgoing mail (COEX-701), when
    the SMTP settings were read.
    """

    name: str
    family: str
    ref: ObjectRef
    fqdn: str | None = None
    addresses: tuple[str, ...] = ()
    capabilities: frozenset[Capability] = frozenset()
    smtp_services: tuple[SmtpService, ...] = ()
    mailbox_service: MailboxService | None = None
    outbound: SmtpService | None = None
    routing: HostRouting | None = field(default=None, repr=False, compare=False)

    def has(self, capability: Capability) -> bool:
        return capability in self.capabilities

    def designations(self) -> frozenset[str]:
        return frozenset(normalize_host(h) for h in (self.name, self.fqdn or "", *self.addresses) if h)
