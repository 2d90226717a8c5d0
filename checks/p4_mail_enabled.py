"""P4: every POP3 user is a mail-enabled user account in Active Directory, visible in the GAL."""

from __future__ import annotations

from collections.abc import Iterator

from auditor.model import Recipient, Snapshot
from auditor.registry import Finding, Severity, SkipCheck, check

from ._support import (
    mail_enabled_user_for,
    mailbox_problems,
    pop3_user_candidates,
    require_configuration,
    require_domain,
)


@check(
    "COEX-401",
    title="Every POP3 mailbox has a mail-enabled AD user pointing at it",
    severity=Severity.HIGH,
    principles=("P4",),
    remediation="Mail-enable the POP3 user's AD account with the external address SMTP:name@pop-domain (Exchange Tasks > Establish E-mail Address).",
)
def pop3_mailboxes_are_mail_enabled(snap: Snapshot) -> Iterator[Finding]:
    """Exchange only knows the recipients AD describes. Without a mail-enabled user whose
    targetAddress is the POP3 mailbox, Exchange bounces mail for the POP3 user at the shared domain
    and colleagues cannot find them in the Global Address List (P4)."""
    unreadable = mailbox_problems(snap)
    if not snap.pop3_mailboxes and not unreadable:
        raise SkipCheck("no POP3 server export holds its mailbox list")
    require_domain(snap)
    yield from unreadable
    for mailbox in snap.pop3_mailboxes:
        user, problems = mail_enabled_user_for(snap, mailbox)
        evidence = [
            *([mailbox.ref] if mailbox.ref else []),
            *(r.ref for r in pop3_user_candidates(snap, mailbox)),
        ]
        if user is not None:
            yield Finding.passed(mailbox.address, f"mail-enabled user {user.dn}", evidence)
        elif problems:
            yield Finding.failed(mailbox.address, "no mail-enabled user: " + "; ".join(problems), evidence)
        else:
            yield Finding.failed(
                mailbox.address,
                f"no AD object has targetAddress SMTP:{mailbox.address} (nor sAMAccountName {mailbox.mailbox})",
                evidence,
            )


def _pop3_users(snap: Snapshot) -> list[Recipient]:
    """Mail-enabled users whose targetAddress lies in a POP3 domain (the POP3 users Exchange knows)."""
    pop3_domains = snap.all_pop3_domains
    if not pop3_domains:
        raise SkipCheck("no POP3 domain known: no POP3 server export holds domains it hosts")
    require_domain(snap)
    users = [
        r
        for r in snap.recipients
        if r.is_mail_enabled_user
        and r.target_address is not None
        and r.target_address.is_smtp
        and r.target_address.domain in pop3_domains
    ]
    if not users:
        raise SkipCheck("no mail-enabled user has a targetAddress in a POP3 domain")
    return users


@check(
    "COEX-402",
    title="POP3 users' primary SMTP address is in a domain some system accepts",
    severity=Severity.MEDIUM,
    principles=("P4",),
    remediation="Make the recipient policy for POP3 users stamp a primary address in the shared Exchange domain or the POP3 domain, then apply the policy.",
)
def pop3_users_reply_address_accepted(snap: Snapshot) -> Iterator[Finding]:
    """A POP3 user's primary address is what others reply to. If it is in a domain neither Exchange
    (authoritatively) nor a POP3 server accepts, every reply leaves the organization or bounces."""
    require_configuration(snap)
    for user in _pop3_users(snap):
        primary = user.primary_smtp
        if primary is None:
            yield Finding.failed(
                user.dn, "no primary SMTP address (no SMTP: entry in proxyAddresses)", [user.ref]
            )
            continue
        domain = primary.rpartition("@")[2].lower()
        evidence = [user.ref, *snap.domain_refs(domain), *snap.pop3_domain_refs(domain)]
        if snap.is_authoritative(domain):
            message = f"primary {primary} is in Exchange's authoritative domain {domain}"
            yield Finding.passed(user.dn, message, evidence)
        elif snap.is_internal_relay(domain):
            message = f"primary {primary} is in Exchange's InternalRelay domain {domain}"
            yield Finding.passed(user.dn, message, evidence)
        elif domain in snap.all_pop3_domains:
            yield Finding.passed(user.dn, f"primary {primary} is in POP3 domain {domain}", evidence)
        else:
            yield Finding.failed(
                user.dn,
                f"primary {primary} is neither in a domain Exchange is authoritative for nor in a POP3 domain",
                evidence,
            )


@check(
    "COEX-403",
    title="POP3 users appear in the Global Address List",
    severity=Severity.MEDIUM,
    principles=("P4",),
    remediation="Clear 'Hide from Exchange address lists' on the user and let the Recipient Update Service stamp it (Update Now).",
)
def pop3_users_in_gal(snap: Snapshot) -> Iterator[Finding]:
    """P4 mail-enables POP3 users also so that Exchange and POP3 users find each other in the Global
    Address List. A hidden or never-stamped user is missing from it: colleagues cannot address them."""
    check_abook = snap.has_show_in_address_book_data
    for user in _pop3_users(snap):
        problems = []
        if user.hidden_from_address_lists:
            problems.append("msExchHideFromAddressLists is TRUE")
        if not user.legacy_exchange_dn:
            problems.append("no legacyExchangeDN")
        if check_abook and not user.show_in_address_book:
            problems.append("no showInAddressBook (the Recipient Update Service never stamped it)")
        if problems:
            yield Finding.failed(
                user.dn, "not in the Global Address List: " + "; ".join(problems), [user.ref]
            )
        else:
            note = "" if check_abook else " (showInAddressBook not collected)"
            yield Finding.passed(user.dn, f"visible in the address lists{note}", [user.ref])


@check(
    "COEX-404",
    title="No targetAddress points into a domain Exchange is authoritative for",
    severity=Severity.CRITICAL,
    principles=("P3", "P4"),
    remediation="Set the object's targetAddress to its POP3 domain address (SMTP:name@pop-domain), never to a domain Exchange is authoritative for.",
)
def target_address_not_authoritative(snap: Snapshot) -> Iterator[Finding]:
    """Exchange resolves a targetAddress in one of its authoritative domains as its own recipient
    again: back to the same object it is a categorizer loop (NDR 5.4.6), to another object the mail is
    misdelivered, to nobody it bounces. Either way it never reaches the POP3 server."""
    require_configuration(snap)
    objects = [r for r in snap.recipients if r.target_address is not None and r.target_address.is_smtp]
    if not objects:
        raise SkipCheck("no user or contact has an SMTP targetAddress")
    for recipient in objects:
        target = recipient.target_address
        assert target is not None
        evidence = [recipient.ref, *snap.domain_refs(target.domain)]
        if not snap.is_authoritative(target.domain):
            yield Finding.passed(
                recipient.dn, f"targetAddress {target} is outside Exchange's authoritative domains", evidence
            )
            continue
        owners = snap.recipients_by_proxy_address.get(target.lower, [])
        evidence += [owner.ref for owner in owners]
        if any(o.key == recipient.key for o in owners):
            effect = "it resolves back to this same object: categorizer loop, NDR 5.4.6"
        elif owners:
            effect = "it resolves to " + "; ".join(o.dn for o in owners) + ": misdelivery"
        else:
            effect = "no recipient has that address: NDR"
        yield Finding.failed(
            recipient.dn,
            f"targetAddress {target} is in {target.domain}, authoritative in Exchange; {effect}",
            evidence,
        )


@check(
    "COEX-405",
    title="POP3 users were provisioned by Exchange 2007+, not completed by hand",
    severity=Severity.MEDIUM,
    principles=("P4",),
    remediation="Provision the POP3 user with Enable-MailUser -ExternalEmailAddress SMTP:name@pop-domain, or run Update-Recipient on it.",
)
def pop3_users_provisioned_by_exchange(snap: Snapshot) -> Iterator[Finding]:
    """Exchange 2003's Recipient Update Service finished any object someone mail-enabled by writing
    attributes. From 2007 on nothing does: an object mail-enabled by hand stays half-provisioned,
    without type details, Exchange's proxy addresses or a legacyExchangeDN, so Exchange does not
    treat it as a mail user and it is missing from the address lists."""
    require_configuration(snap)
    if not snap.exchange_servers:
        raise SkipCheck("no Exchange server in the Configuration partition: the generation is unknown")
    if snap.has_legacy_server or not any(s.modern for s in snap.exchange_servers):
        return  # a 2000/2003 server is left: its Recipient Update Service completes objects
    for user in _pop3_users(snap):
        problems = []
        if user.recipient_type_details is None:
            problems.append("no msExchRecipientTypeDetails")
        if not any(p.is_primary for p in user.smtp_proxy_addresses):
            problems.append("no proxyAddresses with a primary SMTP: address")
        if not user.legacy_exchange_dn:
            problems.append("no legacyExchangeDN")
        if problems:
            yield Finding.failed(
                user.dn, "mail-enabled outside Exchange's cmdlets: " + "; ".join(problems), [user.ref]
            )
        else:
            yield Finding.passed(
                user.dn,
                f"{user.recipient_type_label}, stamped by Exchange (proxyAddresses, legacyExchangeDN)",
                [user.ref],
            )
