"""A full-attribute `ldifde` export: every binary attribute a real Exchange user carries.

`ldifde -f out.ldf` without `-l` writes every attribute of every object. For a mailbox user in an
Exchange organization that includes binary values (base64 in LDIF) that auditor never reads:
`logonHours`, `thumbnailPhoto`, `userCertificate`, `msExchMailboxSecurityDescriptor`, ... Their
bytes are not text, and a collector that tried to decode them as text refused real exports. This
module adds such values, deterministically, to an existing export so that tests can audit the
"full" variant and compare it with the lean one.

Values have the real shapes (a SID, a 21-byte logon-hours bitmap, a DER certificate header, a
self-relative security descriptor, a JPEG header, GUIDs, hash lists) and are folded at 76 columns
with a one-space continuation, as ldifde writes long lines.
"""

from __future__ import annotations

import hashlib
import struct
from pathlib import Path

from auditor.collect.ldif_writer import fold, value_line

__all__ = ["BINARY_USER_ATTRIBUTES", "full_attribute_export", "ldifde_line"]


def _seeded(dn: str, name: str, size: int) -> bytes:
    """Deterministic bytes for one attribute of one object (never valid UTF-8: 0xFF leads)."""
    out = b""
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(f"{dn}|{name}|{counter}".encode()).digest()
        counter += 1
    return b"\xff" + out[: size - 1]


def _sid(dn: str, rid_seed: str) -> bytes:
    """S-1-5-21-a-b-c-RID as the 28-byte binary SID."""
    sub = struct.unpack("<4I", hashlib.md5(f"{dn}{rid_seed}".encode()).digest())
    return bytes([1, 5, 0, 0, 0, 0, 0, 5]) + struct.pack(
        "<5I", 21, sub[0], sub[1], sub[2], 1100 + sub[3] % 5000
    )


def _security_descriptor(dn: str) -> bytes:
    """A self-relative SECURITY_DESCRIPTOR: owner SID, a DACL with one ACCESS_ALLOWED ACE."""
    owner = _sid(dn, "owner")
    ace_sid = _sid(dn, "ace")
    ace = struct.pack("<BBHI", 0, 0, 8 + len(ace_sid), 0x00020001) + ace_sid
    acl = struct.pack("<BBHHH", 2, 0, 8 + len(ace), 1, 0) + ace
    header = struct.pack("<BBHIIII", 1, 0, 0x8004, 20, 0, 0, 20 + len(owner))
    return header + owner + acl


def _values(dn: str) -> dict[str, list[bytes]]:
    jpeg = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + _seeded(dn, "photo", 900)
    certificate = b"\x30\x82\x03\x10\x30\x82\x01\xf8\xa0\x03\x02\x01\x02" + _seeded(dn, "cert", 700)
    return {
        "objectSid": [_sid(dn, "self")],
        "logonHours": [b"\xff" * 21],
        "userParameters": [b"\x20\x00P\x00\x04\x1a" + _seeded(dn, "userParameters", 60)],
        "thumbnailPhoto": [jpeg],
        "jpegPhoto": [jpeg],
        "userCertificate": [certificate, certificate[:4] + _seeded(dn, "cert2", 650)],
        "userSMIMECertificate": [b"\x30\x82\x05\x00" + _seeded(dn, "smime", 1200)],
        "msExchMailboxSecurityDescriptor": [_security_descriptor(dn)],
        "msExchMasterAccountSid": [bytes([1, 1, 0, 0, 0, 0, 0, 5, 10, 0, 0, 0])],
        "mS-DS-ConsistencyGuid": [_seeded(dn, "consistency", 16)],
        "msExchSafeSendersHash": [_seeded(dn, "safe", 4 * 24)],
        "msExchBlockedSendersHash": [_seeded(dn, "blocked", 4 * 6)],
        "msExchSafeRecipientsHash": [_seeded(dn, "safercpt", 4 * 3)],
        "msExchArchiveGUID": [_seeded(dn, "archive", 16)],
        "msExchDisabledArchiveGUID": [_seeded(dn, "disabledarchive", 16)],
        "msExchUMSpokenName": [b"RIFF" + _seeded(dn, "wav", 2000)],
        "msRTCSIP-UserRoutingGroupId": [_seeded(dn, "rtc", 16)],
        "terminalServer": [_seeded(dn, "ts", 120)],
        "securityProtocol": [_seeded(dn, "x400sec", 32)],
        "replicationSignature": [_seeded(dn, "replsig", 24)],
    }


BINARY_USER_ATTRIBUTES = tuple(_values("x"))


def ldifde_line(name: str, value: bytes) -> str:
    """`name:: base64`, folded at 76 columns with a leading space, as ldifde writes it."""
    return "\n".join(fold(value_line(name, value))) + "\n"


def full_attribute_export(lean: Path, target: Path) -> int:
    """Write `lean` with every user and contact given the binary attributes; returns how many."""
    out: list[str] = []
    changed = 0
    entry: list[str] = []
    dn = ""

    def flush() -> None:
        nonlocal changed
        if not entry:
            return
        out.extend(entry)
        classes = {
            line.split(":", 1)[1].strip().lower() for line in entry if line.lower().startswith("objectclass:")
        }
        if classes & {"user", "contact"} and "computer" not in classes:
            changed += 1
            for name, values in _values(dn).items():
                if name == "objectSid" and "contact" in classes:
                    continue
                out.extend(ldifde_line(name, v) for v in values)
        entry.clear()

    for line in lean.read_text(encoding="utf-8").splitlines(keepends=True):
        if line.strip() == "":
            flush()
            out.append(line)
            continue
        if line.lower().startswith("dn:"):
            dn = line.split(":", 1)[1].strip()
        entry.append(line)
    flush()
    target.write_text("".join(out), encoding="utf-8", newline="\r\n")
    return changed
