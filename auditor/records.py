"""The one shape every collected object takes: an `ObjectRecord`.

Every source (LDIF export, live LDAP, POP3 export folder) produces records; the history store keeps
them, the differ compares them, and `auditor.model` builds the typed view the checks read from them.
Keeping one neutral shape is what makes a live read and an export of the same forest comparable
value for value (collector parity) and what lets a snapshot loaded from the store be checked again
exactly as it was collected.

Values are always strings. Binary attributes (`BINARY_ATTRIBUTES`) hold base64; booleans hold
`TRUE` / `FALSE` as LDAP writes them; integers hold their decimal text.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from auditor.attribution import Origin
from auditor.jsontext import compact

__all__ = [
    "VOLATILE_ATTRIBUTES",
    "ObjectKind",
    "ObjectRecord",
    "SourceInfo",
]


class ObjectKind(StrEnum):
    """Kinds of object in a snapshot (contract.md's list); the value is what JSON output shows."""

    USER = "user"
    CONTACT = "contact"
    GROUP = "group"
    DYNAMIC_GROUP = "dynamic_group"
    PUBLIC_FOLDER = "public_folder"
    RECIPIENT_POLICY = "recipient_policy"
    ACCEPTED_DOMAIN = "accepted_domain"
    SMTP_CONNECTOR = "smtp_connector"
    SMTP_VIRTUAL_SERVER = "smtp_virtual_server"
    EXCHANGE_SERVER = "exchange_server"
    MAILBOX_STORE = "mailbox_store"
    POP3_SERVER = "pop3_server"
    POP3_DOMAIN = "pop3_domain"
    POP3_MAILBOX = "pop3_mailbox"


# Attributes that change without anyone changing the configuration; never collected, never drift.
VOLATILE_ATTRIBUTES = frozenset(
    name.lower()
    for name in (
        "uSNChanged",
        "uSNCreated",
        "whenChanged",
        "whenCreated",
        "dSCorePropagationData",
        "lastLogon",
        "lastLogonTimestamp",
        "lastLogoff",
        "logonCount",
        "badPwdCount",
        "badPasswordTime",
        "pwdLastSet",
        "replPropertyMetaData",
        "msDS-KeyVersionNumber",
    )
)


@dataclass(frozen=True, slots=True)
class ObjectRecord:
    """One object as collected: identity, location and the attributes auditor keeps.

    `key` is the stable identity used by the store and the differ: the canonical lower-case
    `objectGUID` for directory objects, `dn:<lower-case DN>` for a source without GUIDs, and
    `pop3:<server>/<what>` for POP3-side objects. `kind` is an open name registered by a source
    family (`ObjectKind` lists the built-in ones); JSON shows it as is.

    `origins` is volatile attribution data (`auditor.attribution`): the last originating write of
    each attribute where the source can tell (live LDAP), else None. It takes no part in equality
    or the content hash, so it can never make an object look changed.
    """

    kind: str
    key: str
    dn: str
    attributes: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    origins: Mapping[str, Origin] | None = field(default=None, compare=False, repr=False)

    def values(self, name: str) -> tuple[str, ...]:
        return self.attributes.get(name, ())

    def first(self, name: str) -> str | None:
        found = self.attributes.get(name)
        return found[0] if found else None

    def content_hash(self) -> str:
        """Identity of this version of the object: equal hashes mean nothing worth keeping changed."""
        payload = compact([self.kind, self.key, self.dn, sorted(self.attributes.items())])
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()

    def to_json(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "key": self.key,
            "dn": self.dn,
            "attributes": {k: list(v) for k, v in self.attributes.items()},
        }

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> ObjectRecord:
        attributes = data.get("attributes", {})
        assert isinstance(attributes, Mapping)
        return cls(
            kind=str(data["kind"]),
            key=str(data["key"]),
            dn=str(data["dn"]),
            attributes={str(k): tuple(str(x) for x in v) for k, v in attributes.items()},
        )


@dataclass(slots=True)
class SourceInfo:
    """How one source fared in a pass; reported in JSON `snapshot.sources` and in collection health.

    `coverage` names what the source actually read, so checks can tell "nothing there" from "not
    looked at": `domain` and `configuration` for a directory, `pop3:<name>` plus one entry per
    export file found (`pop3:<name>:MetaBase.xml`, ...) for a POP3 export.

    For a source read from an export made elsewhere: `exported_at`, when the export says it was
    made, and `stale`, why it is older than its configured `max_age` (or does not say when it was
    made). A stale source is still complete: staleness is a warning about age that collection
    health shows, not a failed read. Both are written to JSON only when set.

    For a live directory (contract "Incremental collection"): `mode`, `full` or `incremental`, and
    for an incremental read `changes_read`, the changed entries the directory reported; both in
    JSON when set. `sync_state` is what the next pass needs to read only what changed (the DC, its
    invocation id and USN, DirSync cookies, ...): stored beside the source, never shown.
    """

    name: str
    kind: str
    complete: bool = False
    objects: int = 0
    duration_seconds: float = 0.0
    error: str | None = None
    coverage: set[str] = field(default_factory=set)
    exported_at: datetime | None = None
    stale: str | None = None
    mode: str | None = None
    changes_read: int | None = None
    sync_state: dict[str, Any] | None = field(default=None, repr=False)

    def to_json(self) -> dict[str, object]:
        data: dict[str, object] = {
            "name": self.name,
            "kind": self.kind,
            "complete": self.complete,
            "objects": self.objects,
            "duration_seconds": round(self.duration_seconds, 3),
            "error": self.error,
            "coverage": sorted(self.coverage),
        }
        if self.exported_at is not None:
            moment = self.exported_at.astimezone(UTC) if self.exported_at.tzinfo else self.exported_at
            data["exported_at"] = moment.replace(tzinfo=None).isoformat() + "Z"
        if self.stale is not None:
            data["stale"] = self.stale
        if self.mode is not None:
            data["mode"] = self.mode
        if self.changes_read is not None:
            data["changes_read"] = self.changes_read
        return data
