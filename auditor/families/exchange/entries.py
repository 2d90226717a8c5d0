"""Turning a raw directory entry into an `ObjectRecord`, identically for LDIF and live LDAP.

Both directory sources hand their entries to `record_from_entry`, so the kinds, attribute
spellings, value encodings and keys of a live read and of an export of the same forest cannot
drift apart (collector parity).
"""

from __future__ import annotations

import base64
import re
import uuid
from collections.abc import Mapping, Sequence

from auditor.collect import RawValue
from auditor.families.exchange.attributes import (
    BINARY_ATTRIBUTES,
    COLLECTED_ATTRIBUTES,
    MAIL_ATTRIBUTES,
    canonical_attribute,
    kind_for_object_classes,
)
from auditor.records import ObjectKind, ObjectRecord

__all__ = ["RawValue", "guid_from_value", "partition_of", "record_from_entry"]


_BOOLEAN_ATTRIBUTES = frozenset(
    {"msExchHideFromAddressLists", "msExchSmtpRelayForAuth", "msExchPolicyEnabled"}
)
_GUID_TEXT = re.compile(
    r"^\{?([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})\}?$"
)


def guid_from_value(value: RawValue) -> str | None:
    """`objectGUID` as the canonical lower-case UUID: 16 little-endian bytes or `{...}` text.

    None when the value is neither (the LDIF source reports that with its file and line).
    """
    if isinstance(value, bytes):
        if len(value) == 16:
            return str(uuid.UUID(bytes_le=value))
        try:
            value = value.decode("ascii")
        except UnicodeDecodeError:
            return None
    match = _GUID_TEXT.match(value.strip())
    return str(uuid.UUID(match.group(1))) if match else None


def partition_of(dn: str, configuration_dn: str | None = None) -> str:
    """`configuration` for the Configuration partition, else `domain`."""
    lowered = dn.lower().replace(" ", "")
    if configuration_dn:
        suffix = configuration_dn.lower().replace(" ", "")
        return "configuration" if lowered == suffix or lowered.endswith("," + suffix) else "domain"
    return (
        "configuration"
        if "cn=configuration,dc=" in lowered or lowered.startswith("cn=configuration,")
        else "domain"
    )


def _text(value: RawValue) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else value


def _encode(name: str, value: RawValue) -> str:
    if name in BINARY_ATTRIBUTES:
        raw = value if isinstance(value, bytes) else value.encode("latin-1")
        return base64.b64encode(raw).decode("ascii")
    text = _text(value)
    if name in _BOOLEAN_ATTRIBUTES:
        return text.strip().upper()
    return text


def record_from_entry(dn: str, attributes: Mapping[str, Sequence[RawValue]]) -> ObjectRecord | None:
    """The record for a directory entry, or None when auditor does not keep that kind of object.

    `attributes` may use any case for names; values are bytes or text. Only the attributes of
    `COLLECTED_ATTRIBUTES` for the entry's kind are kept (volatile ones never are). Groups are kept
    only when mail-enabled, as the live search asks.
    """
    by_name: dict[str, Sequence[RawValue]] = {}
    for name, values in attributes.items():
        by_name[canonical_attribute(name.split(";", 1)[0])] = values
    object_classes = [_text(v) for v in by_name.get("objectClass", ())]
    kind = kind_for_object_classes(object_classes)
    if kind is None:
        return None
    if kind == ObjectKind.GROUP and not any(by_name.get(name) for name in MAIL_ATTRIBUTES):
        return None  # a group that is not mail-enabled: no address, nothing for a mail audit
    guid_values = by_name.get("objectGUID", ())
    guid = guid_from_value(guid_values[0]) if guid_values else None
    key = guid if guid else "dn:" + dn.lower()
    kept: dict[str, tuple[str, ...]] = {}
    for name in COLLECTED_ATTRIBUTES[kind]:
        found = by_name.get(name)
        if found:
            kept[name] = tuple(_encode(name, v) for v in found)
    return ObjectRecord(kind=kind, key=key, dn=dn, attributes=kept)
