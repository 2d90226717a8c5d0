"""Load a large ldifde-style export into a *stopped* lab DC, writing its sam.ldb with Samba's Python.

    /usr/bin/python3 deploy/lab/bulk_load.py DC_FOLDER export.ldf [more.ldf ...]

Adding 100,000 users over LDAP slows down as the directory grows (about half an hour); writing into
the stopped DC's database with Samba's own bindings (`samba.samdb.SamDB`, batched transactions,
no fsync) holds a few hundred users per second all the way: about five minutes. Run it with the
Python that has Samba's bindings (Debian's /usr/bin/python3, package python3-samba), not the
project's virtualenv; the LDIF grammar is the project's own (auditor.collect.ldif, standard
library only), so the files are read exactly as LdifSource reads them.

What the DC maintains itself (objectGUID, objectSid, USNs, timestamps, memberOf, ...) is dropped,
and so is what the lab schema does not define (listed at the end). Missing parents and DN-valued
references that point at objects the export does not hold get plain placeholder containers, as
deploy/lab/load_org.py does over LDAP. Users carry no password: auditor never reads one, and
setting one per user costs ten times the load (they are flagged PASSWD_NOTREQD so the DC accepts
an enabled account without one). Lab only; the product never writes to a directory.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

_REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(_REPO))

import ldb  # noqa: E402  (python3-samba)
from samba.auth import system_session  # noqa: E402
from samba.param import LoadParm  # noqa: E402
from samba.samdb import SamDB  # noqa: E402

from auditor.collect.ldif import read_ldif  # noqa: E402

# load_org.py's list plus nTSecurityDescriptor and lockoutTime (left to the DC's defaults here).
# A copy, not an import: this script runs under Debian's python3 (python3-samba), which has no
# ldap3, and load_org.py needs it.
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
        "nTSecurityDescriptor",
        "replPropertyMetaData",
        "accountExpires",
        "codePage",
        "countryCode",
        "msDS-KeyVersionNumber",
        "unicodePwd",
        "lockoutTime",
    )
)
BATCH = 1000
UF_PASSWD_NOTREQD = 0x20
# Binary attributes of a full export: kept as bytes (everything else is UTF-8 text).
BINARY = frozenset(
    name.lower()
    for name in (
        "objectGUID",
        "objectSid",
        "msExchMailboxGuid",
        "msExchMailboxSecurityDescriptor",
        "msExchSmtpRelayIpList",
        "msExchPolicyOptionList",
        "logonHours",
        "userCertificate",
        "thumbnailPhoto",
        "jpegPhoto",
        "userParameters",
    )
)


def open_samdb(folder: Path) -> SamDB:
    lp = LoadParm()
    lp.load(str(folder / "etc" / "smb.conf"))
    # batch_mode: no nested sub-transaction per operation. Without it each add copies the index
    # lists it touches (objectClass=user, the parent's one-level index, ...), which grow with every
    # user: the load slows from 120/s to under 30/s by 10,000 users. A failed add aborts the batch.
    return SamDB(
        url=str(folder / "private" / "sam.ldb"),
        session_info=system_session(),
        lp=lp,
        flags=ldb.FLG_NOSYNC,
        options=["batch_mode:1"],
    )


def schema_names(samdb: SamDB) -> tuple[dict[str, str], set[str], set[str]]:
    """(attribute lower-case name -> spelling, class names lower-case, DN-syntax attribute names)."""
    attributes: dict[str, str] = {}
    classes: set[str] = set()
    dn_syntax: set[str] = set()
    for message in samdb.search(
        samdb.get_schema_basedn(),
        scope=ldb.SCOPE_ONELEVEL,
        expression="(|(objectClass=attributeSchema)(objectClass=classSchema))",
        attrs=["lDAPDisplayName", "objectClass", "attributeSyntax"],
    ):
        name = str(message["lDAPDisplayName"][0])
        kinds = {str(value).lower() for value in message["objectClass"]}
        if "classschema" in kinds:
            classes.add(name.lower())
        else:
            attributes[name.lower()] = name
            if "attributeSyntax" in message and str(message["attributeSyntax"][0]) == "2.5.5.1":
                dn_syntax.add(name.lower())
    return attributes, classes, dn_syntax


def entries(paths: list[Path]) -> Iterator[tuple[str, dict[str, list[bytes | str]]]]:
    for path in paths:
        for entry in read_ldif(path, binary=BINARY):
            yield entry.dn, {name: list(values) for name, values in entry.attributes.items()}


class Loader:
    def __init__(self, samdb: SamDB) -> None:
        self.samdb = samdb
        self.attributes, self.classes, self.dn_syntax = schema_names(samdb)
        self.dropped: Counter[str] = Counter()
        self.known: set[str] = set()
        self.added = self.placeholders = self.existing = 0

    def exists(self, dn: str) -> bool:
        key = dn.lower()
        if key in self.known:
            return True
        try:
            found = self.samdb.search(base=dn, scope=ldb.SCOPE_BASE, attrs=["1.1"])
        except ldb.LdbError as exc:
            if exc.args[0] == ldb.ERR_NO_SUCH_OBJECT:
                return False
            raise
        if found:
            self.known.add(key)
        return bool(found)

    def placeholder(self, dn: str) -> None:
        """Containers for `dn` and every missing parent, top down (an OU for `OU=`, else a container).

        Never an add that may fail: in batch mode a failed operation spoils the whole transaction.
        """
        missing: list[str] = []
        current = dn
        while current and not self.exists(current):
            missing.append(current)
            current = str(ldb.Dn(self.samdb, current).parent()) if "," in current else ""
        for item in reversed(missing):
            parsed = ldb.Dn(self.samdb, item)
            if parsed.get_rdn_name().lower() == "ou":
                self.samdb.add(
                    {"dn": item, "objectClass": "organizationalUnit", "ou": parsed.get_rdn_value()}
                )
            else:
                self.samdb.add({"dn": item, "objectClass": "container", "cn": parsed.get_rdn_value()})
            self.known.add(item.lower())
            self.placeholders += 1

    def prepare(self, dn: str, values: dict[str, list[bytes | str]]) -> dict[str, object]:
        message: dict[str, object] = {"dn": dn}
        for name, vals in values.items():
            base = name.split(";", 1)[0].lower()
            if base in SERVER_MAINTAINED:
                continue
            spelled = self.attributes.get(base)
            if spelled is None:
                self.dropped[name.split(";", 1)[0]] += 1
                continue
            if base == "objectclass":
                vals = [v for v in vals if str(v).lower() in self.classes]
            if base in self.dn_syntax:
                for value in vals:
                    if not self.exists(str(value)):
                        self.placeholder(str(value))
            message[spelled] = vals
        classes = {str(v).lower() for v in values.get("objectClass", [])}
        if "user" in classes and "computer" not in classes and "userAccountControl" in message:
            flags = int(str(message["userAccountControl"][0]))  # type: ignore[index]
            message["userAccountControl"] = [str(flags | UF_PASSWD_NOTREQD)]
        return message

    def add(self, dn: str, values: dict[str, list[bytes | str]]) -> None:
        parent = str(ldb.Dn(self.samdb, dn).parent())
        if not self.exists(parent):
            self.placeholder(parent)
        if self.exists(dn):
            self.existing += 1
            return
        message = self.prepare(dn, values)
        try:
            self.samdb.add(message)
        except ldb.LdbError as exc:
            raise SystemExit(f"bulk_load: add {dn}: {exc.args[1]}") from None
        self.known.add(dn.lower())
        self.added += 1


def main() -> None:
    if len(sys.argv) < 3:
        raise SystemExit(__doc__.strip().splitlines()[2])
    folder = Path(sys.argv[1])
    paths = [Path(p) for p in sys.argv[2:]]
    started = time.monotonic()
    samdb = open_samdb(folder)
    loader = Loader(samdb)
    # Configuration first (what users point at), parents before children within each file.
    ordered = sorted(paths, key=lambda p: 0 if "config" in p.name.lower() else 1)
    samdb.transaction_start()
    try:
        for count, (dn, values) in enumerate(entries(ordered), start=1):
            loader.add(dn, values)
            if count % BATCH == 0:
                samdb.transaction_commit()
                samdb.transaction_start()
                if count % (BATCH * 10) == 0:
                    rate = count / (time.monotonic() - started)
                    print(f"bulk_load: {count:,} entries, {rate:,.0f}/s", file=sys.stderr, flush=True)
        samdb.transaction_commit()
    except BaseException:
        samdb.transaction_cancel()
        raise
    if loader.dropped:
        listed = ", ".join(f"{name} ({count})" for name, count in sorted(loader.dropped.items()))
        print(f"bulk_load: not in the lab schema, dropped: {listed}", file=sys.stderr)
    seconds = time.monotonic() - started
    print(
        f"bulk_load: {loader.added:,} added, {loader.existing:,} already there, "
        f"{loader.placeholders} placeholders, {seconds:.0f} s ({loader.added / max(seconds, 1e-9):,.0f}/s)"
    )


if __name__ == "__main__":
    main()
