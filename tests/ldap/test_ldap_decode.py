"""ldap_decode.raw_entries_only against the lab DC: the raw values ldap3 itself gives, nothing else,
and only inside the block."""

from __future__ import annotations

from typing import Any

import ldap3
import pytest

from auditor.families.exchange.ldap import LdapSource
from auditor.families.exchange.ldap_decode import raw_entries_only

pytestmark = pytest.mark.samba

ATTRIBUTES = ["objectClass", "objectGUID", "proxyAddresses", "mail", "cn", "nTSecurityDescriptor"]


def _entries(conn: ldap3.Connection, base: str) -> list[dict[str, Any]]:
    conn.search(base, "(|(objectClass=user)(objectClass=contact))", ldap3.SUBTREE, attributes=ATTRIBUTES)
    return [item for item in conn.response or [] if item.get("type") == "searchResEntry"]


def test_raw_entries_are_ldap3s_raw_values_and_only_inside_the_block(samba_lab: Any) -> None:
    samba_lab.ensure_running()
    source = LdapSource(samba_lab.settings)
    conn = source._session()
    base = samba_lab.settings.base_dn or "DC=contoso,DC=com"
    try:
        as_ldap3 = _entries(conn, base)
        with raw_entries_only(conn):
            raw = _entries(conn, base)
        after = _entries(conn, base)
    finally:
        source._close()
    assert len(raw) == len(as_ldap3) > samba_lab.generated_recipients
    for mine, theirs in zip(raw, as_ldap3, strict=True):
        assert set(mine) == {"type", "dn", "raw_dn", "raw_attributes"}
        assert (mine["dn"], mine["raw_dn"]) == (theirs["dn"], theirs["raw_dn"])
        assert mine["raw_attributes"] == dict(theirs["raw_attributes"])
        assert all(isinstance(v, bytes) for values in mine["raw_attributes"].values() for v in values)
    assert any(b"SMTP:" in v for item in raw for v in item["raw_attributes"].get("proxyAddresses", []))
    # After the block the connection decodes as ldap3 does again (both maps) and keeps no override.
    assert all("attributes" in item for item in after)
    assert "decode_response_fast" not in vars(conn.strategy)
