"""What several checks share: data guards, the relay verdict of an SMTP service, POP3 users' AD users.

Kept out of the check modules so that one rule (an open relay, a mail-enabled POP3 user) has one
definition, whichever check applies it. Everything here reads the model's concepts only.
"""

from __future__ import annotations

from dataclasses import dataclass

from auditor.model import (
    Capability,
    Mailbox,
    Pop3Host,
    Recipient,
    RecipientType,
    RelayPolicy,
    SmtpService,
    Snapshot,
)
from auditor.registry import Finding, SkipCheck

_CAPABILITY_WORDS = {
    Capability.SMTP_SETTINGS: "its SMTP settings",
    Capability.AUTH: "its authentication settings",
    Capability.DOMAINS: "its domains",
    Capability.MAILBOXES: "its mailbox list",
}


def require_configuration(snap: Snapshot) -> None:
    if not snap.has_configuration:
        raise SkipCheck("the Configuration partition (Exchange configuration) was not collected")


def require_domain(snap: Snapshot) -> None:
    if not snap.has_domain_partition:
        raise SkipCheck("the domain partition (users and contacts) was not collected")


def require_pop3_servers(snap: Snapshot) -> None:
    if not snap.pop3_servers:
        raise SkipCheck("no POP3 server is configured")


def mailbox_problems(snap: Snapshot) -> list[Finding]:
    """An `error` per POP3 host whose mailbox list was read but cannot be turned into addresses."""
    return [
        Finding.error(host.name, f"{host.mailbox_problem}; review by hand", [host.ref])
        for host in snap.pop3_servers
        if host.mailbox_problem
    ]


def domain_problems(snap: Snapshot) -> list[Finding]:
    """An `error` per POP3 host whose hosted domains could not all be read (a map not exported)."""
    return [
        Finding.error(host.name, f"its domains cannot all be told: {host.domains_problem}", [host.ref])
        for host in snap.pop3_servers
        if host.domains_problem
    ]


def hosts_with(snap: Snapshot, capability: Capability) -> list[Pop3Host]:
    """POP3 hosts of which `capability` was read; skip the check when none was."""
    require_pop3_servers(snap)
    found = snap.hosts_with(capability)
    if not found:
        raise SkipCheck(f"no POP3 server export holds {_CAPABILITY_WORDS[capability]}")
    return found


@dataclass(frozen=True, slots=True)
class RelayVerdict:
    """`policy` is None when the relay settings could not be decoded (`problem` says what to review)."""

    policy: RelayPolicy | None
    open_reason: str | None
    problem: str | None = None

    @property
    def undecodable(self) -> bool:
        return self.policy is None


def relay_verdict(service: SmtpService) -> RelayVerdict:
    """Whether the service relays for everyone or too wide a network (checks.md COEX-901)."""
    relay = service.relay
    if relay.is_unreadable or relay.value is None:
        return RelayVerdict(None, None, relay.note or f"{relay.source} cannot be decoded; review it by hand")
    return RelayVerdict(relay.value, relay.value.open_reason())


# -- POP3 mailboxes and their AD users ------------------------------------------------------------


def mail_enabled_user_problem(recipient: Recipient, address: str) -> str | None:
    """Why `recipient` is not the mail-enabled user of POP3 mailbox `address` (COEX-401), or None."""
    target = recipient.target_address
    if not recipient.is_user:
        return f"{recipient.dn} is a {recipient.kind_label}, not a user"
    if not recipient.mail_nickname:
        return f"user {recipient.dn} has no mailNickname (not mail-enabled)"
    if recipient.home_mdb or recipient.home_server_name:
        return f"user {recipient.dn} has an Exchange mailbox (homeMDB / msExchHomeServerName)"
    if recipient.recipient_type is not None and recipient.recipient_type is not RecipientType.MAIL_USER:
        return f"user {recipient.dn} is a {recipient.recipient_type_label}, not a mail user (MailUser, 128)"
    if target is None or not target.is_smtp or target.lower != address.lower():
        return f"user {recipient.dn} has targetAddress {target or 'none'}, not SMTP:{address}"
    return None


def pop3_user_candidates(snap: Snapshot, mailbox: Mailbox) -> list[Recipient]:
    """Every AD object that could be a POP3 mailbox's user: by targetAddress, sAMAccountName, UPN."""
    address = mailbox.address
    found = {
        r.key: r
        for r in (
            *snap.recipients_by_target_address.get(address, ()),
            *snap.users_by_sam_account_name.get(mailbox.local.lower(), ()),
            *snap.recipients_by_upn.get(address, ()),
        )
    }
    return sorted(found.values(), key=lambda r: r.dn.lower())


def mail_enabled_user_for(snap: Snapshot, mailbox: Mailbox) -> tuple[Recipient | None, list[str]]:
    """The mail-enabled AD user of a POP3 mailbox (COEX-401's rule), and why each candidate is not."""
    address = mailbox.address
    by_target = snap.recipients_by_target_address.get(address, ())
    for recipient in by_target:  # the usual case: the user whose targetAddress is the mailbox
        if mail_enabled_user_problem(recipient, address) is None:
            return recipient, []
    candidates: dict[str, Recipient] = {r.key: r for r in by_target}
    for recipient in snap.users_by_sam_account_name.get(mailbox.local.lower(), ()):
        candidates.setdefault(recipient.key, recipient)
    for recipient in snap.recipients_by_upn.get(address, ()):
        candidates.setdefault(recipient.key, recipient)
    problems: list[str] = []
    for recipient in sorted(candidates.values(), key=lambda r: r.dn.lower()):
        problem = mail_enabled_user_problem(recipient, address)
        if problem is None:
            return recipient, []
        problems.append(problem)
    return None, problems
