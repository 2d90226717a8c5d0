"""Source families: each product auditor reads is one family, discovered like the checks are.

A family owns everything that is specific to its product: the sources that read it (live or
exported), its parsers and decoders, the kinds of raw record it produces, and the adapter that turns
those records into the model's source-neutral concepts (`auditor.model`). Families are found through
the entry-point group `auditor.families`, the built-in ones included, exactly as check plugins are
(`auditor.checks`); nothing registers itself on import.

    exchange        Active Directory + Exchange 2003 / 2007+, over LDAP or ldifde exports
    linux           a Linux POP3 host: Postfix + Dovecot (export folder, or fetched over SSH)
    windows-pop3    the Windows Server 2003 POP3 service and its IIS SMTP service (export folder)

Which family reads which part of the configuration is a table, `(section, kind) -> family`, built
from the families' own declarations (`Family.reads`): the pipeline never branches on a product.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from auditor.errors import AuditorError, ConfigError, InputFormatError
from auditor.records import ObjectRecord

if TYPE_CHECKING:
    from auditor.collect import Source
    from auditor.config import AuditorConfig
    from auditor.model.snapshot import Snapshot

__all__ = [
    "ENTRY_POINT_GROUP",
    "Adapter",
    "Family",
    "FamilyError",
    "KindSpec",
    "adapters_by_kind",
    "attribute_traits",
    "build_sources",
    "discover_families",
    "export_claims",
    "pop3_kind",
    "single_export_kind",
]

ENTRY_POINT_GROUP = "auditor.families"


class FamilyError(AuditorError):
    """A source family plugin is malformed or cannot be loaded."""


@dataclass(frozen=True, slots=True)
class KindSpec:
    """A kind of raw record a family produces, and how its attributes compare in a diff.

    `multi_valued` attributes compare as sets; `binary` ones hold base64 and compare exactly.
    Names are the canonical spelling; comparisons are case-insensitive.
    """

    name: str
    label: str
    multi_valued: frozenset[str] = frozenset()
    binary: frozenset[str] = frozenset()
    # Attributes whose stored value diffs as a set of decoded items, not as bytes: name -> a
    # function from one stored value to its items (a descriptor's value -> its ACEs as grants).
    decoded_sets: tuple[tuple[str, Callable[[str], tuple[str, ...]]], ...] = ()


class Adapter(Protocol):
    """Turns one family's raw records of one snapshot into model objects.

    `add` sees each record of the family's kinds (in store or collection order); `finish` runs once
    after the last one, for what needs several records (a POP3 host and its domains).
    """

    def add(self, record: ObjectRecord, snap: Snapshot) -> None: ...

    def finish(self, snap: Snapshot) -> None: ...


# A family's source factory: (one config entry of a section it reads, the whole config) -> sources.
SourceFactory = Callable[[Any, "AuditorConfig"], Sequence["Source"]]


@dataclass(frozen=True, slots=True)
class Family:
    """One source family, as its package declares it (the object its entry point names).

    `reads` lists the `(config section, kind)` pairs whose entries this family's `sources` turns into
    sources: `("directory", None)`, `("pop3_server", "windows")`. `export_markers` are file-name
    patterns (lower case, globs) whose presence in a POP3 export folder says the folder is this family's, so a
    `[[pop3_server]]` without `kind` finds its family.
    """

    name: str
    kinds: tuple[KindSpec, ...]
    adapter: Callable[[], Adapter]
    reads: tuple[tuple[str, str | None], ...] = ()
    sources: SourceFactory | None = None
    export_markers: frozenset[str] = field(default_factory=frozenset)


def _validate(family: object, origin: str) -> Family:
    if not isinstance(family, Family):
        raise FamilyError(
            f"source family plugin {origin}: expected an auditor.families.Family, got {family!r}"
        )
    if not family.name or not family.kinds:
        raise FamilyError(f"source family plugin {origin}: a family needs a name and at least one kind")
    return family


@cache
def _installed_families() -> tuple[Family, ...]:
    found: list[Family] = []
    for entry_point in metadata.entry_points(group=ENTRY_POINT_GROUP):
        try:
            loaded = entry_point.load()
        except Exception as exc:
            raise FamilyError(f"source family plugin {entry_point.value!r} failed to load: {exc}") from exc
        found.append(_validate(loaded, entry_point.value))
    if not found:
        raise FamilyError(
            "no source family is installed (entry-point group auditor.families is empty): "
            "install auditor (pip install -e .) rather than running it from an unpacked tree"
        )
    return _checked(found)


def _checked(families: Iterable[Family]) -> tuple[Family, ...]:
    """Families sorted by name; two families claiming one kind or one name is a plugin error."""
    by_name: dict[str, Family] = {}
    owners: dict[str, str] = {}
    for family in families:
        if family.name in by_name and by_name[family.name] is not family:
            raise FamilyError(f"two source families are called {family.name!r}")
        by_name[family.name] = family
        for kind in family.kinds:
            if owners.setdefault(kind.name, family.name) != family.name:
                raise FamilyError(
                    f"record kind {kind.name!r} is claimed by families {owners[kind.name]!r} and {family.name!r}"
                )
    return tuple(sorted(by_name.values(), key=lambda f: f.name))


def discover_families(extra: Iterable[Family] = ()) -> tuple[Family, ...]:
    """Every installed family (entry points), plus `extra` ones (tests, embedding programs)."""
    installed = _installed_families()
    extras = tuple(extra)
    return _checked((*installed, *extras)) if extras else installed


def adapters_by_kind(families: Sequence[Family] | None = None) -> tuple[list[Adapter], dict[str, Adapter]]:
    """Fresh adapters, one per family, and the adapter for each record kind."""
    adapters: list[Adapter] = []
    by_kind: dict[str, Adapter] = {}
    for family in discover_families() if families is None else families:
        adapter = family.adapter()
        adapters.append(adapter)
        for kind in family.kinds:
            by_kind[kind.name] = adapter
    return adapters, by_kind


@dataclass(frozen=True, slots=True)
class AttributeTraits:
    """What the differ needs to know of attribute names, across every family (lower-case keys)."""

    multi_valued: frozenset[str]
    binary: frozenset[str]
    labels: dict[str, str]
    # (kind, lower-case attribute) -> how one value becomes the items it diffs as
    decoded_sets: dict[tuple[str, str], Callable[[str], tuple[str, ...]]] = field(default_factory=dict)


def attribute_traits(families: Sequence[Family] | None = None) -> AttributeTraits:
    """Multi-valued and binary attribute names of every family's kinds, and each kind's label.

    The differ asks for them once per attribute value it compares. `_traits`' cache hashes its
    argument, and hashing the families (frozen dataclasses down to every kind's attribute names)
    took 150 µs a call: 0.15 s of a pass that diffed 1,001 changed recipients. The installed
    families are one tuple until their cache is cleared, so the last answer is kept by identity.
    """
    chosen = discover_families() if families is None else tuple(families)
    last = _LAST_TRAITS.get("last")
    if last is not None and last[0] is chosen:
        return last[1]
    traits = _traits(chosen)
    _LAST_TRAITS["last"] = (chosen, traits)
    return traits


_LAST_TRAITS: dict[str, tuple[tuple[Family, ...], AttributeTraits]] = {}


@cache
def _traits(families: tuple[Family, ...]) -> AttributeTraits:
    multi: set[str] = set()
    binary: set[str] = set()
    labels: dict[str, str] = {}
    decoded: dict[tuple[str, str], Callable[[str], tuple[str, ...]]] = {}
    for family in families:
        for kind in family.kinds:
            multi |= {name.lower() for name in kind.multi_valued}
            binary |= {name.lower() for name in kind.binary}
            labels[kind.name] = kind.label
            decoded.update({(kind.name, name.lower()): view for name, view in kind.decoded_sets})
    return AttributeTraits(frozenset(multi), frozenset(binary), labels, decoded)


def export_claims(folder: Path, families: Sequence[Family] | None = None) -> dict[str, list[str]]:
    """`[[pop3_server]]` kind -> the files of `folder` that mark it as that kind's (`export_markers`).

    An unreadable folder claims nothing (the family's own source reports it, with its path).
    """
    chosen = discover_families() if families is None else families
    try:
        names = sorted(p.name for p in Path(folder).iterdir())
    except OSError:
        return {}
    claims: dict[str, list[str]] = {}
    for family in chosen:
        marked = [n for n in names if _marked(n.lower(), family.export_markers)]
        if not marked:
            continue
        for section, section_kind in family.reads:
            if section == "pop3_server" and section_kind:
                claims.setdefault(section_kind, []).extend(marked)
    return claims


def single_export_kind(folder: Path, families: Sequence[Family] | None = None) -> str | None:
    """The one kind of host whose files `folder` holds (None: no family's); two kinds: ambiguous.

    The one test for a mixed folder, used when the sources are built and again by a source that
    reads a folder it fetched itself: an `InputFormatError` naming the folder and a few files of each.
    """
    claims = export_claims(folder, families)
    if len(claims) > 1:
        shown = "; ".join(f"{kind}: {', '.join(files[:3])}" for kind, files in sorted(claims.items()))
        raise InputFormatError(
            str(folder),
            f"holds the files of several kinds of host ({shown}): ambiguous, one folder per server",
        )
    return next(iter(claims), None)


def pop3_kind(server: Any, families: Sequence[Family]) -> str:
    """The family kind of a `[[pop3_server]]`: its `kind`, else told from its export folder's files.

    A folder holding the marker files of two families is ambiguous, whatever `kind` says: an
    `InputFormatError` naming it. Without an export (nothing to tell from), the contract's default
    `windows` is meant.
    """
    folder = getattr(server, "export", None)
    detected = single_export_kind(folder, families) if folder is not None else None
    kind = getattr(server, "kind", None)
    if kind:
        return str(kind)
    return detected or "windows"


def _marked(name: str, markers: frozenset[str]) -> bool:
    return any(fnmatch.fnmatchcase(name, marker) for marker in markers)


def build_sources(config: AuditorConfig, families: Sequence[Family] | None = None) -> list[Source]:
    """Every configured source, each built by the family that reads its section (the table)."""
    chosen = discover_families() if families is None else tuple(families)
    table: dict[tuple[str, str | None], Family] = {}
    for candidate in chosen:
        for pair in candidate.reads:
            table.setdefault(pair, candidate)
    wanted: list[tuple[str, str | None, object]] = []
    if config.directory is not None:
        wanted.append(("directory", None, config.directory))
    for server in config.pop3_server:
        wanted.append(("pop3_server", pop3_kind(server, chosen), server))
    sources: list[Source] = []
    for section, kind, entry in wanted:
        family = table.get((section, kind))
        if family is None or family.sources is None:
            shown = f"[{section}] kind {kind!r}" if kind else f"[{section}]"
            raise ConfigError(f"{shown}: no installed source family reads it")
        sources.extend(family.sources(entry, config))
    return sources
