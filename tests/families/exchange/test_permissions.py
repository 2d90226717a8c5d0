"""relay(C, P) of checks.md on descriptors packed by Samba from SDDL: grants, denies that cancel
a grant, Everyone counted and named, ExternalAuthoritative, and every doubt an `error`."""

from __future__ import annotations

import struct

import pytest

from auditor.families.exchange.descriptor import decode_descriptor_value, parse_security_descriptor
from auditor.families.exchange.permissions import (
    ANONYMOUS_LOGON,
    AUTHENTICATED_USERS,
    EXTERNALLY_SECURED_SERVERS,
    relay,
    right_name,
    sid_name,
    unauthenticated_principals,
)

from .conftest import DOMAIN_SID, pack

RELAY = "5c82f031-4e4c-4326-88e1-8c4f0cad9de5"
SUBMIT = "a18293f1-0685-4540-aa63-e32df421b3a2"
ESS = EXTERNALLY_SECURED_SERVERS
AN = frozenset({ANONYMOUS_LOGON})
AU = frozenset({AUTHENTICATED_USERS})

# name -> (SDDL, P, expected status)
CASES = {
    "anonymous relay": (f"O:BAG:BAD:(OA;;CR;{SUBMIT};;AN)(OA;;CR;{RELAY};;AN)", AN, "granted"),
    "submit only": (f"O:BAG:BAD:(OA;;CR;{SUBMIT};;AN)", AN, "not-granted"),
    "authenticated users only": (f"O:BAG:BAD:(OA;;CR;{RELAY};;AU)", AN, "not-granted"),
    "authenticated users asked": (f"O:BAG:BAD:(OA;;CR;{RELAY};;AU)", AU, "granted"),
    "control access without object type": ("O:BAG:BAD:(A;;CR;;;AN)", AN, "granted"),
    "generic all": ("O:BAG:BAD:(A;;GA;;;AN)", AN, "granted"),
    "read only": ("O:BAG:BAD:(A;;RPLCRC;;;AN)", AN, "not-granted"),
    "deny cancels the grant": (f"O:BAG:BAD:(OD;;CR;{RELAY};;AN)(OA;;CR;{RELAY};;AN)", AN, "not-granted"),
    "plain deny of every right": (f"O:BAG:BAD:(D;;CR;;;AN)(OA;;CR;{RELAY};;AN)", AN, "not-granted"),
    "deny of another right": (f"O:BAG:BAD:(OD;;CR;{SUBMIT};;AN)(OA;;CR;{RELAY};;AN)", AN, "granted"),
    "deny for someone else": (f"O:BAG:BAD:(OD;;CR;{RELAY};;AU)(OA;;CR;{RELAY};;AN)", AN, "granted"),
    "everyone": (f"O:BAG:BAD:(OA;;CR;{RELAY};;WD)", AN, "granted"),
    "inherit only": (f"O:BAG:BAD:(OA;CIIO;CR;{RELAY};;AN)", AN, "not-granted"),
    "inherited grant": (f"O:BAG:BAD:(OA;ID;CR;{RELAY};;AN)", AN, "granted"),
    "externally secured": (
        f"O:BAG:BAD:(OA;;CR;{RELAY};;{ESS})",
        frozenset({ANONYMOUS_LOGON, ESS}),
        "granted",
    ),
    "externally secured, not asked": (f"O:BAG:BAD:(OA;;CR;{RELAY};;{ESS})", AN, "not-granted"),
    "empty DACL": ("O:BAG:BAD:", AN, "not-granted"),
    "no DACL read": ("O:BAG:BA", AN, "error"),
    "allow before deny": ("O:BAG:BAD:(A;;CR;;;AU)(D;;CR;;;AN)", AN, "error"),
    "explicit after inherited": (f"O:BAG:BAD:(OA;ID;CR;{RELAY};;AU)(OA;;CR;{RELAY};;AN)", AN, "error"),
}


@pytest.fixture(scope="module")
def descriptors() -> dict[str, bytes]:
    return dict(zip(CASES, pack([sddl for sddl, _, _ in CASES.values()]), strict=True))


@pytest.mark.parametrize("name", list(CASES))
def test_relay_verdict(name: str, descriptors: dict[str, bytes]) -> None:
    _, principals, status = CASES[name]
    verdict = relay(parse_security_descriptor(descriptors[name]), principals)
    assert verdict.status == status, verdict.reason


def test_deny_names_the_cancelled_grant(descriptors: dict[str, bytes]) -> None:
    verdict = relay(parse_security_descriptor(descriptors["deny cancels the grant"]), AN)
    assert verdict.reason == (
        "ms-Exch-SMTP-Accept-Any-Recipient is denied to NT AUTHORITY\\ANONYMOUS LOGON by "
        f"(OD;;CR;{RELAY};;S-1-5-7) (granted by (OA;;CR;{RELAY};;S-1-5-7), cancelled)"
    )
    assert [ace.kind for ace in verdict.denying] == ["object-deny"]
    assert [ace.kind for ace in verdict.granting] == ["object-allow"]


def test_everyone_counts_and_says_so(descriptors: dict[str, bytes]) -> None:
    verdict = relay(parse_security_descriptor(descriptors["everyone"]), AN)
    assert verdict.granted and verdict.through_everyone
    assert "through Everyone" in verdict.reason
    direct = relay(parse_security_descriptor(descriptors["anonymous relay"]), AN)
    assert direct.granted and not direct.through_everyone
    assert direct.reason == (
        "ms-Exch-SMTP-Accept-Any-Recipient is granted to NT AUTHORITY\\ANONYMOUS LOGON by "
        f"(OA;;CR;{RELAY};;S-1-5-7)"
    )


def test_errors_say_why(descriptors: dict[str, bytes]) -> None:
    out_of_order = relay(parse_security_descriptor(descriptors["allow before deny"]), AN)
    assert out_of_order.reason.startswith("the DACL is not in canonical order: explicit deny ACE 2")
    not_read = relay(parse_security_descriptor(descriptors["no DACL read"]), AN)
    assert "SD-flags control" in not_read.reason
    cut = relay(decode_descriptor_value(descriptors["anonymous relay"][:-3]), AN)
    assert cut.status == "error" and cut.reason.startswith("the security descriptor cannot be decoded (DACL")
    blob = bytearray(descriptors["anonymous relay"])
    blob[struct.unpack_from("<I", blob, 16)[0] + 8] = 0x04  # first ACE: a compound ACE (no known layout)
    unknown = relay(parse_security_descriptor(bytes(blob)), AN)
    assert (unknown.status, unknown.reason) == ("error", "ACE 1 of type 0x04 is not understood")


def test_a_null_dacl_grants_everything_through_everyone(descriptors: dict[str, bytes]) -> None:
    """Samba 4.17 does not parse `D:NO_ACCESS_CONTROL`: set DACL_PRESENT on a DACL-less descriptor."""
    blob = bytearray(descriptors["no DACL read"])
    struct.pack_into("<H", blob, 2, struct.unpack_from("<H", blob, 2)[0] | 0x0004)
    decoded = parse_security_descriptor(bytes(blob))
    assert decoded.dacl is None and decoded.dacl_present
    verdict = relay(decoded, AN)
    assert verdict.granted and verdict.through_everyone
    assert verdict.reason == "the DACL is NULL: it grants every right to everyone"


def test_unauthenticated_principals_follow_external_authoritative() -> None:
    assert unauthenticated_principals(1) == {ANONYMOUS_LOGON}
    assert unauthenticated_principals(33) == {ANONYMOUS_LOGON, ESS}
    assert unauthenticated_principals(None) == {ANONYMOUS_LOGON}


def test_names() -> None:
    assert sid_name("S-1-5-7") == "NT AUTHORITY\\ANONYMOUS LOGON"
    assert sid_name("S-1-1-0") == "Everyone"
    assert sid_name(ESS) == "MS Exchange\\Externally Secured Servers"
    assert sid_name(f"{DOMAIN_SID}-512") == f"Domain Admins ({DOMAIN_SID}-512)"
    assert sid_name(f"{DOMAIN_SID}-1107", {f"{DOMAIN_SID}-1107": "CONTOSO\\Exchange Servers"}) == (
        "CONTOSO\\Exchange Servers"
    )
    assert sid_name("S-1-5-21-9-9-9-4242") == "S-1-5-21-9-9-9-4242"
    assert right_name(RELAY.upper()) == "ms-Exch-SMTP-Accept-Any-Recipient"
    assert right_name(None) == "every control-access right"
