"""Search entries decoded to raw values only: what `LdapSource`'s paged searches keep of ldap3's.

For every search result entry, ldap3 builds two maps of the attributes: `raw_attributes` (the
values as bytes) and `attributes` (each value tried as text, kept as bytes where that fails), both
case-insensitive dictionaries that look up ldap3's configuration for every attribute and value.
The paged searches of `LdapSource` read `raw_attributes` only and copy it into a plain dict at
once, so the second map is work and memory spent on nothing: profiled on the realistic
100,000-user lab DC (bench/README.md, 6 December 2026), building it took a fifth of a full read's
client time, and a page of 1,000 entries held each text value twice.

`raw_entries_only(conn)` makes that connection's searches decode an entry into `type`, `dn`,
`raw_dn` and `raw_attributes` (a plain dict, names as the server spells them, values as ldap3's
own `raw_attributes` gives them) for as long as the block runs; everything else (the result with
its paged-results cookie, referrals, entries that carry controls) still goes through ldap3. Only
the paged searches use it: DirSync's loop reads ldap3's case-insensitive maps and keeps them.

It replaces one method of the connection's strategy object (`decode_response_fast`, ldap3 2.9's
fast decoder, the default), and only on that object: a connection built with the pyasn1 decoder
(`fast_decoder=False`) never calls it and is left as ldap3 made it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import ldap3
from ldap3.utils.conv import to_unicode

__all__ = ["raw_entries_only"]

_SEARCH_RESULT_ENTRY = 4  # LDAP protocolOp tag of searchResEntry


@contextmanager
def raw_entries_only(conn: ldap3.Connection) -> Iterator[None]:
    """Inside the block, `conn`'s search result entries carry raw values only (see the module docstring)."""
    strategy = conn.strategy
    ldap3_decode = strategy.decode_response_fast

    def decode(message: dict[str, Any]) -> dict[str, Any]:
        if message["protocolOp"] != _SEARCH_RESULT_ENTRY or message["controls"]:
            return ldap3_decode(message)  # type: ignore[no-any-return]
        payload = message["payload"]
        raw_dn = payload[0][3]
        attributes: dict[str, list[bytes] | None] = {}
        for attribute in payload[1][3]:
            description, values = attribute[3][0][3], attribute[3][1][3]
            # As ldap3's decode_raw_vals_fast: an attribute without values is None.
            attributes[to_unicode(description, from_server=True)] = (
                [bytes(value[3]) for value in values] if values else None
            )
        return {
            "type": "searchResEntry",
            "raw_dn": raw_dn,
            "dn": to_unicode(raw_dn, from_server=True),
            "raw_attributes": attributes,
        }

    own = "decode_response_fast" in vars(strategy)
    strategy.decode_response_fast = decode
    try:
        yield
    finally:
        if own:
            strategy.decode_response_fast = ldap3_decode
        else:
            del strategy.decode_response_fast  # the class's method again (no bound method kept: no cycle)
