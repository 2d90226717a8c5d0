"""`auditor verify`: the history's hash chain recomputed, as `auditor.verify/1` JSON or text.

Exit codes (contract.md): 0 the chain is intact (and holds the `--expect`ed digest, when given);
1 a break (the first snapshot whose digest does not match, and what differs) or an expected digest
that is no longer in the chain (the history was cut short or rewritten); 2 it cannot run.
"""

from __future__ import annotations

import re
from typing import Any

from auditor.errors import ConfigError, SnapshotError
from auditor.results import isoformat
from auditor.store import HistoryStore
from auditor.store.chain import Verification

__all__ = ["VERIFY_SCHEMA", "parse_digest", "verify_document", "verify_exit_code", "verify_text"]

VERIFY_SCHEMA = "auditor.verify/1"
_DIGEST = re.compile(r"^[0-9a-f]{64}$")


def parse_digest(text: str) -> str:
    """A digest as published (64 hex digits, any case); anything else is a usage error (exit 2)."""
    digest = text.strip().lower()
    if not _DIGEST.match(digest):
        raise ConfigError(f"--expect {text!r}: a digest is 64 hexadecimal digits (see `auditor history`)")
    return digest


def verify_document(store: HistoryStore, result: Verification, expect: str | None = None) -> dict[str, Any]:
    document: dict[str, Any] = {
        "schema": VERIFY_SCHEMA,
        "scope": result.scope,
        "intact": result.intact,
        "links": result.links,
        "snapshots": result.snapshots,
        "head": result.head.to_json() if result.head else None,
        "break": None,
        "unsealed": result.unsealed,
        "expect": None,
    }
    if result.broken is not None:
        broken = result.broken.to_json()
        try:
            broken["taken_at"] = isoformat(store.snapshot_info(result.broken.snapshot_id).taken_at)
        except SnapshotError:  # the snapshot itself may be what went missing
            broken["taken_at"] = None
        broken["modified_versions"] = result.modified_versions
        document["break"] = broken
    if expect is not None:
        found = result.verified_digests.get(expect)
        document["expect"] = {"digest": expect, "found": found is not None, "snapshot": found}
    return document


def verify_exit_code(document: dict[str, Any]) -> int:
    expect = document.get("expect")
    return 0 if document["intact"] and (expect is None or expect["found"]) else 1


def _when(value: object) -> str:
    """`2026-12-06 04:43:42 UTC` for an ISO time (to the second: the text is for people)."""
    text = str(value or "")
    return text[:19].replace("T", " ") + " UTC" if len(text) >= 19 else text


def verify_text(document: dict[str, Any]) -> str:
    lines = []
    scope = document["scope"]
    head = document["head"]
    if document["intact"]:
        lines.append(f"History chain of scope {scope!r}: intact")
        if head:
            lines.append(
                f"  {document['links']} links over {document['snapshots']} complete snapshots; "
                f"newest: snapshot {head['snapshot']} ({_when(head['taken_at'])})"
            )
            lines.append(f"  digest {head['digest']}")
        else:
            lines.append("  no snapshot has been sealed yet")
    else:
        broken = document["break"]
        lines.append(f"History chain of scope {scope!r}: BROKEN at snapshot {broken['snapshot']}")
        lines.append(f"  {broken['reason']}")
        if head:
            lines.append(f"  intact up to snapshot {head['snapshot']} (digest {head['digest']})")
        else:
            lines.append("  no link before it verifies")
    if document["unsealed"]:
        ids = ", ".join(str(i) for i in document["unsealed"])
        lines.append(f"  not sealed yet (no check results stored): snapshot {ids}")
    expect = document["expect"]
    if expect is not None:
        if expect["found"]:
            lines.append(f"Expected digest found: it seals snapshot {expect['snapshot']}")
        else:
            lines.append(
                f"Expected digest {expect['digest']} is NOT in the chain: the history was cut short or rewritten"
                + ("" if document["intact"] else " (or it lies past the break)")
            )
    return "\n".join(lines) + "\n"
