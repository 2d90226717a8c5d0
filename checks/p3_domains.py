"""P3: the POP3 mail domain differs from the Exchange mail domain, so that mail cannot loop."""

from __future__ import annotations

from collections.abc import Iterator

from auditor.model import Capability, Snapshot
from auditor.registry import Finding, Severity, SkipCheck, check
from auditor.routing import ERROR, LOOP, Router, Trace

from ._support import mail_enabled_user_for, require_configuration


def _pop3_domains(snap: Snapshot) -> dict[str, tuple[str, ...]]:
    if not snap.pop3_servers_by_domain:
        raise SkipCheck("no POP3 domain known: no POP3 server export holds domains it hosts")
    return snap.pop3_servers_by_domain


def _hosted_by(servers: tuple[str, ...]) -> str:
    return "hosted by POP3 server " + ", ".join(servers)


@check(
    "COEX-301",
    title="No POP3 domain is authoritative in Exchange",
    severity=Severity.CRITICAL,
    principles=("P3",),
    remediation="Make the POP3 domain non-authoritative (or remove it) in every recipient policy that lists it, and route it with an SMTP connector (COEX-601).",
)
def pop3_domain_not_authoritative(snap: Snapshot) -> Iterator[Finding]:
    """When Exchange is authoritative for a POP3 domain it never forwards that domain's mail: every
    message to a POP3 user that Exchange does not know bounces (NDR 5.1.1), and P3's separation of
    domains is broken at its root."""
    require_configuration(snap)
    for domain, servers in sorted(_pop3_domains(snap).items()):
        evidence = [*snap.pop3_domain_refs(domain), *snap.domain_refs(domain)]
        undefined = [a for a in snap.accepted_domains_covering(domain) if a.type.value == "undefined"]
        if snap.is_authoritative(domain):
            sources = ", ".join(snap.authoritative_sources(domain)) or "Exchange"
            message = f"{_hosted_by(servers)}, but authoritative in Exchange: {sources}"
            yield Finding.failed(domain, message, evidence)
        elif undefined:
            shown = "; ".join(f"{a.dn}: {a.type_note}" for a in undefined)
            yield Finding.error(
                domain,
                f"{_hosted_by(servers)}; an accepted domain covering it has no domain type ({shown})",
                evidence,
            )
        else:
            yield Finding.passed(
                domain, f"{_hosted_by(servers)}; Exchange is not authoritative for it", evidence
            )


@check(
    "COEX-302",
    title="No POP3 domain appears among Exchange's domains, even non-authoritatively",
    severity=Severity.MEDIUM,
    principles=("P3",),
    remediation="Give POP3 users a domain of their own, remove it from Exchange's recipient policies, and stamp the shared address on POP3 users instead.",
)
def pop3_domain_not_in_exchange(snap: Snapshot) -> Iterator[Finding]:
    """The source document says Exchange and the POP3 server cannot use exactly the same mail domain.
    Even a non-authoritative share works only while every connector and smart host is just right;
    one change and unknown recipients loop between the two systems."""
    require_configuration(snap)
    for domain, servers in sorted(_pop3_domains(snap).items()):
        evidence = [*snap.pop3_domain_refs(domain), *snap.domain_refs(domain)]
        if snap.is_exchange_domain(domain):
            kind = "authoritatively" if snap.is_authoritative(domain) else "non-authoritatively"
            if not snap.is_authoritative(domain) and snap.is_internal_relay(domain):
                kind = (
                    "InternalRelay: the sanctioned shared-namespace setup when a send connector routes it "
                    "to the POP3 host and that host rejects unknown recipients"
                )
            yield Finding.failed(
                domain, f"{_hosted_by(servers)} and also an Exchange domain ({kind})", evidence
            )
        else:
            yield Finding.passed(domain, f"{_hosted_by(servers)}; not an Exchange domain", evidence)


@check(
    "COEX-304",
    title="No domain is authoritative in one recipient policy and non-authoritative in another",
    severity=Severity.MEDIUM,
    principles=("P3",),
    remediation="Make the 'responsible for all mail delivery' box agree for this SMTP address in every recipient policy that lists it.",
)
def domain_authority_consistent(snap: Snapshot) -> Iterator[Finding]:
    """An "ambiguously non-authoritative" domain is authoritative for the users of one policy and
    forwarded for those of another. Exchange then treats it as authoritative (unknown recipients bounce
    instead of reaching the POP3 server) and Exchange 2007 /PrepareAD breaks its mail flow."""
    require_configuration(snap)
    sources = snap.exchange_domain_sources
    if not sources:
        raise SkipCheck("no SMTP domain in any recipient policy or accepted domain")
    for domain, named in sorted(sources.items()):
        kinds = {authoritative for _, authoritative in named}
        evidence = snap.domain_refs(domain)
        if len(kinds) > 1:
            yes = ", ".join(n for n, a in named if a)
            no = ", ".join(n for n, a in named if not a)
            yield Finding.failed(domain, f"authoritative in {yes} but non-authoritative in {no}", evidence)
        else:
            state = "authoritative" if kinds == {True} else "non-authoritative"
            yield Finding.passed(domain, f"{state} in every place that lists it ({len(named)})", evidence)


def _unknown_local_part(snap: Snapshot, domain: str) -> str:
    local = "no-such-recipient.auditor"
    suffix = 0
    while f"{local}{suffix or ''}@{domain}" in snap.recipients_by_proxy_address:
        suffix += 1
    return f"{local}{suffix or ''}@{domain}"


def _describe(found: Trace) -> str:
    return f"from {found.start}: {found.path()} ({found.outcome}: {found.final.rule})"


@check(
    "COEX-303",
    title="Routing terminates for unknown recipients and reaches every POP3 user's mailbox",
    severity=Severity.CRITICAL,
    principles=("P3",),
    remediation="Run `auditor trace ADDRESS --from SYSTEM` to see the hops; make exactly one system responsible for each domain and fix what misroutes.",
)
def routing_terminates(snap: Snapshot) -> Iterator[Finding]:
    """Checking each setting alone misses how they combine. Following a message to an unknown
    recipient of every organization domain from every entry point shows the loop P3 warns about
    (Exchange → POP3 server → Exchange), and following each POP3 user's address shows that Exchange
    really hands their mail to their POP3 mailbox."""
    require_configuration(snap)
    router = Router(snap)
    entries = ["exchange"] + [host.name for host in snap.hosts_with(Capability.SMTP_SETTINGS)]
    domains = set(snap.exchange_domains) | set(snap.all_pop3_domains)
    for connector in snap.smtp_connectors:
        domains |= {s.pattern for s in connector.address_spaces if s.is_smtp}
    domains |= {accepted.base for accepted in snap.accepted_domains}  # `*.x` covers x itself
    domains = {d for d in domains if d and not d.startswith("*")}
    if not domains:
        raise SkipCheck(
            "no organization domain: no recipient policy, accepted domain, POP3 domain or connector"
        )
    for domain in sorted(domains):
        address = _unknown_local_part(snap, domain)
        traces = [router.trace(address, start) for start in entries]
        loops = [t for t in traces if t.outcome == LOOP]
        errors = [t for t in traces if t.outcome == ERROR]
        evidence = [ref for found in traces for ref in found.evidence]
        if loops:
            yield Finding.failed(
                domain, f"mail to unknown {address} loops " + "; ".join(map(_describe, loops)), evidence
            )
        elif errors:
            yield Finding.error(
                domain,
                f"mail to unknown {address} cannot be followed " + "; ".join(map(_describe, errors)),
                evidence,
            )
        else:
            yield Finding.passed(
                domain, f"mail to unknown {address} terminates " + "; ".join(map(_describe, traces)), evidence
            )
    for mailbox in snap.pop3_mailboxes:
        user, _ = mail_enabled_user_for(snap, mailbox)
        if user is None:
            continue
        primary = user.primary_smtp
        if primary is None:
            yield Finding.failed(
                mailbox.address,
                f"{user.dn} has no primary SMTP address to send to",
                [user.ref, *([mailbox.ref] if mailbox.ref else [])],
            )
            continue
        found = router.trace(primary, "exchange")
        final = found.final
        reached = (
            found.outcome == "delivered"
            and final.system.lower() == mailbox.server.lower()
            and final.address.lower() == mailbox.address
        )
        message = f"mail to {primary} (user {user.dn}) {_describe(found)}"
        evidence = [user.ref, *found.evidence, *([mailbox.ref] if mailbox.ref else [])]
        if reached:
            yield Finding.passed(mailbox.address, message, evidence)
        elif found.outcome == ERROR:
            yield Finding.error(mailbox.address, f"{message}; review by hand", evidence)
        else:
            yield Finding.failed(
                mailbox.address,
                f"{message}; expected delivery to {mailbox.server} {mailbox.address}",
                evidence,
            )
