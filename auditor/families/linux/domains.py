"""Domains and mailboxes of a Linux host (checks.md "Linux host S").

`D_pop(S)` = `virtual_mailbox_domains` ∪ `mydestination` ∪ `virtual_alias_domains` (expanded; map
references read through the exported maps) minus `localhost`, `localhost.$mydomain`,
`$myhostname` and address literals. `relay_domains` are forwarded, not hosted. Mailboxes come from
`doveadm-users.txt`: a bare user name takes the host's domain only when it hosts exactly one.
"""

from __future__ import annotations

from dataclasses import dataclass

from auditor.families.linux.host import LinuxHost
from auditor.families.linux.params import is_unknown, unknown_default

__all__ = ["DomainSet", "Mailboxes", "hosted_domains", "mailboxes", "relay_domains"]

_HOSTED_FROM = ("virtual_mailbox_domains", "mydestination", "virtual_alias_domains")


@dataclass(frozen=True, slots=True)
class DomainSet:
    """Domains (lower case); `errors` names every part that could not be read (then it is incomplete)."""

    domains: frozenset[str]
    errors: tuple[str, ...]
    origin: str

    @property
    def complete(self) -> bool:
        return not self.errors


def _excluded(host: LinuxHost) -> set[str]:
    assert host.postfix is not None
    main = host.postfix.main
    myhostname = main.get("myhostname").strip().rstrip(".").lower()
    mydomain = main.get("mydomain").strip().rstrip(".").lower()
    unknown_host, unknown_domain = unknown_default("myhostname"), unknown_default("mydomain")
    return {"localhost", f"localhost.{mydomain}", myhostname, unknown_host, f"localhost.{unknown_domain}"}


def hosted_domains(host: LinuxHost) -> DomainSet | None:
    """`D_pop(S)`; None when no Postfix settings were exported (a check then reports `skipped`)."""
    if host.postfix is None or not (host.export.postconf_x or host.export.postconf_n):
        return None
    tables = host.postfix.tables
    excluded = _excluded(host)
    domains: set[str] = set()
    errors: list[str] = []
    for name in _HOSTED_FROM:
        listed = tables.domains(host.postfix.main.get(name))
        errors.extend(f"{name}: {why}" for why in listed.unknown)
        for domain in listed.domains:
            if domain in excluded or domain.startswith("["):
                continue
            if is_unknown(domain):
                errors.append(f"{name}: an entry depends on a value auditor cannot evaluate")
                continue
            domains.add(domain)
    return DomainSet(frozenset(domains), tuple(errors), host.postfix.main.origin)


def relay_domains(host: LinuxHost) -> DomainSet | None:
    """The domains Postfix relays for (forwarded, not hosted).

    A domain that is also hosted stays hosted: Postfix checks mydestination, then the virtual
    classes, and only then relay_domains (so `relay_domains = $mydestination`, the default below
    compatibility level 2, relays nothing of its own).
    """
    if host.postfix is None or not (host.export.postconf_x or host.export.postconf_n):
        return None
    tables = host.postfix.tables
    listed = tables.domains(host.postfix.main.get("relay_domains"))
    excluded = _excluded(host)
    errors = [f"relay_domains: {why}" for why in listed.unknown]
    domains = {d for d in listed.domains if d not in excluded and not d.startswith("[")}
    if any(is_unknown(d) for d in domains):
        errors.append("relay_domains: an entry depends on a value auditor cannot evaluate")
        domains = {d for d in domains if not is_unknown(d)}
    hosted = hosted_domains(host)
    if hosted is not None:
        domains -= hosted.domains
    return DomainSet(frozenset(domains), tuple(errors), host.postfix.main.origin)


@dataclass(frozen=True, slots=True)
class Mailboxes:
    """POP3 mailbox addresses (lower case); `error` set when names cannot be mapped to addresses."""

    addresses: tuple[str, ...]
    error: str | None


def mailboxes(host: LinuxHost) -> Mailboxes | None:
    """Addresses from `doveadm user '*'`; None when the list was not exported (`skipped`)."""
    users = host.export.users
    if users is None:
        return None
    bare = [u for u in users if "@" not in u]
    addresses = [u.lower() for u in users if "@" in u]
    if bare:
        hosted = hosted_domains(host)
        if hosted is None or not hosted.complete or len(hosted.domains) != 1:
            count = "unknown" if hosted is None or not hosted.complete else str(len(hosted.domains))
            return Mailboxes(
                tuple(sorted(addresses)),
                f"cannot map Dovecot users to addresses: {len(bare)} bare user name(s) "
                f"(e.g. {bare[0]}) and the host hosts {count} domain(s), not exactly one",
            )
        (domain,) = hosted.domains
        addresses.extend(f"{u.lower()}@{domain}" for u in bare)
    return Mailboxes(tuple(sorted(set(addresses))), None)
