"""Decoding replPropertyMetaData into origins (pure logic over values laid out as the DC stores
them; the lab DC's real values are decoded in tests/ldap/test_attribution_live.py)."""

from __future__ import annotations

import struct
import uuid
from datetime import UTC, datetime

import pytest

from auditor.attribution import ORIGIN_CREATED, ORIGIN_DN, Origin
from auditor.families.exchange.prefixmap import PrefixTable
from auditor.families.exchange.replication import (
    Attribution,
    MetadataError,
    SchemaAttribute,
    dc_name_of,
    decode_metadata,
)

DC1 = "812e0fc2-f4e7-49d4-b0d2-fa4c4c4c8acf"
RETIRED = "0b4f7c8e-0000-4000-8000-000000000001"
TABLE = PrefixTable.of([(0, "2.5.4"), (2, "1.2.840.113556.1.2"), (9, "1.2.840.113556.1.4")])
SCHEMA = [
    SchemaAttribute("cn", "2.5.4.3"),
    SchemaAttribute("description", "2.5.4.13"),
    SchemaAttribute("instanceType", "1.2.840.113556.1.2.1"),
    SchemaAttribute("isDeleted", "1.2.840.113556.1.2.48"),
    SchemaAttribute("proxyAddresses", "1.2.840.113556.1.2.210"),
    SchemaAttribute("name", "1.2.840.113556.1.4.1"),
    SchemaAttribute("targetAddress", "1.3.6.1.4.1.32473.1.1.2", int_id=-1732023462),
]
ATTIDS = {
    "cn": 0x3,
    "description": 0xD,
    "instanceType": 0x20001,
    "isDeleted": 0x20030,
    "proxyAddresses": 0x200D2,
    "name": 0x90001,
    "targetAddress": 0x98C36B5A,
}
# What the read asks for (description is not among them), spelled as records spell them.
KEPT = ("objectClass", "cn", "proxyAddresses", "targetAddress", "mail")
SECONDS_1601_TO_2026 = int(
    (datetime(2026, 12, 6, 4, 12, 38, tzinfo=UTC) - datetime(1601, 1, 1, tzinfo=UTC)).total_seconds()
)


def blob(entries: list[tuple[int, int, int, str]]) -> bytes:
    """replPropertyMetaData: version 1, reserved, count, reserved, then 48 bytes per entry."""
    out = struct.pack("<IIII", 1, 0, len(entries), 0)
    for usn, (attid, version, seconds, dsa) in enumerate(entries, start=4000):
        out += struct.pack("<IIQ16sqq", attid, version, seconds, uuid.UUID(dsa).bytes_le, usn, usn)
    return out


def test_entries_decode_with_time_dsa_and_usns() -> None:
    [entry] = decode_metadata(blob([(ATTIDS["targetAddress"], 2, SECONDS_1601_TO_2026, DC1)]))
    assert entry.attid == 0x98C36B5A and entry.version == 2
    assert entry.changed == datetime(2026, 12, 6, 4, 12, 38, tzinfo=UTC)
    assert entry.invocation_id == DC1
    assert (entry.originating_usn, entry.local_usn) == (4000, 4000)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (b"\x01\x00\x00", "too short"),
        (struct.pack("<IIII", 2, 0, 0, 0), "version 2"),
        (blob([(3, 1, 1, DC1)])[:-1], "not the 64 that 1 entries take"),
    ],
)
def test_damaged_metadata_is_refused(value: bytes, message: str) -> None:
    with pytest.raises(MetadataError, match=message):
        decode_metadata(value)


def test_origins_keep_the_read_attributes_and_name_rename_and_creation() -> None:
    attribution = Attribution(TABLE, SCHEMA, {DC1: "DC1"}, KEPT)
    created, later = SECONDS_1601_TO_2026 - 86400, SECONDS_1601_TO_2026
    origins = attribution.origins(
        blob(
            [
                (ATTIDS["instanceType"], 1, created, DC1),
                (ATTIDS["cn"], 2, later, DC1),
                (ATTIDS["name"], 3, later, DC1),
                (ATTIDS["description"], 4, later, DC1),  # not read: not kept
                (ATTIDS["proxyAddresses"], 1, created, RETIRED),  # a DC that no longer exists
                (ATTIDS["targetAddress"], 2, later, DC1),  # an msDS-IntId
                (0x00090999, 1, later, DC1),  # an ATTRTYP the schema read does not know
            ]
        ),
    )
    assert origins is not None
    assert set(origins) == {ORIGIN_CREATED, "cn", ORIGIN_DN, "proxyAddresses", "targetAddress"}
    moment = datetime(2026, 12, 6, 4, 12, 38, tzinfo=UTC)
    assert origins["targetAddress"] == Origin(moment, "DC1", 2)
    assert origins[ORIGIN_DN] == Origin(moment, "DC1", 3)
    assert origins[ORIGIN_CREATED].time == datetime(2026, 12, 5, 4, 12, 38, tzinfo=UTC)
    assert origins["proxyAddresses"].dc == RETIRED  # the raw invocation id, never a guess
    with pytest.raises(KeyError):
        origins["description"]


def test_a_deletion_is_the_tombstones_isdeleted_write() -> None:
    attribution = Attribution(TABLE, SCHEMA, {DC1.upper(): "DC1"}, KEPT)
    tombstone = blob([(ATTIDS["cn"], 2, 5, DC1), (ATTIDS["isDeleted"], 1, SECONDS_1601_TO_2026, DC1)])
    assert attribution.deletion(tombstone) == Origin(datetime(2026, 12, 6, 4, 12, 38, tzinfo=UTC), "DC1", 1)
    assert attribution.deletion(blob([(ATTIDS["cn"], 2, 5, DC1)])) is None


def test_unreadable_metadata_gives_no_origins_and_is_counted() -> None:
    attribution = Attribution(TABLE, SCHEMA, {}, KEPT)
    assert attribution.origins(b"junk") is None
    far = blob([(ATTIDS["cn"], 1, 2**64 - 1, DC1), (ATTIDS["proxyAddresses"], 1, 5, DC1)])
    assert set(attribution.origins(far) or {}) == {"proxyAddresses"}  # no year past 9999
    assert attribution.deletion(b"junk") is None
    assert attribution.unreadable == 2


@pytest.mark.parametrize(
    ("dn", "name"),
    [
        (
            "CN=NTDS Settings,CN=DC1,CN=Servers,CN=Default-First-Site-Name,CN=Sites,CN=Configuration,DC=x",
            "DC1",
        ),
        (r"CN=NTDS Settings,CN=DC\,2,CN=Servers,CN=Site,CN=Sites,CN=Configuration,DC=x", "DC,2"),
    ],
)
def test_the_dc_name_is_the_server_objects_cn(dn: str, name: str) -> None:
    assert dc_name_of(dn) == name
