"""JSON text for the store and for content hashes, through orjson where its bytes are json's.

A pass at 100,000 recipients decodes a hundred thousand stored attribute maps and encodes as
many content hashes and evidence sets; the standard library's `json` spends most of that in
per-call Python overhead. orjson (a well-kept C extension) does the same work several times
faster, and for the values auditor stores — strings, integers within 64 bits, booleans, None,
lists, tuples and dicts with string keys — its compact output is json's
(`ensure_ascii=False, separators=(",", ":")`) byte for byte (tests/test_jsontext.py holds it to
that for every code point). Where orjson refuses a value json accepts (a lone surrogate, an
integer beyond 64 bits, NaN), the standard library answers, so nothing readable before becomes
unreadable and no stored hash changes.

Floats are not in that guarantee (orjson writes 1e16 where json writes 1e+16): hashes of values
that may hold floats (the history chain's lines) keep `json`.
"""

from __future__ import annotations

import json
from typing import Any

try:
    import orjson
except ImportError:  # pragma: no cover - exercised by the lab's loader, not by the suite
    # A dependency of auditor; absent only where auditor's modules are imported by another Python
    # than its own: deploy/lab/bulk_load.py runs under Debian's (for python3-samba), which has no
    # orjson. The standard library then does all the work, with the same text and hashes.
    orjson = None  # type: ignore[assignment]

__all__ = ["compact", "dumps", "loads"]

_COMPACT = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def compact(value: Any) -> str:
    """`json.dumps(value, ensure_ascii=False, separators=(",", ":"))`, byte for byte: the text
    content hashes are taken over (keys in the order given, tuples as lists)."""
    if orjson is None:
        return _COMPACT.encode(value)
    try:
        return orjson.dumps(value).decode("utf-8")
    except TypeError:  # orjson.JSONEncodeError: lone surrogates, integers beyond 64 bits, ...
        return _COMPACT.encode(value)


def dumps(value: Any) -> str:
    """The store's JSON columns as text (SQLAlchemy's `json_serializer`)."""
    return compact(value)


def loads(text: str | bytes) -> Any:
    """A stored JSON column (SQLAlchemy's `json_deserializer`); what `json.loads` reads, it reads."""
    if orjson is None:
        return json.loads(text)
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:  # NaN, a lone surrogate escape, ...: json's answer, or its error
        return json.loads(text)
