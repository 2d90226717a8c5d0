"""Exchange 2007+ receive connector permissions: well-known SIDs, SMTP extended rights, `relay(C, P)`.

A 2007+ receive connector does not store who may relay: its `nTSecurityDescriptor` does. Exchange's
"permission groups" are only a way of writing ACEs (research modern-model §1.5), so auditor reads
the ACEs themselves. `relay(C, P)` is the rule of checks.md ("Exchange 2007 and later"):

    C's DACL has an allow ACE with the control-access right whose ObjectType is
    ms-Exch-SMTP-Accept-Any-Recipient (or absent: every control-access right) for a SID in P,
    and no deny ACE for the same right and a SID in P.

Everyone (S-1-1-0) is counted as part of every P and the verdict says when a grant came through it
(whether Exchange's anonymous SMTP token holds Everyone is not confirmed). A descriptor that cannot
be decoded, a DACL that was not read, a DACL out of canonical order, or an ACE whose layout is not
understood give the verdict `error`, never `not granted`: a relay check must not pass on them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from auditor.families.exchange.descriptor import (
    AccessMask,
    Ace,
    SecurityDescriptor,
    UndecodableDescriptor,
    decode_descriptor_value,
)
from auditor.families.exchange.flags import ReceiveAuthMechanism

__all__ = [
    "ANONYMOUS_LOGON",
    "AUTHENTICATED_USERS",
    "EVERYONE",
    "EXTENDED_RIGHTS",
    "EXTERNALLY_SECURED_SERVERS",
    "SMTP_ACCEPT_ANY_RECIPIENT",
    "WELL_KNOWN_SIDS",
    "RelayVerdict",
    "descriptor_grants",
    "relay",
    "right_name",
    "sid_name",
    "unauthenticated_principals",
]

EVERYONE = "S-1-1-0"
ANONYMOUS_LOGON = "S-1-5-7"
AUTHENTICATED_USERS = "S-1-5-11"
_EXCHANGE_SIDS = "S-1-9-1419165041-1139599005-3936102811-1022490595"
PARTNER_SERVERS = f"{_EXCHANGE_SIDS}-10"
HUB_TRANSPORT_SERVERS = f"{_EXCHANGE_SIDS}-21"
EDGE_TRANSPORT_SERVERS = f"{_EXCHANGE_SIDS}-22"
EXTERNALLY_SECURED_SERVERS = f"{_EXCHANGE_SIDS}-23"
LEGACY_EXCHANGE_SERVERS = f"{_EXCHANGE_SIDS}-24"

# SID -> (SDDL alias or "", display name). MS-DTYP 2.4.2.4 for the Windows ones; the Exchange
# "MS Exchange\..." SIDs as Exchange 2013 CU23 defines them (research modern-model §1.5).
WELL_KNOWN_SIDS: Mapping[str, tuple[str, str]] = {
    EVERYONE: ("WD", "Everyone"),
    "S-1-3-0": ("CO", "CREATOR OWNER"),
    "S-1-3-1": ("CG", "CREATOR GROUP"),
    "S-1-5-2": ("NU", "NT AUTHORITY\\NETWORK"),
    "S-1-5-4": ("IU", "NT AUTHORITY\\INTERACTIVE"),
    "S-1-5-6": ("SU", "NT AUTHORITY\\SERVICE"),
    ANONYMOUS_LOGON: ("AN", "NT AUTHORITY\\ANONYMOUS LOGON"),
    "S-1-5-9": ("ED", "NT AUTHORITY\\ENTERPRISE DOMAIN CONTROLLERS"),
    "S-1-5-10": ("PS", "NT AUTHORITY\\SELF"),
    AUTHENTICATED_USERS: ("AU", "NT AUTHORITY\\Authenticated Users"),
    "S-1-5-18": ("SY", "NT AUTHORITY\\SYSTEM"),
    "S-1-5-32-544": ("BA", "BUILTIN\\Administrators"),
    "S-1-5-32-545": ("BU", "BUILTIN\\Users"),
    "S-1-5-32-554": ("RU", "BUILTIN\\Pre-Windows 2000 Compatible Access"),
    PARTNER_SERVERS: ("", "MS Exchange\\Partner Servers"),
    HUB_TRANSPORT_SERVERS: ("", "MS Exchange\\Hub Transport Servers"),
    EDGE_TRANSPORT_SERVERS: ("", "MS Exchange\\Edge Transport Servers"),
    EXTERNALLY_SECURED_SERVERS: ("", "MS Exchange\\Externally Secured Servers"),
    LEGACY_EXCHANGE_SERVERS: ("", "MS Exchange\\Legacy Exchange Servers"),
    f"{_EXCHANGE_SIDS}-25": ("", "MS Exchange\\SiteMailbox Granted Access Members"),
}
# Well-known relative IDs of a domain's SIDs (S-1-5-21-<domain>-<RID>), MS-DTYP 2.4.2.4.
_DOMAIN_RIDS: Mapping[int, tuple[str, str]] = {
    500: ("LA", "Administrator"),
    512: ("DA", "Domain Admins"),
    513: ("DU", "Domain Users"),
    515: ("DC", "Domain Computers"),
    516: ("DD", "Domain Controllers"),
    518: ("SA", "Schema Admins"),
    519: ("EA", "Enterprise Admins"),
}

SMTP_ACCEPT_ANY_RECIPIENT = "5c82f031-4e4c-4326-88e1-8c4f0cad9de5"
# rightsGuid -> extended right name (Exchange 2013 CU23, cross-checked by two public tables).
EXTENDED_RIGHTS: Mapping[str, str] = {
    "a18293f1-0685-4540-aa63-e32df421b3a2": "ms-Exch-SMTP-Submit",
    SMTP_ACCEPT_ANY_RECIPIENT: "ms-Exch-SMTP-Accept-Any-Recipient",
    "b857b50b-94a2-4b53-93f6-41cebd2fced0": "ms-Exch-SMTP-Accept-Any-Sender",
    "c22841f4-96cb-498a-ac02-f9a87c74eb14": "ms-Exch-SMTP-Accept-Authoritative-Domain-Sender",
    "1c75aca8-b56b-48b3-a021-858a29fa877b": "ms-Exch-SMTP-Accept-Authentication-Flag",
    "d19299b4-86c2-4c9a-8fa7-acb70c63023a": "ms-Exch-Bypass-Anti-Spam",
    "6760cfc5-70f4-4ae8-bc39-9522d86ac69b": "ms-Exch-Bypass-Message-Size-Limit",
    "e373fb21-d851-4d15-af23-982f09f2400b": "ms-Exch-SMTP-Accept-Exch50",
    "04031f4f-7c36-43ea-9b49-4bd0f5f1e6af": "ms-Exch-Accept-Headers-Routing",
    "a7a9ea66-e08c-4e23-8fe7-68c40e49c6c0": "ms-Exch-Accept-Headers-Forest",
    "c307dccd-6676-4d19-95c8-d1567fab9820": "ms-Exch-Accept-Headers-Organization",
    "8fc01282-006d-42b1-81e3-c0b46bed3754": "ms-Exch-SMTP-Submit-For-MLS",
    "11716db4-9647-4bce-8922-1f99e526cb41": "ms-Exch-SMTP-Send-Exch50",
}

_CONTROL_ACCESS = AccessMask.CONTROL_ACCESS | AccessMask.GENERIC_ALL


def sid_name(sid: str, names: Mapping[str, str] | None = None) -> str:
    """A readable name for a SID: well-known, a domain's well-known RID, `names` (e.g. from the
    directory's objectSid values: "Exchange Servers" is an ordinary domain group), else the SID."""
    if names and sid in names:
        return names[sid]
    known = WELL_KNOWN_SIDS.get(sid)
    if known:
        return known[1]
    parts = sid.split("-")
    if len(parts) == 8 and parts[:4] == ["S", "1", "5", "21"] and parts[-1].isdigit():
        relative = _DOMAIN_RIDS.get(int(parts[-1]))
        if relative:
            return f"{relative[1]} ({sid})"
    return sid


def right_name(guid: str | None) -> str:
    if guid is None:
        return "every control-access right"
    return EXTENDED_RIGHTS.get(guid.lower(), guid)


def unauthenticated_principals(inbound_security_flag: int | None) -> frozenset[str]:
    """P for an unauthenticated SMTP session: ANONYMOUS LOGON, plus Externally Secured Servers when
    the connector uses ExternalAuthoritative (`msExchSMTPReceiveInboundSecurityFlag & 32`)."""
    principals = {ANONYMOUS_LOGON}
    if (
        inbound_security_flag is not None
        and inbound_security_flag & ReceiveAuthMechanism.EXTERNAL_AUTHORITATIVE
    ):
        principals.add(EXTERNALLY_SECURED_SERVERS)
    return frozenset(principals)


@dataclass(frozen=True, slots=True)
class RelayVerdict:
    """The answer of `relay(C, P)`: `granted`, `not-granted` or `error`, with the ACEs that decided.

    `through_everyone` is True when a grant holds only through Everyone ACEs (the message must
    say so). `reason` is one line for a finding.
    """

    status: Literal["granted", "not-granted", "error"]
    reason: str
    granting: tuple[Ace, ...] = ()
    denying: tuple[Ace, ...] = ()
    through_everyone: bool = False

    @property
    def granted(self) -> bool:
        return self.status == "granted"


def _covers_relay(ace: Ace) -> bool:
    if ace.mask is None or not ace.mask & _CONTROL_ACCESS:
        return False
    return ace.object_type is None or ace.object_type.lower() == SMTP_ACCEPT_ANY_RECIPIENT


def _names(principals: Iterable[str]) -> str:
    return ", ".join(sid_name(sid) for sid in sorted(principals))


def relay(descriptor: SecurityDescriptor | UndecodableDescriptor, principals: Iterable[str]) -> RelayVerdict:
    """relay(C, P) of checks.md for the descriptor of connector C and the principal SIDs P."""
    wanted = frozenset(principals)
    if isinstance(descriptor, UndecodableDescriptor):
        return RelayVerdict("error", f"the security descriptor cannot be decoded ({descriptor.problem})")
    if descriptor.dacl is None:
        if descriptor.dacl_present:
            return RelayVerdict(
                "granted", "the DACL is NULL: it grants every right to everyone", through_everyone=True
            )
        return RelayVerdict(
            "error", "the security descriptor holds no DACL (it was not read with the SD-flags control)"
        )
    aces = descriptor.dacl.aces
    for index, ace in enumerate(aces, start=1):
        if not ace.is_understood:
            return RelayVerdict("error", f"ACE {index} of type 0x{ace.type:02x} is not understood")
    out_of_order = descriptor.dacl.non_canonical_reason()
    if out_of_order:
        return RelayVerdict("error", f"the DACL is not in canonical order: {out_of_order}")
    matching = wanted | {EVERYONE}
    applying = [ace for ace in aces if not ace.inherit_only and ace.sid in matching and _covers_relay(ace)]
    granting = tuple(ace for ace in applying if ace.is_allow)
    denying = tuple(ace for ace in applying if ace.is_deny)
    who = _names(wanted)
    right = "ms-Exch-SMTP-Accept-Any-Recipient"
    if denying:
        shown = " ".join(ace.to_sddl() for ace in denying)
        granted_too = (
            f" (granted by {' '.join(a.to_sddl() for a in granting)}, cancelled)" if granting else ""
        )
        return RelayVerdict(
            "not-granted", f"{right} is denied to {who} by {shown}{granted_too}", granting, denying
        )
    if not granting:
        return RelayVerdict("not-granted", f"no ACE grants {right} to {who}")
    everyone_only = all(ace.sid == EVERYONE for ace in granting)
    shown = " ".join(ace.to_sddl() for ace in granting)
    note = " (through Everyone, which is counted as including them)" if everyone_only else ""
    return RelayVerdict(
        "granted", f"{right} is granted to {who} by {shown}{note}", granting, (), everyone_only
    )


def _grant_text(ace: Ace) -> str:
    """One ACE as a grant a person can read: SDDL, with the trustee and right named."""
    parts = [ace.to_sddl()]
    if ace.sid:
        parts.append(sid_name(ace.sid))
    if ace.is_object and ace.object_type:
        parts.append(right_name(ace.object_type))
    return " ".join(parts[:1]) + (f" [{'; '.join(parts[1:])}]" if len(parts) > 1 else "")


def descriptor_grants(value: str) -> tuple[str, ...]:
    """A stored `nTSecurityDescriptor` (base64) as the set of grants it diffs as (contract:
    "its decoded ACL diffs as a set of grants, not bytes"): each DACL ACE, plus the owner."""
    descriptor = decode_descriptor_value(value)
    if isinstance(descriptor, UndecodableDescriptor):
        return (f"undecodable descriptor: {descriptor.problem}",)
    items = [f"owner {descriptor.owner}"] if descriptor.owner else []
    if descriptor.dacl is None:
        items.append("NULL DACL: everyone, every right" if descriptor.dacl_present else "no DACL read")
    else:
        items += [_grant_text(ace) for ace in descriptor.dacl.aces]
    return tuple(items)
