"""The bench organization as the files a real pass reads: ldifde exports, POP3 export folders, a config.

bench_checks.py defines the organization as records (policy, Exchange server, store, virtual
server, four POP3 servers with their connectors, N recipients: two thirds Exchange mailboxes, one
third POP3 users). This module writes it the way an administrator would hand it to auditor, so a
bench can run `auditor check --once` as cron does:

    domain.ldf, configuration.ldf   ldifde exports (CRLF, `changetype: add`, base64, folded at 76)
    popNN/                          one export folder per POP3 server (MetaBase.xml, pop3.reg,
                                    winpop-auth.txt, winpop-list.txt, winpop-list-DOMAIN.txt),
                                    rendered with the bundled sample's own writers
    auditor.toml                    the config naming all of them, SQLite store beside it

Two variants of the directory export (`VARIANTS`):

* `realistic`: every user carries what a real Exchange 2003 user carries in an `ldifde` export
  without `-l`: the AD account attributes (memberOf, logon times, objectSid, logonHours, ...),
  the Exchange ones (X.400 and X500 proxy addresses, two showInAddressBook values,
  legacyExchangeDN, msExchPoliciesIncluded, homeMTA, msExchHomeServerName, textEncodedORAddress,
  protocolSettings, msExchMailboxGuid, msExchMailboxSecurityDescriptor, ...), a userCertificate
  and a thumbnailPhoto. Binary values have the real shapes (as in tests/collect/full_export.py):
  a 28-byte SID, a self-relative security descriptor, a 21-byte logon-hours bitmap, a DER
  certificate, a JPEG. About 4.6 KiB of LDIF per user, as in the exports issue 12 was measured on.
* `lean`: only what bench_pipeline wrote before (the attributes the checks need, objectGUID):
  kept to compare with earlier figures and to show what the weight of real exports costs.

Churn (`Churn`, `daily_churn`): which recipients a later export changes, adds or removes, so that
"1 % changed" passes read files written the same way.
"""

from __future__ import annotations

import base64
import random
import struct
import sys
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))  # the sample generator

from bench_checks import POP_SERVERS, organization, recipients
from make_sample import (
    AUTH_AD,
    WINPOP_MEMBER,
    Pop3Export,
    pop3_files,
    relay_blob,
)

from auditor.collect.ldif_writer import directory_values, ldif_record
from auditor.families.exchange.attributes import BINARY_ATTRIBUTES
from auditor.families.exchange.entries import partition_of
from auditor.records import ObjectKind, ObjectRecord

__all__ = [
    "VARIANTS",
    "Churn",
    "OrgFiles",
    "churn_records",
    "daily_churn",
    "directory_entries",
    "write_org",
]

VARIANTS = ("realistic", "lean")
_BINARY = frozenset(name.lower() for name in BINARY_ATTRIBUTES)

DOMAIN = "DC=contoso,DC=com"
SCHEMA = f"CN=Schema,CN=Configuration,{DOMAIN}"
ORG = "CN=Contoso,CN=Microsoft Exchange,CN=Services,CN=Configuration,DC=contoso,DC=com"
AG = f"CN=First Administrative Group,CN=Administrative Groups,{ORG}"
ADDRESS_LISTS = f"CN=Address Lists Container,{ORG}"
GAL = f"CN=Default Global Address List,CN=All Global Address Lists,{ADDRESS_LISTS}"
ALL_USERS = f"CN=All Users,CN=All Address Lists,{ADDRESS_LISTS}"
MTA = f"CN=Microsoft MTA,CN=EX01,CN=Servers,{AG}"
EX01_LEGACY_DN = "/o=Contoso/ou=First Administrative Group/cn=Configuration/cn=Servers/cn=EX01"
DEFAULT_POLICY_GUID = "{D106764C-52C9-5AD7-8A1C-B90D1F20627C}"
EAP_GUID = "{26491CFC-9E50-4857-861B-0CB8DF22B5D7}"
EXCHANGE_ADDRESS = "10.0.0.10"

# The objectClass values ldifde writes for the configuration kinds (users carry their own).
_OBJECT_CLASSES: dict[str, tuple[str, ...]] = {
    ObjectKind.RECIPIENT_POLICY: ("top", "msExchRecipientPolicy"),
    ObjectKind.EXCHANGE_SERVER: ("top", "server", "msExchExchangeServer"),
    ObjectKind.MAILBOX_STORE: ("top", "msExchMDB", "msExchPrivateMDB"),
    ObjectKind.SMTP_VIRTUAL_SERVER: ("top", "protocolCfg", "protocolCfgSMTP", "protocolCfgSMTPServer"),
    ObjectKind.SMTP_CONNECTOR: ("top", "mailGateway", "msExchRoutingSMTPConnector"),
}
DIRECTORY_KINDS = frozenset({ObjectKind.USER, ObjectKind.CONTACT, *_OBJECT_CLASSES})
_GUIDS = uuid.UUID("6f3c2a1e-0b7d-4c59-9a64-1d2e3f405162")  # namespace: stable GUIDs per key
_DEPARTMENTS = ("Sales", "Finance", "Engineering", "Support", "Legal", "Marketing", "Operations", "HR")
_CITIES = (("Seattle", "WA", "98052"), ("Boston", "MA", "02110"), ("Austin", "TX", "73301"))

Attributes = dict[str, list[bytes]]


@dataclass(frozen=True, slots=True)
class Churn:
    """How a later export differs from the first: recipients changed, removed, and added.

    `changed` maps a recipient index to its revision (1, 2, ...): a revision renames the display
    name and, every other revision, adds an smtp alias, both attributes auditor keeps, so each
    change is a new object version in the store. `added` recipients get indices after the first N.
    """

    changed: dict[int, int] = field(default_factory=dict)
    removed: frozenset[int] = frozenset()
    added: int = 0

    @property
    def touched(self) -> int:
        return len(self.changed) + len(self.removed) + self.added


def daily_churn(count: int, fraction: float = 0.01, *, seed: int = 1) -> Churn:
    """One day's churn over `count` recipients: `fraction` of them touched (80 % changed, 10 % each
    removed and added), chosen deterministically from `seed`."""
    touched = max(1, round(count * fraction))
    picker = random.Random(seed)
    chosen = picker.sample(range(count), touched - touched // 10)
    removed = frozenset(chosen[: touched // 10])
    changed = dict.fromkeys(chosen[touched // 10 :], 1)
    return Churn(changed=changed, removed=removed, added=touched // 10)


def _guid(record: ObjectRecord) -> bytes:
    return uuid.uuid5(_GUIDS, record.key).bytes_le


def lean_entry(record: ObjectRecord) -> Attributes:
    """What bench_pipeline wrote before: the record's own values, objectGUID, classes for config kinds."""
    attributes: Attributes = {}
    if "objectClass" not in record.attributes:
        attributes["objectClass"] = [name.encode() for name in _OBJECT_CLASSES[record.kind]]
    for name, values in record.attributes.items():
        if name in BINARY_ATTRIBUTES:
            attributes[name] = [base64.b64decode(value) for value in values]
        else:
            attributes[name] = [value.encode("utf-8") for value in values]
    attributes["objectGUID"] = [_guid(record)]
    return attributes


# -- realistic values ----------------------------------------------------------------------------


def _sid(index: int) -> bytes:
    """S-1-5-21-a-b-c-RID as the 28-byte binary SID (one domain, RID from the index)."""
    return bytes([1, 5, 0, 0, 0, 0, 0, 5]) + struct.pack(
        "<5I", 21, 3623811015, 3361044348, 30300820, 1100 + index
    )


def _security_descriptor(index: int) -> bytes:
    """msExchMailboxSecurityDescriptor: self-relative SD, owner SID, DACL with the owner's full access."""
    owner = _sid(index)
    self_sid = bytes([1, 1, 0, 0, 0, 0, 0, 5, 10, 0, 0, 0])  # S-1-5-10, SELF
    aces = b"".join(
        struct.pack("<BBHI", 0, 2, 8 + len(sid), mask) + sid
        for sid, mask in ((self_sid, 0x00020003), (owner, 1))
    )
    acl = struct.pack("<BBHHH", 2, 0, 8 + len(aces), 2, 0) + aces
    header = struct.pack("<BBHIIII", 1, 0, 0x8004, 20, 0, 0, 20 + len(owner))
    return header + owner + acl


def _random_bytes(index: int, what: str, size: int) -> bytes:
    return random.Random(f"{what}:{index}").randbytes(size)


def _certificate(index: int) -> bytes:
    """A DER X.509 certificate's size and header (SEQUENCE, length 0x02C5, TBSCertificate ...)."""
    return b"\x30\x82\x02\xc5\x30\x82\x01\xad\xa0\x03\x02\x01\x02\x02\x0a" + _random_bytes(index, "cert", 698)


def _photo(index: int) -> bytes:
    """A small JPEG's size and header (96x96 thumbnails of the time were a few hundred bytes to 2 KiB)."""
    return b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + _random_bytes(
        index, "photo", 890
    )


def _names(index: int) -> tuple[str, str]:
    return f"Given{index % 977}", f"Surname{index:06d}"


def _x400(given: str, sn: str) -> str:
    return f"c=US;a= ;p=Contoso;o=Exchange;s={sn};g={given};"


def _filetime(index: int, offset: int) -> bytes:
    return str(127_900_000_000_000_000 + index * 1_000_003 + offset).encode()


def _value(record: ObjectRecord, name: str) -> list[bytes]:
    return [value.encode("utf-8") for value in record.values(name)]


def realistic_entry(record: ObjectRecord, index: int, revision: int = 0) -> Attributes:
    """A user as a full `ldifde` export of an Exchange 2003 forest shows it, in ldifde's order.

    The values auditor's checks depend on come from `record` unchanged, so both variants give the
    same findings; everything else is what AD and Exchange add to every such user.
    """
    given, sn = _names(index)
    mailbox = "homeMDB" in record.attributes
    city, state, postal = _CITIES[index % len(_CITIES)]
    department = _DEPARTMENTS[index % len(_DEPARTMENTS)]
    display = f"{given} {sn}" + (f" (rev {revision})" if revision else "")
    nick = record.first("mailNickname") or ""
    proxies = [
        f"X400:{_x400(given, sn)}".encode(),
        f"X500:/o=Fabrikam/ou=Site1/cn=Recipients/cn={nick}".encode(),
    ]
    proxies += _value(record, "proxyAddresses")
    if revision % 2:
        proxies.append(f"smtp:{nick}.rev{revision}@contoso.com".encode())
    usn = 20_000 + index * 9
    out: Attributes = {
        "objectClass": _value(record, "objectClass"),
        "cn": _value(record, "cn"),
        "sn": [sn.encode()],
        "c": [b"US"],
        "l": [city.encode()],
        "st": [state.encode()],
        "title": [b"Analyst"],
        "postalCode": [postal.encode()],
        "physicalDeliveryOfficeName": [f"Building {index % 40}".encode()],
        "telephoneNumber": [f"+1 425 555 {index % 10000:04d}".encode()],
        "givenName": [given.encode()],
        "distinguishedName": [record.dn.encode()],
        "instanceType": [b"4"],
        "whenCreated": [b"20050314141300.0Z"],
        "whenChanged": [b"20061124094512.0Z"],
        "displayName": [display.encode()],
        "uSNCreated": [str(usn).encode()],
        "memberOf": [
            f"CN=All Staff,OU=Groups,{DOMAIN}".encode(),
            f"CN={department} Team,OU=Groups,{DOMAIN}".encode(),
        ],
        "uSNChanged": [str(usn + 5).encode()],
        "co": [b"United States"],
        "department": [department.encode()],
        "company": [b"Contoso"],
        "streetAddress": [b"1 Contoso Way"],
        "proxyAddresses": proxies,
    }
    if mailbox:
        out["homeMTA"] = [MTA.encode()]
    out |= {
        "name": _value(record, "cn"),
        "objectGUID": [_guid(record)],
        "userAccountControl": _value(record, "userAccountControl"),
        "badPwdCount": [b"0"],
        "codePage": [b"0"],
        "countryCode": [b"840"],
        "badPasswordTime": [_filetime(index, 11)],
        "lastLogoff": [b"0"],
        "lastLogon": [_filetime(index, 97)],
        "logonHours": [b"\xff" * 21],
        "pwdLastSet": [_filetime(index, 5)],
        "primaryGroupID": [b"513"],
        "objectSid": [_sid(index)],
        "accountExpires": [b"9223372036854775807"],
        "logonCount": [str(index % 300).encode()],
        "sAMAccountName": _value(record, "sAMAccountName"),
        "sAMAccountType": [b"805306368"],
        "showInAddressBook": [GAL.encode(), ALL_USERS.encode()],
        "legacyExchangeDN": _value(record, "legacyExchangeDN"),
        "userPrincipalName": [f"{nick}@contoso.com".encode()],
        "objectCategory": [f"CN=Person,{SCHEMA}".encode()],
        "dSCorePropagationData": [b"16010101000000.0Z"],
        "lastLogonTimestamp": [_filetime(index, 53)],
        "textEncodedORAddress": [_x400(given, sn).encode()],
        "mail": _value(record, "mail"),
    }
    if mailbox:
        out |= {
            "homeMDB": _value(record, "homeMDB"),
            "msExchHomeServerName": [EX01_LEGACY_DN.encode()],
            "msExchALObjectVersion": [b"52"],
            "msExchMailboxSecurityDescriptor": [_security_descriptor(index)],
            "mailNickname": [nick.encode()],
            "mDBUseDefaults": [b"TRUE"],
            "msExchMailboxGuid": [uuid.uuid5(_GUIDS, f"mailbox:{index}").bytes_le],
        }
    else:
        out |= {
            "targetAddress": _value(record, "targetAddress"),
            "internetEncoding": [b"1310720"],
            "mailNickname": [nick.encode()],
        }
    out |= {
        "msExchPoliciesIncluded": [f"{DEFAULT_POLICY_GUID},{EAP_GUID}".encode()],
        "msExchUserAccountControl": [b"0"],
        "protocolSettings": ["HTTP§1§1§§§§§§".encode()],
        "userCertificate": [_certificate(index)],
        "thumbnailPhoto": [_photo(index)],
    }
    return out


# -- the organization ------------------------------------------------------------------------------


def _revised(record: ObjectRecord, revision: int) -> ObjectRecord:
    """The lean record after `revision` changes (the same changes realistic_entry makes)."""
    if not revision:
        return record
    attributes = dict(record.attributes)
    attributes["displayName"] = (f"{record.first('cn')} (rev {revision})",)
    if revision % 2:
        nick = record.first("mailNickname")
        attributes["proxyAddresses"] = (
            *record.values("proxyAddresses"),
            f"smtp:{nick}.rev{revision}@contoso.com",
        )
    return ObjectRecord(record.kind, record.key, record.dn, attributes)


def _recipients(count: int, churn: Churn) -> Iterator[tuple[int, ObjectRecord]]:
    """(index, record) of every directory and POP3 record of the recipients, churn applied."""
    index = -1
    for record in recipients(count + churn.added):
        if record.kind == ObjectKind.USER:
            index = int(record.key.removeprefix("guid-"))
        if index in churn.removed:
            continue
        yield index, record


def directory_entries(
    count: int, variant: str, churn: Churn | None = None
) -> Iterator[tuple[str, Attributes]]:
    """(DN, attributes) of every directory object, configuration first, in export order."""
    churn = churn or Churn()
    for record in organization():
        if record.kind in DIRECTORY_KINDS:
            yield record.dn, lean_entry(record)
    for index, record in _recipients(count, churn):
        if record.kind != ObjectKind.USER:
            continue
        revision = churn.changed.get(index, 0)
        if variant == "realistic":
            yield record.dn, realistic_entry(record, index, revision)
        else:
            yield record.dn, lean_entry(_revised(record, revision))


@dataclass(frozen=True, slots=True)
class OrgFiles:
    """Where write_org put things, and how much it wrote."""

    folder: Path
    config: Path
    exports: list[Path]
    directory_objects: int
    pop3_mailboxes: int

    @property
    def ldif_bytes(self) -> int:
        return sum(path.stat().st_size for path in self.exports)


def write_exports(entries: Iterable[tuple[str, Attributes]], folder: Path) -> tuple[list[Path], int]:
    """Both partitions' exports, domain.ldf and configuration.ldf; returns (paths, entries written)."""
    paths = {"domain": folder / "domain.ldf", "configuration": folder / "configuration.ldf"}
    handles = {key: path.open("w", encoding="utf-8", newline="\r\n") for key, path in paths.items()}
    written = 0
    try:
        for handle in handles.values():
            handle.write("version: 1\n\n")
        for dn, attributes in entries:
            handles[partition_of(dn)].write(
                "\n".join(ldif_record(dn, directory_values(attributes, _BINARY))) + "\n"
            )
            written += 1
    finally:
        for handle in handles.values():
            handle.close()
    return [paths["domain"], paths["configuration"]], written


def _pop3_exports(count: int, churn: Churn) -> list[Pop3Export]:
    mailboxes: list[list[str]] = [[] for _ in range(POP_SERVERS)]
    for _, record in _recipients(count, churn):
        if record.kind == ObjectKind.POP3_MAILBOX:
            mailboxes[int(record.first("server")[3:])].append(record.first("mailbox") or "")  # type: ignore[index]
    exports = []
    for n in range(POP_SERVERS):
        fqdn = f"pop{n:02d}.contoso.com"
        exports.append(
            Pop3Export(
                folder=f"pop{n:02d}",
                fqdn=fqdn,
                metabase_service={"MaxMessageSize": "2097152", "SmtpDisableRelay": "0"},
                metabase_server={
                    "DefaultDomain": fqdn,
                    "FullyQualifiedDomainName": fqdn,
                    "RelayForAuth": "4294967295",
                    "RelayIpList": relay_blob(["127.0.0.1"], grant=True).hex(),
                    "ServerBindings": ":25:",
                    "SmartHost": "ex01.contoso.com",
                    "SmartHostType": "2",
                },
                auth_flags="AuthBasic | AuthNTLM",
                domains={f"pop{n}.contoso.com": sorted(mailboxes[n])},
                winpop_methods=WINPOP_MEMBER,
                winpop_current="Active Directory Integrated",
                default_auth_method=1,
                auth_guid=AUTH_AD,
            )
        )
    return exports


def _config(exports: list[Pop3Export]) -> str:
    lines = [
        "# Written by bench/org_files.py: the bench organization, as cron would audit it.",
        'organization = "Contoso"',
        "",
        "[directory]",
        'ldif = ["domain.ldf", "configuration.ldf"]',
        "",
        "[[exchange_server]]",
        'name = "EX01"',
        'fqdn = "ex01.contoso.com"',
        f'addresses = ["{EXCHANGE_ADDRESS}"]',
    ]
    for n, export in enumerate(exports):
        lines += [
            "",
            "[[pop3_server]]",
            f'name = "POP{n:02d}"',
            f'fqdn = "{export.fqdn}"',
            f'addresses = ["10.0.0.{20 + n}"]',
            f'export = "{export.folder}"',
        ]
    lines += ["", "[store]", 'url = "sqlite:///history.db"', ""]
    return "\n".join(lines)


def write_org(folder: Path, count: int, variant: str, churn: Churn | None = None) -> OrgFiles:
    """Write (or overwrite) the whole organization into `folder`; the store file is left alone."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r} (one of {', '.join(VARIANTS)})")
    churn = churn or Churn()
    folder.mkdir(parents=True, exist_ok=True)
    exports, written = write_exports(directory_entries(count, variant, churn), folder)
    pop3 = _pop3_exports(count, churn)
    for export in pop3:
        target = folder / export.folder
        target.mkdir(exist_ok=True)
        for name in list(target.iterdir()):
            name.unlink()
        for name, data in pop3_files(export).items():
            (target / name).write_bytes(data)
    config = folder / "auditor.toml"
    config.write_text(_config(pop3), encoding="utf-8")
    mailboxes = sum(len(names) for export in pop3 for names in export.domains.values())
    return OrgFiles(folder, config, exports, written, mailboxes)


def churn_records(records: list[ObjectRecord], day: int, fraction: float = 0.01) -> list[ObjectRecord]:
    """The records one day later: `fraction` of the users touched (80 % changed, 10 % each removed
    and added), chosen from `day`, the same kind of changes `Churn` writes into exports."""
    picker = random.Random(day)
    users = [position for position, record in enumerate(records) if record.kind == ObjectKind.USER]
    touched = max(1, round(len(users) * fraction))
    chosen = picker.sample(users, touched - touched // 10)
    removed = set(chosen[: touched // 10])
    out = list(records)
    for position in chosen[touched // 10 :]:
        record = records[position]
        attributes = dict(record.attributes)
        attributes["displayName"] = (f"{record.first('cn')} (day {day})",)
        if day % 2:
            nick = record.first("mailNickname")
            attributes["proxyAddresses"] = (
                *record.values("proxyAddresses"),
                f"smtp:{nick}.d{day}@contoso.com",
            )
        out[position] = ObjectRecord(record.kind, record.key, record.dn, attributes)
    for n, position in enumerate(picker.sample(users, touched // 10)):
        model = records[position]
        nick = f"new{day:03d}x{n:05d}"
        attributes = {
            **model.attributes,
            "cn": (nick,),
            "sAMAccountName": (nick,),
            "mailNickname": (nick,),
            "mail": (f"{nick}@contoso.com",),
            "proxyAddresses": (f"SMTP:{nick}@contoso.com",),
        }
        out.append(
            ObjectRecord(model.kind, f"{model.key}-{nick}", f"CN={nick},OU=Users,{DOMAIN}", attributes)
        )
    return [record for position, record in enumerate(out) if position not in removed]


def main() -> None:
    """`python bench/org_files.py FOLDER [--recipients N] [--variant realistic|lean]`: write it, say where."""
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--recipients", type=int, default=100_000)
    parser.add_argument("--variant", choices=VARIANTS, default="realistic")
    args = parser.parse_args()
    files = write_org(args.folder, args.recipients, args.variant)
    print(
        f"{args.variant}: {files.directory_objects:,} directory objects, {files.ldif_bytes / 2**20:.1f} MiB of "
        f"LDIF, {files.pop3_mailboxes:,} POP3 mailboxes; config {files.config}"
    )


if __name__ == "__main__":
    main()
