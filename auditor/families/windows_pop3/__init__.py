"""The Windows POP3 family: the Windows Server 2003 POP3 service and its IIS SMTP service.

source     Pop3ExportSource (an export folder) and ConfiguredPop3Source (names and addresses only)
metabase   MetaBase.xml: SMTP virtual server 1 with IIS inheritance, its domains
regfile    pop3.reg (UTF-16LE registry export): the authentication methods
winpop     winpop get auth / winpop list [DOMAIN] outputs
adapter    records -> Pop3Host, its SMTP service, mailbox service, domains and mailboxes
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from auditor.families import Family, KindSpec
from auditor.families.windows_pop3.adapter import WindowsPop3Adapter
from auditor.records import ObjectKind

if TYPE_CHECKING:
    from auditor.collect import Source
    from auditor.config import AuditorConfig, Pop3ServerConfig

__all__ = ["FAMILY"]


def pop3_sources(server: Pop3ServerConfig, config: AuditorConfig) -> Sequence[Source]:
    """A `[[pop3_server]]` of kind `windows`: its export folder, or only its names and addresses."""
    from auditor.families.windows_pop3.source import ConfiguredPop3Source, Pop3ExportSource

    if server.export is not None:
        return [
            Pop3ExportSource(
                name=server.name, folder=server.export, fqdn=server.fqdn, addresses=server.addresses
            )
        ]
    return [ConfiguredPop3Source(name=server.name, fqdn=server.fqdn, addresses=server.addresses)]


FAMILY = Family(
    name="windows-pop3",
    kinds=(
        KindSpec(
            ObjectKind.POP3_SERVER.value,
            "POP3 server",
            binary=frozenset({"RelayIpList"}),
        ),
        KindSpec(ObjectKind.POP3_DOMAIN.value, "POP3 domain"),
        KindSpec(ObjectKind.POP3_MAILBOX.value, "POP3 mailbox"),
    ),
    adapter=WindowsPop3Adapter,
    reads=(("pop3_server", "windows"),),
    sources=pop3_sources,
    export_markers=frozenset({"metabase.xml", "pop3.reg", "winpop-auth.txt", "winpop-list*.txt"}),
)
