"""Writing what the live collector reads as `ldifde`-style LDIF, for offline audits (`export-ldif`).

The export is made of exactly the entries and attribute values `LdapSource` reads (it reuses
`LdapSource.entries()`), so `LdifSource` over the two files gives the same snapshot as a live read
(collector parity). The format is `ldifde`'s, written by the project's one LDIF writer
(`auditor.collect.ldif_writer`): CRLF line ends, `changetype: add`, values that are binary,
non-ASCII or not LDIF-safe as base64 (`name:: ...`), lines folded at 76 characters.

A file is written to a temporary name and renamed only when its partition was read to the end:
a failed read leaves no export that could pass for a complete one.

The equivalent on a Windows domain controller (run by an admin; one line each, see
`ldifde_commands()` for the exact attribute lists)::

    ldifde -f domain.ldf -d "DC=contoso,DC=com" -p subtree
           -r "(|(&(objectCategory=person)(objectClass=user))(objectClass=contact))"
           -l "objectClass,cn,displayName,sAMAccountName,...,objectGUID"
    ldifde -f configuration.ldf -d "CN=Configuration,DC=contoso,DC=com" -p subtree
           -r "(|(objectClass=msExchRecipientPolicy)(objectClass=msExchAcceptedDomain)...)"
           -l "objectClass,cn,gatewayProxy,...,objectGUID"
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import IO

from auditor.collect.ldif_writer import directory_values, write_records
from auditor.errors import DirectoryError
from auditor.families.exchange.ldap import DEFAULT_TABLES, LdapSettings, LdapSource
from auditor.families.exchange.tables import DirectoryTables

__all__ = ["export_ldif", "ldifde_commands"]


def ldifde_commands(
    base_dn: str, configuration_dn: str, tables: DirectoryTables = DEFAULT_TABLES
) -> list[str]:
    """The two `ldifde` command lines that export the same objects and attributes as `export_ldif`.

    With tables that read `nTSecurityDescriptor` the configuration export must run as an account
    allowed to read it; whether `ldifde` sends the SD-flags control for a non-admin is unverified.
    """
    return [
        f'ldifde -f domain.ldf -d "{base_dn}" -p subtree -r "{tables.recipient_filter}" '
        f'-l "{",".join(tables.recipient_attributes)}"',
        f'ldifde -f configuration.ldf -d "{configuration_dn}" -p subtree -r "{tables.configuration_filter}" '
        f'-l "{",".join(tables.configuration_attributes)}"',
    ]


def export_ldif(
    settings: LdapSettings,
    domain_out: Path,
    configuration_out: Path,
    *,
    tables: DirectoryTables = DEFAULT_TABLES,
) -> tuple[int, int]:
    """Export both partitions as `tables` reads them; returns (domain entries, configuration entries).

    Raises `DirectoryError` (and leaves neither file behind) when the directory cannot be read in full.
    """
    source = LdapSource(settings, name="export", tables=tables)
    outputs = {"domain": Path(domain_out), "configuration": Path(configuration_out)}
    temporary = {key: path.with_name(f".{path.name}.partial") for key, path in outputs.items()}
    counts = {"domain": 0, "configuration": 0}
    handles: dict[str, IO[str]] = {}
    try:
        for key, path in temporary.items():
            try:
                handles[key] = path.open("w", encoding="utf-8", newline="\r\n")
            except OSError as exc:
                raise DirectoryError(f"{path}: cannot write the export ({exc.strerror or exc})") from None
        for partition, dn, attributes in source.entries():
            values = directory_values(attributes, tables.binary)
            counts[partition] += write_records(handles[partition], [(dn, values)])
        if source.info.coverage != {"domain", "configuration"}:
            raise DirectoryError(f"{source.where}: the export did not read both partitions")
        for key, handle in handles.items():
            handle.close()
            temporary[key].replace(outputs[key])
    finally:
        for key, handle in handles.items():
            handle.close()
            with contextlib.suppress(FileNotFoundError):
                temporary[key].unlink()
    return counts["domain"], counts["configuration"]
