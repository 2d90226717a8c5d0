"""Load an organization from ldifde-style LDIF exports into the lab DC, over LDAPS.

What the DC maintains itself (objectGUID, objectSid, USNs, timestamps, objectCategory, ...) is
dropped; entries that already exist (the partition roots, CN=Users, ...) are skipped; attributes
and object classes the lab schema does not define are dropped and listed, so an export from a
richer forest still loads. Parents are added before children whatever the file order. Users get a
lab password, since AD refuses an enabled account without one.

Security descriptors: an exported `nTSecurityDescriptor` (base64 in the LDIF, as `auditor
export-ldif` and the modern sample write it) is written as the binary descriptor it is. The DC
keeps the owner, group and ACEs it is given, in that order, and appends the ACEs the parents pass
down (marked inherited). A descriptor the DC cannot parse (one cut short: Samba's descriptor module
answers operationsError, as AD refuses it too) is left out, the entry is added with the DC's
default descriptor, and stderr says so. A lab-only attribute `auditorLabSDDL: <SDDL>` becomes the
entry's binary `nTSecurityDescriptor`, packed by Samba's own encoder (deploy/lab/samba_sd.py under
the Debian interpreter that has python3-samba, `LAB_SAMBA_PYTHON`, default /usr/bin/python3), so
the lab's descriptors are never produced by the decoder the tests check.

Lab only; the product never writes to a directory.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path

import ldap3

sys.path.insert(0, str(Path(__file__).resolve().parent))
from labconn import add_connection_arguments, connect

_REPO = Path(__file__).resolve().parents[2]
if str(_REPO) not in sys.path:
    sys.path.insert(0, str(_REPO))
from auditor.collect.ldif import decode_export_text, parse_ldif  # noqa: E402
from auditor.families.exchange.attributes import BINARY_ATTRIBUTES  # noqa: E402
from auditor.families.exchange.modern import MODERN_BINARY_ATTRIBUTES  # noqa: E402

USER_PASSWORD = "Lab-User-Passw0rd!"
SERVER_MAINTAINED = frozenset(
    name.lower()
    for name in (
        "objectGUID",
        "objectSid",
        "distinguishedName",
        "instanceType",
        "whenCreated",
        "whenChanged",
        "uSNCreated",
        "uSNChanged",
        "name",
        "objectCategory",
        "dSCorePropagationData",
        "memberOf",
        "isCriticalSystemObject",
        "systemFlags",
        "pwdLastSet",
        "lastLogon",
        "lastLogonTimestamp",
        "lastLogoff",
        "logonCount",
        "badPwdCount",
        "badPasswordTime",
        "sAMAccountType",
        "primaryGroupID",
        "replPropertyMetaData",
        "accountExpires",
        "codePage",
        "countryCode",
        "msDS-KeyVersionNumber",
        "unicodePwd",
        "schemaIDGUID",
    )
)

LAB_SDDL = "auditorLabSDDL"
SAMBA_SD = Path(__file__).resolve().parent / "samba_sd.py"

Entry = tuple[str, dict[str, list[bytes | str]]]
_BINARY = frozenset(name.lower() for name in BINARY_ATTRIBUTES | MODERN_BINARY_ATTRIBUTES)


def read_entries(paths: Iterable[Path]) -> Iterator[Entry]:
    for path in paths:
        for entry in parse_ldif(path, decode_export_text(path, path.read_bytes()), binary=_BINARY):
            yield entry.dn, {name: list(values) for name, values in entry.attributes.items()}


def schema_names(conn: ldap3.Connection) -> tuple[set[str], set[str], set[str]]:
    """(attribute names, class names, DN-syntax attribute names), lower-case, from the DC's schema."""
    conn.search("", "(objectClass=*)", ldap3.BASE, attributes=["schemaNamingContext"])
    schema_dn = conn.response[0]["raw_attributes"]["schemaNamingContext"][0].decode()
    attributes: set[str] = set()
    classes: set[str] = set()
    dn_syntax: set[str] = set()
    for entry in conn.extend.standard.paged_search(
        schema_dn,
        "(|(objectClass=attributeSchema)(objectClass=classSchema))",
        ldap3.LEVEL,
        attributes=["lDAPDisplayName", "objectClass", "attributeSyntax"],
        paged_size=1000,
        generator=True,
    ):
        if entry.get("type") != "searchResEntry":
            continue
        raw = entry["raw_attributes"]
        name = raw["lDAPDisplayName"][0].decode().lower()
        kinds = {v.decode().lower() for v in raw["objectClass"]}
        (classes if "classschema" in kinds else attributes).add(name)
        if raw.get("attributeSyntax") == [b"2.5.5.1"]:
            dn_syntax.add(name)
    return attributes, classes, dn_syntax


def domain_sid(conn: ldap3.Connection) -> str:
    """The domain's SID as S-1-5-21-... text (the domain-relative SDDL aliases need it)."""
    conn.search("", "(objectClass=*)", ldap3.BASE, attributes=["defaultNamingContext"])
    base = conn.response[0]["raw_attributes"]["defaultNamingContext"][0].decode()
    conn.search(base, "(objectClass=*)", ldap3.BASE, attributes=["objectSid"])
    raw = conn.response[0]["raw_attributes"]["objectSid"][0]
    count = raw[1]
    subs = [int.from_bytes(raw[8 + 4 * i : 12 + 4 * i], "little") for i in range(count)]
    return "-".join(["S", str(raw[0]), str(int.from_bytes(raw[2:8], "big")), *map(str, subs)])


def samba_sd(command: str, sid: str, items: list[str]) -> list[object]:
    """Run deploy/lab/samba_sd.py (Samba's NDR and SDDL code) on `items`; see its docstring."""
    python = os.environ.get("LAB_SAMBA_PYTHON", "/usr/bin/python3")
    done = subprocess.run(
        [python, str(SAMBA_SD), command, sid],
        input=json.dumps(items),
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    if done.returncode != 0:
        raise SystemExit(f"load_org: samba_sd.py {command} failed: {done.stderr.strip()[-500:]}")
    result = json.loads(done.stdout)
    assert isinstance(result, list)
    return result


def lab_descriptors(conn: ldap3.Connection, entries: list[Entry]) -> dict[str, bytes]:
    """Lower-case DN -> binary descriptor for every entry with `auditorLabSDDL` (removed from it)."""
    wanted: list[tuple[str, str]] = []
    for dn, values in entries:
        for name in list(values):
            if name.lower() == LAB_SDDL.lower():
                sddl = values.pop(name)
                wanted.append((dn.lower(), str(sddl[0])))
    if not wanted:
        return {}
    packed = samba_sd("encode", domain_sid(conn), [sddl for _, sddl in wanted])
    return {dn: base64.b64decode(str(blob)) for (dn, _), blob in zip(wanted, packed, strict=True)}


def _depth(dn: str) -> int:
    return len(ldap3.utils.dn.parse_dn(dn, escape=False))


def prepare(
    entry: Entry, attributes: set[str], classes: set[str], dropped: Counter[str]
) -> dict[str, list[bytes | str]]:
    _dn, values = entry
    kept: dict[str, list[bytes | str]] = {}
    for name, vals in values.items():
        base = name.split(";", 1)[0]
        lower = base.lower()
        if lower in SERVER_MAINTAINED:
            continue
        if lower not in attributes:
            dropped[base] += 1
            continue
        if lower == "objectclass":
            known = [v for v in vals if str(v).lower() in classes]
            for v in vals:
                if str(v).lower() not in classes:
                    dropped[f"objectClass:{v}"] += 1
            vals = known
        kept[base] = vals
    object_classes = {str(v).lower() for v in kept.get("objectClass", [])}
    if "user" in object_classes and "computer" not in object_classes:
        kept["unicodePwd"] = [f'"{USER_PASSWORD}"'.encode("utf-16-le")]
    return kept


def _exists(conn: ldap3.Connection, dn: str) -> bool:
    conn.search(dn, "(objectClass=*)", ldap3.BASE, attributes=["1.1"])
    return conn.result.get("description") == "success"


def _placeholders(conn: ldap3.Connection, dn: str) -> int:
    """Create plain containers for a referenced DN that is not in the export (a dangling reference).

    AD stores only references to existing objects; a container (a kind auditor does not keep)
    stands in, so the reference loads without adding an object to the snapshot.
    """
    missing: list[str] = []
    current = dn
    while current and not _exists(conn, current):
        missing.append(current)
        current = current.split(",", 1)[1] if "," in current else ""
    for item in reversed(missing):
        rdn_value = ldap3.utils.dn.parse_dn(item, escape=False)[0][1]
        # `container` cannot sit under most Exchange classes; the lab's msExchContainer can.
        if not any(
            conn.add(item, attributes={"objectClass": [object_class], "cn": rdn_value})
            for object_class in ("container", "msExchContainer")
        ):
            raise SystemExit(f"load_org: placeholder {item}: {conn.result.get('description')}")
    return len(missing)


def _add(conn: ldap3.Connection, dn: str, values: dict[str, list[bytes | str]]) -> dict[str, object] | None:
    """Add one entry; None when it was added, else the DC's answer (description, message)."""
    if conn.add(dn, attributes=values):
        return None
    return dict(conn.result)


def _descriptor_refused(failure: dict[str, object]) -> bool:
    """Samba's answer to a descriptor it cannot parse: operationsError from its descriptor module."""
    return failure.get("description") == "operationsError" and "descriptor" in str(failure.get("message"))


def load(conn: ldap3.Connection, entries: Iterable[Entry]) -> tuple[int, int]:
    """Add entries parents first, then their DN-valued attributes; returns (added, already there).

    DN values go in a second pass because AD refuses a reference to an object not yet there, and
    an export lists objects in tree order, not in reference order. Stops at the first real failure.
    """
    attributes, classes, dn_syntax = schema_names(conn)
    ordered = sorted(entries, key=lambda e: _depth(e[0]))
    descriptors = lab_descriptors(conn, ordered)
    dropped: Counter[str] = Counter()
    added = existing = placeholders = 0
    references: list[tuple[str, dict[str, list[bytes | str]]]] = []
    refused: list[str] = []
    for entry in ordered:
        dn = entry[0]
        values = prepare(entry, attributes, classes, dropped)
        if dn.lower() in descriptors:
            values["nTSecurityDescriptor"] = [descriptors[dn.lower()]]
        later = {name: values.pop(name) for name in list(values) if name.lower() in dn_syntax}
        failure = _add(conn, dn, values)
        # Partition roots and system containers answer with a referral or "system-only" rather
        # than "exists"; whatever the answer, an entry that is there already is skipped. AD also
        # answers entryAlreadyExists for a clash of sAMAccountName under another DN: not skipped.
        if failure and _exists(conn, dn):
            existing += 1
            continue
        if failure and _descriptor_refused(failure) and "nTSecurityDescriptor" in values:
            # Samba's descriptor module cannot parse it (an export cut short, say): AD would not
            # store it either. The entry loads with the DC's default descriptor instead, said below.
            del values["nTSecurityDescriptor"]
            refused.append(f"{dn}: {failure.get('description')} {failure.get('message')}")
            failure = _add(conn, dn, values)
        missing = re.search(r"mandatory attribute \('([^']+)'\)", str((failure or {}).get("message")))
        if failure and failure.get("description") == "objectClassViolation" and missing:
            # The export lacks an attribute this schema makes mandatory (displayName on an address
            # list): the RDN value stands in.
            values[missing.group(1)] = [ldap3.utils.dn.parse_dn(dn, escape=False)[0][1]]
            dropped[f"filled {missing.group(1)}"] += 1
            failure = _add(conn, dn, values)
        if (
            failure
            and failure.get("description") == "objectClassViolation"
            and len(values.get("objectClass", [])) > 1
        ):
            # A chain the lab schema spells differently: let the DC derive it from the most derived class.
            values["objectClass"] = values["objectClass"][-1:]
            failure = _add(conn, dn, values)
        if failure:
            raise SystemExit(f"load_org: add {dn}: {failure.get('description')} {failure.get('message')}")
        added += 1
        if later:
            references.append((dn, later))
    for dn, later in references:
        for value in (str(v) for vals in later.values() for v in vals):
            if not _exists(conn, value):
                placeholders += _placeholders(conn, value)
        changes = {name: [(ldap3.MODIFY_REPLACE, vals)] for name, vals in later.items()}
        if not conn.modify(dn, changes):
            raise SystemExit(
                f"load_org: set references of {dn}: {conn.result.get('description')} "
                f"{conn.result.get('message')}"
            )
    if dropped:
        listed = ", ".join(f"{name} ({count})" for name, count in sorted(dropped.items()))
        print(f"load_org: adjusted for the lab schema: {listed}", file=sys.stderr)
    if placeholders:
        print(f"load_org: {placeholders} placeholder containers for dangling references", file=sys.stderr)
    for line in refused:
        print(
            f"load_org: descriptor refused by the DC, loaded with the DC's default: {line}", file=sys.stderr
        )
    return added, existing


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_connection_arguments(parser)
    parser.add_argument("ldif", nargs="+", type=Path)
    args = parser.parse_args()
    started = time.monotonic()
    conn = connect(args)
    added, existing = load(conn, read_entries(args.ldif))
    conn.unbind()
    print(f"load_org: {added} added, {existing} already there, {time.monotonic() - started:.1f} s")


if __name__ == "__main__":
    main()
