"""Descriptors for the Exchange 2007+ check tests, packed from SDDL by Samba's encoder (once).

Never by auditor's decoder's own counterpart: deploy/lab/sddl_pack.py runs Samba's NDR code.
"""

from __future__ import annotations

from functools import cache

from sddl_pack import pack_sddl

SUBMIT = "a18293f1-0685-4540-aa63-e32df421b3a2"
RELAY = "5c82f031-4e4c-4326-88e1-8c4f0cad9de5"
ESS = "S-1-9-1419165041-1139599005-3936102811-1022490595-23"

SDDL = {
    "anonymous-relay": f"O:BAG:BAD:(OA;;CR;{SUBMIT};;AN)(OA;;CR;{RELAY};;AN)",
    "authenticated-relay": f"O:BAG:BAD:(OA;;CR;{SUBMIT};;AU)(OA;;CR;{RELAY};;AU)",
    "submit-only": f"O:BAG:BAD:(OA;;CR;{SUBMIT};;AN)",
    "deny-cancels": f"O:BAG:BAD:(OD;;CR;{RELAY};;AN)(OA;;CR;{SUBMIT};;AN)(OA;;CR;{RELAY};;AN)",
    "everyone-relay": f"O:BAG:BAD:(OA;;CR;{RELAY};;WD)",
    "externally-secured": f"O:BAG:BAD:(OA;;CR;{SUBMIT};;{ESS})(OA;;CR;{RELAY};;{ESS})",
    "out-of-order": f"O:BAG:BAD:(OA;;CR;{RELAY};;AN)(OD;;CR;{RELAY};;AN)",
}


@cache
def descriptors() -> dict[str, bytes]:
    names = list(SDDL)
    packed = dict(zip(names, pack_sddl([SDDL[n] for n in names]), strict=True))
    packed["cut-short"] = packed["anonymous-relay"][:60]
    return packed


def sd(name: str) -> bytes:
    return descriptors()[name]
