"""A POP3 server's export folder as a `Source` (kind `pop3-export`).

The folder holds what an administrator copies off a Windows Server 2003 POP3 server (contract.md,
"The POP3 server export folder"): `MetaBase.xml`, `pop3.reg`, `winpop-auth.txt`,
`winpop-list.txt` and one `winpop-list-DOMAIN.txt` per domain. Every file is optional, because a
check that needs a missing file reports `skipped`; coverage records exactly which capabilities the
files gave (`smtp-settings`, `auth`, `domains`, `mailboxes`), so that "absent" never turns into
"compliant". A folder with none of them is an error: it is almost certainly the wrong folder. Only
a name that is not in the folder is a missing file: a known name that is a folder, a FIFO, a
device, a dangling link or a link loop is a file that cannot be read, and stops the pass naming it
(an unreadable `MetaBase.xml` must never turn a relay check into `skipped`).

Records: one `pop3_server` (metabase settings resolved, auth method lists, files found), one
`pop3_domain` per domain per source (`winpop` list, `metabase` IIsSmtpDomain keys), one
`pop3_mailbox` per mailbox listed. Files are all parsed before anything is yielded, so a damaged
file stops the pass without half a server having been handed on.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from auditor.errors import InputFormatError
from auditor.families.windows_pop3.adapter import (
    METABASE,
    POP3_REG,
    WINPOP_AUTH,
    WINPOP_LIST,
    capabilities_of,
)
from auditor.families.windows_pop3.metabase import parse_metabase
from auditor.families.windows_pop3.regfile import parse_pop3_reg, read_reg_file
from auditor.families.windows_pop3.winpop import (
    read_windows_text,
    read_winpop_auth,
    read_winpop_domains,
    read_winpop_mailboxes,
)
from auditor.records import ObjectKind, ObjectRecord, SourceInfo

__all__ = ["EXPORT_FILES", "ConfiguredPop3Source", "Pop3ExportSource"]

EXPORT_FILES = (METABASE, POP3_REG, WINPOP_AUTH, WINPOP_LIST)
_MAILBOX_LIST = re.compile(r"^winpop-list-(.+)\.txt$", re.IGNORECASE)


class Pop3ExportSource:
    """One configured POP3 server, read from its export folder."""

    def __init__(
        self, *, name: str, folder: Path, fqdn: str | None = None, addresses: Sequence[str] = ()
    ) -> None:
        self.name = name
        self.folder = Path(folder)
        self.fqdn = fqdn
        self.addresses = tuple(addresses)
        self.info = SourceInfo(name=f"pop3:{name}", kind="pop3-export")

    def collect(self) -> Iterator[ObjectRecord]:
        self.info.complete, self.info.objects, self.info.error = False, 0, None
        started = time.monotonic()
        try:
            records = self._read()
        except InputFormatError as exc:
            self.info.error = str(exc)
            raise
        yield from records
        self.info.objects = len(records)
        self.info.duration_seconds = time.monotonic() - started
        self.info.complete = True

    def _files(self) -> dict[str, Path]:
        """Known files by canonical name (`winpop-list-<domain lower>.txt` for mailbox lists).

        Every entry with a known name counts, whatever its type: reading it is what tells a
        regular file from one that cannot be read.
        """
        try:
            entries = sorted(self.folder.iterdir())
        except OSError as exc:
            raise InputFormatError(
                str(self.folder), f"cannot read the export folder ({exc.strerror or exc})"
            ) from None
        canonical = {name.lower(): name for name in EXPORT_FILES}
        found: dict[str, Path] = {}
        for path in entries:
            lower = path.name.lower()
            if lower in canonical:
                name = canonical[lower]
            elif match := _MAILBOX_LIST.match(path.name):
                name = f"winpop-list-{match.group(1).rstrip('.').lower()}.txt"
            else:
                continue
            if name in found:
                raise InputFormatError(
                    str(path), f"two files stand for {name}: {found[name].name} and {path.name}"
                )
            found[name] = path
        if not found:
            raise InputFormatError(
                str(self.folder),
                "no export files (MetaBase.xml, pop3.reg, winpop-auth.txt, winpop-list*.txt)",
            )
        return found

    def _read(self) -> list[ObjectRecord]:
        files = self._files()
        server = self.name
        prefix = f"pop3:{server.lower()}"
        attributes: dict[str, tuple[str, ...]] = {"name": (server,)}
        if self.fqdn:
            attributes["fqdn"] = (self.fqdn,)
        if self.addresses:
            attributes["addresses"] = self.addresses
        attributes["exportFiles"] = tuple(sorted(files))
        domains: list[ObjectRecord] = []
        mailboxes: list[ObjectRecord] = []

        def domain_record(domain: str, source: str, route_action: str | None = None) -> ObjectRecord:
            domain = domain.rstrip(".").lower()
            attrs: dict[str, tuple[str, ...]] = {
                "server": (server,),
                "domain": (domain,),
                "source": (source,),
            }
            if route_action is not None:
                attrs["RouteAction"] = (route_action,)
            return ObjectRecord(
                kind=ObjectKind.POP3_DOMAIN,
                key=f"{prefix}/{source}:{domain}",
                dn=f"{server}/{domain}",
                attributes=attrs,
            )

        if METABASE in files:
            settings = parse_metabase(files[METABASE], read_windows_text(files[METABASE]))
            attributes.update({name: (value,) for name, value in settings.attributes.items()})
            domains.extend(domain_record(d.domain, "metabase", d.route_action) for d in settings.domains)
        if POP3_REG in files:
            registry = parse_pop3_reg(files[POP3_REG], read_reg_file(files[POP3_REG]))
            if registry.methods is not None:
                attributes["regAuthMethods"] = registry.methods
            if registry.default_method is not None:
                attributes["regDefaultAuthMethod"] = (str(registry.default_method),)
        if WINPOP_AUTH in files:
            auth = read_winpop_auth(files[WINPOP_AUTH])
            attributes["winpopAuthMethods"] = auth.methods
            if auth.current is not None:
                attributes["winpopAuthCurrent"] = (auth.current,)
        if WINPOP_LIST in files:
            listed = read_winpop_domains(files[WINPOP_LIST])
            domains.extend(domain_record(domain, "winpop") for domain in listed)
        for file_name, path in sorted(files.items()):
            match = _MAILBOX_LIST.match(file_name)
            if file_name == WINPOP_LIST or not match:
                continue
            domain = match.group(1)
            for mailbox in read_winpop_mailboxes(path, domain):
                address = f"{mailbox}@{domain}".lower()
                mailboxes.append(
                    ObjectRecord(
                        kind=ObjectKind.POP3_MAILBOX,
                        key=f"{prefix}/{address}",
                        dn=f"{server}/{address}",
                        attributes={"server": (server,), "domain": (domain,), "mailbox": (mailbox,)},
                    )
                )
        capabilities = capabilities_of(frozenset(files))
        self.info.coverage = {f"pop3:{server}"} | {f"pop3:{server}:{c.value}" for c in capabilities}
        server_record = ObjectRecord(
            kind=ObjectKind.POP3_SERVER, key=prefix, dn=server, attributes=attributes
        )
        return [server_record, *domains, *mailboxes]


class ConfiguredPop3Source:
    """A POP3 server named in the config without an export folder: its names and addresses only.

    Connector (COEX-601) and relay-grant (COEX-702) checks need no more than that; checks that
    need the server's own settings report `skipped`.
    """

    def __init__(self, *, name: str, fqdn: str | None, addresses: Sequence[str]) -> None:
        self.name, self.fqdn, self.addresses = name, fqdn, tuple(addresses)
        self.info = SourceInfo(name=f"pop3:{name}", kind="config")

    def collect(self) -> Iterator[ObjectRecord]:
        attributes: dict[str, tuple[str, ...]] = {"name": (self.name,)}
        if self.fqdn:
            attributes["fqdn"] = (self.fqdn,)
        if self.addresses:
            attributes["addresses"] = self.addresses
        self.info.coverage = {f"pop3:{self.name}"}
        self.info.objects = 1
        self.info.complete = True
        yield ObjectRecord(
            kind=ObjectKind.POP3_SERVER, key=f"pop3:{self.name.lower()}", dn=self.name, attributes=attributes
        )
