"""IIS 6 `MetaBase.xml`: the POP3 server's SMTP service (smart host, relay list, auth, domains).

Properties are resolved through IIS inheritance, virtual server `/LM/SmtpSvc/1` first, then the
service `/LM/SmtpSvc` (research notes, pop3-iis-model.md §5.1); a property found at neither level
is left out, so the checks can tell "not set" from any value. A property may be an XML attribute
or a `<Custom Name=... ID=... Value=.../>` child, and flag DWORDs may be written as numbers or as
`AuthAnonymous | AuthBasic` names. Values come out as the strings the model reads: decimal DWORDs,
`TRUE`/`FALSE`, the relay list as base64.

The file is untrusted input: it is parsed with defusedxml and any DTD or entity declaration is
refused. A relay list whose bytes are cut short is a damaged file; a complete relay list of a layout
the decoder does not know is kept, for the checks to report as needing review.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element, ParseError, TreeBuilder

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser

from auditor.errors import InputFormatError

__all__ = ["MetabaseDomain", "MetabaseSettings", "parse_metabase"]

SERVER_LOCATION = "/lm/smtpsvc/1"
SERVICE_LOCATION = "/lm/smtpsvc"
_DOMAIN_LOCATION = re.compile(r"^/lm/smtpsvc/1/domain/([^/]+)$")
_DOCTYPE = re.compile(r"<!DOCTYPE|<!ENTITY", re.IGNORECASE)

# Metabase IDs of the properties read here, for `<Custom>` children that carry only an ID.
_PROPERTY_IDS = {
    "6000": "AuthFlags",
    "36905": "SmartHostType",
    "36906": "SmartHost",
    "36946": "RouteAction",
    "36948": "RouteUserName",
    "36970": "RelayIpList",
    "36973": "RelayForAuth",
}
_KNOWN = {name.lower(): name for name in _PROPERTY_IDS.values()}
_AUTH_FLAG_NAMES = {"authanonymous": 1, "authbasic": 2, "authntlm": 4, "authmd5": 16, "authpassport": 64}


@dataclass(frozen=True, slots=True)
class MetabaseDomain:
    """An `IIsSmtpDomain` key of virtual server 1; `route_action` is decimal text, None if unset."""

    domain: str
    route_action: str | None
    location: str


@dataclass(frozen=True, slots=True)
class MetabaseSettings:
    """Resolved server attributes (names as the model reads them) and the SMTP domains."""

    attributes: dict[str, str]
    domains: tuple[MetabaseDomain, ...]


@dataclass(slots=True)
class _Key:
    location: str
    line: int
    properties: dict[str, str]


class _LineRecordingBuilder(TreeBuilder):
    """Notes the line each element starts on (document order), for error messages."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[int] = []
        self.expat: Any = None

    def start(self, tag: str, attrs: dict[str, str]) -> Element:
        self.lines.append(int(self.expat.CurrentLineNumber) if self.expat is not None else 0)
        return super().start(tag, attrs)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _parse_xml(path: Path, text: str) -> tuple[Element, dict[int, int]]:
    found = _DOCTYPE.search(text)
    if found:
        line = text.count("\n", 0, found.start()) + 1
        raise InputFormatError(f"{path}:{line}", "DTDs and entity declarations are not accepted")
    builder = _LineRecordingBuilder()
    parser = DefusedXMLParser(target=builder, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    builder.expat = parser.parser
    try:
        parser.feed(text)
        root: Element = parser.close()
    except ParseError as exc:
        line = exc.position[0] if exc.position else 0
        raise InputFormatError(f"{path}:{max(line, 1)}", f"not well-formed XML ({exc.msg})") from None
    except DefusedXmlException as exc:
        line = int(getattr(parser.parser, "CurrentLineNumber", 1) or 1)
        raise InputFormatError(f"{path}:{line}", f"forbidden XML construct ({type(exc).__name__})") from None
    lines = {id(element): line for element, line in zip(root.iter(), builder.lines, strict=False)}
    return root, lines


def _keys(path: Path, root: Element, lines: dict[int, int]) -> dict[str, _Key]:
    """The keys read here, by lower-case Location; the same one twice is refused."""
    keys: dict[str, _Key] = {}
    for element in root.iter():
        location = element.get("Location")
        if location is None:
            continue
        lower = location.strip().lower().rstrip("/")
        if lower not in (SERVER_LOCATION, SERVICE_LOCATION) and not _DOMAIN_LOCATION.match(lower):
            continue
        line = lines.get(id(element), 0)
        if _DOMAIN_LOCATION.match(lower) and _local(element.tag).lower() != "iissmtpdomain":
            continue
        if lower in keys:
            raise InputFormatError(
                f"{path}:{line}", f"key {location.strip()} appears twice (also line {keys[lower].line})"
            )
        properties: dict[str, str] = {}
        for name, value in element.attrib.items():
            if name.lower() in _KNOWN:
                properties[_KNOWN[name.lower()]] = value
        for child in element:
            if _local(child.tag).lower() != "custom":
                continue
            known = _KNOWN.get((child.get("Name") or "").lower()) or _PROPERTY_IDS.get(
                (child.get("ID") or "").strip()
            )
            if known is not None:
                properties[known] = child.get("Value") or ""
        keys[lower] = _Key(location=location.strip(), line=line, properties=properties)
    return keys


def _dword(where: str, name: str, value: str, flags: dict[str, int] | None = None) -> str:
    """Decimal text of a DWORD written as a number (decimal, 0x hex, negative) or flag names."""
    total = 0
    tokens = [token.strip() for token in value.split("|")] if flags is not None else [value.strip()]
    for token in tokens:
        if flags is not None and token.lower() in flags:
            total |= flags[token.lower()]
            continue
        try:
            number = int(token, 16) if token.lower().startswith("0x") else int(token)
        except ValueError:
            raise InputFormatError(where, f"{name}: {token[:40]!r} is not a number or known flag") from None
        if not -(2**31) <= number <= 0xFFFFFFFF:
            raise InputFormatError(where, f"{name}: {number} does not fit a DWORD")
        total |= number & 0xFFFFFFFF
    return str(total)


def _boolean(where: str, name: str, value: str) -> str:
    text = value.strip().upper()
    if text in {"TRUE", "FALSE"}:
        return text
    return "TRUE" if _dword(where, name, value) != "0" else "FALSE"


def _relay_list(where: str, value: str) -> str:
    """The relay blob as base64. A value that is not hex is kept as written behind a `!` (never
    base64): one undecodable value in a well-formed MetaBase is a finding for review, not a failed
    pass; the adapter reports it, like a blob that is cut short or of an unknown layout."""
    digits = re.sub(r"\s+", "", value)
    if not digits:
        return ""
    if len(digits) % 2 or not re.fullmatch(r"[0-9a-fA-F]+", digits):
        return "!" + digits
    return base64.b64encode(bytes.fromhex(digits)).decode("ascii")


def _encode(where: str, name: str, value: str) -> str:
    if name == "AuthFlags":
        return _dword(where, name, value, _AUTH_FLAG_NAMES)
    if name in {"SmartHostType", "RouteAction"}:
        return _dword(where, name, value)
    if name == "RelayForAuth":
        return _boolean(where, name, value)
    if name == "RelayIpList":
        return _relay_list(where, value)
    return value.strip()


def parse_metabase(path: Path, text: str) -> MetabaseSettings:
    """The SMTP settings of virtual server 1, resolved through the service level, and its domains."""
    root, lines = _parse_xml(path, text)
    if _local(root.tag).lower() != "configuration":
        raise InputFormatError(
            f"{path}:{lines.get(id(root)) or 1}",
            f"root element <{_local(root.tag)[:60]}>: not an IIS MetaBase.xml",
        )
    keys = _keys(path, root, lines)
    attributes: dict[str, str] = {}
    for name in _PROPERTY_IDS.values():
        for location in (SERVER_LOCATION, SERVICE_LOCATION):
            key = keys.get(location)
            if key is None or name not in key.properties:
                continue
            attributes[name] = _encode(f"{path}:{key.line}", name, key.properties[name])
            if name == "RelayIpList":
                attributes["RelayIpListLocation"] = key.location
            break
    domains: list[MetabaseDomain] = []
    seen: set[str] = set()
    for lower, key in keys.items():
        match = _DOMAIN_LOCATION.match(lower)
        if not match:
            continue
        domain = match.group(1).rstrip(".")
        if domain in seen:
            raise InputFormatError(f"{path}:{key.line}", f"domain {domain} appears twice")
        seen.add(domain)
        raw = key.properties.get("RouteAction")
        route_action = None if raw is None else _dword(f"{path}:{key.line}", "RouteAction", raw)
        domains.append(MetabaseDomain(domain=domain, route_action=route_action, location=key.location))
    return MetabaseSettings(attributes=attributes, domains=tuple(domains))
