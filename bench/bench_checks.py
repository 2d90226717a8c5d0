"""Micro-benchmark: Snapshot.from_records and every check over 100,000 synthetic recipients.

Checks must stay linear (indexes on Snapshot, no scan of all recipients per subject); this prints
how long each one takes so a regression shows as a number, not a hunch.

    .venv/bin/python bench/bench_checks.py [RECIPIENTS]
"""

from __future__ import annotations

import base64
import sys
import time
import uuid
from collections.abc import Iterator

from auditor.families.exchange.adapter import EAP_POLICY_GUID
from auditor.model import Snapshot
from auditor.records import ObjectKind, ObjectRecord, SourceInfo
from auditor.registry import SkipCheck, Status, discover_checks

ORG = "CN=Contoso,CN=Microsoft Exchange,CN=Services,CN=Configuration,DC=contoso,DC=com"
AG = f"CN=First Administrative Group,CN=Administrative Groups,{ORG}"
STORE = f"CN=Mailbox Store (EX01),CN=First Storage Group,CN=InformationStore,CN=EX01,CN=Servers,{AG}"
POP_SERVERS = 4


def _record(kind: ObjectKind, dn: str, key: str, **attrs: tuple[str, ...]) -> ObjectRecord:
    return ObjectRecord(kind=kind, key=key, dn=dn, attributes=attrs)


def organization() -> Iterator[ObjectRecord]:
    option = base64.b64encode(uuid.UUID(EAP_POLICY_GUID).bytes_le).decode()
    yield _record(
        ObjectKind.RECIPIENT_POLICY,
        f"CN=Default Policy,CN=Recipient Policies,{ORG}",
        "policy",
        cn=("Default Policy",),
        gatewayProxy=("SMTP:@contoso.com", *(f"smtp:@pop{n}.contoso.com" for n in range(POP_SERVERS))),
        msExchNonAuthoritativeDomains=tuple(f"smtp:@pop{n}.contoso.com" for n in range(POP_SERVERS)),
        msExchPolicyOptionList=(option,),
    )
    yield _record(ObjectKind.EXCHANGE_SERVER, f"CN=EX01,CN=Servers,{AG}", "ex01", cn=("EX01",))
    yield _record(ObjectKind.MAILBOX_STORE, STORE, "store", cn=("Mailbox Store (EX01)",))
    yield _record(
        ObjectKind.SMTP_VIRTUAL_SERVER, f"CN=1,CN=SMTP,CN=Protocols,CN=EX01,CN=Servers,{AG}", "vs", cn=("1",)
    )
    for n in range(POP_SERVERS):
        name = f"POP{n:02d}"
        yield _record(
            ObjectKind.SMTP_CONNECTOR,
            f"CN=To {name},CN=Connections,CN=First Routing Group,CN=Routing Groups,{AG}",
            f"connector-{n}",
            cn=(f"To {name}",),
            routingList=(f"SMTP:pop{n}.contoso.com;1",),
            msExchSmtpSmartHost=(f"[10.0.0.{20 + n}]",),
        )
        yield _record(
            ObjectKind.POP3_SERVER,
            name,
            f"pop3:{name}",
            name=(name,),
            addresses=(f"10.0.0.{20 + n}",),
            exportFiles=("MetaBase.xml", "winpop-list.txt"),
            SmartHost=("EX01",),
            SmartHostType=("2",),
            AuthFlags=("6",),
        )
        yield _record(
            ObjectKind.POP3_DOMAIN,
            f"{name}/pop{n}.contoso.com",
            f"pop3:{name}/d",
            server=(name,),
            domain=(f"pop{n}.contoso.com",),
            source=("winpop",),
        )


def recipients(count: int) -> Iterator[ObjectRecord]:
    """Two thirds Exchange mailboxes, one third POP3 users (each with a POP3 mailbox record)."""
    for i in range(count):
        name = f"user{i:06d}"
        dn = f"CN={name},OU=Users,DC=contoso,DC=com"
        common = {
            "objectClass": ("top", "person", "organizationalPerson", "user"),
            "cn": (name,),
            "sAMAccountName": (name,),
            "userAccountControl": ("512",),
            "mailNickname": (name,),
            "mail": (f"{name}@contoso.com",),
            "legacyExchangeDN": (f"/o=Contoso/ou=First Administrative Group/cn=Recipients/cn={name}",),
        }
        if i % 3:
            yield ObjectRecord(
                ObjectKind.USER,
                f"guid-{i}",
                dn,
                {**common, "homeMDB": (STORE,), "proxyAddresses": (f"SMTP:{name}@contoso.com",)},
            )
            continue
        n = i % POP_SERVERS
        pop_address = f"{name}@pop{n}.contoso.com"
        yield ObjectRecord(
            ObjectKind.USER,
            f"guid-{i}",
            dn,
            {
                **common,
                "targetAddress": (f"SMTP:{pop_address}",),
                "proxyAddresses": (f"SMTP:{name}@contoso.com", f"smtp:{pop_address}"),
            },
        )
        yield ObjectRecord(
            ObjectKind.POP3_MAILBOX,
            f"pop3:POP{n:02d}/{pop_address}",
            f"POP{n:02d}/{pop_address}",
            {"server": (f"POP{n:02d}",), "domain": (f"pop{n}.contoso.com",), "mailbox": (name,)},
        )


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    coverage = {"domain", "configuration"}
    for n in range(POP_SERVERS):
        coverage |= {f"pop3:POP{n:02d}", f"pop3:POP{n:02d}:MetaBase.xml", f"pop3:POP{n:02d}:winpop-list.txt"}
    records = [*organization(), *recipients(count)]
    source = SourceInfo(
        name="bench", kind="synthetic", complete=True, objects=len(records), coverage=coverage
    )

    started = time.perf_counter()
    snap = Snapshot.from_records(records, [source])
    build = time.perf_counter() - started
    print(f"{count:,} recipients, {len(records):,} records")
    print(f"{'Snapshot.from_records':<24} {build:8.3f} s")

    total = 0.0
    for spec in discover_checks():
        started = time.perf_counter()
        try:
            findings = list(spec.run(snap))
            summary = f"{len(findings):>7,} findings, {sum(f.status is not Status.PASS for f in findings):,} not passing"
        except SkipCheck as exc:
            summary = f"skipped: {exc}"
        elapsed = time.perf_counter() - started
        total += elapsed
        print(f"{spec.id:<24} {elapsed:8.3f} s   {summary}")
    print(f"{'all checks':<24} {total:8.3f} s   ({total / max(count, 1) * 1e6:.1f} µs per recipient)")


if __name__ == "__main__":
    main()
