"""P2: one authentication method, through Active Directory, for Exchange and POP3 users alike."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator

from auditor.model import Capability, Pop3Host, Snapshot
from auditor.registry import Finding, Severity, SkipCheck, check

from ._support import hosts_with, mailbox_problems, require_domain


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
        evidence = (
            host.ref,
            *([service.ref] if service.ref else []),
            *(b.ref for b in service.backends if b.ref),
        )
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
    problems = mailbox_problems(snap)
    if not snap.pop3_mailboxes and not problems:
        raise SkipCheck("no POP3 server export holds its mailbox list")
    require_domain(snap)
    yield from problems
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


def _beyond_host(networks: tuple[str, ...], host: Pop3Host) -> list[str]:
    """Trusted networks that reach beyond loopback and the host's own addresses (unreadable ones too)."""
    own = []
    for address in host.addresses:
        try:
            own.append(ipaddress.ip_network(address.strip("[]"), strict=False))
        except ValueError:
            continue
    beyond = []
    for entry in networks:
        try:
            network = ipaddress.ip_network(entry.strip("[]"), strict=False)
        except ValueError:
            beyond.append(entry)
            continue
        if network.is_loopback or any(
            network.version == mine.version and network.subnet_of(mine)  # type: ignore[arg-type]
            for mine in own
        ):
            continue
        beyond.append(entry)
    return beyond


@check(
    "COEX-203",
    title="POP3 and IMAP never accept a password in clear text",
    severity=Severity.HIGH,
    principles=("P2", "P5"),
    remediation="In dovecot.conf set ssl = required (or yes with disable_plaintext_auth = yes; 2.4: auth_allow_cleartext = no); keep login_trusted_networks local.",
)
def mailbox_service_refuses_cleartext(snap: Snapshot) -> Iterator[Finding]:
    """The POP3/IMAP password is the user's Active Directory password (P2). A service that accepts it
    without TLS hands that password to anyone on the path, and with it every system that trusts AD;
    networks the service "trusts" (login_trusted_networks) may send it in clear by design."""
    judged = [
        host
        for host in hosts_with(snap, Capability.AUTH)
        if host.mailbox_service is not None and host.mailbox_service.cleartext_auth is not None
    ]
    if not judged:
        raise SkipCheck(
            "no POP3 server export says whether its POP3/IMAP service accepts cleartext passwords"
        )
    for host in judged:
        service = host.mailbox_service
        assert service is not None and service.cleartext_auth is not None
        cleartext = service.cleartext_auth
        evidence = [host.ref, *([service.ref] if service.ref else [])]
        served = [p for p in service.protocols if p in ("pop3", "imap")]
        if not served:
            shown = " ".join(service.protocols) or "none"
            yield Finding.passed(host.name, f"serves neither POP3 nor IMAP (protocols: {shown})", evidence)
        elif cleartext.is_unreadable:
            yield Finding.error(host.name, f"{cleartext.note}; review by hand", evidence)
        elif cleartext.value:
            yield Finding.failed(host.name, f"passwords may travel in clear: {cleartext.note}", evidence)
        elif beyond := _beyond_host(service.trusted_networks, host):
            yield Finding.failed(
                host.name,
                f"clients from {', '.join(beyond)} count as secured and may send passwords in clear "
                f"(trusted networks beyond loopback and the host's own addresses); otherwise {cleartext.note}",
                evidence,
            ).graded(Severity.MEDIUM)
        else:
            yield Finding.passed(host.name, f"{'/'.join(served)}: {cleartext.note}", evidence)


@check(
    "COEX-204",
    title="Every connection from a Linux host to Active Directory is encrypted",
    severity=Severity.HIGH,
    principles=("P2",),
    remediation="Use ldaps:// or STARTTLS (Dovecot 2.3 tls = yes, 2.4 ldap_starttls = yes; Postfix ldap: start_tls = yes) and auth_bind = yes for passdbs.",
)
def directory_connections_encrypted(snap: Snapshot) -> Iterator[Finding]:
    """A Linux host checks POP3/IMAP and SMTP passwords against Active Directory (P2). Over a plain
    LDAP connection those passwords, or the service account's, cross the network readable; and a
    passdb that does not bind as the user cannot check an AD password at all (AD never returns
    one over LDAP)."""
    judged = [host for host in snap.pop3_servers if host.directory_connections is not None]
    if not judged:
        raise SkipCheck("no POP3 server export describes its connections to the directory")
    for host in judged:
        connections = host.directory_connections or ()
        service_ref = host.mailbox_service.ref if host.mailbox_service else None
        evidence = [host.ref, *([service_ref] if service_ref else []), *(c.ref for c in connections if c.ref)]
        plain = [c.note for c in connections if c.encrypted is False]
        unknown = [f"{c.note}; review by hand" for c in connections if c.encrypted is None]
        binds = [
            f"{c.origin} checks passwords without binding as the user: AD never returns a password over LDAP"
            if c.user_binds is False
            else f"whether {c.origin} binds as the user cannot be told; review by hand"
            for c in connections
            if c.checks_passwords and c.user_binds is not True
        ]
        if plain:
            yield Finding.failed(host.name, "in clear: " + "; ".join(plain + unknown + binds), evidence)
        elif unknown or binds:
            yield Finding.error(host.name, "; ".join(unknown + binds), evidence)
        elif not connections:
            yield Finding.passed(host.name, "no LDAP connection to the directory is configured", evidence)
        else:
            yield Finding.passed(host.name, "; ".join(c.note for c in connections), evidence)
