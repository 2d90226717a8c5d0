"""The export folder of a Linux POP3 host, read and parsed into a typed `LinuxExport`.

Files (contract.md, "A Linux POP3 host"; all optional): `postconf-x.txt`, `postconf-n.txt`,
`postconf-M.txt`, `postconf-Px.txt`, `maps/INDEX.tsv` + `maps/*`, `doveconf-n.txt`,
`dovecot-ext/*`, `doveadm-users.txt`, and `EXPORT-INFO.txt` (written by deploy/linux/export-linux.sh:
`exported_at = <UTC ISO time>` and the host name, so a stale export can be told).

Every file is parsed before anything is returned, so one damaged file stops the pass with one
line naming it; `texts` keeps each file's text for the raw records (what was exported is what is
stored and diffed).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from auditor.errors import InputFormatError
from auditor.families.linux.doveconf import DoveSection, parse_doveadm_users, parse_doveconf, parse_ext_args
from auditor.families.linux.files import read_export_text, text_lines
from auditor.families.linux.postconf import (
    MapIndexEntry,
    MasterService,
    parse_map_index,
    parse_master,
    parse_parameters,
    parse_postmap,
    parse_service_overrides,
)

__all__ = [
    "DOVECOT_FILES",
    "EXPORT_INFO",
    "LINUX_FILES",
    "POSTFIX_FILES",
    "ExportedMap",
    "LinuxExport",
    "read_linux_export",
]

POSTCONF_X = "postconf-x.txt"
POSTCONF_N = "postconf-n.txt"
POSTCONF_M = "postconf-M.txt"
POSTCONF_PX = "postconf-Px.txt"
DOVECONF_N = "doveconf-n.txt"
DOVEADM_USERS = "doveadm-users.txt"
EXPORT_INFO = "EXPORT-INFO.txt"
MAPS_DIR = "maps"
MAP_INDEX = "maps/INDEX.tsv"
EXT_DIR = "dovecot-ext"
POSTFIX_FILES = (POSTCONF_X, POSTCONF_N, POSTCONF_M, POSTCONF_PX)
DOVECOT_FILES = (DOVECONF_N, DOVEADM_USERS)
LINUX_FILES = (*POSTFIX_FILES, *DOVECOT_FILES, EXPORT_INFO)


@dataclass(frozen=True, slots=True)
class ExportedMap:
    """One table the Postfix settings name, as exported (`entries` / `config` / `lines` by form)."""

    reference: str
    file: str | None
    form: str
    entries: Mapping[str, str] | None = None
    config: Mapping[str, str] | None = None
    lines: tuple[str, ...] | None = None

    @property
    def type(self) -> str:
        """The table type (`hash`, `ldap`, ...; a `proxy:` prefix skipped), or `file` for a /file list."""
        if self.reference.startswith("/"):
            return "file"
        kind, sep, _ = self.reference.removeprefix("proxy:").partition(":")
        return kind if sep else "file"

    @property
    def name(self) -> str:
        if self.type == "file":
            return self.reference
        return self.reference.removeprefix("proxy:").partition(":")[2]


@dataclass(slots=True)
class LinuxExport:
    """Everything parsed from one export folder; None / empty where the file was not exported."""

    folder: Path
    files: tuple[str, ...]
    texts: dict[str, str] = field(default_factory=dict)
    postconf_x: dict[str, str] | None = None
    postconf_n: dict[str, str] | None = None
    master: list[MasterService] | None = None
    service_overrides: dict[str, dict[str, str]] | None = None
    maps: dict[str, ExportedMap] = field(default_factory=dict)
    doveconf: DoveSection | None = None
    doveconf_header: tuple[str, ...] = ()
    ext_files: dict[str, dict[str, str]] = field(default_factory=dict)
    users: list[str] | None = None
    exported_at: datetime | None = None
    exported_host: str | None = None

    @property
    def has_postfix(self) -> bool:
        return any(name in self.files for name in POSTFIX_FILES)

    @property
    def has_dovecot(self) -> bool:
        return any(name in self.files for name in DOVECOT_FILES)


def _regular_names(folder: Path, sub: str = "") -> list[str]:
    base = folder / sub if sub else folder
    try:
        entries = sorted(base.iterdir())
    except OSError as exc:
        raise InputFormatError(str(base), f"cannot read the export folder ({exc.strerror or exc})") from None
    return [f"{sub}/{p.name}" if sub else p.name for p in entries]


def _parse_export_info(path: Path, text: str) -> tuple[datetime | None, str | None]:
    when: datetime | None = None
    host: str | None = None
    for number, line in text_lines(text):
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition(" = ")
        if not sep:
            raise InputFormatError(f"{path}:{number}", f"not a 'key = value' line: {line[:60]!r}")
        if key == "exported_at":
            try:
                when = datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                raise InputFormatError(
                    f"{path}:{number}", f"not an ISO date and time: {value[:40]!r}"
                ) from None
            if when.tzinfo is None:
                raise InputFormatError(f"{path}:{number}", "exported_at needs a time zone (Z)")
            when = when.astimezone(UTC)
        elif key == "host":
            host = value
    return when, host


def read_linux_export(folder: Path) -> LinuxExport:
    """Parse every known file of the folder; `InputFormatError` (file and line) on the first fault."""
    folder = Path(folder)
    names = _regular_names(folder)
    known = [n for n in names if n in LINUX_FILES]
    export = LinuxExport(folder=folder, files=tuple(known))

    def text(name: str) -> str:
        value = read_export_text(folder / name)
        export.texts[name] = value
        return value

    if POSTCONF_X in known:
        export.postconf_x = parse_parameters(folder / POSTCONF_X, text(POSTCONF_X))
    if POSTCONF_N in known:
        export.postconf_n = parse_parameters(folder / POSTCONF_N, text(POSTCONF_N))
    if POSTCONF_M in known:
        export.master = parse_master(folder / POSTCONF_M, text(POSTCONF_M))
    if POSTCONF_PX in known:
        export.service_overrides = parse_service_overrides(folder / POSTCONF_PX, text(POSTCONF_PX))
    if DOVECONF_N in known:
        body = text(DOVECONF_N)
        export.doveconf = parse_doveconf(folder / DOVECONF_N, body)
        export.doveconf_header = tuple(line for _, line in text_lines(body)[:6] if line.startswith("#"))
    if DOVEADM_USERS in known:
        export.users = parse_doveadm_users(folder / DOVEADM_USERS, text(DOVEADM_USERS))
    if EXPORT_INFO in known:
        export.exported_at, export.exported_host = _parse_export_info(folder / EXPORT_INFO, text(EXPORT_INFO))
    if MAPS_DIR in names:
        _read_maps(export)
    if EXT_DIR in names:
        for name in _regular_names(folder, EXT_DIR):
            export.ext_files[name.partition("/")[2]] = parse_ext_args(folder / name, text(name))
    files = set(export.files) | set(export.texts)
    export.files = tuple(sorted(files))
    return export


def _read_maps(export: LinuxExport) -> None:
    folder = export.folder
    if not (folder / MAP_INDEX).exists():
        raise InputFormatError(str(folder / MAPS_DIR), "maps/ without its INDEX.tsv")
    index: dict[str, MapIndexEntry] = parse_map_index(
        folder / MAP_INDEX, read_export_text(folder / MAP_INDEX)
    )
    export.texts[MAP_INDEX] = read_export_text(folder / MAP_INDEX)
    for reference, entry in index.items():
        if entry.file is None:
            export.maps[reference] = ExportedMap(reference=reference, file=None, form="none")
            continue
        name = f"{MAPS_DIR}/{entry.file}"
        path = folder / name
        body = read_export_text(path)
        export.texts[name] = body
        form = entry.form
        if form == "entries":
            export.maps[reference] = ExportedMap(
                reference, entry.file, form, entries=parse_postmap(path, body)
            )
        elif form == "config":
            export.maps[reference] = ExportedMap(
                reference, entry.file, form, config=parse_ext_args(path, body)
            )
        else:
            lines = tuple(line.strip() for _, line in text_lines(body) if line.strip())
            export.maps[reference] = ExportedMap(reference, entry.file, form, lines=lines)
