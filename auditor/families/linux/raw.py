"""A Linux host as raw `ObjectRecord`s, and back (research modern-model.md §5.3).

Kinds and keys (`NAME` is the configured server name, lower case in keys):

| kind | key | attributes |
| --- | --- | --- |
| `postfix_host` | `postfix:NAME` | every parameter of `postconf -x` (else `postconf -n`), `postconfSource`, `explicitParameters` (names in `postconf -n`), `name`, `fqdn`, `addresses` |
| `postfix_service` | `postfix:NAME:SERVICE/TYPE` | master.cf fields, `arguments` (one value, in order), `o:PARAM` per `-o` override |
| `postfix_map` | `postfix:NAME:REFERENCE` | `reference`, `form`, `file`, `entries` (`key<TAB>value`), `config` (`key = value`), `lines` |
| `dovecot_host` | `dovecot:NAME` | root settings, section settings as `PATH/key` (`PATH` = `name label` segments, `/` in a label or key as `%2F`), `PATH/` = `{` for each section, `version`, `users` |
| `dovecot_passdb` / `dovecot_userdb` | `dovecot:NAME:passdb:LABEL` | the block's settings, `label`, `order`, `ext:KEY` from its exported 2.3 args file, `extFile` |

Records keep what was exported, never a derived verdict: the history is re-read under today's
code, so `host_from_records` rebuilds the same `LinuxHost` that `LinuxHost.from_export` built.
The export's own time is not a record attribute (it changes every pass); it is in `SourceInfo`.
Neither is `process_id` (postconf prints its own pid).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from auditor.families.linux.doveconf import DoveSection
from auditor.families.linux.export import ExportedMap, LinuxExport
from auditor.families.linux.host import LinuxHost
from auditor.families.linux.postconf import MasterService, split_braced
from auditor.records import ObjectRecord

__all__ = ["LINUX_KINDS", "host_from_records", "host_records"]

LINUX_KINDS = (
    "postfix_host",
    "postfix_service",
    "postfix_map",
    "dovecot_host",
    "dovecot_passdb",
    "dovecot_userdb",
)
# `postconf -x` prints its own process id: it changes every run and is never drift.
VOLATILE_PARAMETERS = frozenset({"process_id"})
_HOST_FIELDS = ("name", "fqdn", "addresses", "postconfSource", "explicitParameters")
_MASTER_FIELDS = (
    "service",
    "type",
    "private",
    "unprivileged",
    "chroot",
    "wakeup",
    "process_limit",
    "command",
)


def _segment(section: DoveSection, index: int | None) -> str:
    if section.label is None:
        return section.name if index is None else f"{section.name}#{index}"
    return f"{section.name} {_escape(section.label)}"


def _escape(text: str) -> str:
    return text.replace("%", "%25").replace("/", "%2F")


def _unescape(text: str) -> str:
    return text.replace("%2F", "/").replace("%25", "%")


def _flatten(
    section: DoveSection, prefix: str, out: dict[str, tuple[str, ...]], *, skip_auth: bool = False
) -> None:
    """`section`'s settings and sub-sections as attributes (`skip_auth`: leave passdb/userdb blocks out)."""
    for key, value in section.settings.items():
        out[f"{prefix}{_escape(key)}"] = (value,)
    counts: dict[str, int] = {}
    for child in section.sections:
        if skip_auth and child.name in ("passdb", "userdb"):
            continue
        anonymous = child.label is None
        index = counts.get(child.name, 0) if anonymous else None
        if anonymous:
            counts[child.name] = counts.get(child.name, 0) + 1
        path = f"{prefix}{_segment(child, index)}"
        out[f"{path}/"] = ("{",)
        _flatten(child, f"{path}/", out)


def host_records(host: LinuxHost) -> list[ObjectRecord]:
    """The raw records of one host (what the store keeps and the differ compares)."""
    export = host.export
    key_name = host.name.lower()
    records: list[ObjectRecord] = []
    identity: dict[str, tuple[str, ...]] = {"name": (host.name,)}
    if host.fqdn:
        identity["fqdn"] = (host.fqdn,)
    if host.addresses:
        identity["addresses"] = host.addresses
    if host.postfix is not None:
        attributes = dict(identity)
        if export.postconf_x is not None:
            attributes["postconfSource"] = ("postconf -x",)
            attributes.update({k: (v,) for k, v in export.postconf_x.items() if k not in VOLATILE_PARAMETERS})
        elif export.postconf_n is not None:
            attributes["postconfSource"] = ("postconf -n",)
            attributes.update({k: (v,) for k, v in export.postconf_n.items()})
        if export.postconf_n is not None:
            attributes["explicitParameters"] = tuple(sorted(export.postconf_n))
        if export.postconf_n is not None and export.postconf_x is not None:
            attributes.update(
                {f"n:{k}": (v,) for k, v in export.postconf_n.items() if export.postconf_x.get(k) != v}
            )
        records.append(ObjectRecord("postfix_host", f"postfix:{key_name}", host.name, attributes))
        for service in export.master or []:
            attrs: dict[str, tuple[str, ...]] = {
                name: (str(getattr(service, name)),) for name in _MASTER_FIELDS
            }
            attrs["type"] = (service.type,)
            attrs["process_limit"] = (service.process_limit,)
            if service.arguments:
                attrs["arguments"] = (" ".join(service.arguments),)
            overrides = (
                export.service_overrides.get(service.key, {})
                if export.service_overrides is not None
                else dict(service.overrides)
            )
            attrs.update({f"o:{k}": (v,) for k, v in overrides.items()})
            attrs["overridesSource"] = (
                "postconf -P -x" if export.service_overrides is not None else "postconf -M",
            )
            records.append(
                ObjectRecord(
                    "postfix_service",
                    f"postfix:{key_name}:{service.key}",
                    f"{host.name}:{service.key}",
                    attrs,
                )
            )
        for reference, exported in sorted(export.maps.items()):
            attrs = {"reference": (reference,), "form": (exported.form,)}
            if exported.file:
                attrs["file"] = (exported.file,)
            if exported.entries is not None:
                attrs["entries"] = tuple(f"{k}\t{v}" for k, v in exported.entries.items())
            if exported.config is not None:
                attrs["config"] = tuple(f"{k} = {v}" for k, v in exported.config.items())
            if exported.lines is not None:
                attrs["lines"] = exported.lines
            records.append(
                ObjectRecord(
                    "postfix_map", f"postfix:{key_name}:{reference}", f"{host.name}:{reference}", attrs
                )
            )
    if export.doveconf is not None or export.users is not None:
        attrs = dict(identity)
        if export.doveconf is not None:
            _flatten(export.doveconf, "", attrs, skip_auth=True)
        if export.doveconf_header:
            attrs["version"] = (export.doveconf_header[0],)
        if export.users is not None:
            attrs["users"] = tuple(export.users)
        records.append(ObjectRecord("dovecot_host", f"dovecot:{key_name}", host.name, attrs))
    if host.dovecot is not None:
        for order, db in enumerate([*host.dovecot.passdbs, *host.dovecot.userdbs]):
            attrs = {}
            if db.section is not None:
                _flatten(db.section, "", attrs)
            else:
                attrs = {_escape(k): (v,) for k, v in db.settings.items()}
            attrs["label"] = (db.label,)
            attrs["order"] = (str(order),)
            attrs["named"] = ("yes" if db.named else "no",)
            args = db.settings.get("args", "").strip()
            ext = host.dovecot.ext_files.get(args.rsplit("/", 1)[-1]) if args.startswith("/") else None
            if ext is not None:
                attrs["extFile"] = (args.rsplit("/", 1)[-1],)
                attrs.update({f"ext:{k}": (v,) for k, v in ext.items()})
            records.append(
                ObjectRecord(
                    f"dovecot_{db.kind}",
                    f"dovecot:{key_name}:{db.kind}:{db.label}",
                    f"{host.name}:{db.kind}:{db.label}",
                    attrs,
                )
            )
    return records


def _unflatten(
    attributes: Mapping[str, tuple[str, ...]], root: DoveSection, skip: frozenset[str] = frozenset()
) -> None:
    sections: dict[str, DoveSection] = {"": root}

    def parse_segment(segment: str) -> tuple[str, str | None]:
        name, sep, label = segment.partition(" ")
        if sep:
            return name, _unescape(label)
        return name.partition("#")[0], None

    def section_for(path: str) -> DoveSection:
        if path in sections:
            return sections[path]
        parent_path, _, segment = path.rpartition("/")
        parent = section_for(parent_path)
        name, label = parse_segment(segment)
        section = DoveSection(name=name, label=label, line=0)
        parent.sections.append(section)
        sections[path] = section
        return section

    for key in sorted(attributes, key=lambda k: (k.count("/"), k)):
        values = attributes[key]
        if key in skip:
            continue
        if key.endswith("/"):
            section_for(key[:-1])
            continue
        path, _, setting = key.rpartition("/")
        section_for(path).settings[_unescape(setting)] = values[0]


def host_from_records(records: Iterable[ObjectRecord], name: str) -> LinuxHost:
    """Rebuild the `LinuxHost` of server `name` from its stored raw records."""
    key_name = name.lower()
    # In key order: a full read hands the records over in the export's order, a pass rebuilding
    # its snapshot from the store in key order, and both must give the same host (the order of
    # master.cf services shows in messages; Postfix itself gives it no meaning).
    mine = sorted(
        (r for r in records if r.key.split(":", 2)[1:2] == [key_name] and r.kind in LINUX_KINDS),
        key=lambda r: r.key,
    )
    export = LinuxExport(folder=Path(), files=())
    fqdn: str | None = None
    addresses: tuple[str, ...] = ()
    passdbs: list[tuple[int, ObjectRecord]] = []
    for record in mine:
        attrs = record.attributes
        if record.kind == "postfix_host":
            fqdn, addresses = record.first("fqdn"), record.values("addresses")
            params = {k: v[0] for k, v in attrs.items() if k not in _HOST_FIELDS and not k.startswith("n:")}
            if record.first("postconfSource") == "postconf -x":
                export.postconf_x = params
                if "explicitParameters" in attrs:
                    export.postconf_n = {
                        k: attrs[f"n:{k}"][0] if f"n:{k}" in attrs else params.get(k, "")
                        for k in attrs["explicitParameters"]
                    }
            else:
                export.postconf_n = params
        elif record.kind == "postfix_service":
            fields = {name: record.first(name) or "" for name in _MASTER_FIELDS}
            arguments = tuple(split_braced(Path(record.key), 0, record.first("arguments") or ""))
            overrides = {k[2:]: v[0] for k, v in attrs.items() if k.startswith("o:")}
            entry = MasterService(
                service=fields["service"],
                type=fields["type"],
                private=fields["private"],
                unprivileged=fields["unprivileged"],
                chroot=fields["chroot"],
                wakeup=fields["wakeup"],
                process_limit=fields["process_limit"],
                command=fields["command"],
                arguments=arguments,
                overrides=tuple(overrides.items()),
                line=0,
            )
            export.master = [*(export.master or []), entry]
            if record.first("overridesSource") == "postconf -P -x":
                export.service_overrides = export.service_overrides or {}
                if overrides:
                    export.service_overrides[entry.key] = overrides
        elif record.kind == "postfix_map":
            reference = record.first("reference") or ""
            entries = (
                dict(v.partition("\t")[::2] for v in record.values("entries")) if "entries" in attrs else None
            )
            config = (
                dict(v.partition(" = ")[::2] for v in record.values("config")) if "config" in attrs else None
            )
            lines = record.values("lines") if "lines" in attrs else None
            export.maps[reference] = ExportedMap(
                reference, record.first("file"), record.first("form") or "none", entries, config, lines
            )
        elif record.kind == "dovecot_host":
            fqdn, addresses = fqdn or record.first("fqdn"), addresses or record.values("addresses")
            if "users" in attrs:
                export.users = list(record.values("users"))
            if record.first("version"):
                export.doveconf_header = (record.first("version") or "",)
            if any(k not in _HOST_FIELDS and k not in ("version", "users") for k in attrs):
                export.doveconf = export.doveconf or DoveSection(name="", label=None, line=0)
                _unflatten(attrs, export.doveconf, frozenset({*_HOST_FIELDS, "version", "users"}))
        else:
            passdbs.append((int(record.first("order") or 0), record))
    if passdbs:
        root = export.doveconf or DoveSection(name="", label=None, line=0)
        export.doveconf = root
        for _, record in sorted(passdbs, key=lambda item: item[0]):
            kind = record.kind.removeprefix("dovecot_")
            label = record.first("label") if record.first("named") == "yes" else None
            block = DoveSection(name=kind, label=label, line=0)
            _unflatten(
                {
                    k: v
                    for k, v in record.attributes.items()
                    if k not in ("label", "order", "named", "extFile") and not k.startswith("ext:")
                },
                block,
            )
            root.sections.append(block)
            ext_name = record.first("extFile")
            if ext_name:
                export.ext_files[ext_name] = {
                    k[4:]: v[0] for k, v in record.attributes.items() if k.startswith("ext:")
                }
    return LinuxHost.from_export(export, name=name, fqdn=fqdn, addresses=addresses)
