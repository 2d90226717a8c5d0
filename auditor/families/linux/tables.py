"""Looking things up in the tables a Postfix host's settings name, as far as the export shows them.

A `Lookup` answers found / not found / unknown: unknown whenever the table's content is not in the
export (an `ldap:` query, a `cidr:` pattern table, a table the export script could not dump), so
no verdict is built on a guess. `inline:{ k=v, ... }` and `static:value` are read from the
setting itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from auditor.families.linux.export import ExportedMap
from auditor.families.linux.params import ExpansionError, is_unknown, split_list

__all__ = ["Lookup", "Tables", "domain_list"]


@dataclass(frozen=True, slots=True)
class Lookup:
    """`value` when found; `unknown` names why the answer cannot be known (then `value` is None)."""

    value: str | None
    unknown: str | None = None
    table: str | None = None

    @property
    def found(self) -> bool:
        return self.value is not None


def _inline(reference: str) -> dict[str, str] | None:
    body = reference[len("inline:") :].strip()
    if not (body.startswith("{") and body.endswith("}")):
        return None
    entries: dict[str, str] = {}
    for item in split_list(body[1:-1]):
        item = item.strip("{} ")
        key, sep, value = item.partition("=")
        if sep:
            entries[key.strip().lower()] = value.strip()
    return entries


class Tables:
    """The exported maps of one host, by the reference the settings use (`hash:/etc/postfix/x`)."""

    def __init__(self, maps: Mapping[str, ExportedMap]) -> None:
        self.maps = maps
        self._domain_lists: dict[str, DomainList] = {}

    def domains(self, value: str) -> DomainList:
        """`domain_list(value, self)`, computed once per value (a map of 100,000 keys is read once)."""
        found = self._domain_lists.get(value)
        if found is None:
            found = self._domain_lists[value] = domain_list(value, self)
        return found

    def entries(self, reference: str) -> tuple[Mapping[str, str] | None, str | None]:
        """(entries, None), or (None, why the content is unknown).

        `postmap -s` prints keys as the table holds them: lower case, since postmap folds keys
        unless run with -f; lookups therefore use lower-case keys and the entries are not copied.
        """
        if reference.startswith("inline:"):
            inline = _inline(reference)
            return (inline, None) if inline is not None else (None, f"{reference} cannot be read")
        exported = self.maps.get(reference)
        if exported is None:
            return None, f"{reference} was not exported"
        if exported.entries is not None:
            return exported.entries, None
        if exported.form == "none":
            return None, f"{reference} could not be exported"
        return None, f"{reference} is a {exported.type}: table whose answers the export cannot show"

    def file_tokens(self, path: str) -> list[str] | None:
        exported = self.maps.get(path)
        if exported is None or exported.lines is None:
            return None
        return [t for line in exported.lines if not line.startswith("#") for t in split_list(line)]

    def lookup(self, tables: str, keys: list[str]) -> Lookup:
        """Postfix's table-list lookup: each table in order, each key in order; first hit wins."""
        for reference in split_list(tables):
            if reference.startswith("static:"):
                return Lookup(reference[len("static:") :].strip("{} "), table=reference)
            entries, unknown = self.entries(reference)
            if entries is None:
                return Lookup(None, unknown=unknown, table=reference)
            for key in keys:
                found = entries.get(key.lower())
                if found is None and key in entries:
                    found = entries[key]
                if found is not None:
                    return Lookup(found, table=reference)
        return Lookup(None)


@dataclass(frozen=True, slots=True)
class DomainList:
    """Domains a list setting names (lower case, no trailing dot); `unknown` lists unreadable parts."""

    domains: frozenset[str]
    unknown: tuple[str, ...]
    tokens: tuple[str, ...]


def domain_list(value: str, tables: Tables) -> DomainList:
    """Expand a domain-list value: names, `/file` contents, keys of `type:table` maps."""
    domains: set[str] = set()
    unknown: list[str] = []
    tokens: list[str] = []
    try:
        items = split_list(value)
    except ExpansionError as exc:
        return DomainList(frozenset(), (str(exc),), ())

    def add(items: list[str]) -> None:
        for token in items:
            tokens.append(token)
            if token.startswith("/"):
                contents = tables.file_tokens(token)
                if contents is None:
                    unknown.append(f"{token} (file not exported)")
                else:
                    add(contents)
            elif ":" in token and not token.startswith("["):
                entries, why = tables.entries(token)
                if entries is None:
                    unknown.append(why or token)
                else:
                    domains.update(k.rstrip(".") for k in entries if "@" not in k and not k.startswith("."))
            elif is_unknown(token):
                domains.add(token)
            else:
                domains.add(token.rstrip(".").lower())

    add(items)
    return DomainList(frozenset(domains), tuple(unknown), tuple(tokens))
