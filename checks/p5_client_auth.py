"""P5: POP3 clients authenticate to their outgoing mail server before it relays for them."""

from __future__ import annotations

from collections.abc import Iterator

from auditor.model import Capability, Pop3Host, SmtpService, Snapshot
from auditor.registry import Finding, Severity, SkipCheck, check

from ._support import hosts_with, relay_verdict, require_configuration


@check(
    "COEX-501",
    title="Exchange SMTP virtual servers let clients authenticate and relay once authenticated",
    severity=Severity.HIGH,
    principles=("P5",),
    remediation="On each Exchange SMTP virtual server, offer Basic and/or Integrated Windows authentication and let clients that authenticate relay.",
)
def exchange_vs_allows_authenticated_relay(snap: Snapshot) -> Iterator[Finding]:
    """POP3 users send through SMTP (P5). If Exchange offers only anonymous access, or does not let
    authenticated clients relay, they cannot send to the outside, and someone will be tempted to open
    the relay list instead. On 2007+ one enabled receive connector of a transport server that grants
    Authenticated Users relay behind Integrated or Basic-after-TLS authentication is enough."""
    require_configuration(snap)
    services = snap.legacy_exchange_smtp_services
    if not services and not snap.receive_connectors:
        raise SkipCheck("no Exchange SMTP virtual server or receive connector in the Configuration partition")
    if snap.receive_connectors:
        yield _modern_submission(snap)
    for service in services:
        auth, relay = service.client_auth, service.relay_for_authenticated
        if auth.is_unreadable or relay.is_unreadable:
            yield Finding.error(
                service.subject,
                f"cannot read {auth.source} {auth.raw!r} / {relay.source} {relay.raw!r}",
                [service.ref],
            )
            continue
        problems = [field.note for field in (auth, relay) if field.value is not True]
        if problems:
            yield Finding.failed(service.subject, "; ".join(problems), [service.ref])
        else:
            yield Finding.passed(service.subject, f"{auth.note}, {relay.note}", [service.ref])


@check(
    "COEX-502",
    title="Each POP3 server's SMTP service relays only for authenticated clients",
    severity=Severity.HIGH,
    principles=("P5",),
    remediation="On the POP3 server's SMTP service, offer Basic and/or Integrated Windows authentication, relay to 'Only the list below' plus authenticated clients.",
)
def pop3_smtp_requires_authentication(snap: Snapshot) -> Iterator[Finding]:
    """P5: POP3 clients must authenticate to send. An SMTP service that offers no authenticated
    login, refuses relay to authenticated users, or relays for anyone by address lets
    unauthenticated senders through or locks real users out."""
    for host in hosts_with(snap, Capability.SMTP_SETTINGS):
        yield _judge_host(host)


def _auth_problems(service: SmtpService) -> list[str]:
    """Why authenticated clients cannot send through this service safely (empty: they can).

    Where the family says whether authentication waits for TLS (`client_auth_tls`), a service that
    offers it before TLS does not count as the one POP3 users submit through (P5, COEX-503).
    """
    fields = [service.client_auth, service.relay_for_authenticated]
    if service.client_auth_tls is not None:
        fields.append(service.client_auth_tls)
    return [field.note for field in fields if field.is_unreadable or field.value is not True]


def _judge_host(host: Pop3Host) -> Finding:
    services = host.smtp_services
    evidence = [host.ref, *(s.ref for s in services)]
    if not services:
        return Finding.error(
            host.name, "its SMTP settings were read but describe no SMTP service; review by hand", evidence
        )
    verdicts = [(service, relay_verdict(service)) for service in services]
    single = len(services) == 1
    problems: list[str] = []
    if not any(not _auth_problems(service) for service in services):
        if single:
            problems += _auth_problems(services[0])
        else:
            problems.append(
                "no SMTP service lets authenticated clients relay: "
                + "; ".join(f"{s.name}: {', '.join(_auth_problems(s))}" for s in services)
            )
    for service, verdict in verdicts:
        if verdict.open_reason:
            problems.append(
                f"open relay: {verdict.open_reason}"
                if single
                else f"open relay: {service.name}: {verdict.open_reason}"
            )
    undecodable = [str(v.problem) for _, v in verdicts if v.undecodable]
    if problems:
        return Finding.failed(host.name, "; ".join(problems + undecodable), evidence)
    if undecodable:
        return Finding.error(host.name, "; ".join(undecodable), evidence)
    described = "; ".join(
        f"{s.client_auth.note}, {s.relay_for_authenticated.note}, {v.policy.description if v.policy else ''}"
        for s, v in verdicts
    )
    return Finding.passed(host.name, described, evidence)


def _modern_submission(snap: Snapshot) -> Finding:
    """checks.md COEX-501 on 2007+: at least one enabled receive connector on a transport server
    grants relay(C, {Authenticated Users}) with Basic-after-TLS or Integrated authentication."""
    subject = snap.exchange_organization_dn or "Exchange organization"
    by_dn = {s.subject: s for s in snap.modern_exchange_smtp_services}
    evidence = [c.ref for c in snap.receive_connectors]
    qualifying: list[str] = []
    problems: list[str] = []
    unjudged: list[str] = []
    for connector in sorted(snap.receive_connectors, key=lambda c: c.dn.lower()):
        service = by_dn.get(connector.dn)
        server = snap.server_by_dn(connector.server_dn) if connector.server_dn else None
        name = f"{connector.server}\\{connector.name}" if connector.server else connector.name
        if not connector.enabled:
            problems.append(f"{name}: disabled")
            continue
        if server is not None and (not server.transport or server.edge):
            problems.append(f"{name}: {server.name} is not a transport server")
            continue
        if service is None:  # pragma: no cover - every receive connector has its service
            continue
        auth, relay = service.client_auth, service.relay_for_authenticated
        if auth.is_unreadable or relay.is_unreadable:
            unjudged.append(f"{name}: {auth.note if auth.is_unreadable else relay.note}")
        elif auth.value and relay.value:
            qualifying.append(f"{name} ({auth.note}; {relay.note})")
        else:
            problems.append(f"{name}: {auth.note if not auth.value else relay.note}")
    if qualifying:
        return Finding.passed(
            subject, "authenticated clients may submit and relay through " + "; ".join(qualifying), evidence
        )
    if unjudged:
        return Finding.error(
            subject,
            "no receive connector shown to let authenticated clients relay; cannot judge: "
            + "; ".join(unjudged),
            evidence,
        )
    return Finding.failed(
        subject,
        "no enabled receive connector of a transport server lets authenticated clients relay after "
        "Integrated or Basic-over-TLS authentication: " + "; ".join(problems),
        evidence,
    )


@check(
    "COEX-503",
    title="No SMTP service of a POP3 host offers authentication before TLS",
    severity=Severity.HIGH,
    principles=("P5",),
    remediation="In master.cf, give each smtpd service that has smtpd_sasl_auth_enable=yes also -o smtpd_tls_auth_only=yes (or smtpd_tls_security_level=encrypt).",
)
def smtp_auth_only_after_tls(snap: Snapshot) -> Iterator[Finding]:
    """POP3 users authenticate to send (P5) with their Active Directory password. An SMTP service
    that offers AUTH before TLS lets a client, or a man in the middle that strips STARTTLS, send
    that password in clear (PLAIN and LOGIN are base64, not encryption)."""
    services = [
        service
        for host in hosts_with(snap, Capability.SMTP_SETTINGS)
        for service in host.smtp_services
        if service.client_auth_tls is not None
    ]
    if not services:
        raise SkipCheck(
            "no POP3 server export says whether its SMTP services offer authentication before TLS"
        )
    for service in services:
        field = service.client_auth_tls
        assert field is not None
        if field.is_unreadable:
            yield Finding.error(service.subject, f"{field.note}; review by hand", [service.ref])
        elif field.value:
            yield Finding.passed(service.subject, field.note, [service.ref])
        else:
            yield Finding.failed(service.subject, field.note, [service.ref])
