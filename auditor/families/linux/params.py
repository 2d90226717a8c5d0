"""Effective Postfix parameter values: `postconf -x`, or `postconf -n` plus documented defaults.

`postconf -x` already holds every parameter with `$name` expanded, so it is used as is. Without
it, main.cf's explicit values (`postconf -n`) are laid over `defaults.defaults_for(level)` and
expanded here as Postfix does (postconf(5), "parameter expansion"): `$name`, `${name}`, `$(name)`,
`${name?value}` / `${name?{value}}` (value when name is non-empty), `${name:value}` /
`${name:{value}}` (value when name is empty), `${name?{a}:{b}}`, and `$$` for a dollar. An
undefined name expands to nothing, as for Postfix (which warns). Host-dependent defaults
(`myhostname`, ...) expand to an `UNKNOWN` marker, so a value built on them is visibly unknown.

Per-service values: a master.cf `-o name=value` (from `postconf -P -x`, else from `postconf -M`)
beats main.cf for that service.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache

from auditor.families.linux.defaults import HOST_DEPENDENT, compatibility_level, defaults_for

__all__ = ["UNKNOWN", "ExpansionError", "Settings", "expand", "is_unknown", "split_list", "unknown_default"]

UNKNOWN = "\x00unknown\x00"


def unknown_default(name: str) -> str:
    """The marker of a host-dependent default left unknown (`\\x00unknown:myhostname\\x00`)."""
    return f"\x00unknown:{name}\x00"


_MAX_DEPTH = 100
_SIMPLE = re.compile(r"[A-Za-z0-9_]+")


class ExpansionError(ValueError):
    """A value uses an expansion form auditor does not evaluate (it is then reported, not guessed)."""


def is_unknown(value: str) -> bool:
    return "\x00unknown" in value


def _braced_end(text: str, start: int, close: str) -> int:
    """Index of the `close` that ends the group opened just before `start` (nesting aware)."""
    depth = 1
    opener = "{" if close == "}" else "("
    i = start
    while i < len(text):
        if text[i] == opener:
            depth += 1
        elif text[i] == close:
            depth -= 1
            if depth == 0:
                return i
        i += 1
    raise ExpansionError(f"unbalanced '{opener}' in {text[:60]!r}")


def _strip_braces(value: str) -> str:
    value = value.strip()
    if value.startswith("{") and value.endswith("}"):
        return value[1:-1].strip()
    return value


def expand(value: str, lookup: Callable[[str], str | None], _depth: int = 0) -> str:
    """Expand `$name` references in `value`, looking names up (already expanded or raw) recursively."""
    if _depth > _MAX_DEPTH:
        raise ExpansionError("parameter expansion nests too deep (a loop?)")
    out: list[str] = []
    i = 0
    while i < len(value):
        char = value[i]
        if char != "$":
            out.append(char)
            i += 1
            continue
        if i + 1 >= len(value):
            out.append("$")
            break
        nxt = value[i + 1]
        if nxt == "$":
            out.append("$")
            i += 2
            continue
        if nxt in "{(":
            close = "}" if nxt == "{" else ")"
            end = _braced_end(value, i + 2, close)
            inner = value[i + 2 : end]
            i = end + 1
            out.append(_expand_inner(inner, lookup, _depth))
            continue
        match = _SIMPLE.match(value, i + 1)
        if not match:
            out.append("$")
            i += 1
            continue
        out.append(_lookup(match.group(0), lookup, _depth))
        i = match.end()
    return "".join(out)


def _lookup(name: str, lookup: Callable[[str], str | None], depth: int) -> str:
    raw = lookup(name)
    if raw is None:
        return ""
    return expand(raw, lookup, depth + 1)


def _expand_inner(inner: str, lookup: Callable[[str], str | None], depth: int) -> str:
    match = _SIMPLE.match(inner)
    if not match:
        raise ExpansionError(f"cannot evaluate the expression ${{{inner[:50]}}}")
    name, rest = match.group(0), inner[match.end() :]
    if not rest:
        return _lookup(name, lookup, depth)
    operator, body = rest[0], rest[1:]
    if operator not in "?:":
        raise ExpansionError(f"cannot evaluate the expression ${{{inner[:50]}}}")
    current = _lookup(name, lookup, depth)
    if is_unknown(current):
        return current
    when_set, when_empty = (body, "") if operator == "?" else ("", body)
    if operator == "?" and body.startswith("{"):
        end = _braced_end(body, 1, "}")
        tail = body[end + 1 :].strip()
        when_set = body[: end + 1]
        if tail.startswith(":"):
            when_empty = tail[1:]
        elif tail:
            raise ExpansionError(f"cannot evaluate the expression ${{{inner[:50]}}}")
    chosen = when_set if current else when_empty
    return expand(_strip_braces(chosen), lookup, depth + 1)


_LIST_SPLIT = re.compile(r"[\s,]+")


def split_list(value: str) -> list[str]:
    """A Postfix list value (commas and/or blanks), `{ ... }` groups kept whole.

    Memoized (`_split`): routing a probe splits the same few settings again and again.
    """
    return list(_split(value))


@lru_cache(maxsize=4096)
def _split(value: str) -> tuple[str, ...]:
    tokens: list[str] = []
    i = 0
    current: list[str] = []
    while i < len(value):
        char = value[i]
        if char == "{":
            end = _braced_end(value, i + 1, "}")
            current.append(value[i : end + 1])
            i = end + 1
            continue
        if char in " \t\r\n,":
            if current:
                tokens.append("".join(current))
                current = []
        else:
            current.append(char)
        i += 1
    if current:
        tokens.append("".join(current))
    return tuple(tokens)


@dataclass(frozen=True, slots=True)
class Settings:
    """Effective values of one scope (main.cf, or one master.cf service over main.cf).

    `origin` says where the values come from: `postconf -x`, or `postconf -n + defaults (level N)`;
    the checks' messages repeat it when defaults were supplied by auditor.
    """

    raw: Mapping[str, str]
    origin: str
    expanded_already: bool
    overrides: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_postconf_x(cls, values: Mapping[str, str]) -> Settings:
        return cls(raw=dict(values), origin="postconf -x", expanded_already=True)

    @classmethod
    def from_postconf_n(cls, explicit: Mapping[str, str]) -> Settings:
        """Explicit main.cf values over the defaults of their `compatibility_level`."""
        level_text = explicit.get("compatibility_level", "0")
        level = compatibility_level(level_text) or (0,)
        values = defaults_for(level)
        for name in HOST_DEPENDENT:
            values[name] = unknown_default(name)
        values.update(explicit)
        shown = ".".join(str(p) for p in level)
        note = "" if compatibility_level(level_text) else f", unreadable level {level_text!r} taken as 0"
        return cls(
            raw=values,
            origin=f"postconf -n + Postfix defaults (compatibility_level {shown}{note})",
            expanded_already=False,
        )

    def with_overrides(self, overrides: Mapping[str, str], *, expanded: bool) -> Settings:
        """This scope with a service's `-o` values on top (`expanded`: they came from `-P -x`)."""
        merged = {**self.overrides}
        for name, value in overrides.items():
            if expanded:
                merged[name] = value
                continue
            try:
                merged[name] = self._expand_raw(value)
            except ExpansionError:
                merged[name] = UNKNOWN
        return Settings(
            raw=self.raw, origin=self.origin, expanded_already=self.expanded_already, overrides=merged
        )

    def _lookup(self, name: str) -> str | None:
        if name in self.overrides:
            return self.overrides[name]
        return self.raw.get(name)

    def _expand_raw(self, value: str) -> str:
        return expand(value, self._lookup)

    def explicit(self, name: str) -> bool:
        return name in self.overrides or (name in self.raw and not self.expanded_already)

    def get(self, name: str) -> str:
        """The effective, expanded value ('' when Postfix knows no such parameter).

        A value auditor cannot expand (a `${{a} == {b} ? ...}` comparison, a loop) is `UNKNOWN`,
        so every verdict built on it says "cannot be judged" instead of guessing.
        """
        if name in self.overrides:
            return self.overrides[name]
        value = self.raw.get(name)
        if value is None:
            return ""
        if self.expanded_already:
            return value
        try:
            return expand(value, self._lookup)
        except ExpansionError:
            return UNKNOWN

    def flag(self, name: str) -> bool:
        return self.get(name).strip().lower() in ("yes", "true", "1")

    def items(self) -> list[tuple[str, str]]:
        return sorted({**self.raw, **self.overrides}.items())
