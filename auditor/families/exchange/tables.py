"""What a directory read asks for, and how its entries become records: one `DirectoryTables`.

`LdapSource`, the LDIF export and (through `record`) the LDIF reader take their filters, attribute
lists, binary attribute names and record builder from one of these, so a live read, its export and
the export read back stay comparable value for value whatever generation of tables is in use: the
Exchange 2003 tables of `auditor.records` (`ldap.DEFAULT_TABLES`) or the 2007+ ones of
`auditor.families.exchange.modern` (`MODERN_TABLES`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from auditor.collect import RawValue
from auditor.records import ObjectRecord

__all__ = ["DESCRIPTOR_ATTRIBUTE", "DirectoryTables", "RecordBuilder"]

# Operational: never returned for `*`, only when asked for by name; read with the SD-flags control.
DESCRIPTOR_ATTRIBUTE = "nTSecurityDescriptor"

RecordBuilder = Callable[[str, Mapping[str, Sequence[RawValue]]], ObjectRecord | None]


@dataclass(frozen=True)
class DirectoryTables:
    """Filters and attributes per partition, binary names (lower-case) and the record builder."""

    recipient_filter: str
    configuration_filter: str
    recipient_attributes: tuple[str, ...]
    configuration_attributes: tuple[str, ...]
    binary: frozenset[str]
    record: RecordBuilder

    @staticmethod
    def asks_for_descriptor(attributes: Sequence[str]) -> bool:
        """True when a search names `nTSecurityDescriptor`: it then needs the SD-flags control."""
        return any(name.lower() == DESCRIPTOR_ATTRIBUTE.lower() for name in attributes)
