"""Incremental reads of a live Active Directory: only what changed since the previous complete snapshot.

Contract ("Incremental collection"): whatever the mode, the stored snapshot is object for object
what a full read at that moment would have stored. So a change is never *applied* from what the
directory says changed; it only says *which* objects to read again:

1. Which objects changed, per naming context (the domain and the Configuration partition each
   have their own state): the DirSync control (1.2.840.113556.1.4.841; the base must be the
   naming-context root) with the cookie kept from the previous pass, asked for the attributes the
   collector keeps or filters on plus `name` (renames and moves) and `isDeleted`. Without the
   "Replicating Directory Changes" right, DirSync with the object-security flag (changes to what
   the account may read, but no deletions); where DirSync is refused altogether, `uSNChanged`
   above the stored highest committed USN, with the show-deleted control. In both those cases the
   collected objects' GUIDs and DNs are listed too (a plain account sees no tombstones), so
   deletions and moves are exact. All give objectGUIDs: the key of every directory record.
2. Every changed object that is not deleted is read again whole, with the collector's own filter,
   attribute list, range retrieval and record builder (a batch of GUIDs per search): DirSync
   returns changed attributes only, and a multi-valued or range-retrieved attribute such as
   `proxyAddresses` must come out whole. An object that no longer matches the filter (mail
   removed) drops out; one that starts matching comes in; a deleted one is removed.
3. A rename or move changes the DN of everything below it without telling the directory's change
   tracking, and changes the text of every DN-valued attribute naming it: objects below a renamed
   or moved object are found by a subtree search under its new DN (GUID only) and read again when
   their DN differs, and records whose values name an old DN are read again too.
4. Everything else is taken from the previous complete snapshot as stored (`load_records`).

The state a pass stores for the next one (`SourceInfo.sync_state`) names the domain controller,
its invocation id and highest committed USN, the DirSync cookies (base64), a fingerprint of what
is read (filters, attributes, naming contexts), auditor's version and when the last full read was.
Any mismatch is a full read with one warning line saying why (`full_read_reason`).

Not covered (read whole at the next full read, `full_every` bounds how long): a DN-valued attribute
naming a container (an OU) that holds no collected object when that container is renamed or moved.
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from ldap3.core import exceptions as ldap_exceptions

from auditor.collect import Baseline
from auditor.errors import DirectoryError
from auditor.families.exchange.attributes import COLLECTED_ATTRIBUTES
from auditor.families.exchange.entries import guid_from_value
from auditor.families.exchange.ldap_attribution import METADATA_ATTRIBUTE, SHOW_DELETED
from auditor.families.exchange.modern import MODERN_COLLECTED_ATTRIBUTES, MODERN_KINDS
from auditor.families.exchange.tables import DESCRIPTOR_ATTRIBUTE
from auditor.provenance import AUDITOR_VERSION

if TYPE_CHECKING:
    from auditor.families.exchange.ldap import LdapSource

__all__ = [
    "DESCRIPTOR_KINDS",
    "DIRECTORY_KINDS",
    "GUIDS_PER_SEARCH",
    "STATE_FORMAT",
    "Changes",
    "DcIdentity",
    "IncrementalRefused",
    "IncrementalSettings",
    "full_read_reason",
    "guid_filter",
]


STATE_FORMAT = 1
DIRSYNC = "1.2.840.113556.1.4.841"
# Every kind a directory source produces: the previous snapshot's other records belong to others.
DIRECTORY_KINDS = frozenset({str(kind) for kind in COLLECTED_ATTRIBUTES} | set(MODERN_KINDS))
# Kinds that keep a security descriptor (read with the SD-flags control).
DESCRIPTOR_KINDS = frozenset(
    str(kind) for kind, names in MODERN_COLLECTED_ATTRIBUTES.items() if DESCRIPTOR_ATTRIBUTE in names
)
# Attributes the tables' filters test besides those they keep (DirSync reports only requested ones).
_FILTER_ATTRIBUTES = ("objectClass", "objectCategory", "mailNickname", "proxyAddresses", "mail")
# A filter that matches nothing, answered from the objectGUID index: an initial DirSync with it
# returns no entry and a cookie that sees every later change.
_NO_OBJECT = "(objectGUID=" + "\\00" * 16 + ")"
GUIDS_PER_SEARCH = 100
DIRSYNC_METHOD = "dirsync"
OBJECT_SECURITY_METHOD = "dirsync-object-security"
USN_METHOD = "usn"


@dataclass(frozen=True)
class IncrementalSettings:
    """`[directory] incremental` and `full_every`."""

    enabled: bool = True
    full_every: timedelta = timedelta(days=7)


@dataclass(frozen=True)
class DcIdentity:
    """Which domain controller answers, and how far its change counter is."""

    dc: str  # dnsHostName
    server: str  # serverName (its server object's DN)
    invocation_id: str  # of its NTDS Settings: a restored or rebuilt DC gets a new one
    usn: int  # highestCommittedUSN


class IncrementalRefused(Exception):
    """The directory will not say what changed (a refused cookie): read in full; carries the reason."""


@dataclass
class Changes:
    """What one partition's change tracking reported: objectGUID key -> current DN, deleted keys."""

    changed: dict[str, str] = field(default_factory=dict)
    deleted: set[str] = field(default_factory=set)
    renamed: set[str] = field(default_factory=set)  # changed keys that may have been renamed or moved

    @property
    def count(self) -> int:
        return len(self.changed) + len(self.deleted)


def fingerprint(source: LdapSource, base_dn: str, configuration_dn: str) -> str:
    """What a read asks for: when it changes, the previous snapshot is not what this read would give."""
    tables = source.tables
    material = [
        tables.recipient_filter,
        tables.configuration_filter,
        list(tables.recipient_attributes),
        list(tables.configuration_attributes),
        sorted(tables.binary),
        base_dn.lower(),
        configuration_dn.lower(),
    ]
    return hashlib.sha256(json.dumps(material).encode("utf-8")).hexdigest()


def full_read_reason(
    settings: IncrementalSettings,
    baseline: Baseline | None,
    source_name: str,
    identity: DcIdentity,
    read_fingerprint: str,
    now: datetime,
    *,
    forced: bool = False,
) -> str | None:
    """Why this pass must read in full (one line), or None when an incremental read is possible."""
    if forced:
        return "--full was asked for"
    if not settings.enabled:
        return "incremental = false"
    if baseline is None:
        return "no previous complete snapshot"
    previous = next((s for s in baseline.sources if s.name == source_name), None)
    if previous is None or not previous.complete:
        return (
            f"the previous complete snapshot ({baseline.snapshot_id}) holds no complete read of {source_name}"
        )
    state = previous.sync_state or {}
    if state.get("format") != STATE_FORMAT:
        return f"the previous complete snapshot ({baseline.snapshot_id}) kept no change-tracking state"
    if (str(state.get("dc", "")).lower(), str(state.get("server", "")).lower()) != (
        identity.dc.lower(),
        identity.server.lower(),
    ):
        return (
            f"another domain controller answers ({identity.dc}; the previous read was from {state.get('dc')})"
        )
    if state.get("invocation_id") != identity.invocation_id:
        return (
            f"the domain controller's invocationId changed ({identity.invocation_id}; restored or rebuilt?)"
        )
    if identity.usn < int(state.get("usn", 0)):
        return (
            f"highestCommittedUSN {identity.usn} is below the stored {state.get('usn')} "
            "(a directory restored or rolled back)"
        )
    if state.get("fingerprint") != read_fingerprint:
        return "the configured attribute set or naming contexts changed"
    if state.get("auditor_version") != AUDITOR_VERSION:
        return f"auditor's version changed ({state.get('auditor_version')} -> {AUDITOR_VERSION})"
    try:
        last_full = datetime.fromisoformat(str(state.get("full_read_at")))
    except ValueError:
        return "the previous state does not say when the last full read was"
    if last_full.tzinfo is None:
        last_full = last_full.replace(tzinfo=UTC)
    if now - last_full >= settings.full_every:
        return f"full_every passed (last full read {last_full.isoformat(timespec='seconds')})"
    return None


def new_state(
    identity: DcIdentity,
    read_fingerprint: str,
    cookies: Mapping[str, bytes] | None,
    full_read_at: datetime,
    method: str = "dirsync",
) -> dict[str, Any]:
    """The `sync_state` stored with this pass's source entry (JSON: cookies in base64).

    `method`: how the next pass asks what changed: `dirsync`; `dirsync-object-security` (DirSync
    limited to what the account may read, for an account without the "Replicating Directory
    Changes" right: deletions are then found by listing GUIDs); `usn` (uSNChanged, no cookies).
    """
    return {
        "format": STATE_FORMAT,
        "dc": identity.dc,
        "server": identity.server,
        "invocation_id": identity.invocation_id,
        "usn": identity.usn,
        "method": method if cookies is not None else USN_METHOD,
        "cookies": {name: base64.b64encode(value).decode("ascii") for name, value in (cookies or {}).items()},
        "fingerprint": read_fingerprint,
        "auditor_version": AUDITOR_VERSION,
        "full_read_at": full_read_at.astimezone(UTC).isoformat(),
    }


def guid_filter(keys: Iterable[str]) -> str:
    """`(|(objectGUID=\\xx...)...)` for these objectGUID keys (canonical UUID text)."""
    terms = "".join(
        "(objectGUID=" + "".join(f"\\{byte:02x}" for byte in uuid.UUID(key).bytes_le) + ")" for key in keys
    )
    return f"(|{terms})"


# -- reading -------------------------------------------------------------------------------------


def read_identity(source: LdapSource) -> DcIdentity:
    """The answering DC from the rootDSE and its NTDS Settings object."""
    root = source._search_base("", ["dnsHostName", "serverName", "dsServiceName", "highestCommittedUSN"])

    def text(raw: Mapping[str, list[bytes]], name: str) -> str:
        for key, values in raw.items():
            if key.lower() == name.lower() and values:
                return values[0].decode("utf-8")
        return ""

    service = text(root, "dsServiceName")
    invocation = ""
    if service:
        for key, values in source._search_base(service, ["invocationId"]).items():
            if key.lower() == "invocationid" and values and len(values[0]) == 16:
                invocation = str(uuid.UUID(bytes_le=values[0]))
    usn = text(root, "highestCommittedUSN")
    if not usn.isdigit() or not invocation:
        raise DirectoryError(
            f"{source.where}: the rootDSE gives no highestCommittedUSN or invocationId (not Active Directory?)"
        )
    return DcIdentity(text(root, "dnsHostName"), text(root, "serverName"), invocation, int(usn))


def dirsync_attributes(attributes: Sequence[str]) -> list[str]:
    """What DirSync is asked for: a change to anything else cannot change what auditor stores."""
    names = dict.fromkeys(a for a in attributes if a.lower() != METADATA_ATTRIBUTE.lower())
    names.update(dict.fromkeys((*_FILTER_ATTRIBUTES, "name", "isDeleted", "objectGUID")))
    return list(names)


def _dirsync_round(
    source: LdapSource,
    base_dn: str,
    search_filter: str,
    attributes: list[str],
    cookie: bytes | None,
    object_security: bool = False,
) -> tuple[list[dict[str, Any]], bytes, bool]:
    """One DirSync search: (entries, next cookie, more to come). A refusal raises IncrementalRefused."""
    conn = source._session()
    sync = conn.extend.microsoft.dir_sync(
        base_dn,
        sync_filter=search_filter,
        attributes=attributes,
        cookie=cookie,
        object_security=object_security,
    )
    try:
        response = sync.loop()
    except ldap_exceptions.LDAPExtensionError as exc:
        raise IncrementalRefused(
            f"DirSync on {base_dn} refused ({' '.join(str(exc).split())[:300]})"
        ) from None
    except ldap_exceptions.LDAPException as exc:
        raise source._communication_failure(exc, f"DirSync of {base_dn}") from None
    entries = [item for item in response or [] if item.get("type") == "searchResEntry"]
    return entries, bytes(sync.cookie or b""), bool(sync.more_results)


def dirsync_cookie(source: LdapSource, base_dn: str, *, object_security: bool = False) -> bytes:
    """A cookie that sees every change from now on, without reading anything (a full read's start)."""

    def read() -> bytes:
        _entries, cookie, _more = _dirsync_round(
            source, base_dn, _NO_OBJECT, ["objectGUID"], None, object_security
        )
        return cookie

    return source._retrying(read)


def dirsync_changes(
    source: LdapSource, base_dn: str, attributes: list[str], cookie: bytes, *, object_security: bool = False
) -> tuple[Changes, bytes]:
    """What changed in one naming context since `cookie`, and the cookie for next time."""

    def read() -> tuple[Changes, bytes]:
        changes, current, more = Changes(), cookie, True
        while more:
            entries, current, more = _dirsync_round(
                source, base_dn, "(objectClass=*)", attributes, current, object_security
            )
            for item in entries:
                raw = item.get("raw_attributes", {})
                guids = raw.get("objectGUID") or []
                key = guid_from_value(guids[0]) if guids else None
                if key is None:
                    continue
                if any(v.upper() == b"TRUE" for v in raw.get("isDeleted") or []):
                    changes.changed.pop(key, None)
                    changes.deleted.add(key)
                else:
                    changes.deleted.discard(key)
                    changes.changed[key] = _plain_dn(str(item.get("dn", "")))
                    if raw.get("name"):  # renamed or moved (or new)
                        changes.renamed.add(key)
        return changes, current

    return source._retrying(read)


def usn_changes(source: LdapSource, base_dn: str, usn: int) -> Changes:
    """What changed in one naming context after `usn` (`uSNChanged`), tombstones included."""

    def read() -> Changes:
        changes = Changes()
        for dn, raw in source._search_all(
            base_dn, f"(uSNChanged>={usn + 1})", ["objectGUID", "isDeleted"], (SHOW_DELETED,)
        ):
            guids = raw.get("objectGUID") or []
            key = guid_from_value(guids[0]) if guids else None
            if key is None:
                continue
            if any(v.upper() == b"TRUE" for v in raw.get("isDeleted") or []):
                changes.deleted.add(key)
            else:
                changes.changed[key] = dn
                changes.renamed.add(key)  # uSNChanged does not say what changed: any may be a rename
        return changes

    return source._retrying(read)


def _plain_dn(dn: str) -> str:
    """The DN without the extended-DN prefixes (`<GUID=...>;<SID=...>;CN=...`)."""
    while dn.startswith("<"):
        end = dn.find(">;")
        if end < 0:
            break
        dn = dn[end + 2 :]
    return dn
