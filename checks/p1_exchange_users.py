"""P1: Exchange users are ordinary Exchange recipients (mailbox-enabled, provisioned, addressable)."""

from __future__ import annotations

from collections.abc import Iterator

from auditor.model import Snapshot, normalize_dn
from auditor.registry import Finding, Severity, SkipCheck, check


@check(
    "COEX-101",
    title="Every mailbox-enabled user has a valid store, a legacyExchangeDN and an authoritative primary address",
    severity=Severity.HIGH,
    principles=("P1",),
    remediation="Give the user a mailbox in an existing store and let the Recipient Update Service stamp legacyExchangeDN and a primary address Exchange is authoritative for.",
)
def mailbox_users_are_complete(snap: Snapshot) -> Iterator[Finding]:
    """P1 wants Exchange users to be ordinary mailbox recipients. A mailbox whose store no longer
    exists, which the Recipient Update Service never stamped (no legacyExchangeDN), or whose reply
    address is in a domain Exchange is not authoritative for, cannot receive or answer mail reliably.
    On 2007+ the type details say what a mailbox is (a remote mailbox is not one), a 2010+ database
    under CN=Databases is a store, and an InternalRelay domain is a valid primary domain too."""
    users = [r for r in snap.recipients if r.is_mailbox]
    if not users:
        raise SkipCheck("no mailbox-enabled user in the snapshot")
    config = snap.has_configuration
    stores = {normalize_dn(store.dn): store.ref for store in snap.mailbox_stores}
    for user in users:
        problems: list[str] = []
        evidence = [user.ref]
        if user.home_mdb and normalize_dn(user.home_mdb) in stores:
            evidence.append(stores[normalize_dn(user.home_mdb)])
        if user.primary_smtp:
            evidence += snap.domain_refs(user.primary_smtp.rpartition("@")[2])
        if not user.home_mdb:
            problems.append(f"no homeMDB (only msExchHomeServerName {user.home_server_name})")
        elif config and normalize_dn(user.home_mdb) not in snap.mailbox_store_dns:
            problems.append(f"homeMDB {user.home_mdb} is not a mailbox store of the organization")
        if not user.legacy_exchange_dn:
            stamper = "Exchange" if user.generation == "2007+" else "the Recipient Update Service"
            problems.append(f"no legacyExchangeDN (not stamped by {stamper})")
        primary = user.primary_smtp
        if primary is None:
            problems.append("no primary SMTP address (no SMTP: entry in proxyAddresses)")
        elif config and not snap.is_accepted_for_recipients(primary.rpartition("@")[2]):
            accepted = (
                "accepts for its recipients (Authoritative or InternalRelay)"
                if snap.accepted_domains
                else "is authoritative for"
            )
            problems.append(f"primary SMTP address {primary} is not in a domain Exchange {accepted}")
        if problems:
            yield Finding.failed(user.dn, "; ".join(problems), evidence)
        else:
            unchecked = (
                "" if config else " (Configuration partition not collected: store and domain not verified)"
            )
            yield Finding.passed(
                user.dn, f"mailbox on {user.home_mdb}, primary {primary}{unchecked}", evidence
            )
