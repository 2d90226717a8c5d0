"""P3: the POP3 mail domain differs from the Exchange mail domain, so that mail cannot loop."""

from __future__ import annotations

from collections.abc import Iterator

from auditor.model import Capability, ObjectRef, Snapshot
from auditor.registry import Finding, Severity, SkipCheck, check
from auditor.routing import DELIVERED, ERROR, LOOP, Router, Trace

from ._support import domain_problems, mail_enabled_user_for, require_configuration


def _pop3_domains(snap: Snapshot) -> dict[str, tuple[str, ...]]:
    if not snap.pop3_servers_by_domain and not domain_problems(snap):
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
    domains = _pop3_domains(snap)
    yield from domain_problems(snap)
    for domain, servers in sorted(domains.items()):
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
    domains = _pop3_domains(snap)
    yield from domain_problems(snap)
    for domain, servers in sorted(domains.items()):
        evidence = [*snap.pop3_domain_refs(domain), *snap.domain_refs(domain)]
        if snap.is_exchange_domain(domain):
            kind = "authoritatively" if snap.is_authoritative(domain) else "non-authoritatively"
            sanctioned = (
                "; it is an InternalRelay accepted domain: the sanctioned shared-namespace setup "
                "(COEX-305 checks that the POP3 host never sends its unknown recipients back)"
                if not snap.is_authoritative(domain) and snap.is_internal_relay(domain)
                else ""
            )
            yield Finding.failed(
                domain, f"{_hosted_by(servers)} and also an Exchange domain ({kind}){sanctioned}", evidence
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
    hosts = snap.hosts_with(Capability.SMTP_SETTINGS)
    entries = ["exchange"] + [host.name for host in hosts]
    domains = set(snap.exchange_domains) | set(snap.all_pop3_domains)
    domains |= {entry.domain for entry in snap.pop3_domains if entry.relayed}
    for connector in snap.smtp_connectors:
        domains |= {s.pattern for s in connector.address_spaces if s.is_smtp}
    domains |= {accepted.base for accepted in snap.accepted_domains}  # `*.x` covers x itself
    domains = {d for d in domains if d and not d.startswith("*")}
    if not domains:
        raise SkipCheck(
            "no organization domain: no recipient policy, accepted domain, POP3 domain or connector"
        )
    seen: set[str] = set()
    for domain in sorted(domains):
        address = _unknown_local_part(snap, domain)
        traces = [router.trace(address, start) for start in entries]
        loops = [t for t in traces if t.outcome == LOOP]
        errors = [t for t in traces if t.outcome == ERROR]
        evidence = [ref for found in traces for ref in found.evidence]
        seen.add(domain)
        if loops:
            yield Finding.failed(
                domain, f"mail to unknown {address} loops " + "; ".join(map(_describe, loops)), evidence
            )
        elif errors:
            yield Finding.error(
                domain,
                f"where mail to unknown {address} goes cannot be told "
                + "; ".join(map(_describe, errors))
                + "; review by hand",
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
        seen.add(mailbox.address)
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
    yield from _exchange_mailboxes_from_hosts(snap, router, seen)


def _exchange_mailboxes_from_hosts(snap: Snapshot, router: Router, seen: set[str]) -> Iterator[Finding]:
    """Each Exchange mailbox's primary address entering at each POP3 host that routes by its own
    rules (checks.md: it must end delivered at Exchange, so POP3 users can write to Exchange users)."""
    hosts = [h for h in snap.hosts_with(Capability.SMTP_SETTINGS) if h.routing is not None]
    if not hosts:
        return
    for recipient in snap.recipients:
        primary = recipient.primary_smtp
        if not recipient.is_mailbox_enabled or not primary or primary.lower() in seen:
            continue
        seen.add(primary.lower())
        traces = [router.trace(primary, host.name) for host in hosts]
        evidence = [recipient.ref, *(ref for found in traces for ref in found.evidence)]
        wrong = [
            t
            for t in traces
            if not (t.outcome == DELIVERED and t.final.system.lower() == router.exchange_label.lower())
        ]
        failed = [t for t in wrong if t.outcome != ERROR]
        described = "; ".join(map(_describe, failed or wrong or traces))
        message = f"mail to {primary} (mailbox {recipient.dn}) {described}"
        if failed:
            yield Finding.failed(
                primary.lower(),
                f"{message}; expected delivery to Exchange ({router.exchange_label})",
                evidence,
            )
        elif wrong:
            yield Finding.error(primary.lower(), f"{message}; review by hand", evidence)
        else:
            yield Finding.passed(primary.lower(), message, evidence)


def _exchange_holds(snap: Snapshot, domain: str) -> str | None:
    """How Exchange holds `domain` for its own recipients (`ACC_ex`: authoritative or InternalRelay)."""
    if snap.is_authoritative(domain):
        return "authoritative in Exchange"
    if snap.is_internal_relay(domain):
        return "an InternalRelay accepted domain of Exchange"
    return None


@check(
    "COEX-305",
    title="No POP3 host sends unknown recipients of a domain it shares with Exchange back to Exchange",
    severity=Severity.CRITICAL,
    principles=("P3",),
    remediation="Make the host refuse unknown recipients of the domain: no @domain catch-all or luser_relay, set relay_recipient_maps, no transport_maps entry to Exchange.",
)
def shared_domains_end_at_the_host(snap: Snapshot) -> Iterator[Finding]:
    """A domain Exchange holds and a POP3 host hosts or relays is shared: exactly one system may be
    authoritative for it. When the host passes a recipient it does not know back to Exchange
    (a catch-all, luser_relay, an unvalidated relay domain, a transport entry), Exchange, which does
    not know it either, sends it to the host again: the loop P3 warns about, for every typo."""
    require_configuration(snap)
    described = [entry for entry in snap.pop3_domains if entry.unknown_recipients is not None]
    if not described:
        raise SkipCheck("no POP3 host export says what it does with unknown recipients of its domains")
    hosts = {host.name.lower(): host for host in snap.pop3_servers}
    router = Router(snap)
    by_domain: dict[str, list[str]] = {}
    for entry in described:
        by_domain.setdefault(entry.domain, []).append(entry.system)
    for domain in sorted(by_domain):
        held = _exchange_holds(snap, domain)
        if held is None:
            continue
        back: list[str] = []
        undecided: list[str] = []
        evidence: list[ObjectRef] = [*snap.domain_refs(domain)]
        for entry in (e for e in described if e.domain == domain):
            host = hosts.get(entry.system.lower())
            evidence += [*([host.ref] if host else []), *([entry.ref] if entry.ref else [])]
            for rule in entry.unknown_recipients or ():
                evidence += rule.refs
                exchange = snap.exchange_server_for_host(rule.next_host) if rule.next_host else None
                if exchange is not None:
                    back.append(f"{entry.system}: {rule.rule} (= Exchange server {exchange.name})")
                elif rule.undecided:
                    undecided.append(f"{entry.system}: {rule.rule}: {rule.undecided}")
        probe = router.trace(_unknown_local_part(snap, domain), "exchange")
        evidence += probe.evidence
        where = ", ".join(sorted(set(by_domain[domain])))
        if probe.outcome == LOOP:
            back.append(f"mail to an unknown recipient loops {_describe(probe)}")
        if back:
            yield Finding.failed(
                domain,
                f"{held} and on {where}, which sends unknown recipients back: " + "; ".join(back),
                evidence,
            )
        elif undecided or probe.outcome == ERROR:
            shown = undecided + ([f"the probe {_describe(probe)}"] if probe.outcome == ERROR else [])
            yield Finding.error(
                domain, f"{held} and on {where}; cannot be told: " + "; ".join(shown), evidence
            )
        else:
            yield Finding.passed(
                domain,
                f"{held} and on {where}, which refuses unknown recipients; probe {_describe(probe)}",
                evidence,
            )
