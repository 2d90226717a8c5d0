"""The typed, parsed Linux host that the evaluation functions read.

`LinuxHost.from_export(export, name=..., fqdn=..., addresses=...)` turns a parsed export folder
into: `postfix` (main.cf effective values, master.cf services with their own effective values,
exported maps) and `dovecot` (the doveconf tree, its passdbs/userdbs, 2.3 ext files, users). Either
is None when its files were not exported, so a check can answer `skipped` rather than guess.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from auditor.families.linux.doveconf import DoveSection
from auditor.families.linux.export import ExportedMap, LinuxExport
from auditor.families.linux.params import Settings
from auditor.families.linux.postconf import MasterService
from auditor.families.linux.tables import Tables

__all__ = ["AuthDatabase", "DovecotHost", "LinuxHost", "PostfixHost", "PostfixService"]

_PORTS = {"smtp": 25, "submission": 587, "submissions": 465, "smtps": 465}


@dataclass(frozen=True, slots=True)
class PostfixService:
    """One master.cf service with its effective settings (its `-o` overrides over main.cf)."""

    entry: MasterService
    settings: Settings

    @property
    def key(self) -> str:
        return self.entry.key

    @property
    def is_smtpd(self) -> bool:
        """An SMTP server that clients reach: command `smtpd`, type `inet` or `pass` (postscreen)."""
        return self.entry.command == "smtpd" and self.entry.type in ("inet", "pass")

    @property
    def port(self) -> int | None:
        """The TCP port of an inet service (`[host:]port-or-name`); None when it is not one we know."""
        if self.entry.type != "inet":
            return None
        port = self.entry.service.rpartition(":")[2]
        if port.isdigit():
            return int(port)
        return _PORTS.get(port)


@dataclass(slots=True)
class PostfixHost:
    main: Settings
    services: list[PostfixService]
    maps: Mapping[str, ExportedMap]
    master_exported: bool
    _tables: Tables | None = None

    @property
    def tables(self) -> Tables:
        """The exported maps as lookup tables, built once per host."""
        if self._tables is None:
            self._tables = Tables(self.maps)
        return self._tables

    def smtpd_services(self) -> list[PostfixService]:
        return [s for s in self.services if s.is_smtpd]

    def map(self, reference: str) -> ExportedMap | None:
        return self.maps.get(reference)


@dataclass(frozen=True, slots=True)
class AuthDatabase:
    """A Dovecot passdb or userdb block: its driver, its label (2.4 name or 2.3 index) and settings."""

    kind: str
    label: str
    driver: str
    settings: Mapping[str, str]
    line: int
    named: bool = False
    section: DoveSection | None = field(default=None, compare=False, repr=False)


@dataclass(slots=True)
class DovecotHost:
    root: DoveSection
    header: tuple[str, ...]
    ext_files: Mapping[str, Mapping[str, str]]
    users: list[str] | None
    passdbs: list[AuthDatabase] = field(default_factory=list)
    userdbs: list[AuthDatabase] = field(default_factory=list)

    @property
    def version(self) -> str:
        """`2.4` when the output is 2.4-style (`dovecot_config_version` or named passdbs), else `2.3`."""
        if "dovecot_config_version" in self.root.settings:
            return "2.4"
        for line in self.header:
            words = line.lstrip("# ").split()
            if words and words[0][:3] in ("2.4", "2.5"):
                return "2.4"
        return "2.3"

    def setting(self, name: str) -> str | None:
        return self.root.get(name)


def _auth_databases(root: DoveSection, kind: str) -> list[AuthDatabase]:
    found: list[AuthDatabase] = []
    for index, section in enumerate(root.children(kind)):
        settings = dict(section.settings)
        driver = settings.get("driver") or settings.get(f"{kind}_driver") or (section.label or "")
        label = section.label if section.label is not None else str(index)
        found.append(
            AuthDatabase(
                kind=kind,
                label=label,
                driver=driver,
                settings=settings,
                line=section.line,
                named=section.label is not None,
                section=section,
            )
        )
    return found


@dataclass(slots=True)
class LinuxHost:
    name: str
    fqdn: str | None
    addresses: tuple[str, ...]
    export: LinuxExport
    postfix: PostfixHost | None
    dovecot: DovecotHost | None

    @classmethod
    def from_export(
        cls, export: LinuxExport, *, name: str, fqdn: str | None = None, addresses: tuple[str, ...] = ()
    ) -> LinuxHost:
        postfix: PostfixHost | None = None
        main: Settings | None = None
        if export.postconf_x is not None:
            main = Settings.from_postconf_x(export.postconf_x)
        elif export.postconf_n is not None:
            main = Settings.from_postconf_n(export.postconf_n)
        if main is not None or export.master is not None:
            if main is None:
                main = Settings.from_postconf_n({})
            services: list[PostfixService] = []
            for entry in export.master or []:
                if export.service_overrides is not None:
                    overrides = export.service_overrides.get(entry.key, {})
                    settings = main.with_overrides(overrides, expanded=True)
                else:
                    settings = main.with_overrides(dict(entry.overrides), expanded=False)
                services.append(PostfixService(entry=entry, settings=settings))
            postfix = PostfixHost(
                main=main, services=services, maps=export.maps, master_exported=export.master is not None
            )
        dovecot: DovecotHost | None = None
        if export.doveconf is not None:
            dovecot = DovecotHost(
                root=export.doveconf,
                header=export.doveconf_header,
                ext_files=export.ext_files,
                users=export.users,
                passdbs=_auth_databases(export.doveconf, "passdb"),
                userdbs=_auth_databases(export.doveconf, "userdb"),
            )
        return cls(
            name=name, fqdn=fqdn, addresses=tuple(addresses), export=export, postfix=postfix, dovecot=dovecot
        )
