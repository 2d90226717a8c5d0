"""P2: one authentication method, through Active Directory, for Exchange and POP3 users alike."""

from __future__ import annotations

from collections.abc import Iterator

from auditor.model import Capability, Snapshot
from auditor.registry import Finding, Severity, SkipCheck, check

from ._support import hosts_with, require_domain


@check(
    "COEX-201",
    title="The POP3 service authenticates through Active Directory",
    severity=Severity.HIGH,
    principles=("P2",),
    remediation="Switch the POP3 service to Active Directory Integrated authentication (winpop set auth); its domains must be removed and recreated for that.",
)
def pop3_uses_ad_authentication(snap: Snapshot) -> Iterator[Finding]:
    """P2 demands one authentication path for everyone, through Active Directory. A POP3 service on
    local Windows accounts or an encrypted password file keeps a second set of passwords that AD
    policies (lockout, expiry, disabling a leaver) never touch."""
    for host in hosts_with(snap, Capability.AUTH):
        service = host.mailbox_service
        if service is None or not service.backends:
            yield Finding.error(
                host.name,
                "the authentication settings were read but name no method; review by hand",
                [host.ref],
            )
            continue
        evidence = (host.ref,)
        said = "; ".join(b.statement for b in service.backends)
        verdicts = {b.ad_backed for b in service.backends}
        if False in verdicts:
            yield Finding.failed(host.name, f"not {service.ad_method_name}: {said}", evidence)
        elif None in verdicts:
            yield Finding.error(host.name, said, evidence)
        else:
            yield Finding.passed(host.name, said, evidence)


@check(
    "COEX-202",
    title="Every POP3 mailbox belongs to an enabled Active Directory user",
    severity=Severity.HIGH,
    principles=("P2",),
    remediation="Give each POP3 mailbox an enabled, mail-enabled AD user (sAMAccountName = mailbox name); replace contacts that stand for POP3 users by users.",
)
def pop3_mailboxes_have_ad_users(snap: Snapshot) -> Iterator[Finding]:
    """With Active Directory Integrated authentication a POP3 user logs on with an AD account. A
    mailbox whose owner is a contact, a disabled account or nobody cannot authenticate through AD
    (P2): either mail piles up unread or someone authenticates another way."""
    if not snap.pop3_mailboxes:
        raise SkipCheck("no POP3 server export holds its mailbox list")
    require_domain(snap)
    for mailbox in snap.pop3_mailboxes:
        address = mailbox.address
        found = (
            *snap.users_by_sam_account_name.get(mailbox.local.lower(), ()),
            *snap.recipients_by_upn.get(address, ()),
            *snap.recipients_by_target_address.get(address, ()),
        )
        evidence = [ref for ref in (mailbox.ref,) if ref] + [r.ref for r in found]
        enabled = [r for r in found if r.is_user and not r.disabled]
        if enabled:
            owner = min(enabled, key=lambda r: r.dn) if len(enabled) > 1 else enabled[0]
            yield Finding.passed(address, f"owned by enabled user {owner.dn}", evidence)
            continue
        candidates = {r.key: r for r in found}
        if not candidates:
            yield Finding.failed(
                address,
                f"no AD user has sAMAccountName {mailbox.local}, userPrincipalName {address} "
                f"or targetAddress SMTP:{address}",
                evidence,
            )
            continue
        reasons = []
        for r in sorted(candidates.values(), key=lambda r: r.dn):
            if not r.is_user:
                reasons.append(f"{r.dn} is a {r.kind_label} (cannot authenticate)")
            else:
                reasons.append(f"{r.dn} is disabled (userAccountControl {r.user_account_control})")
        yield Finding.failed(address, "no enabled user: " + "; ".join(reasons), evidence)
