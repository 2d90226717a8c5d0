"""A receive connector's nTSecurityDescriptor diffs as a set of decoded grants, not base64 bytes.

Contract: "receive_connector (its decoded ACL diffs as a set of grants, not bytes)". Descriptors
are packed from SDDL by Samba (deploy/lab/sddl_pack.py).
"""

from __future__ import annotations

import base64

from sddl_pack import pack_sddl

from auditor.diff import attribute_changes
from auditor.documents import SetChange
from auditor.records import ObjectRecord

RELAY = "5c82f031-4e4c-4326-88e1-8c4f0cad9de5"
SUBMIT = "a18293f1-0685-4540-aa63-e32df421b3a2"
DN = "CN=Relay,CN=SMTP Receive Connectors,CN=Protocols,CN=EX16,CN=Servers,CN=X"


def record(descriptor: bytes) -> ObjectRecord:
    value = base64.b64encode(descriptor).decode()
    return ObjectRecord(
        "receive_connector", "guid-1", DN, {"nTSecurityDescriptor": (value,), "cn": ("Relay",)}
    )


def test_an_added_grant_shows_as_that_grant() -> None:
    before, after, reordered = pack_sddl(
        [
            f"O:BAG:BAD:(OA;;CR;{SUBMIT};;AN)",
            f"O:BAG:BAD:(OA;;CR;{SUBMIT};;AN)(OA;;CR;{RELAY};;AN)",
            f"O:BAG:BAD:(OA;;CR;{RELAY};;AN)(OA;;CR;{SUBMIT};;AN)",
        ]
    )
    changes = attribute_changes(record(before), record(after))
    change = changes["nTSecurityDescriptor"]
    assert isinstance(change, SetChange)
    assert change.removed == []
    assert change.added == [
        f"(OA;;CR;{RELAY};;S-1-5-7) [NT AUTHORITY\\ANONYMOUS LOGON; ms-Exch-SMTP-Accept-Any-Recipient]"
    ]
    # Other bytes, same grants: no change at all.
    assert attribute_changes(record(after), record(reordered)) == {}


def test_a_descriptor_cut_short_diffs_as_undecodable() -> None:
    (whole,) = pack_sddl([f"O:BAG:BAD:(OA;;CR;{RELAY};;AN)"])
    change = attribute_changes(record(whole), record(whole[:40]))["nTSecurityDescriptor"]
    assert isinstance(change, SetChange)
    assert len(change.added) == 1 and change.added[0].startswith("undecodable descriptor:")
    assert any(RELAY in item for item in change.removed)
