"""The security descriptor decoder against Samba's NDR code: same owner, group and ACEs; every
damaged descriptor refused with `DescriptorError`; canonical order judged."""

from __future__ import annotations

import base64
import struct
from typing import Any

import pytest

from auditor.families.exchange.descriptor import (
    AceFlags,
    AceType,
    DescriptorError,
    SecurityDescriptor,
    UndecodableDescriptor,
    decode_descriptor_value,
    parse_security_descriptor,
)

from .conftest import DOMAIN_SID, SambaSd, pack

RELAY = "5c82f031-4e4c-4326-88e1-8c4f0cad9de5"
SUBMIT = "a18293f1-0685-4540-aa63-e32df421b3a2"
USER_CLASS = "bf967aba-0de6-11d0-a285-00aa003049e2"
ESS = "S-1-9-1419165041-1139599005-3936102811-1022490595-23"

# Descriptors of every shape the decoder must read (object ACEs with one, the other or both GUIDs,
# plain ACEs, inherited and inherit-only flags, domain-relative SIDs, a SACL, no owner, empty DACL).
SDDLS = (
    f"O:BAG:BAD:(OA;;CR;{SUBMIT};;AN)(OA;;CR;{RELAY};;AN)",
    f"O:BAG:BAD:(OD;;CR;{RELAY};;AN)(OA;;CR;{RELAY};;AN)(A;;RPLCRC;;;AU)",
    f"O:DAG:DUD:(OA;CIIO;CR;{RELAY};{USER_CLASS};WD)(OA;CI;RPWP;;{USER_CLASS};DA)(A;;GA;;;SY)",
    f"O:BAG:BAD:(OA;;CR;{SUBMIT};;{ESS})(OA;;CR;{RELAY};;{ESS})",
    f"O:BAD:(A;;CCDCLCSWRPWPDTLOCRSDRCWDWO;;;BA)(A;ID;RP;;;AU)(OA;CIID;CR;{RELAY};;AN)",
    "D:(D;;CR;;;AN)(A;;CR;;;AU)",
    "O:BAG:BAD:",
    f"O:SYG:SYD:(A;;RC;;;AU)S:(AU;SA;WP;;;WD)(OU;FA;CR;{RELAY};;WD)",
    "O:S-1-5-21-1-2-3-1105G:BAD:(A;;0x1234;;;S-1-5-21-1-2-3-1105)",
)


@pytest.fixture(scope="module")
def blobs() -> list[bytes]:
    return pack(SDDLS)


def _fields(descriptor: SecurityDescriptor) -> dict[str, Any]:
    return {
        "owner": descriptor.owner,
        "group": descriptor.group,
        "dacl": None
        if descriptor.dacl is None
        else [
            {
                "type": ace.type,
                "flags": ace.flags,
                "mask": ace.mask,
                "sid": ace.sid,
                "object_type": ace.object_type,
                "inherited_object_type": ace.inherited_object_type,
            }
            for ace in descriptor.dacl.aces
        ],
    }


def test_decodes_what_samba_encoded_as_samba_reads_it(blobs: list[bytes], samba_sd: SambaSd) -> None:
    samba = samba_sd("decode", [base64.b64encode(blob).decode() for blob in blobs])
    for sddl, blob, expected in zip(SDDLS, blobs, samba, strict=True):
        decoded = parse_security_descriptor(blob)
        assert _fields(decoded) == {k: expected[k] for k in ("owner", "group", "dacl")}, sddl
        assert decoded.raw == blob


def test_object_ace_fields_and_flags(blobs: list[bytes]) -> None:
    third = parse_security_descriptor(blobs[2])
    assert third.owner == f"{DOMAIN_SID}-512" and third.group == f"{DOMAIN_SID}-513"
    assert third.dacl is not None
    inherit_only, inheritable, system = third.dacl.aces
    assert inherit_only.type == AceType.ACCESS_ALLOWED_OBJECT and inherit_only.kind == "object-allow"
    assert inherit_only.object_type == RELAY and inherit_only.inherited_object_type == USER_CLASS
    assert inherit_only.inherit_only and not inherit_only.inherited
    assert inherit_only.flags == AceFlags.CONTAINER_INHERIT | AceFlags.INHERIT_ONLY
    assert inheritable.object_type is None and inheritable.inherited_object_type == USER_CLASS
    assert system.kind == "allow" and system.mask == 0x10000000 and system.sid == "S-1-5-18"
    deny = parse_security_descriptor(blobs[1]).dacl
    assert deny is not None and deny.aces[0].kind == "object-deny" and deny.aces[0].is_deny


def test_sacl_and_missing_owner(blobs: list[bytes]) -> None:
    with_sacl = parse_security_descriptor(blobs[7])
    assert with_sacl.sacl is not None
    assert [ace.kind for ace in with_sacl.sacl.aces] == ["audit", "audit"]
    assert with_sacl.sacl.aces[1].object_type == RELAY
    no_owner = parse_security_descriptor(blobs[5])
    assert no_owner.owner is None and no_owner.group is None
    empty = parse_security_descriptor(blobs[6])
    assert empty.dacl is not None and empty.dacl.aces == () and empty.dacl_present


def test_research_example_blob_reads_as_its_sddl_comment() -> None:
    """The synthetic `Relay from LNX01` blob of research modern-model §1.9 (built from MS-DTYP)."""
    blob = (
        "AQAEgBQAAAAkAAAAAAAAADQAAAABAgAAAAAABSAAAAAgAgAAAQIAAAAAAAUgAAAAIAIAAAQA0AAFAAAABQAoAAABAAABAAAA"
        "8ZOCoYUGQEWqY+Mt9CGzogEBAAAAAAAFBwAAAAUAKAAAAQAAAQAAAAu1V7iilFNLk/ZBzr0vztABAQAAAAAABQcAAAAFACgAAAEA"
        "AAEAAAD0QSjCy5aKSawC+ah8dOsUAQEAAAAAAAUHAAAABQAoAAABAAABAAAATx8DBDZ86kObSUvQ9fHmrwEBAAAAAAAFBwAAAAUA"
        "KAAAAQAAAQAAADHwglxMTiZDiOGMTwytneUBAQAAAAAABQcAAAA="
    )
    decoded = decode_descriptor_value(blob)
    assert isinstance(decoded, SecurityDescriptor)
    assert decoded.to_sddl() == (
        "O:S-1-5-32-544G:S-1-5-32-544D:(OA;;CR;a18293f1-0685-4540-aa63-e32df421b3a2;;S-1-5-7)"
        "(OA;;CR;b857b50b-94a2-4b53-93f6-41cebd2fced0;;S-1-5-7)(OA;;CR;c22841f4-96cb-498a-ac02-f9a87c74eb14;;S-1-5-7)"
        "(OA;;CR;04031f4f-7c36-43ea-9b49-4bd0f5f1e6af;;S-1-5-7)(OA;;CR;5c82f031-4e4c-4326-88e1-8c4f0cad9de5;;S-1-5-7)"
    )


def test_every_cut_short_descriptor_is_refused_as_truncated(blobs: list[bytes]) -> None:
    for blob in blobs:
        for length in range(len(blob)):
            with pytest.raises(DescriptorError) as raised:
                parse_security_descriptor(blob[:length])
            assert raised.value.truncated, (length, raised.value.problem)
            value = decode_descriptor_value(base64.b64encode(blob[:length]).decode())
            assert isinstance(value, UndecodableDescriptor) and value.truncated


def _patched(blob: bytes, offset: int, fmt: str, value: int) -> bytes:
    data = bytearray(blob)
    struct.pack_into(fmt, data, offset, value)
    return bytes(data)


def test_malformed_descriptors_are_refused_with_the_reason(blobs: list[bytes]) -> None:
    blob = blobs[0]  # header, owner at 20, group at 36, DACL at 52
    dacl_at = struct.unpack_from("<I", blob, 16)[0]
    cases = {
        "descriptor revision 2": _patched(blob, 0, "<B", 2),
        "not self-relative": _patched(blob, 2, "<H", 0x0004),
        "owner offset 8 points into the descriptor header": _patched(blob, 4, "<I", 8),
        "has revision 3, expected 1": _patched(blob, 20, "<B", 3),
        "claims 16 sub-authorities": _patched(blob, 21, "<B", 16),
        "DACL at offset 52 has revision 3": _patched(blob, dacl_at, "<B", 3),
        "has size 2 (at least 4)": _patched(blob, dacl_at + 8 + 2, "<H", 2),
    }
    for reason, damaged in cases.items():
        with pytest.raises(DescriptorError, match=reason.replace("(", r"\(").replace(")", r"\)")):
            parse_security_descriptor(damaged)
    undecodable = decode_descriptor_value("not base64!")
    assert isinstance(undecodable, UndecodableDescriptor) and "not base64" in undecodable.problem


def test_canonical_order(blobs: list[bytes]) -> None:
    canonical = parse_security_descriptor(blobs[1]).dacl  # explicit deny before allow
    assert canonical is not None and canonical.non_canonical_reason() is None
    explicit_then_inherited = parse_security_descriptor(blobs[4]).dacl
    assert explicit_then_inherited is not None and explicit_then_inherited.non_canonical_reason() is None
    (allow_then_deny, inherited_then_explicit) = (
        parse_security_descriptor(blob).dacl
        for blob in pack(["D:(A;;CR;;;AU)(D;;CR;;;AN)", "D:(A;ID;RP;;;AU)(A;;CR;;;AN)"])
    )
    assert allow_then_deny is not None and allow_then_deny.non_canonical_reason() == (
        "explicit deny ACE 2 (D;;CR;;;S-1-5-7) follows explicit allow ACE 1"
    )
    assert inherited_then_explicit is not None and inherited_then_explicit.non_canonical_reason() == (
        "explicit ACE 2 (A;;CR;;;S-1-5-7) follows inherited ACE 1"
    )
    # Among inherited ACEs a deny after an allow may be a grandparent's: not judged.
    (generations,) = (parse_security_descriptor(b).dacl for b in pack(["D:(A;ID;CR;;;AU)(D;ID;CR;;;AN)"]))
    assert generations is not None and generations.non_canonical_reason() is None


def test_an_ace_type_without_a_known_layout_is_kept_as_not_understood(blobs: list[bytes]) -> None:
    """ACCESS_ALLOWED_COMPOUND (0x04) has no SDDL form, so it is written by hand here."""
    blob = bytearray(blobs[0])
    dacl_at = struct.unpack_from("<I", blob, 16)[0]
    blob[dacl_at + 8] = 0x04
    decoded = parse_security_descriptor(bytes(blob))
    assert decoded.dacl is not None
    first = decoded.dacl.aces[0]
    assert first.type == 0x04 and not first.is_understood and first.sid is None
    assert decoded.dacl.aces[1].object_type == RELAY  # the ACE after it is still read by its size
