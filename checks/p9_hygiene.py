"""Hygiene every principle relies on: no open relay, unique addresses, one primary address each."""

from __future__ import annotations

from collections.abc import Iterator

from auditor.model import Capability, Snapshot
from auditor.registry import Finding, Severity, SkipCheck, check

from ._support import relay_verdict


@check(
    "COEX-901",
    title="No SMTP virtual server, Exchange or POP3, is an open relay",
    severity=Severity.CRITICAL,
    principles=("all",),
    remediation="Set the virtual server's relay to 'Only the list below' with single hosts or small subnets, and let authenticated clients relay.",
)
def no_open_relay(snap: Snapshot) -> Iterator[Finding]:
    """An open relay lets anyone on the Internet send spam through the organization: its servers
    end up on block lists and legitimate mail from Exchange and POP3 users alike is refused."""
    services = list(snap.exchange_smtp_services) if snap.has_configuration else []
    for host in snap.hosts_with(Capability.SMTP_SETTINGS):
        services += host.smtp_services
    if not services:
        raise SkipCheck(
            "no SMTP service to examine: no Configuration partition and no POP3 server's SMTP settings"
        )
    for service in services:
        verdict = relay_verdict(service)
        if verdict.policy is None:
            yield Finding.error(service.subject, str(verdict.problem), [service.ref])
        elif verdict.open_reason:
            yield Finding.failed(service.subject, f"open relay: {verdict.open_reason}", [service.ref])
        else:
            yield Finding.passed(service.subject, verdict.policy.description, [service.ref])


@check(
    "COEX-902",
    title="No SMTP address belongs to two objects",
    severity=Severity.HIGH,
    principles=("all",),
    remediation="Remove the address from every object but the one that should receive its mail, and check that no recipient policy stamps it again.",
)
def smtp_addresses_unique(snap: Snapshot) -> Iterator[Finding]:
    """Exchange cannot decide who receives mail for an address two objects claim: it returns NDR
    5.1.4 (ambiguous recipient) and logs event 9514, so neither the Exchange nor the POP3 user gets it."""
    index = snap.recipients_by_address
    if not index:
        raise SkipCheck("no SMTP address in proxyAddresses or mail on any object")
    for address, owners in sorted(index.items()):
        if len(owners) > 1:
            yield Finding.failed(
                address,
                f"claimed by {len(owners)} objects: " + "; ".join(o.dn for o in owners),
                [o.ref for o in owners],
            )
        else:
            yield Finding.passed(address, f"belongs to {owners[0].dn}", [owners[0].ref])


@check(
    "COEX-903",
    title="Every object has exactly one primary SMTP address, equal to its mail attribute",
    severity=Severity.MEDIUM,
    principles=("all",),
    remediation="Set exactly one reply address as primary on the object (E-mail Addresses > Set as Primary); the Recipient Update Service then rewrites mail.",
)
def one_primary_smtp(snap: Snapshot) -> Iterator[Finding]:
    """The primary SMTP address is the reply address and the one the GAL shows. With none or several
    (or `mail` disagreeing) replies go to an address that may belong to another system or nobody."""
    objects = [r for r in snap.recipients if r.proxy_addresses]
    if not objects:
        raise SkipCheck("no object has proxyAddresses")
    for recipient in objects:
        primaries = [p.address for p in recipient.proxy_addresses if p.is_primary]
        if len(primaries) != 1:
            shown = ", ".join(primaries) if primaries else "none"
            yield Finding.failed(
                recipient.dn,
                f"{len(primaries)} primary SMTP: addresses ({shown}), expected exactly one",
                [recipient.ref],
            )
        elif recipient.mail and recipient.mail.lower() != primaries[0].lower():
            yield Finding.failed(
                recipient.dn,
                f"mail {recipient.mail} differs from primary SMTP:{primaries[0]}",
                [recipient.ref],
            )
        else:
            yield Finding.passed(recipient.dn, f"primary SMTP:{primaries[0]}", [recipient.ref])
