"""Object changes (added, removed, changed directory objects) grouped by kind, for the diff and the
drift report.

Kinds appear in a fixed order (users first), objects by DN within a kind, and a rename or move first
among an object's attribute changes; long value lists are capped like every other group.
"""

from __future__ import annotations

from dataclasses import dataclass

from auditor import documents as doc

from .view_common import CAP, Group, capped, short_time

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


def origin_label(origin: doc.OriginEntry | None) -> str:
    """`2026-12-05 14:03 UTC on DC2, version 7` for an `origin`; "" when there is none."""
    if origin is None:
        return ""
    return f"{short_time(origin.time)} on {origin.dc}, version {origin.version}"


def _object(entry: doc.ObjectEntry) -> ObjectRow:
    changes: list[AttributeChange] = []
    # A rename or move is the most important change of an object: show it first.
    for name in sorted(entry.attributes, key=lambda n: (n != "dn", n.casefold())):
        change = entry.attributes[name]
        if isinstance(change, doc.SetChange):
            changes.append(
                AttributeChange(
                    name=name,
                    multi=True,
                    added=tuple(change.added[:CAP]),
                    removed=tuple(change.removed[:CAP]),
                    more_added=max(0, len(change.added) - CAP),
                    more_removed=max(0, len(change.removed) - CAP),
                    origin=origin_label(change.origin),
                )
            )
        else:
            changes.append(
                AttributeChange(
                    name=name,
                    multi=False,
                    before=change.before,
                    after=change.after,
                    origin=origin_label(change.origin),
                )
            )
    return ObjectRow(
        kind=entry.kind or "object",
        key=entry.key,
        dn=entry.dn,
        attributes=tuple(changes),
        origin=origin_label(entry.origin),
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


def object_changes(objects: doc.ObjectChanges) -> ObjectChanges:
    lists = {
        "added": [_object(entry) for entry in objects.added],
        "removed": [_object(entry) for entry in objects.removed],
        "changed": [_object(entry) for entry in objects.changed],
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
