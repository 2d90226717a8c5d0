"""Transport concepts that every product maps onto: SMTP services, mailbox services, domains, mailboxes.

An IIS SMTP virtual server on a Windows POP3 server, an Exchange 2003 SMTP virtual server and a
Postfix `smtpd` service are the same thing to the principles: an SMTP service that offers client
authentication (or not), relays for authenticated clients (or not), relays by address for some
networks (or for everyone), and sends through a smart host (always, or after trying DNS). The POP3
service of Windows and Dovecot are the same too: a mailbox service authenticating its users through
some backend. Source families translate their settings into these concepts, with their own words in
each field's `note`; checks judge the concepts and never learn a product's file names or bit masks.

    Pop3Host        a POP3 side host: name, addresses, what was read of it (capabilities),
                    its SMTP services, its mailbox service, its connections to the directory,
                    and optionally its own routing rules
    SmtpService     one SMTP service of an Exchange server or a POP3 host (for an outgoing one:
                    the smart host's port, whether TLS is required on that hop, whether it logs in)
    RelayPolicy     who may relay without authenticating (decoded), or the field is unreadable
    MailboxService  the POP3/IMAP service, the authentication backends it uses, whether it
                    accepts passwords in clear and which networks it trusts to do so
    DirectoryConnection  one connection of a host to the directory (AD), encrypted or not
    MailDomain      a domain a host hosts (delivers locally) or relays, and what it does with
                    mail for a recipient of that domain it does not know
    UnknownRecipientRule  one such rule: where that mail goes instead of being refused
    Mailbox         one mailbox of a host

Fields added for a family after the first ones (the Linux host's) have defaults that mean "this
family does not say": None for a Field, () for a tuple. A check that reads one skips the hosts or
services that leave it None, so the families that do not describe it are judged exactly as before.
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
    "DirectoryConnection",
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
    "UnknownRecipientRule",
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
    """One SMTP service. `subject` is how findings name it (a DN, a host name, `HOST:service`).

    `client_auth_tls`: whether client authentication, where offered, is offered only under TLS
    (vacuously True when none is offered). For a host's outgoing service: `smart_host_alternates`
    are further smart hosts tried after `smart_host`, `smart_host_port` its port (None: SMTP's
    25), `smart_host_tls_required` whether the hop to it must be encrypted, `smart_host_auth`
    whether the host logs in to it. None: the family does not say.
    """

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
    client_auth_tls: Field[bool] | None = None
    smart_host_alternates: tuple[str, ...] = ()
    smart_host_port: int | None = None
    smart_host_tls_required: Field[bool] | None = None
    smart_host_auth: Field[bool] | None = None


@dataclass(frozen=True, slots=True)
class AuthBackend:
    """One way the mailbox service checks passwords. `ad_backed` None: a human must look.
    `ref`: the stored object that configures it, when it is not the host's own record."""

    ad_backed: bool | None
    statement: str
    ref: ObjectRef | None = None


@dataclass(frozen=True, slots=True)
class MailboxService:
    """The POP3/IMAP service of a host. `ad_method_name` is what the product calls AD-backed auth.

    `cleartext_auth`: whether an ordinary client may send its password without TLS (None: the
    family does not say). `trusted_networks`: networks whose clients count as secured and may
    always do so (as the product writes them). `ref`: the stored object holding the service's
    settings, when it is not the host's own record.
    """

    system: str
    ad_method_name: str
    backends: tuple[AuthBackend, ...]
    protocols: tuple[str, ...] = ("pop3",)
    cleartext_auth: Field[bool] | None = None
    trusted_networks: tuple[str, ...] = ()
    ref: ObjectRef | None = None


@dataclass(frozen=True, slots=True)
class DirectoryConnection:
    """One connection a host opens to the directory (AD): where it is set, and whether it is encrypted.

    `encrypted` None: it cannot be told (`note` says why). A connection that checks users'
    passwords (`checks_passwords`) must do so by binding as the user (`user_binds`): AD never
    returns a password over LDAP. `user_binds` None: unknown, or not such a connection.
    """

    origin: str
    uris: tuple[str, ...]
    encrypted: bool | None
    note: str
    checks_passwords: bool = False
    user_binds: bool | None = None
    ref: ObjectRef | None = None


@dataclass(frozen=True, slots=True)
class UnknownRecipientRule:
    """A setting by which a host passes on mail for a recipient it does not know instead of refusing it.

    `next_host`: the host that mail goes to; `delivered`: it stays on the host (a catch-all
    mailbox); `undecided`: why neither can be told from what was read (a map not exported).
    """

    rule: str
    next_host: str | None = None
    delivered: bool = False
    undecided: str | None = None
    refs: tuple[ObjectRef, ...] = ()


@dataclass(frozen=True, slots=True)
class MailDomain:
    """A domain a host knows: `hosted` (delivered locally: `D_pop(S)`) or `relayed` (forwarded).

    `unknown_recipients`: the rules that pass on mail for recipients of this domain the host does
    not know (empty: it refuses them); None when the family does not say.
    """

    system: str
    domain: str
    hosted: bool
    relayed: bool = False
    source: str = ""
    ref: ObjectRef | None = None
    unknown_recipients: tuple[UnknownRecipientRule, ...] | None = None


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
    the SMTP settings were read. `directory_connections`: the host's connections to AD (None: not
    read). `mailbox_problem` / `domains_problem`: why its mailboxes / hosted domains could not all
    be told from what was read (a check reports it as `error`, never as a pass).
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
    directory_connections: tuple[DirectoryConnection, ...] | None = None
    mailbox_problem: str | None = None
    domains_problem: str | None = None

    def has(self, capability: Capability) -> bool:
        return capability in self.capabilities

    def designations(self) -> frozenset[str]:
        return frozenset(normalize_host(h) for h in (self.name, self.fqdn or "", *self.addresses) if h)
