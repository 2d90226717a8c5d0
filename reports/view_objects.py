"""Object changes (added, removed, changed directory objects) grouped by kind, for the diff and the
drift report.

Kinds appear in a fixed order (users first), objects by DN within a kind, and a rename or move first
among an object's attribute changes; long value lists are capped like every other group.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from auditor.errors import ReportError

from .view_common import CAP, Group, as_text, capped, list_at, short_time

__all__ = [
    "KIND_LABELS",
    "KIND_ORDER",
    "AttributeChange",
    "KindChanges",
    "ObjectChanges",
    "ObjectRow",
    "kind_label",
    "object_changes",
    "origin_label",
]


# -- object changes -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AttributeChange:
    name: str
    multi: bool
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    more_added: int = 0
    more_removed: int = 0
    before: str | None = None
    after: str | None = None
    origin: str = ""  # "2026-12-05 14:03 UTC on DC2, version 7" where the source could tell


@dataclass(frozen=True, slots=True)
class ObjectRow:
    kind: str
    key: str
    dn: str
    attributes: tuple[AttributeChange, ...] = ()
    origin: str = ""  # an added object's creation, a removed one's deletion


def origin_label(raw: object) -> str:
    """`2026-12-05 14:03 UTC on DC2, version 7` for an `origin` object; "" when there is none."""
    if not isinstance(raw, Mapping) or not raw.get("time"):
        return ""
    label = short_time(raw.get("time"))
    if raw.get("dc"):
        label += f" on {as_text(raw.get('dc'))}"
    if isinstance(raw.get("version"), int):
        label += f", version {raw['version']}"
    return label


def _values(raw: object) -> list[str]:
    if raw is None:
        return []
    if isinstance(raw, list | tuple):
        return [as_text(v) for v in raw]
    return [as_text(raw)]


def _scalar(raw: object) -> str | None:
    if raw is None:
        return None
    if isinstance(raw, list | tuple):
        return "; ".join(as_text(v) for v in raw)
    return as_text(raw)


def _object(raw: object, what: str) -> ObjectRow:
    if not isinstance(raw, Mapping):
        raise ReportError(f"{what}: an object entry is not a JSON object")
    changes: list[AttributeChange] = []
    attributes = raw.get("attributes") or {}
    if not isinstance(attributes, Mapping):
        raise ReportError(f"{what}: 'attributes' of {raw.get('dn')!r} must be an object")
    # A rename or move is the most important change of an object: show it first.
    for name in sorted(attributes, key=lambda n: (n != "dn", n.casefold())):
        change = attributes[name]
        if not isinstance(change, Mapping):
            raise ReportError(f"{what}: change of attribute {name!r} must be an object")
        if "added" in change or "removed" in change:
            added, removed = _values(change.get("added")), _values(change.get("removed"))
            changes.append(
                AttributeChange(
                    name=str(name),
                    multi=True,
                    added=tuple(added[:CAP]),
                    removed=tuple(removed[:CAP]),
                    more_added=max(0, len(added) - CAP),
                    more_removed=max(0, len(removed) - CAP),
                    origin=origin_label(change.get("origin")),
                )
            )
        else:
            changes.append(
                AttributeChange(
                    name=str(name),
                    multi=False,
                    before=_scalar(change.get("before")),
                    after=_scalar(change.get("after")),
                    origin=origin_label(change.get("origin")),
                )
            )
    return ObjectRow(
        kind=as_text(raw.get("kind") or "object"),
        key=as_text(raw.get("key")),
        dn=as_text(raw.get("dn")),
        attributes=tuple(changes),
        origin=origin_label(raw.get("origin")),
    )


@dataclass(frozen=True, slots=True)
class KindChanges:
    kind: str
    label: str
    added: Group[ObjectRow]
    removed: Group[ObjectRow]
    changed: Group[ObjectRow]

    @property
    def total(self) -> int:
        return self.added.total + self.removed.total + self.changed.total


@dataclass(frozen=True, slots=True)
class ObjectChanges:
    added: int
    removed: int
    changed: int
    kinds: tuple[KindChanges, ...]

    @property
    def total(self) -> int:
        return self.added + self.removed + self.changed


KIND_LABELS = {
    "user": "Users",
    "contact": "Contacts",
    "group": "Groups",
    "recipient_policy": "Recipient policies",
    "accepted_domain": "Accepted domains",
    "smtp_connector": "SMTP connectors",
    "smtp_virtual_server": "SMTP virtual servers",
    "exchange_server": "Exchange servers",
    "mailbox_store": "Mailbox stores",
    "pop3_server": "POP3 servers",
    "pop3_domain": "POP3 domains",
    "pop3_mailbox": "POP3 mailboxes",
}


KIND_ORDER = tuple(KIND_LABELS)


def kind_label(kind: str) -> str:
    """A heading for an object kind; kinds added later show as their own name."""
    return KIND_LABELS.get(kind, kind.replace("_", " "))


def object_changes(objects: object, what: str) -> ObjectChanges:
    if objects is None:
        objects = {}
    if not isinstance(objects, Mapping):
        raise ReportError(f"{what}: 'objects' must be an object")
    lists = {
        change: [_object(raw, what) for raw in list_at(objects, change, what)]
        for change in ("added", "removed", "changed")
    }
    kinds = sorted(
        {row.kind for rows in lists.values() for row in rows},
        key=lambda k: (KIND_ORDER.index(k) if k in KIND_ORDER else len(KIND_ORDER), k),
    )
    groups = []
    for kind in kinds:
        per_change: dict[str, Group[ObjectRow]] = {}
        for change, rows in lists.items():
            mine = sorted((r for r in rows if r.kind == kind), key=lambda r: (r.dn.casefold(), r.key))
            per_change[change] = capped(f"{kind}:{change}", change, mine)
        groups.append(
            KindChanges(
                kind, kind_label(kind), per_change["added"], per_change["removed"], per_change["changed"]
            )
        )
    return ObjectChanges(len(lists["added"]), len(lists["removed"]), len(lists["changed"]), tuple(groups))
