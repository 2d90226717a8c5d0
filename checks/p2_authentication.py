"""P2: one authentication method, through Active Directory, for Exchange and POP3 users alike."""

from __future__ import annotations

from collections.abc import Iterator

from auditor.model import AD_INTEGRATED_AUTH_GUID, Pop3Server, Snapshot
from auditor.registry import Finding, Severity, SkipCheck, check

from ._support import require_domain, require_pop3_servers

AD_INTEGRATED = "active directory integrated"
KNOWN_METHODS = {
    AD_INTEGRATED_AUTH_GUID: "Active Directory Integrated",
    "14f1665c-e3d3-46aa-884f-ed4cf19d7ad5": "Local Windows Accounts",
    "c395e20c-2236-4af7-b736-54fad07dc526": "Encrypted Password File",
}


def _is_ad_integrated(method: str) -> bool:
    text = method.strip().strip("{}").strip().lower()
    return text in {AD_INTEGRATED, AD_INTEGRATED_AUTH_GUID}


def _winpop_verdict(server: Pop3Server) -> tuple[bool, str]:
    current = server.winpop_auth_current
    if not current:
        return False, "winpop-auth.txt marks no method as current"
    return _is_ad_integrated(current), f"winpop-auth.txt says {current!r}"


def _registry_verdict(server: Pop3Server) -> tuple[bool | None, str]:
    guid = server.registry_auth_guid
    if guid is None:
        index = server.registry_default_auth_method
        return None, (
            f"pop3.reg DefaultAuthMethod {index} does not index one of its "
            f"{len(server.registry_auth_methods)} AuthMethods"
        )
    name = KNOWN_METHODS.get(guid, "an unknown method")
    return guid == AD_INTEGRATED_AUTH_GUID, f"pop3.reg says {name} ({{{guid}}})"


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
    require_pop3_servers(snap)
    examined = 0
    for server in snap.pop3_servers:
        has_winpop = snap.has_pop3_file(server.name, "winpop-auth.txt")
        has_registry = snap.has_pop3_file(server.name, "pop3.reg")
        if not has_winpop and not has_registry:
            continue
        examined += 1
        winpop = _winpop_verdict(server) if has_winpop else None
        registry = _registry_verdict(server) if has_registry else None
        if registry is not None and registry[0] is None:
            yield Finding.error(server.name, registry[1] + (f"; {winpop[1]}" if winpop else ""))
        elif winpop is not None and registry is not None and winpop[0] != registry[0]:
            yield Finding.error(server.name, f"the exports contradict each other: {winpop[1]}, {registry[1]}")
        else:
            verdicts = [v for v in (winpop, registry) if v is not None]
            said = "; ".join(v[1] for v in verdicts)
            if all(v[0] for v in verdicts):
                yield Finding.passed(server.name, said)
            else:
                yield Finding.failed(server.name, f"not Active Directory Integrated: {said}")
    if not examined:
        raise SkipCheck("no POP3 server export holds winpop-auth.txt or pop3.reg")


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
        raise SkipCheck("no POP3 mailbox list (winpop-list-DOMAIN.txt) in any POP3 export")
    require_domain(snap)
    for mailbox in snap.pop3_mailboxes:
        address = mailbox.address
        found = (
            *snap.users_by_sam_account_name.get(mailbox.mailbox.lower(), ()),
            *snap.recipients_by_upn.get(address, ()),
            *snap.recipients_by_target_address.get(address, ()),
        )
        enabled = [r for r in found if r.is_user and not r.disabled]
        if enabled:
            owner = min(enabled, key=lambda r: r.dn) if len(enabled) > 1 else enabled[0]
            yield Finding.passed(address, f"owned by enabled user {owner.dn}")
            continue
        candidates = {r.key: r for r in found}
        if not candidates:
            yield Finding.failed(
                address,
                f"no AD user has sAMAccountName {mailbox.mailbox}, userPrincipalName {address} "
                f"or targetAddress SMTP:{address}",
            )
            continue
        reasons = []
        for r in sorted(candidates.values(), key=lambda r: r.dn):
            if r.is_contact:
                reasons.append(f"{r.dn} is a contact (cannot authenticate)")
            else:
                reasons.append(f"{r.dn} is disabled (userAccountControl {r.user_account_control})")
        yield Finding.failed(address, "no enabled user: " + "; ".join(reasons))
