"""auditor.jsontext: orjson's text is json's for what the store holds, and json answers the rest.

Content hashes (objects, evidence sets) were taken over `json.dumps(..., ensure_ascii=False,
separators=(",", ":"))` before orjson came in; a hash that changed would make every stored object
look changed on the next pass and split evidence sets already stored.
"""

from __future__ import annotations

import json
import sys

from hypothesis import given, settings
from hypothesis import strategies as st

from auditor import jsontext
from auditor.records import ObjectRecord


def stdlib(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def test_every_code_point_is_written_as_json_writes_it() -> None:
    characters = [chr(cp) for cp in range(sys.maxunicode + 1) if not 0xD800 <= cp <= 0xDFFF]
    chunks = ["".join(characters[i : i + 4096]) for i in range(0, len(characters), 4096)]
    mismatched = [i for i, chunk in enumerate(chunks) if jsontext.compact([chunk]) != stdlib([chunk])]
    assert mismatched == []


scalars = st.none() | st.booleans() | st.integers(min_value=-(2**63), max_value=2**64 - 1) | st.text()
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.tuples(inner, inner)
        | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=300)
@given(values)
def test_stored_shapes_are_written_and_read_as_json_does(value: object) -> None:
    text = jsontext.compact(value)
    assert text == stdlib(value)
    assert jsontext.loads(text) == json.loads(text)


def test_what_orjson_refuses_is_answered_by_json() -> None:
    for value in (["lone \ud800 surrogate"], [2**70], {"n": -(2**65)}):
        assert jsontext.compact(value) == stdlib(value)
        assert jsontext.dumps(value) == stdlib(value)
    assert jsontext.loads('{"a": "\\ud800"}') == {"a": "\ud800"}
    assert jsontext.loads("[NaN, 123456789012345678901234567890]")[1] == 123456789012345678901234567890


def test_invalid_json_is_still_an_error() -> None:
    try:
        jsontext.loads('{"cut short": [')
    except json.JSONDecodeError:
        return
    raise AssertionError("a cut-short JSON text was read")


def test_an_object_content_hash_is_the_one_json_gave() -> None:
    import hashlib

    record = ObjectRecord(
        kind="user",
        key="0f3a9c2e-1111-2222-3333-444455556666",
        dn="CN=Zoë Ünïcode\\, Jr.,OU=Users,DC=contoso,DC=com",
        attributes={
            "proxyAddresses": ("SMTP:zoe@contoso.com", "X400:c=US;a= ;p=Contoso"),
            "cn": ("Zoë\x01",),
        },
    )
    payload = stdlib(
        [record.kind, record.key, record.dn, sorted((k, list(v)) for k, v in record.attributes.items())]
    )
    assert record.content_hash() == hashlib.sha256(payload.encode("utf-8")).hexdigest()
