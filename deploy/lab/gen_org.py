"""Generate ldifde-style LDIF of many recipients (mailbox users, POP3 mail users, contacts).

For the LDAP tests (a few hundred, so paged reads cross several pages) and the benchmark (20,000).
Deterministic: the same arguments give the same file. Written with auditor's own LDIF writer
(auditor.collect.ldif_writer), so the lab reads the format auditor writes.

    gen_org.py --count 300 --out recipients.ldf [--ou "OU=Generated,DC=contoso,DC=com"]
               [--many-proxies 1600]   # one extra user carrying that many proxyAddresses
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path

_REPO = Path(__file__).resolve().parents[2]
if str(_REPO) not in sys.path:
    sys.path.insert(0, str(_REPO))
from auditor.collect.ldif_writer import ldif_record  # noqa: E402

DOMAIN_DN = "DC=contoso,DC=com"
ORG_DN = "CN=Contoso,CN=Microsoft Exchange,CN=Services,CN=Configuration,DC=contoso,DC=com"


def _record(dn: str, pairs: list[tuple[str, str]]) -> Iterator[str]:
    yield from ldif_record(dn, pairs)


def recipient(index: int, ou: str) -> Iterator[str]:
    """Mailbox user, POP3 mail-enabled user, or contact, in turn."""
    nick = f"gen{index:05d}"
    person = [("objectClass", v) for v in ("top", "person", "organizationalPerson")]
    if index % 3 == 2:
        yield from _record(
            f"CN=Gen Contact {index:05d},{ou}",
            [
                *person,
                ("objectClass", "contact"),
                ("cn", f"Gen Contact {index:05d}"),
                ("displayName", nick),
                ("mailNickname", nick),
                ("mail", f"{nick}@pop.contoso.com"),
                ("proxyAddresses", f"SMTP:{nick}@pop.contoso.com"),
                ("targetAddress", f"SMTP:{nick}@pop.contoso.com"),
            ],
        )
        return
    pairs = [
        *person,
        ("objectClass", "user"),
        ("cn", f"Gen User {index:05d}"),
        ("displayName", f"Gen User {index:05d}"),
        ("sAMAccountName", nick),
        ("userPrincipalName", f"{nick}@contoso.com"),
        ("userAccountControl", "512"),
        ("mailNickname", nick),
        ("mail", f"{nick}@contoso.com"),
        ("proxyAddresses", f"SMTP:{nick}@contoso.com"),
        ("proxyAddresses", f"smtp:{nick}@mail.contoso.com"),
        ("legacyExchangeDN", f"/o=Contoso/ou=First Administrative Group/cn=Recipients/cn={nick}"),
    ]
    if index % 3 == 0:
        pairs += [
            (
                "msExchHomeServerName",
                "/o=Contoso/ou=First Administrative Group/cn=Configuration/cn=Servers/cn=EX01",
            )
        ]
    else:
        pairs += [
            ("proxyAddresses", f"smtp:{nick}@pop.contoso.com"),
            ("targetAddress", f"SMTP:{nick}@pop.contoso.com"),
        ]
    yield from _record(f"CN=Gen User {index:05d},{ou}", pairs)


def many_proxies(count: int, ou: str) -> Iterator[str]:
    """One user with `count` proxyAddresses (more than AD's MaxValRange of 1,500)."""
    pairs = [("objectClass", v) for v in ("top", "person", "organizationalPerson", "user")]
    pairs += [
        ("cn", "Many Proxies"),
        ("sAMAccountName", "manyproxies"),
        ("userAccountControl", "514"),
        ("mailNickname", "manyproxies"),
        ("mail", "many@contoso.com"),
        ("proxyAddresses", "SMTP:many@contoso.com"),
    ]
    pairs += [("proxyAddresses", f"smtp:many{i:05d}@contoso.com") for i in range(1, count)]
    yield from _record(f"CN=Many Proxies,{ou}", pairs)


def generate(count: int, ou: str, proxies: int = 0) -> Iterator[str]:
    ou_name = ou.split(",", 1)[0].split("=", 1)[1]
    yield from _record(ou, [("objectClass", "top"), ("objectClass", "organizationalUnit"), ("ou", ou_name)])
    for index in range(count):
        yield from recipient(index, ou)
    if proxies:
        yield from many_proxies(proxies, ou)


def write(path: Path, count: int, ou: str = f"OU=Generated,{DOMAIN_DN}", proxies: int = 0) -> Path:
    with path.open("w", encoding="utf-8", newline="\r\n") as handle:
        for line in generate(count, ou, proxies):
            handle.write(line + "\n")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--ou", default=f"OU=Generated,{DOMAIN_DN}")
    parser.add_argument("--many-proxies", type=int, default=0)
    args = parser.parse_args()
    write(args.out, args.count, args.ou, args.many_proxies)


if __name__ == "__main__":
    main()
