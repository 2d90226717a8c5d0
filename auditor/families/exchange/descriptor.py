"""Security descriptors (`nTSecurityDescriptor`) decoded from their self-relative binary form.

The layout is MS-DTYP 2.4.6 (SECURITY_DESCRIPTOR, self-relative), 2.4.5 (ACL), 2.4.4 (ACEs) and
2.4.2 (SID). Written here rather than taken from `winacl` because an audit must *refuse* a damaged
descriptor: winacl reads through a stream that returns short reads as zeros, so a descriptor cut
short decodes into plausible but invented ACEs (tried: cut at 60 of 260 bytes, it gave five
`(A;;0x0;;;S-1-0)` ACEs, no error), whereas here every length and offset is checked against the
buffer and anything that does not fit raises `DescriptorError`, the one error type of this module.

A decoded descriptor keeps its raw bytes beside it (`SecurityDescriptor.raw`), so a finding can
always show what the directory held. `decode_descriptor_value` turns a record value (base64 text)
into either a `SecurityDescriptor` or an `UndecodableDescriptor`, which checks report as `error`.
"""

from __future__ import annotations

import base64
import binascii
import struct
import uuid
from dataclasses import dataclass, field
from enum import IntEnum, IntFlag

__all__ = [
    "AccessMask",
    "Ace",
    "AceFlags",
    "AceType",
    "Acl",
    "DescriptorControl",
    "DescriptorError",
    "SecurityDescriptor",
    "UndecodableDescriptor",
    "decode_descriptor_value",
    "parse_security_descriptor",
    "parse_sid",
]


class DescriptorError(ValueError):
    """The bytes are not a well-formed self-relative security descriptor.

    `truncated` is True when a structure runs past the end of the data (a descriptor cut short),
    False for a value that is complete but malformed (a wrong revision, an impossible offset).
    """

    def __init__(self, problem: str, *, truncated: bool = False) -> None:
        super().__init__(problem)
        self.problem = problem
        self.truncated = truncated


class AceType(IntEnum):
    """ACE types of MS-DTYP 2.4.4.1."""

    ACCESS_ALLOWED = 0x00
    ACCESS_DENIED = 0x01
    SYSTEM_AUDIT = 0x02
    SYSTEM_ALARM = 0x03
    ACCESS_ALLOWED_COMPOUND = 0x04
    ACCESS_ALLOWED_OBJECT = 0x05
    ACCESS_DENIED_OBJECT = 0x06
    SYSTEM_AUDIT_OBJECT = 0x07
    SYSTEM_ALARM_OBJECT = 0x08
    ACCESS_ALLOWED_CALLBACK = 0x09
    ACCESS_DENIED_CALLBACK = 0x0A
    ACCESS_ALLOWED_CALLBACK_OBJECT = 0x0B
    ACCESS_DENIED_CALLBACK_OBJECT = 0x0C
    SYSTEM_AUDIT_CALLBACK = 0x0D
    SYSTEM_ALARM_CALLBACK = 0x0E
    SYSTEM_AUDIT_CALLBACK_OBJECT = 0x0F
    SYSTEM_ALARM_CALLBACK_OBJECT = 0x10
    SYSTEM_MANDATORY_LABEL = 0x11
    SYSTEM_RESOURCE_ATTRIBUTE = 0x12
    SYSTEM_SCOPED_POLICY_ID = 0x13


class AceFlags(IntFlag):
    """ACE header flags (MS-DTYP 2.4.4.1)."""

    OBJECT_INHERIT = 0x01
    CONTAINER_INHERIT = 0x02
    NO_PROPAGATE_INHERIT = 0x04
    INHERIT_ONLY = 0x08
    INHERITED = 0x10
    SUCCESSFUL_ACCESS = 0x40
    FAILED_ACCESS = 0x80


class DescriptorControl(IntFlag):
    """SECURITY_DESCRIPTOR control bits (MS-DTYP 2.4.6)."""

    OWNER_DEFAULTED = 0x0001
    GROUP_DEFAULTED = 0x0002
    DACL_PRESENT = 0x0004
    DACL_DEFAULTED = 0x0008
    SACL_PRESENT = 0x0010
    SACL_DEFAULTED = 0x0020
    DACL_TRUSTED = 0x0040
    SERVER_SECURITY = 0x0080
    DACL_AUTO_INHERIT_REQ = 0x0100
    SACL_AUTO_INHERIT_REQ = 0x0200
    DACL_AUTO_INHERITED = 0x0400
    SACL_AUTO_INHERITED = 0x0800
    DACL_PROTECTED = 0x1000
    SACL_PROTECTED = 0x2000
    RM_CONTROL_VALID = 0x4000
    SELF_RELATIVE = 0x8000


class AccessMask(IntFlag):
    """Directory-service access rights (MS-ADTS 5.1.3.2; SDDL codes in comments)."""

    CREATE_CHILD = 0x00000001  # CC
    DELETE_CHILD = 0x00000002  # DC
    LIST_CHILDREN = 0x00000004  # LC
    SELF_WRITE = 0x00000008  # SW
    READ_PROPERTY = 0x00000010  # RP
    WRITE_PROPERTY = 0x00000020  # WP
    DELETE_TREE = 0x00000040  # DT
    LIST_OBJECT = 0x00000080  # LO
    CONTROL_ACCESS = 0x00000100  # CR: extended rights, such as ms-Exch-SMTP-Accept-Any-Recipient
    DELETE = 0x00010000  # SD
    READ_CONTROL = 0x00020000  # RC
    WRITE_DAC = 0x00040000  # WD
    WRITE_OWNER = 0x00080000  # WO
    GENERIC_ALL = 0x10000000  # GA
    GENERIC_EXECUTE = 0x20000000  # GX
    GENERIC_WRITE = 0x40000000  # GW
    GENERIC_READ = 0x80000000  # GR


_OBJECT_TYPES = frozenset(
    {
        AceType.ACCESS_ALLOWED_OBJECT,
        AceType.ACCESS_DENIED_OBJECT,
        AceType.SYSTEM_AUDIT_OBJECT,
        AceType.SYSTEM_ALARM_OBJECT,
        AceType.ACCESS_ALLOWED_CALLBACK_OBJECT,
        AceType.ACCESS_DENIED_CALLBACK_OBJECT,
        AceType.SYSTEM_AUDIT_CALLBACK_OBJECT,
        AceType.SYSTEM_ALARM_CALLBACK_OBJECT,
    }
)
# Types whose body is Mask + SID (+ application data up to AceSize).
_PLAIN_TYPES = frozenset(
    {
        AceType.ACCESS_ALLOWED,
        AceType.ACCESS_DENIED,
        AceType.SYSTEM_AUDIT,
        AceType.SYSTEM_ALARM,
        AceType.ACCESS_ALLOWED_CALLBACK,
        AceType.ACCESS_DENIED_CALLBACK,
        AceType.SYSTEM_AUDIT_CALLBACK,
        AceType.SYSTEM_ALARM_CALLBACK,
        AceType.SYSTEM_MANDATORY_LABEL,
        AceType.SYSTEM_RESOURCE_ATTRIBUTE,
        AceType.SYSTEM_SCOPED_POLICY_ID,
    }
)
_ALLOW_TYPES = frozenset(
    {
        AceType.ACCESS_ALLOWED,
        AceType.ACCESS_ALLOWED_OBJECT,
        AceType.ACCESS_ALLOWED_CALLBACK,
        AceType.ACCESS_ALLOWED_CALLBACK_OBJECT,
    }
)
_DENY_TYPES = frozenset(
    {
        AceType.ACCESS_DENIED,
        AceType.ACCESS_DENIED_OBJECT,
        AceType.ACCESS_DENIED_CALLBACK,
        AceType.ACCESS_DENIED_CALLBACK_OBJECT,
    }
)
_OBJECT_TYPE_PRESENT = 0x1
_INHERITED_OBJECT_TYPE_PRESENT = 0x2

_SDDL_TYPES: dict[int, str] = {
    AceType.ACCESS_ALLOWED: "A",
    AceType.ACCESS_DENIED: "D",
    AceType.SYSTEM_AUDIT: "AU",
    AceType.SYSTEM_ALARM: "AL",
    AceType.ACCESS_ALLOWED_OBJECT: "OA",
    AceType.ACCESS_DENIED_OBJECT: "OD",
    AceType.SYSTEM_AUDIT_OBJECT: "OU",
    AceType.SYSTEM_ALARM_OBJECT: "OL",
    AceType.ACCESS_ALLOWED_CALLBACK: "XA",
    AceType.ACCESS_DENIED_CALLBACK: "XD",
    AceType.ACCESS_ALLOWED_CALLBACK_OBJECT: "ZA",
    AceType.SYSTEM_AUDIT_CALLBACK: "XU",
    AceType.SYSTEM_MANDATORY_LABEL: "ML",
    AceType.SYSTEM_RESOURCE_ATTRIBUTE: "RA",
    AceType.SYSTEM_SCOPED_POLICY_ID: "SP",
}
_SDDL_FLAGS = (
    (AceFlags.OBJECT_INHERIT, "OI"),
    (AceFlags.CONTAINER_INHERIT, "CI"),
    (AceFlags.NO_PROPAGATE_INHERIT, "NP"),
    (AceFlags.INHERIT_ONLY, "IO"),
    (AceFlags.INHERITED, "ID"),
    (AceFlags.SUCCESSFUL_ACCESS, "SA"),
    (AceFlags.FAILED_ACCESS, "FA"),
)
_SDDL_RIGHTS = (
    (AccessMask.GENERIC_ALL, "GA"),
    (AccessMask.GENERIC_READ, "GR"),
    (AccessMask.GENERIC_WRITE, "GW"),
    (AccessMask.GENERIC_EXECUTE, "GX"),
    (AccessMask.READ_CONTROL, "RC"),
    (AccessMask.DELETE, "SD"),
    (AccessMask.WRITE_DAC, "WD"),
    (AccessMask.WRITE_OWNER, "WO"),
    (AccessMask.READ_PROPERTY, "RP"),
    (AccessMask.WRITE_PROPERTY, "WP"),
    (AccessMask.CREATE_CHILD, "CC"),
    (AccessMask.DELETE_CHILD, "DC"),
    (AccessMask.LIST_CHILDREN, "LC"),
    (AccessMask.SELF_WRITE, "SW"),
    (AccessMask.LIST_OBJECT, "LO"),
    (AccessMask.DELETE_TREE, "DT"),
    (AccessMask.CONTROL_ACCESS, "CR"),
)
_SDDL_KNOWN_RIGHTS = 0
for _right, _ in _SDDL_RIGHTS:
    _SDDL_KNOWN_RIGHTS |= _right


@dataclass(frozen=True, slots=True)
class Ace:
    """One access control entry. `type` and `flags` are the raw numbers (see `AceType`, `AceFlags`).

    `mask` and `sid` are None only for ACE types whose body this decoder does not lay out
    (compound ACEs, types defined after MS-DTYP 2.4.4.1); checks must treat those as unknown.
    GUIDs are lower-case UUID text, already converted from Windows' little-endian byte layout.
    """

    type: int
    flags: int
    mask: int | None
    sid: str | None
    object_type: str | None = None
    inherited_object_type: str | None = None

    @property
    def is_allow(self) -> bool:
        return self.type in _ALLOW_TYPES

    @property
    def is_deny(self) -> bool:
        return self.type in _DENY_TYPES

    @property
    def is_object(self) -> bool:
        return self.type in _OBJECT_TYPES

    @property
    def is_understood(self) -> bool:
        return self.mask is not None and self.sid is not None

    @property
    def inherited(self) -> bool:
        return bool(self.flags & AceFlags.INHERITED)

    @property
    def inherit_only(self) -> bool:
        """An inherit-only ACE is for child objects; it grants or denies nothing on this object."""
        return bool(self.flags & AceFlags.INHERIT_ONLY)

    @property
    def kind(self) -> str:
        """`allow`, `deny`, `object-allow`, `object-deny`, `audit` or `other`."""
        if self.is_allow:
            return "object-allow" if self.is_object else "allow"
        if self.is_deny:
            return "object-deny" if self.is_object else "deny"
        if self.type in (
            AceType.SYSTEM_AUDIT,
            AceType.SYSTEM_AUDIT_OBJECT,
            AceType.SYSTEM_AUDIT_CALLBACK,
            AceType.SYSTEM_AUDIT_CALLBACK_OBJECT,
        ):
            return "audit"
        return "other"

    def to_sddl(self) -> str:
        """The ACE as an SDDL ace string, e.g. `(OA;;CR;5c82f031-...;;S-1-5-7)` (SIDs as S-1-... text)."""
        kind = _SDDL_TYPES.get(self.type, f"0x{self.type:02x}")
        flags = "".join(code for bit, code in _SDDL_FLAGS if self.flags & bit)
        return (
            f"({kind};{flags};{_rights_text(self.mask)};{self.object_type or ''};"
            f"{self.inherited_object_type or ''};{self.sid or ''})"
        )


def _rights_text(mask: int | None) -> str:
    if mask is None:
        return ""
    if mask & ~_SDDL_KNOWN_RIGHTS or mask == 0:
        return f"0x{mask:x}"
    return "".join(code for bit, code in _SDDL_RIGHTS if mask & bit)


@dataclass(frozen=True, slots=True)
class Acl:
    revision: int
    aces: tuple[Ace, ...]

    def non_canonical_reason(self) -> str | None:
        """Why this DACL is not in canonical order, or None.

        Canonical (as Windows writes it): every explicit ACE before every inherited one, and among
        the explicit ACEs every deny before every allow. Inherited ACEs come in generations (the
        parent's, then the grandparent's, each deny-before-allow) that the ACE flags do not record,
        so a deny after an allow among inherited ACEs can be canonical and is not judged.
        """
        seen_inherited = seen_allow = None
        for index, ace in enumerate(self.aces, start=1):
            if ace.inherited:
                seen_inherited = seen_inherited or index
                continue
            if seen_inherited is not None:
                return f"explicit ACE {index} {ace.to_sddl()} follows inherited ACE {seen_inherited}"
            if ace.is_allow:
                seen_allow = seen_allow or index
            elif ace.is_deny and seen_allow is not None:
                return f"explicit deny ACE {index} {ace.to_sddl()} follows explicit allow ACE {seen_allow}"
        return None


@dataclass(frozen=True, slots=True)
class SecurityDescriptor:
    """A decoded self-relative descriptor and the bytes it came from.

    `dacl` is None when the descriptor carries no DACL: either `DACL_PRESENT` is clear (the DACL
    was not asked for or not returned) or it is set with a zero offset (a NULL DACL, which grants
    everyone everything). `dacl_present` tells the two apart.
    """

    revision: int
    control: int
    owner: str | None
    group: str | None
    dacl_present: bool
    dacl: Acl | None
    sacl: Acl | None
    raw: bytes

    def to_sddl(self) -> str:
        parts = []
        if self.owner:
            parts.append(f"O:{self.owner}")
        if self.group:
            parts.append(f"G:{self.group}")
        if self.dacl is not None:
            parts.append("D:" + "".join(ace.to_sddl() for ace in self.dacl.aces))
        elif self.dacl_present:
            parts.append("D:NO_ACCESS_CONTROL")
        if self.sacl is not None:
            parts.append("S:" + "".join(ace.to_sddl() for ace in self.sacl.aces))
        return "".join(parts)


@dataclass(frozen=True, slots=True)
class UndecodableDescriptor:
    """A descriptor value that could not be decoded: checks report it as `error`, never `pass`."""

    raw: bytes = field(repr=False)
    problem: str
    truncated: bool = False


def _need(data: bytes, offset: int, length: int, what: str, end: int | None = None) -> None:
    """Raise unless `length` bytes at `offset` lie within the data (and before `end`, the end of
    the enclosing structure)."""
    limit = len(data) if end is None else min(end, len(data))
    if offset < 0 or offset + length > limit:
        room = f"the descriptor has {len(data)}" if limit == len(data) else f"its container ends at {limit}"
        raise DescriptorError(f"{what} at offset {offset} needs {length} bytes, {room}", truncated=True)


def parse_sid(data: bytes, offset: int = 0, end: int | None = None) -> tuple[str, int]:
    """(S-1-... text, bytes used) of the SID at `offset`, which must end by `end` (default: the data)."""
    _need(data, offset, 8, "SID", end)
    revision, count = data[offset], data[offset + 1]
    if revision != 1:
        raise DescriptorError(f"SID at offset {offset} has revision {revision}, expected 1")
    if count > 15:
        raise DescriptorError(f"SID at offset {offset} claims {count} sub-authorities (at most 15)")
    length = 8 + 4 * count
    _need(data, offset, length, "SID", end)
    authority = int.from_bytes(data[offset + 2 : offset + 8], "big")
    subs = struct.unpack_from(f"<{count}I", data, offset + 8)
    authority_text = str(authority) if authority < 2**32 else f"0x{authority:012X}"
    return "-".join(["S", "1", authority_text, *(str(s) for s in subs)]), length


def _guid(data: bytes, offset: int, end: int, what: str) -> str:
    _need(data, offset, 16, what, end)
    return str(uuid.UUID(bytes_le=data[offset : offset + 16]))


def _parse_ace(data: bytes, offset: int, end: int, index: int) -> tuple[Ace, int]:
    _need(data, offset, 4, f"ACE {index} header", end)
    ace_type, flags, size = struct.unpack_from("<BBH", data, offset)
    if size < 4:
        raise DescriptorError(f"ACE {index} at offset {offset} has size {size} (at least 4)")
    _need(data, offset, size, f"ACE {index}", end)
    ace_end = offset + size
    body = offset + 4
    if ace_type in _OBJECT_TYPES:
        _need(data, body, 8, f"ACE {index} mask and object flags", ace_end)
        mask, object_flags = struct.unpack_from("<II", data, body)
        position = body + 8
        object_type = inherited = None
        if object_flags & _OBJECT_TYPE_PRESENT:
            object_type = _guid(data, position, ace_end, f"ACE {index} object type")
            position += 16
        if object_flags & _INHERITED_OBJECT_TYPE_PRESENT:
            inherited = _guid(data, position, ace_end, f"ACE {index} inherited object type")
            position += 16
        sid, _ = parse_sid(data, position, ace_end)
        return Ace(ace_type, flags, mask, sid, object_type, inherited), size
    if ace_type in _PLAIN_TYPES:
        _need(data, body, 4, f"ACE {index} mask", ace_end)
        (mask,) = struct.unpack_from("<I", data, body)
        sid, _ = parse_sid(data, body + 4, ace_end)
        return Ace(ace_type, flags, mask, sid), size
    return Ace(ace_type, flags, None, None), size


def _parse_acl(data: bytes, offset: int, what: str) -> Acl:
    if offset < 20:
        raise DescriptorError(f"{what} offset {offset} points into the descriptor header")
    _need(data, offset, 8, f"{what} header")
    revision, _sbz1, size, count, _sbz2 = struct.unpack_from("<BBHHH", data, offset)
    if revision not in (2, 4):
        raise DescriptorError(f"{what} at offset {offset} has revision {revision}, expected 2 or 4")
    if size < 8:
        raise DescriptorError(f"{what} at offset {offset} has size {size} (at least 8)")
    _need(data, offset, size, what)
    end = offset + size
    aces: list[Ace] = []
    position = offset + 8
    for index in range(1, count + 1):
        ace, used = _parse_ace(data, position, end, index)
        aces.append(ace)
        position += used
    return Acl(revision, tuple(aces))


def parse_security_descriptor(data: bytes) -> SecurityDescriptor:
    """Decode a self-relative SECURITY_DESCRIPTOR; raise `DescriptorError` for anything malformed."""
    if not isinstance(data, bytes | bytearray):
        raise DescriptorError(f"expected bytes, got {type(data).__name__}")
    data = bytes(data)
    _need(data, 0, 20, "descriptor header")
    revision, _sbz1, control, owner_at, group_at, sacl_at, dacl_at = struct.unpack_from("<BBHIIII", data, 0)
    if revision != 1:
        raise DescriptorError(f"descriptor revision {revision}, expected 1")
    if not control & DescriptorControl.SELF_RELATIVE:
        raise DescriptorError("descriptor is not self-relative (SE_SELF_RELATIVE clear)")
    owner = group = None
    for name, at in (("owner", owner_at), ("group", group_at)):
        if at == 0:
            continue
        if at < 20:
            raise DescriptorError(f"{name} offset {at} points into the descriptor header")
        sid, _ = parse_sid(data, at)
        owner, group = (sid, group) if name == "owner" else (owner, sid)
    dacl_present = bool(control & DescriptorControl.DACL_PRESENT)
    dacl = _parse_acl(data, dacl_at, "DACL") if dacl_present and dacl_at else None
    sacl_present = bool(control & DescriptorControl.SACL_PRESENT)
    sacl = _parse_acl(data, sacl_at, "SACL") if sacl_present and sacl_at else None
    return SecurityDescriptor(revision, control, owner, group, dacl_present, dacl, sacl, data)


def decode_descriptor_value(value: str | bytes) -> SecurityDescriptor | UndecodableDescriptor:
    """A record value (base64 text, or the raw bytes) as a descriptor, or why it is not one."""
    if isinstance(value, str):
        try:
            raw = base64.b64decode(value.strip(), validate=True)
        except (binascii.Error, ValueError) as exc:
            return UndecodableDescriptor(value.encode("utf-8", "replace"), f"not base64 ({exc})")
    else:
        raw = value
    try:
        return parse_security_descriptor(raw)
    except DescriptorError as exc:
        return UndecodableDescriptor(raw, exc.problem, exc.truncated)
