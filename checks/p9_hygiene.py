"""Hygiene every principle relies on: no open relay, unique addresses, one primary address each."""

from __future__ import annotations

from collections.abc import Iterator

from auditor.model import Capability, ExchangeServer, Snapshot
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
    # In index order: the engine lists a check's findings by subject, and 200,000 addresses
    # sorted here cost 0.1 s of every pass for passing findings that are only counted.
    for address, owners in index.items():
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


def _server_support(snap: Snapshot, server: ExchangeServer) -> Finding:
    evidence = [server.ref]
    if server.version_problem:
        return Finding.error(server.dn, f"its version cannot be read: {server.version_problem}", evidence)
    if server.generation is None:
        shown = f"version {server.version}" if server.version else "no serialNumber or versionNumber"
        return Finding.error(server.dn, f"{shown}: no known Exchange release; review by hand", evidence)
    release = (
        "Exchange Subscription Edition" if server.generation == "SE" else f"Exchange {server.generation}"
    )
    named = f"{release} ({server.version}, from {server.version_source})"
    unconfirmed = "" if server.support_known else " (date not confirmed)"
    end = server.end_of_support
    if end is None:
        return Finding.passed(server.dn, f"{named}: supported (modern lifecycle)", evidence)
    assert snap.as_of is not None
    if snap.as_of < end:
        return Finding.passed(server.dn, f"{named}: supported until {end.isoformat()}", evidence)
    return Finding.failed(
        server.dn,
        f"{named}: out of support since {end.isoformat()}{unconfirmed} (source: {server.support_source})",
        evidence,
    )


@check(
    "COEX-904",
    title="Every Exchange server is a supported version, and the organization holds one generation",
    severity=Severity.INFO,
    principles=("all",),
    remediation="Move mailboxes and connectors to Exchange Subscription Edition, then uninstall the old servers and remove the leftover 2003 objects.",
)
def exchange_versions_supported(snap: Snapshot) -> Iterator[Finding]:
    """A server out of support gets no security updates; a forest that still holds 2003-era
    objects beside 2007+ ones is judged by two models, and since 2003 and 2013+ cannot coexist,
    those objects are leftovers that mislead administrators and tools. Info only: it never
    changes the exit code under the default fail_on."""
    if not snap.has_configuration:
        raise SkipCheck("the Configuration partition (Exchange configuration) was not collected")
    if not snap.exchange_servers:
        raise SkipCheck("no Exchange server in the Configuration partition")
    if snap.as_of is None:
        raise SkipCheck("the snapshot has no date to judge support dates at")
    for server in sorted(snap.exchange_servers, key=lambda s: s.dn.lower()):
        yield _server_support(snap, server)
    # Listed by name, not in the order the source returned them: a live read and an export of
    # the same directory must give the same message.
    servers = sorted(snap.exchange_servers, key=lambda s: (s.name.lower(), s.dn.lower()))
    connectors = sorted(snap.smtp_connectors, key=lambda c: (c.name.lower(), c.dn.lower()))
    legacy = [
        *(f"server {s.name} ({s.generation})" for s in servers if s.generation in ("2000", "2003")),
        *(f"SMTP connector {c.name!r}" for c in connectors if not c.modern),
        *sorted(f"SMTP virtual server {s.subject}" for s in snap.legacy_exchange_smtp_services),
        *sorted(f"mailbox store {m.name!r}" for m in snap.mailbox_stores if m.generation != "2007+"),
    ]
    modern = [
        *(f"server {s.name} ({s.generation})" for s in servers if s.modern),
        *(f"send connector {c.name!r}" for c in connectors if c.modern),
        *(
            f"receive connector {c.name!r}"
            for c in sorted(snap.receive_connectors, key=lambda c: (c.name.lower(), c.dn.lower()))
        ),
    ]
    subject = snap.exchange_organization_dn or "Exchange organization"
    evidence = [s.ref for s in servers]
    if legacy and modern:
        newest = {s.generation for s in snap.exchange_servers if s.modern}
        leftovers = (
            "; 2003 and 2013 or later cannot coexist: the 2003-era objects are leftovers"
            if newest & {"2013", "2016", "2019", "SE"}
            else ""
        )
        yield Finding.failed(
            subject,
            f"two generations: 2003-era {', '.join(legacy)}; 2007+ {', '.join(modern)}{leftovers}",
            evidence,
        )
    else:
        generation = "2003" if legacy else "2007+"
        yield Finding.passed(subject, f"one generation ({generation})", evidence)
