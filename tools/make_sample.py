"""Writes the bundled sample organization: made-up Contoso data that exercises every check.

Run `.venv/bin/python tools/make_sample.py` (or `make sample-data`) to rewrite the data files in
auditor/sample/. The generator is a development tool and is not installed with auditor: the wheel
ships the data it writes, never this file (tests/sample/test_packaging.py). The output is
deterministic (GUIDs are name-based, timestamps count up from a fixed date), so a re-run changes
nothing unless this file changed, and the diff of the data files is the review of the change.

The data is generated, not typed by hand, because the files must look the way Windows tools write
them: `ldifde` exports (CRLF, `changetype: add`, base64 for binary and non-ASCII values, long lines
folded), `reg export` (UTF-16LE with BOM, `hex(7)` lines wrapped like regedit does), `winpop`
output redirected to a file (CRLF, and CR CR LF on POP02) and IIS 6 `MetaBase.xml` (tabs,
`Location ="..."`). Every deliberate misconfiguration is listed in README.md beside this file.
"""

from __future__ import annotations

import codecs
import ipaddress
import struct
import unicodedata
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from auditor.collect.ldif_writer import LdifValue, ldif_bytes

__all__ = ["Entry", "main", "relay_blob", "write_sample"]

SAMPLE_FOLDER = Path(__file__).resolve().parents[1] / "auditor" / "sample"
# Namespace of the made-up objectGUIDs: uuid5(namespace, lower-case DN).
GUID_NAMESPACE = uuid.UUID("6f1c2a10-3b4d-4e5f-8a9b-0c1d2e3f4a5b")

DOMAIN = "DC=contoso,DC=com"
CONFIG = f"CN=Configuration,{DOMAIN}"
SCHEMA = f"CN=Schema,{CONFIG}"
EXCHANGE = f"CN=Microsoft Exchange,CN=Services,{CONFIG}"
ORG = f"CN=Contoso,{EXCHANGE}"
POLICIES = f"CN=Recipient Policies,{ORG}"
ADDRESS_LISTS = f"CN=Address Lists Container,{ORG}"
GAL = f"CN=Default Global Address List,CN=All Global Address Lists,{ADDRESS_LISTS}"
ALL_USERS = f"CN=All Users,CN=All Address Lists,{ADDRESS_LISTS}"
ALL_CONTACTS = f"CN=All Contacts,CN=All Address Lists,{ADDRESS_LISTS}"
AG = f"CN=First Administrative Group,CN=Administrative Groups,{ORG}"
RG = f"CN=First Routing Group,CN=Routing Groups,{AG}"
CONNECTIONS = f"CN=Connections,{RG}"
EX01 = f"CN=EX01,CN=Servers,{AG}"
STORAGE_GROUP = f"CN=First Storage Group,CN=InformationStore,{EX01}"
STORE = f"CN=Mailbox Store (EX01),{STORAGE_GROUP}"
EXECUTIVES_STORE = f"CN=Executives Store (EX01),{STORAGE_GROUP}"
# The store of a server decommissioned in 2006; Oliver Stone's homeMDB still points at it.
GONE_STORE = f"CN=Mailbox Store (EX00),CN=First Storage Group,CN=InformationStore,CN=EX00,CN=Servers,{AG}"
MTA = f"CN=Microsoft MTA,{EX01}"
VS1 = f"CN=1,CN=SMTP,CN=Protocols,{EX01}"
VS2 = f"CN=2,CN=SMTP,CN=Protocols,{EX01}"
VS3 = f"CN=3,CN=SMTP,CN=Protocols,{EX01}"
LEGACY_AG = "/o=Contoso/ou=First Administrative Group"
EX01_LEGACY_DN = f"{LEGACY_AG}/cn=Configuration/cn=Servers/cn=EX01"
EX00_LEGACY_DN = f"{LEGACY_AG}/cn=Configuration/cn=Servers/cn=EX00"

EAP_GUID = uuid.UUID("26491cfc-9e50-4857-861b-0cb8df22b5d7")
MAILBOX_MANAGER_GUID = uuid.UUID("3b6813ec-ce89-42ba-9442-d87d4aa30dbc")
AUTH_SAM = "{14F1665C-E3D3-46AA-884F-ED4CF19D7AD5}"
AUTH_AD = "{EF9D811E-36C5-497F-ADE7-2B36DF172824}"
AUTH_MD5 = "{C395E20C-2236-4AF7-B736-54FAD07DC526}"

EX01_ADDRESS = "10.0.0.10"
POP01_ADDRESS = "10.0.0.25"
POP02_ADDRESS = "10.0.0.26"

Value = LdifValue


def guid(dn: str) -> uuid.UUID:
    return uuid.uuid5(GUID_NAMESPACE, dn.lower())


def policy_included(policy_dn: str) -> str:
    """`msExchPoliciesIncluded` as RUS writes it: the policy's GUID, then the policy type GUID."""
    return f"{{{str(guid(policy_dn)).upper()}}},{{{str(EAP_GUID).upper()}}}"


# -- relay lists -------------------------------------------------------------------------------


def relay_blob(addresses: Sequence[str], *, grant: bool) -> bytes:
    """An IP security list with one /32 group: "only the list below" (grant) or "all except" (deny).

    Built with the layout of auditor/families/iis_relaylist.py (research notes §5.6): four self-relative list
    references, flags 1, header size 0x4C; the grant-only form is byte-identical to the public Salt
    sample and the deny-only form to the KISA "all except" sample.
    """
    self_relative = 0x80000000
    count = len(addresses)
    entry = struct.pack("<5I", 2, count + 1, 4, 0, self_relative | 0x4C)
    if grant:
        refs = (0x18, 0x20, 0x3C, 0x44)
        lists = struct.pack("<2I", 0, 0) + struct.pack("<2I", 1, count) + entry
    else:
        refs = (0x18, 0x34, 0x3C, 0x44)
        lists = struct.pack("<2I", 1, count) + entry + struct.pack("<2I", 0, 0)
    header = struct.pack("<6I", *(self_relative | r for r in refs), 1, 0x4C)
    names = struct.pack("<4I", 0, 0, 0, 0)
    data = b"\xff\xff\xff\xff" + b"".join(ipaddress.IPv4Address(a).packed for a in addresses)
    blob = header + lists + names + data
    assert len(header + lists + names) == 0x4C
    return blob


# -- LDIF entries ------------------------------------------------------------------------------


@dataclass
class Entry:
    """One directory object in export order; values keep their order, several per name allowed."""

    dn: str
    values: list[tuple[str, Value]] = field(default_factory=list)


class _Clock:
    """Deterministic whenCreated / uSN values, counting up in export order."""

    def __init__(self) -> None:
        self.usn = 12000
        self.when = datetime(2005, 3, 14, 9, 0, 0, tzinfo=UTC)

    def tick(self) -> tuple[str, str, str, str]:
        self.usn += 7
        self.when += timedelta(hours=5, minutes=13)
        created = self.when.strftime("%Y%m%d%H%M%S.0Z")
        changed = (self.when + timedelta(days=41)).strftime("%Y%m%d%H%M%S.0Z")
        return created, changed, str(self.usn), str(self.usn + 3)


_CLOCK = _Clock()


def _rdn(dn: str) -> tuple[str, str]:
    first = dn.split(",", 1)[0]
    name, _, value = first.partition("=")
    return name.lower(), value


def make(
    dn: str,
    classes: Sequence[str],
    category: str,
    attributes: Iterable[tuple[str, Value | Sequence[Value] | None]] = (),
    *,
    instance_type: str = "4",
) -> Entry:
    """An entry with the attributes ldifde writes for every object, plus `attributes` (None = absent)."""
    created, changed, usn_created, usn_changed = _CLOCK.tick()
    rdn_name, rdn_value = _rdn(dn)
    values: list[tuple[str, Value]] = [("objectClass", c) for c in classes]
    values.append(({"cn": "cn", "ou": "ou", "dc": "dc"}[rdn_name], rdn_value))
    values += [
        ("distinguishedName", dn),
        ("instanceType", instance_type),
        ("whenCreated", created),
        ("whenChanged", changed),
        ("uSNCreated", usn_created),
    ]
    for name, value in attributes:
        if value is None:
            continue
        if isinstance(value, str | bytes):
            values.append((name, value))
        else:
            values += [(name, v) for v in value]
    values += [
        ("uSNChanged", usn_changed),
        ("name", rdn_value),
        ("objectGUID", guid(dn).bytes_le),
        ("objectCategory", f"CN={category},{SCHEMA}"),
    ]
    return Entry(dn=dn, values=values)


def _ascii(text: str) -> str:
    """X.400 names are printable strings: what RUS makes of `Zoë` or `Søren`."""
    text = text.translate({ord("ø"): "o", ord("Ø"): "O", ord("ß"): "ss"})
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


def _x400(given: str, sn: str) -> str:
    return f"c=US;a= ;p=Contoso;o=Exchange;s={_ascii(sn)};g={_ascii(given)};"


def _protocol_settings(owa: bool) -> bytes:
    """`protocolSettings` with its `§` separators (non-ASCII, so it goes out as base64)."""
    return f"HTTP§{int(owa)}§1§§§§§§".encode()


Overrides = dict[str, Value | Sequence[Value] | None]


def _apply(
    base: list[tuple[str, Value | Sequence[Value] | None]], overrides: Overrides
) -> list[tuple[str, Value | Sequence[Value] | None]]:
    names = {name for name, _ in base}
    result = [(name, overrides.get(name, value)) for name, value in base]
    result += [(name, value) for name, value in overrides.items() if name not in names]
    return result


DEFAULT_POLICY = f"CN=Default Policy,{POLICIES}"
FABRIKAM_POLICY = f"CN=POP3 fabrikam.com,{POLICIES}"
SALES_POP3_POLICY = f"CN=POP3 sales.contoso.com,{POLICIES}"
SALES_POLICY = f"CN=Sales,{POLICIES}"
MAILBOX_CLEANUP = f"CN=Mailbox Cleanup,{POLICIES}"


def mailbox_user(
    cn: str,
    given: str,
    sn: str,
    sam: str,
    alias: str,
    *,
    ou: str = "OU=Staff",
    store: str = STORE,
    policy: str = DEFAULT_POLICY,
    extra: Overrides | None = None,
    **overrides: Value | Sequence[Value] | None,
) -> Entry:
    """An Exchange 2003 mailbox user as the Task Wizard and RUS leave it (`extra`: more overrides)."""
    dn = f"CN={cn},{ou},{DOMAIN}"
    mail = f"{alias}@contoso.com"
    base: list[tuple[str, Value | Sequence[Value] | None]] = [
        ("sn", sn),
        ("givenName", given),
        ("displayName", cn),
        ("proxyAddresses", [f"SMTP:{mail}", f"X400:{_x400(given, sn)}"]),
        ("homeMTA", MTA),
        ("userAccountControl", "512"),
        ("sAMAccountName", sam),
        ("userPrincipalName", f"{sam}@contoso.com"),
        ("mail", mail),
        ("mailNickname", alias),
        ("legacyExchangeDN", f"{LEGACY_AG}/cn=Recipients/cn={alias}"),
        ("textEncodedORAddress", _x400(given, sn)),
        ("homeMDB", store),
        ("msExchHomeServerName", EX01_LEGACY_DN),
        ("mDBUseDefaults", "TRUE"),
        ("msExchMailboxGuid", uuid.uuid5(GUID_NAMESPACE, "mailbox:" + alias).bytes_le),
        ("msExchPoliciesIncluded", policy_included(policy)),
        ("showInAddressBook", [GAL, ALL_USERS]),
    ]
    merged = {**(extra or {}), **overrides}
    return make(dn, ("top", "person", "organizationalPerson", "user"), "Person", _apply(base, merged))


def pop3_user(
    cn: str,
    given: str,
    sn: str,
    sam: str,
    mailbox: str,
    pop_domain: str,
    *,
    alias: str | None = None,
    policy: str = DEFAULT_POLICY,
    **overrides: Value | Sequence[Value] | None,
) -> Entry:
    """A POP3 user mail-enabled the way the coexistence paper asks: external address in the POP3 domain."""
    alias = alias or mailbox
    dn = f"CN={cn},OU=POP3,{DOMAIN}"
    mail = f"{alias}@contoso.com"
    target = f"{mailbox}@{pop_domain}"
    base: list[tuple[str, Value | Sequence[Value] | None]] = [
        ("sn", sn),
        ("givenName", given),
        ("displayName", cn),
        ("targetAddress", f"SMTP:{target}"),
        ("proxyAddresses", [f"SMTP:{mail}", f"smtp:{target}", f"X400:{_x400(given, sn)}"]),
        ("userAccountControl", "512"),
        ("sAMAccountName", sam),
        ("userPrincipalName", f"{sam}@contoso.com"),
        ("mail", mail),
        ("mailNickname", alias),
        ("legacyExchangeDN", f"{LEGACY_AG}/cn=Recipients/cn={alias}"),
        ("textEncodedORAddress", _x400(given, sn)),
        ("internetEncoding", "1310720"),
        ("msExchPoliciesIncluded", policy_included(policy)),
        ("showInAddressBook", [GAL, ALL_USERS]),
    ]
    return make(
        dn, ("top", "person", "organizationalPerson", "user"), "Person", _apply(base, dict(overrides))
    )


def contact(
    cn: str,
    given: str,
    sn: str,
    alias: str,
    external: str,
    *,
    ou: str = "OU=Contacts",
    **overrides: Value | Sequence[Value] | None,
) -> Entry:
    """A mail-enabled contact: mail goes to its external `targetAddress`."""
    dn = f"CN={cn},{ou},{DOMAIN}"
    base: list[tuple[str, Value | Sequence[Value] | None]] = [
        ("sn", sn),
        ("givenName", given),
        ("displayName", cn),
        ("targetAddress", f"SMTP:{external}"),
        ("proxyAddresses", [f"SMTP:{external}", f"X400:{_x400(given, sn)}"]),
        ("mail", external),
        ("mailNickname", alias),
        ("legacyExchangeDN", f"{LEGACY_AG}/cn=Recipients/cn={alias}"),
        ("textEncodedORAddress", _x400(given, sn)),
        ("msExchPoliciesIncluded", policy_included(DEFAULT_POLICY)),
        ("showInAddressBook", [GAL, ALL_CONTACTS]),
    ]
    return make(
        dn, ("top", "person", "organizationalPerson", "contact"), "Person", _apply(base, dict(overrides))
    )


def plain_user(
    cn: str, sam: str, *, ou: str = "CN=Users", uac: str = "512", upn: bool = True, **extra: Value | None
) -> Entry:
    """An account with no Exchange attributes at all (built-in accounts have no UPN)."""
    attributes: list[tuple[str, Value | Sequence[Value] | None]] = [
        ("userAccountControl", uac),
        ("sAMAccountName", sam),
        ("userPrincipalName", f"{sam}@contoso.com" if upn else None),
    ]
    attributes += list(extra.items())
    return make(
        f"CN={cn},{ou},{DOMAIN}", ("top", "person", "organizationalPerson", "user"), "Person", attributes
    )


def computer(cn: str, ou: str, uac: str, dns_name: str) -> Entry:
    return make(
        f"CN={cn},{ou},{DOMAIN}",
        ("top", "person", "organizationalPerson", "user", "computer"),
        "Computer",
        [
            ("userAccountControl", uac),
            ("sAMAccountName", f"{cn}$"),
            ("dNSHostName", dns_name),
            ("operatingSystem", "Windows Server 2003"),
            ("operatingSystemServicePack", "Service Pack 2"),
        ],
    )


def container(dn: str, classes: Sequence[str] = ("top", "container"), category: str = "Container") -> Entry:
    return make(dn, classes, category)


def ou(dn: str) -> Entry:
    return make(dn, ("top", "organizationalUnit"), "Organizational-Unit")


# -- the domain partition ----------------------------------------------------------------------


def domain_entries() -> list[Entry]:
    """Domain partition: containers first (as an export walks the tree), then the recipients."""
    entries = [
        make(DOMAIN, ("top", "domain", "domainDNS"), "Domain-DNS", instance_type="5"),
        container(f"CN=Users,{DOMAIN}"),
        container(f"CN=Computers,{DOMAIN}"),
        ou(f"OU=Domain Controllers,{DOMAIN}"),
        ou(f"OU=Staff,{DOMAIN}"),
        ou(f"OU=Resources,{DOMAIN}"),
        ou(f"OU=POP3,{DOMAIN}"),
        ou(f"OU=Contacts,{DOMAIN}"),
        ou(f"OU=Service Accounts,{DOMAIN}"),
    ]
    # Accounts without mail: built-ins, service accounts, computers (computers are not recipients).
    entries += [
        # Built-ins as a freshly provisioned DC has them, so a lab DC loaded with this export matches it.
        plain_user(
            "Administrator",
            "Administrator",
            upn=False,
            description="Built-in account for administering the computer/domain",
        ),
        plain_user("Guest", "Guest", uac="66082", upn=False),
        plain_user("krbtgt", "krbtgt", uac="514", upn=False),
        plain_user("svc-backup", "svc-backup", ou="OU=Service Accounts", uac="66048"),
        plain_user("svc-audit", "svc-audit", ou="OU=Service Accounts", uac="66048"),
        computer("DC1", "OU=Domain Controllers", "532480", "dc1.contoso.com"),
        computer("EX01", "CN=Computers", "4096", "ex01.contoso.com"),
        computer("POP01", "CN=Computers", "4096", "pop01.contoso.com"),
        computer("POP02", "CN=Computers", "4096", "pop02.contoso.com"),
    ]
    # Exchange mailbox users (P1). Sales staff get the Sales policy's addresses.
    staff: list[tuple[str, str, str, str, str, Overrides]] = [
        ("Alice Adams", "Alice", "Adams", "alice", "alice", {"protocolSettings": _protocol_settings(True)}),
        ("Andrew Cole", "Andrew", "Cole", "acole", "andrew.cole", {}),
        ("Anna Lee", "Anna", "Lee", "alee", "anna.lee", {}),
        ("Ben Carter", "Ben", "Carter", "bcarter", "ben.carter", {}),
        (
            "Chloe Davis",
            "Chloe",
            "Davis",
            "cdavis",
            "chloe.davis",
            {"protocolSettings": _protocol_settings(True)},
        ),
        ("Daniel Evans", "Daniel", "Evans", "devans", "daniel.evans", {"homeMDB": EXECUTIVES_STORE}),
        ("Emma Foster", "Emma", "Foster", "efoster", "emma.foster", {"homeMDB": EXECUTIVES_STORE}),
        ("George Hill", "George", "Hill", "ghill", "george.hill", {}),
        ("Hannah Irwin", "Hannah", "Irwin", "hirwin", "hannah.irwin", {}),
        ("Ian Jones", "Ian", "Jones", "ijones", "ian.jones", {"protocolSettings": _protocol_settings(False)}),
        ("Mark Nolan", "Mark", "Nolan", "mnolan", "mark.nolan", {}),
        ("Nina Owens", "Nina", "Owens", "nowens", "nina.owens", {}),
        ("Oscar Perez", "Oscar", "Perez", "operez", "oscar.perez", {}),
        ("Paula Quinn", "Paula", "Quinn", "pquinn", "paula.quinn", {}),
        ("Ryan Scott", "Ryan", "Scott", "rscott", "ryan.scott", {}),
        ("Zoë Müller", "Zoë", "Müller", "zmuller", "zoe.muller", {}),
        ("José Núñez", "José", "Núñez", "jnunez", "jose.nunez", {}),
    ]
    for cn, given, sn, sam, alias, extra in staff:
        entries.append(mailbox_user(cn, given, sn, sam, alias, extra=extra))
    for cn, given, sn, sam, alias in (
        ("Julia King", "Julia", "King", "jking", "julia.king"),
        ("Kevin Lopez", "Kevin", "Lopez", "klopez", "kevin.lopez"),
    ):
        entries.append(
            mailbox_user(
                cn,
                given,
                sn,
                sam,
                alias,
                policy=SALES_POLICY,
                department="Sales",
                proxyAddresses=[
                    f"SMTP:{alias}@contoso.com",
                    f"smtp:{alias}@sales.contoso.com",
                    f"X400:{_x400(given, sn)}",
                ],
            )
        )
    # Deliberate faults on mailbox users (README.md lists them).
    entries += [
        # COEX-903: two primary SMTP addresses; COEX-902: also claims Anna Lee's address.
        mailbox_user(
            "Frank Fox",
            "Frank",
            "Fox",
            "ffox",
            "frank.fox",
            proxyAddresses=[
                "SMTP:frank.fox@contoso.com",
                "SMTP:f.fox@contoso.com",
                "smtp:anna.lee@contoso.com",
                f"X400:{_x400('Frank', 'Fox')}",
            ],
        ),
        # COEX-903: renamed; the primary moved to the new name but `mail` still holds the old one.
        mailbox_user(
            "Laura Martin",
            "Laura",
            "Martin",
            "lmartin",
            "laura.martin",
            proxyAddresses=[
                "SMTP:laura.hill@contoso.com",
                "smtp:laura.martin@contoso.com",
                f"X400:{_x400('Laura', 'Hill')}",
            ],
        ),
        # COEX-101: homeMDB points at the store of a server that no longer exists.
        mailbox_user(
            "Oliver Stone",
            "Oliver",
            "Stone",
            "ostone",
            "oliver.stone",
            homeMDB=GONE_STORE,
            msExchHomeServerName=EX00_LEGACY_DN,
        ),
        # COEX-101: mailbox created by a script; RUS never stamped it (no legacyExchangeDN, no address).
        mailbox_user(
            "Rita Vogel",
            "Rita",
            "Vogel",
            "rvogel",
            "rita.vogel",
            proxyAddresses=None,
            mail=None,
            legacyExchangeDN=None,
            textEncodedORAddress=None,
            showInAddressBook=None,
            msExchPoliciesIncluded=None,
        ),
        # COEX-101: moved from POP3 to Exchange, but the primary address stayed in the POP3 domain.
        mailbox_user(
            "Wes Ortiz",
            "Wes",
            "Ortiz",
            "wortiz",
            "wes.ortiz",
            mail="wes.ortiz@pop.contoso.com",
            proxyAddresses=[
                "SMTP:wes.ortiz@pop.contoso.com",
                "smtp:wes.ortiz@contoso.com",
                f"X400:{_x400('Wes', 'Ortiz')}",
            ],
        ),
        # COEX-401: got an Exchange mailbox, but her old POP3 mailbox `tina` is still on POP01.
        mailbox_user("Tina Brooks", "Tina", "Brooks", "tina", "tina.brooks"),
    ]
    # Resource mailboxes: disabled accounts, hidden on purpose (not POP3 users: no finding).
    for cn, alias in (("Conference Room A", "room.a"), ("Conference Room B", "room.b")):
        entries.append(
            mailbox_user(
                cn,
                "",
                cn,
                alias.replace(".", ""),
                alias,
                ou="OU=Resources",
                givenName=None,
                userAccountControl="514",
                msExchHideFromAddressLists="TRUE",
                showInAddressBook=None,
                proxyAddresses=[
                    f"SMTP:{alias}@contoso.com",
                    f"X400:c=US;a= ;p=Contoso;o=Exchange;s={alias};",
                ],
                textEncodedORAddress=f"c=US;a= ;p=Contoso;o=Exchange;s={alias};",
            )
        )
    # POP3 users on POP01, POP3 domain pop.contoso.com (P2, P4).
    for cn, given, sn, sam in (
        ("Bob Brown", "Bob", "Brown", "bob"),
        ("Irene Ito", "Irene", "Ito", "irene"),
        ("Jack Jensen", "Jack", "Jensen", "jack"),
        ("Kate Kim", "Kate", "Kim", "kate"),
        ("Liam Lane", "Liam", "Lane", "liam"),
        ("Mia Moss", "Mia", "Moss", "mia"),
        ("Noah Nash", "Noah", "Nash", "noah"),
        ("Olivia Ortega", "Olivia", "Ortega", "olivia"),
        ("Peter Price", "Peter", "Price", "peter"),
    ):
        entries.append(pop3_user(cn, given, sn, sam, sam, "pop.contoso.com"))
    entries += [
        # COEX-401: has a POP3 mailbox but was never mail-enabled.
        plain_user(
            "Carol Clark", "carol", ou="OU=POP3", givenName="Carol", sn="Clark", displayName="Carol Clark"
        ),
        # COEX-202: disabled; COEX-401 and COEX-404: targetAddress points back into contoso.com.
        pop3_user(
            "Dave Dunn",
            "Dave",
            "Dunn",
            "dave",
            "dave",
            "pop.contoso.com",
            userAccountControl="514",
            targetAddress="SMTP:dave@contoso.com",
            proxyAddresses=["SMTP:dave@contoso.com", f"X400:{_x400('Dave', 'Dunn')}"],
        ),
        # COEX-402: primary address in the AD DNS domain contoso.local, which no mail system accepts.
        pop3_user(
            "Gina Gray",
            "Gina",
            "Gray",
            "gina",
            "gina",
            "pop.contoso.com",
            mail="gina@contoso.local",
            proxyAddresses=[
                "SMTP:gina@contoso.local",
                "smtp:gina@pop.contoso.com",
                f"X400:{_x400('Gina', 'Gray')}",
            ],
        ),
        # COEX-403 (waived in auditor.toml): shared help-desk mailbox, hidden from the GAL on purpose.
        pop3_user(
            "Help Desk",
            "Help",
            "Desk",
            "helpdesk",
            "helpdesk",
            "pop.contoso.com",
            msExchHideFromAddressLists="TRUE",
        ),
        # COEX-403: mail-enabled by a script that copied the addresses but RUS never ran.
        pop3_user(
            "Sam Reed",
            "Sam",
            "Reed",
            "sam",
            "sam",
            "pop.contoso.com",
            legacyExchangeDN=None,
            showInAddressBook=None,
            textEncodedORAddress=None,
            msExchPoliciesIncluded=None,
        ),
        # COEX-202 and COEX-401: a POP3 user created as a contact cannot log on to POP01.
        contact(
            "Erin Evans",
            "Erin",
            "Evans",
            "erin",
            "erin@pop.contoso.com",
            ou="OU=POP3",
            mail="erin@contoso.com",
            proxyAddresses=["SMTP:erin@contoso.com", "smtp:erin@pop.contoso.com"],
        ),
    ]
    # POP3 users on POP02. sales.contoso.com: Exchange also claims it (COEX-301/302/304/404/303).
    for cn, given, sn, sam, mailbox in (
        ("Sven Berg", "Sven", "Berg", "sven", "sven"),
        ("Maria Rossi", "Maria", "Rossi", "mrossi", "maria"),
    ):
        entries.append(
            pop3_user(
                cn,
                given,
                sn,
                sam,
                mailbox,
                "sales.contoso.com",
                alias=mailbox,
                policy=SALES_POP3_POLICY,
                department="Sales",
            )
        )
    # fabrikam.com: POP3 users whose account names differ from their mailbox names.
    for cn, given, sn, sam, mailbox in (
        ("Ola Nordmann", "Ola", "Nordmann", "onordmann", "ola"),
        ("Søren Dahl", "Søren", "Dahl", "sdahl", "soren"),
        ("Pierre Martin", "Pierre", "Martin", "pierre", "pierre"),
    ):
        entries.append(pop3_user(cn, given, sn, sam, mailbox, "fabrikam.com", policy=FABRIKAM_POLICY))
    # Contacts: partners outside the organization.
    entries += [
        contact("Nancy Anderson (Northwind)", "Nancy", "Anderson", "nanderson", "nancy@northwindtraders.com"),
        contact("Terry Adams (Litware)", "Terry", "Adams", "tadams", "terry.adams@litwareinc.com"),
        contact("Jo Brown (Fourth Coffee)", "Jo", "Brown", "jbrown", "jo@fourthcoffee.com"),
        contact("Garth Fort (Wide World)", "Garth", "Fort", "gfort", "garth@wideworldimporters.com"),
        # COEX-404: someone typed the internal address as the contact's external one.
        contact(
            "Kim Akers (Adatum)",
            "Kim",
            "Akers",
            "kakers",
            "kim.akers@adatum.com",
            targetAddress="SMTP:kim.akers@contoso.com",
        ),
    ]
    # A mail-enabled distribution group (a recipient like any other: it holds an SMTP address).
    entries.append(
        make(
            f"CN=All Staff,CN=Users,{DOMAIN}",
            ("top", "group"),
            "Group",
            [
                ("groupType", "8"),
                ("sAMAccountName", "All Staff"),
                ("mail", "allstaff@contoso.com"),
                ("mailNickname", "AllStaff"),
                ("proxyAddresses", "SMTP:allstaff@contoso.com"),
                ("legacyExchangeDN", f"{LEGACY_AG}/cn=Recipients/cn=AllStaff"),
                ("member", [f"CN=Alice Adams,OU=Staff,{DOMAIN}", f"CN=Andrew Cole,OU=Staff,{DOMAIN}"]),
            ],
        )
    )
    # Every kind of mail-enabled object is a recipient (COEX-902, COEX-903, routing): a distribution
    # group whose old address a user still carries (COEX-902), a security group left with two
    # primary addresses (COEX-903), a query-based distribution group and a mail-enabled public folder.
    entries += [
        mailbox_user(
            "Nina Patel",
            "Nina",
            "Patel",
            "npatel",
            "nina.patel",
            proxyAddresses=[
                "SMTP:nina.patel@contoso.com",
                "smtp:sales@contoso.com",
                f"X400:{_x400('Nina', 'Patel')}",
            ],
        ),
        mail_group(
            "Sales Team",
            "SalesTeam",
            "2",
            ["SMTP:sales.team@contoso.com", "smtp:sales@contoso.com"],
            members=[f"CN=Sven Berg,OU=POP3,{DOMAIN}", f"CN=Maria Rossi,OU=POP3,{DOMAIN}"],
        ),
        mail_group(
            "IT Support",
            "ITSupport",
            "-2147483646",
            ["SMTP:it.support@contoso.com", "SMTP:helpdesk.team@contoso.com"],
            members=[f"CN=Andrew Cole,OU=Staff,{DOMAIN}"],
        ),
        make(
            f"CN=Everyone in Sales,CN=Users,{DOMAIN}",
            ("top", "msExchDynamicDistributionList"),
            "ms-Exch-Dynamic-Distribution-List",
            [
                ("displayName", "Everyone in Sales"),
                ("mail", "everyone.sales@contoso.com"),
                ("mailNickname", "EveryoneSales"),
                ("proxyAddresses", "SMTP:everyone.sales@contoso.com"),
                ("legacyExchangeDN", f"{LEGACY_AG}/cn=Recipients/cn=EveryoneSales"),
                ("msExchDynamicDLFilter", "(&(objectCategory=person)(objectClass=user)(department=Sales))"),
                ("msExchDynamicDLBaseDN", DOMAIN),
                ("showInAddressBook", [GAL]),
            ],
        ),
        # A security group without mail: no address, so not a recipient (and not collected).
        make(
            f"CN=Domain Helpers,CN=Users,{DOMAIN}",
            ("top", "group"),
            "Group",
            [("groupType", "-2147483646"), ("sAMAccountName", "Domain Helpers")],
        ),
        container(f"CN=Microsoft Exchange System Objects,{DOMAIN}"),
        make(
            f"CN=Support Inbox,CN=Microsoft Exchange System Objects,{DOMAIN}",
            ("top", "publicFolder"),
            "Public-Folder",
            [
                ("displayName", "Support Inbox"),
                ("mail", "support.inbox@contoso.com"),
                ("mailNickname", "SupportInbox"),
                ("proxyAddresses", ["SMTP:support.inbox@contoso.com", f"X400:{_x400('Support', 'Inbox')}"]),
                ("legacyExchangeDN", f"{LEGACY_AG}/cn=Recipients/cn=SupportInbox"),
                ("showInAddressBook", [GAL]),
            ],
        ),
    ]
    return entries


def mail_group(
    cn: str, alias: str, group_type: str, proxies: Sequence[str], *, members: Sequence[str]
) -> Entry:
    """A mail-enabled group (`groupType` 2: global distribution; -2147483646: global security)."""
    primary = next(p.partition(":")[2] for p in proxies if p.startswith("SMTP:"))
    return make(
        f"CN={cn},CN=Users,{DOMAIN}",
        ("top", "group"),
        "Group",
        [
            ("groupType", group_type),
            ("sAMAccountName", cn),
            ("displayName", cn),
            ("mail", primary),
            ("mailNickname", alias),
            ("proxyAddresses", list(proxies)),
            ("legacyExchangeDN", f"{LEGACY_AG}/cn=Recipients/cn={alias}"),
            ("member", list(members)),
            ("showInAddressBook", [GAL]),
        ],
    )


# -- the Configuration partition ---------------------------------------------------------------


def policy(
    dn: str,
    order: str,
    search: str,
    gateway: Sequence[str],
    non_authoritative: Sequence[str] = (),
    disabled: Sequence[str] = (),
    option: uuid.UUID = EAP_GUID,
) -> Entry:
    return make(
        dn,
        ("top", "msExchGenericPolicy", "msExchRecipientPolicy"),
        "ms-Exch-Recipient-Policy",
        [
            ("gatewayProxy", list(gateway)),
            ("disabledGatewayProxy", list(disabled)),
            ("msExchNonAuthoritativeDomains", list(non_authoritative)),
            ("msExchPolicyOrder", order),
            ("purportedSearch", search),
            ("msExchPolicyOptionList", option.bytes_le),
            ("systemFlags", "1073741824"),
        ],
    )


def connector(name: str, routing: Sequence[str], smart_host: str | None) -> Entry:
    return make(
        f"CN={name},{CONNECTIONS}",
        ("top", "msExchConnector", "mailGateway", "msExchRoutingSMTPConnector"),
        "ms-Exch-Routing-SMTP-Connector",
        [
            ("routingList", list(routing)),
            ("msExchSmtpSmartHost", smart_host),
            ("msExchSourceBridgeheadServersDN", VS1),
            ("msExchSmtpOutboundSecurityFlag", "0"),
            ("deliveryMechanism", "2"),
            ("homeMTA", MTA),
        ],
    )


def virtual_server(dn: str, attributes: Sequence[tuple[str, Value | None]]) -> Entry:
    return make(
        dn,
        ("top", "protocolCfg", "protocolCfgSMTP", "protocolCfgSMTPServer"),
        "Protocol-Cfg-SMTP-Server",
        attributes,
    )


def configuration_entries() -> list[Entry]:
    x400 = "X400:c=US;a= ;p=Contoso;o=Exchange;"
    entries = [
        make(CONFIG, ("top", "configuration"), "Configuration", instance_type="13"),
        container(f"CN=Services,{CONFIG}"),
        container(
            EXCHANGE, ("top", "container", "msExchConfigurationContainer"), "ms-Exch-Configuration-Container"
        ),
        make(
            ORG,
            ("top", "container", "msExchOrganizationContainer"),
            "ms-Exch-Organization-Container",
            [("legacyExchangeDN", "/o=Contoso")],
        ),
        container(ADDRESS_LISTS, ("top", "msExchContainer"), "ms-Exch-Container"),
        container(
            f"CN=All Global Address Lists,{ADDRESS_LISTS}", ("top", "msExchContainer"), "ms-Exch-Container"
        ),
        make(
            GAL,
            ("top", "addressBookContainer"),
            "Address-Book-Container",
            [
                (
                    "purportedSearch",
                    "(& (mailnickname=*) (| (&(objectCategory=person)(objectClass=user)(!(homeMDB=*))"
                    "(!(msExchHomeServerName=*)))(&(objectCategory=person)(objectClass=user)(|(homeMDB=*)"
                    "(msExchHomeServerName=*)))(&(objectCategory=person)(objectClass=contact))"
                    "(objectCategory=group)(objectCategory=publicFolder)(objectCategory=msExchDynamicDistributionList) ))",
                )
            ],
        ),
        container(
            f"CN=All Address Lists,{ADDRESS_LISTS}", ("top", "addressBookContainer"), "Address-Book-Container"
        ),
        make(
            ALL_USERS,
            ("top", "addressBookContainer"),
            "Address-Book-Container",
            [("purportedSearch", "(& (mailnickname=*) (| (&(objectCategory=person)(objectClass=user)) ))")],
        ),
        make(
            ALL_CONTACTS,
            ("top", "addressBookContainer"),
            "Address-Book-Container",
            [
                (
                    "purportedSearch",
                    "(& (mailnickname=*) (| (&(objectCategory=person)(objectClass=contact)) ))",
                )
            ],
        ),
        container(POLICIES, ("top", "msExchRecipientPolicyContainer"), "ms-Exch-Recipient-Policy-Container"),
        # Exchange owns contoso.com; contoso.net was retired (its rule is disabled, not deleted).
        policy(
            DEFAULT_POLICY,
            "2147483647",
            "(mailnickname=*)",
            ["SMTP:@contoso.com", x400],
            disabled=["smtp:@contoso.net"],
        ),
        # fabrikam.com is a POP3 domain (POP02), here non-authoritatively: COEX-302 (waived).
        policy(
            FABRIKAM_POLICY,
            "1",
            "(&(mailnickname=*)(targetAddress=smtp:*@fabrikam.com))",
            ["SMTP:@contoso.com", "smtp:@fabrikam.com", x400],
            non_authoritative=["smtp:@fabrikam.com"],
        ),
        # sales.contoso.com is a POP3 domain (POP02): non-authoritative here ...
        policy(
            SALES_POP3_POLICY,
            "2",
            "(&(mailnickname=*)(targetAddress=smtp:*@sales.contoso.com))",
            ["SMTP:@contoso.com", "smtp:@sales.contoso.com", x400],
            non_authoritative=["smtp:@sales.contoso.com"],
        ),
        # ... but authoritative here: ambiguously non-authoritative, so authoritative (COEX-301/304).
        policy(
            SALES_POLICY,
            "3",
            "(&(mailnickname=*)(department=Sales))",
            ["SMTP:@contoso.com", "smtp:@sales.contoso.com", x400],
        ),
        # A Mailbox Manager policy: same class, no addresses; the model must skip it.
        policy(
            MAILBOX_CLEANUP,
            "1",
            "(mailnickname=*)",
            [],
            option=MAILBOX_MANAGER_GUID,
        ),
        container(
            f"CN=Administrative Groups,{ORG}",
            ("top", "msExchAdminGroupContainer"),
            "ms-Exch-Admin-Group-Container",
        ),
        make(AG, ("top", "msExchAdminGroup"), "ms-Exch-Admin-Group", [("legacyExchangeDN", LEGACY_AG)]),
        container(
            f"CN=Routing Groups,{AG}",
            ("top", "msExchRoutingGroupContainer"),
            "ms-Exch-Routing-Group-Container",
        ),
        container(RG, ("top", "msExchRoutingGroup"), "ms-Exch-Routing-Group"),
        container(CONNECTIONS, ("top", "msExchConnectors"), "ms-Exch-Connectors"),
        # P6: pop.contoso.com to POP01 by IP literal.
        connector("To POP01", ["SMTP:pop.contoso.com;1"], f"[{POP01_ADDRESS}]"),
        # P6: fabrikam.com to POP02 by name.
        connector("To POP02 fabrikam", ["SMTP:fabrikam.com;1"], "pop02.contoso.com"),
        # Everything else: DNS.
        connector("Internet", ["SMTP:*;1"], None),
        # COEX-303: legacy.contoso.com was retired on POP01 but still routed there; POP01 sends it
        # back to its smart host EX01, which routes it to POP01 again: a loop.
        connector("To POP01 legacy", ["SMTP:legacy.contoso.com;10"], "pop01.contoso.com"),
        container(f"CN=Servers,{AG}", ("top", "msExchServersContainer"), "ms-Exch-Servers-Container"),
        make(
            EX01,
            ("top", "server", "msExchExchangeServer"),
            "ms-Exch-Exchange-Server",
            [
                (
                    "networkAddress",
                    [
                        "ncacn_vns_spp:EX01",
                        "netbios:EX01",
                        "ncacn_np:EX01",
                        "ncacn_spx:EX01",
                        "ncacn_ip_tcp:ex01.contoso.com",
                        "ncalrpc:EX01",
                    ],
                ),
                ("serialNumber", "Version 6.5 (Build 7638.2: Service Pack 2)"),
                ("legacyExchangeDN", EX01_LEGACY_DN),
                ("msExchResponsibleMTAServer", MTA),
            ],
        ),
        make(MTA, ("top", "mTA"), "MTA"),
        container(
            f"CN=InformationStore,{EX01}", ("top", "msExchInformationStore"), "ms-Exch-Information-Store"
        ),
        container(STORAGE_GROUP, ("top", "msExchStorageGroup"), "ms-Exch-Storage-Group"),
        make(
            STORE,
            ("top", "msExchMDB", "msExchPrivateMDB"),
            "ms-Exch-Private-MDB",
            [("legacyExchangeDN", f"{EX01_LEGACY_DN}/cn=Microsoft Private MDB")],
        ),
        make(
            EXECUTIVES_STORE,
            ("top", "msExchMDB", "msExchPrivateMDB"),
            "ms-Exch-Private-MDB",
            [("legacyExchangeDN", f"{EX01_LEGACY_DN}/cn=Executives Store (EX01)")],
        ),
        make(
            f"CN=Public Folder Store (EX01),{STORAGE_GROUP}",
            ("top", "msExchMDB", "msExchPublicMDB"),
            "ms-Exch-Public-MDB",
            [("legacyExchangeDN", f"{EX01_LEGACY_DN}/cn=Microsoft Public MDB")],
        ),
        container(f"CN=Protocols,{EX01}"),
        container(
            f"CN=SMTP,CN=Protocols,{EX01}",
            ("top", "msExchProtocolCfgSMTPContainer"),
            "ms-Exch-Protocol-Cfg-SMTP-Container",
        ),
        # P5/P7: authentication, authenticated relay, relay granted to POP01 (and localhost).
        virtual_server(
            VS1,
            [
                ("adminDisplayName", "Default SMTP Virtual Server"),
                ("msExchServerBindings", ":25:"),
                ("msExchAuthenticationFlags", "7"),
                ("msExchNTAuthenticationProviders", "GSSAPI,NTLM"),
                ("msExchAccessSSLFlags", "0"),
                ("msExchSmtpRelayForAuth", "TRUE"),
                ("msExchSmtpRelayIpList", relay_blob([POP01_ADDRESS, "127.0.0.1"], grant=True)),
                ("msExchSmtpFullyQualifiedDomainName", "ex01.contoso.com"),
                ("msExchSmtpSmartHostType", "0"),
                ("msExchSmtpOutboundSecurityFlag", "0"),
                ("msExchServerAutoStart", "TRUE"),
            ],
        ),
        # COEX-501 and COEX-901: a second virtual server set up for scanners, anonymous only,
        # "all except the list below" (only one old printer denied): an open relay.
        virtual_server(
            VS2,
            [
                ("adminDisplayName", "Scanner relay"),
                ("msExchServerBindings", "10.0.0.11:25:"),
                ("msExchAuthenticationFlags", "1"),
                ("msExchAccessSSLFlags", "0"),
                ("msExchSmtpRelayForAuth", "FALSE"),
                ("msExchSmtpRelayIpList", relay_blob(["10.0.0.99"], grant=False)),
                ("msExchSmtpFullyQualifiedDomainName", "relay.contoso.com"),
                ("msExchSmtpSmartHostType", "0"),
                ("msExchServerAutoStart", "TRUE"),
            ],
        ),
        # COEX-901 (error) and COEX-702 (error): a relay list damaged in the directory, cut short
        # after its first address. It cannot be judged: a finding for manual review, not a failed run.
        virtual_server(
            VS3,
            [
                ("adminDisplayName", "Partner relay"),
                ("msExchServerBindings", "10.0.0.12:25:"),
                ("msExchAuthenticationFlags", "7"),
                ("msExchAccessSSLFlags", "0"),
                ("msExchSmtpRelayForAuth", "TRUE"),
                ("msExchSmtpRelayIpList", relay_blob(["10.0.1.20", "10.0.1.21"], grant=True)[:-4]),
                ("msExchSmtpFullyQualifiedDomainName", "partners.contoso.com"),
                ("msExchSmtpSmartHostType", "0"),
                ("msExchServerAutoStart", "TRUE"),
            ],
        ),
    ]
    return entries


# -- writers -----------------------------------------------------------------------------------

# The sample was first written folded at 78 columns; kept, so its committed files do not change.
SAMPLE_WIDTH = 78


def render_ldif(entries: Iterable[Entry]) -> bytes:
    return ldif_bytes(((entry.dn, entry.values) for entry in entries), width=SAMPLE_WIDTH)


def _reg_hex(name: str, kind: str, data: bytes) -> list[str]:
    """`"name"=hex(7):..` wrapped the way regedit does: `,\\` at the end, two spaces to continue."""
    lines: list[str] = []
    current = f'"{name}"={kind}:'
    tokens = [f"{b:02x}" for b in data]
    for index, token in enumerate(tokens):
        piece = token + ("," if index < len(tokens) - 1 else "")
        if len(current) + len(piece) > 79:
            lines.append(current + "\\")
            current = "  "
        current += piece
    lines.append(current)
    return lines


def render_pop3_reg(default_method: int, auth_guid: str) -> bytes:
    """`reg export "HKLM\\SOFTWARE\\Microsoft\\POP3 Service"`: UTF-16LE with BOM, CRLF."""
    methods = "\0".join((AUTH_SAM, AUTH_AD, AUTH_MD5)) + "\0\0"
    root = "HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\POP3 Service"
    lines = [
        "Windows Registry Editor Version 5.00",
        "",
        f"[{root}]",
        '"InstallDir"="C:\\\\WINDOWS\\\\system32\\\\pop3server"',
        '"ConsoleFile"="C:\\\\WINDOWS\\\\system32\\\\pop3server\\\\pop3server.msc"',
        '"Version"="1.0"',
        '"MailRoot"="C:\\\\Inetpub\\\\mailroot\\\\Mailbox"',
        '"Logging Level"=dword:00000001',
        '"RequireSPA"=dword:00000000',
        '"CreateUser"=dword:00000001',
        '"ConfirmAddUser"=dword:00000001',
        "",
        f"[{root}\\Auth]",
        *_reg_hex("AuthMethods", "hex(7)", methods.encode("utf-16-le")),
        f'"DefaultAuthMethod"=dword:{default_method:08x}',
        f'"AuthGUID"="{auth_guid}"',
        "",
        "",
    ]
    return codecs.BOM_UTF16_LE + "\r\n".join(lines).encode("utf-16-le")


def render_winpop_auth(methods: Sequence[str], current: str, eol: str = "\r\n") -> bytes:
    """`winpop get auth`: `%2d %s %s` per method, `*` on the current one."""
    lines = [f"{i:2d} {'*' if m == current else ' '} {m}" for i, m in enumerate(methods, start=1)]
    return "".join(line + eol for line in lines).encode("ascii")


def render_winpop_list(domains: Sequence[str], eol: str = "\r\n") -> bytes:
    lines = ["", " List of domains", "", *domains, "", f" {len(domains)} domain(s)"]
    return "".join(line + eol for line in lines).encode("ascii")


def render_winpop_mailboxes(domain: str, mailboxes: Sequence[str], eol: str = "\r\n") -> bytes:
    lines = ["", f" List of mailboxes: {domain}", "", *mailboxes, "", f" {len(mailboxes)} mailbox(es)"]
    return "".join(line + eol for line in lines).encode("ascii")


@dataclass(frozen=True)
class Pop3Export:
    """What one POP3 server's export folder holds."""

    folder: str
    fqdn: str
    metabase_service: dict[str, str]
    metabase_server: dict[str, str]
    auth_flags: str
    domains: dict[str, list[str]]
    winpop_methods: tuple[str, ...]
    winpop_current: str
    default_auth_method: int
    auth_guid: str
    crcrlf_files: frozenset[str] = frozenset()


def render_metabase(export: Pop3Export) -> bytes:
    """An IIS 6 MetaBase.xml cut down to what an SMTP/POP3 server shows, in IIS's own layout."""

    def key(tag: str, location: str, properties: dict[str, str], children: str = "") -> str:
        attributes = "".join(f'\n\t\t{name}="{value}"' for name, value in properties.items())
        return f'<{tag}\tLocation ="{location}"{attributes}\n\t>\n{children}</{tag}>\n'

    auth = (
        "\t<Custom\n"
        '\t\tName="AuthFlags"\n'
        '\t\tID="6000"\n'
        f'\t\tValue="{export.auth_flags}"\n'
        '\t\tType="DWORD"\n'
        '\t\tUserType="IIS_MD_UT_SERVER"\n'
        '\t\tAttributes="INHERIT"\n'
        "\t/>\n"
    )
    body = [
        '<?xml version ="1.0"?>\n',
        '<configuration xmlns="urn:microsoft-catalog:XML_Metabase_V64_0">\n',
        "<MBProperty>\n",
        key(
            "IIS_Global",
            ".",
            {
                "BINSchemaTimeStamp": "e4d1a3b2c0f9c501",
                "ChangeNumber": "2041",
                "HistoryMajorVersionNumber": "14",
                "XMLSchemaTimeStamp": "5a6f7b8c9d0ec501",
            },
        ),
        key(
            "IIsComputer",
            "/LM",
            {"EnableEditWhileRunning": "1", "EnableHistory": "1", "MaxHistoryFiles": "10"},
        ),
        key("IIsSmtpService", "/LM/SmtpSvc", export.metabase_service),
        key("IIsSmtpServer", "/LM/SmtpSvc/1", export.metabase_server, auth),
    ]
    for domain in export.domains:
        body.append(key("IIsSmtpDomain", f"/LM/SmtpSvc/1/Domain/{domain}", {"RouteAction": "32"}))
    body += ["</MBProperty>\n", "</configuration>\n"]
    return "".join(body).replace("\n", "\r\n").encode("utf-8")


def _smtp_server(fqdn: str, relay_list: str, relay_for_auth: str) -> dict[str, str]:
    return {
        "BadMailDirectory": "C:\\Inetpub\\mailroot\\Badmail",
        "DefaultDomain": fqdn,
        "DropDirectory": "C:\\Inetpub\\mailroot\\Drop",
        "FullyQualifiedDomainName": fqdn,
        "PickupDirectory": "C:\\Inetpub\\mailroot\\Pickup",
        "QueueDirectory": "C:\\Inetpub\\mailroot\\Queue",
        "RelayForAuth": relay_for_auth,
        "RelayIpList": relay_list,
        "ServerAutoStart": "TRUE",
        "ServerBindings": ":25:",
        "ServerComment": "Default SMTP Virtual Server",
    }


WINPOP_MEMBER = ("Local Windows Accounts", "Active Directory Integrated", "Encrypted Password File")
WINPOP_STANDALONE = ("Local Windows Accounts", "Encrypted Password File")

POP01 = Pop3Export(
    folder="pop01",
    fqdn="pop01.contoso.com",
    metabase_service={"MaxMessageSize": "2097152", "SmtpDisableRelay": "0"},
    metabase_server={
        **_smtp_server("pop01.contoso.com", relay_blob(["127.0.0.1"], grant=True).hex(), "4294967295"),
        "SmartHost": "ex01.contoso.com",
        "SmartHostType": "2",
    },
    auth_flags="AuthAnonymous | AuthBasic | AuthNTLM",
    domains={
        "pop.contoso.com": [
            "bob",
            "carol",
            "dave",
            "erin",
            "gina",
            "helpdesk",
            "henry",
            "irene",
            "jack",
            "kate",
            "liam",
            "mia",
            "noah",
            "olivia",
            "peter",
            "sam",
            "tina",
        ],
    },
    winpop_methods=WINPOP_MEMBER,
    winpop_current="Active Directory Integrated",
    default_auth_method=1,
    auth_guid="{0B6F2F4E-5A7C-4D2E-9E1B-3C4D5E6F7A81}",
)

# POP02: a stand-alone box (no AD authentication offered), encrypted password file, open relay,
# smart host only after DNS, and hosting sales.contoso.com which Exchange also claims.
POP02 = Pop3Export(
    folder="pop02",
    fqdn="pop02.contoso.com",
    metabase_service={
        "MaxMessageSize": "2097152",
        "SmartHost": f"[{EX01_ADDRESS}]",
        "SmartHostType": "1",
    },
    metabase_server=_smtp_server("pop02.contoso.com", "", "0"),
    auth_flags="AuthAnonymous",
    domains={"sales.contoso.com": ["maria", "sven"], "fabrikam.com": ["ola", "pierre", "scanner", "soren"]},
    winpop_methods=WINPOP_STANDALONE,
    winpop_current="Encrypted Password File",
    default_auth_method=2,
    auth_guid="{7D1E0C3A-2B4F-4A6D-8C9E-1F2A3B4C5D6E}",
    crcrlf_files=frozenset({"winpop-list.txt", "winpop-list-sales.contoso.com.txt"}),
)


def pop3_files(export: Pop3Export) -> dict[str, bytes]:
    def eol(name: str) -> str:
        return "\r\r\n" if name in export.crcrlf_files else "\r\n"

    files = {
        "MetaBase.xml": render_metabase(export),
        "pop3.reg": render_pop3_reg(export.default_auth_method, export.auth_guid),
        "winpop-auth.txt": render_winpop_auth(
            export.winpop_methods, export.winpop_current, eol("winpop-auth.txt")
        ),
        "winpop-list.txt": render_winpop_list(list(export.domains), eol("winpop-list.txt")),
    }
    for domain, mailboxes in export.domains.items():
        name = f"winpop-list-{domain}.txt"
        files[name] = render_winpop_mailboxes(domain, mailboxes, eol(name))
    return files


def sample_files() -> dict[str, bytes]:
    """Every generated file, by path relative to the sample folder."""
    global _CLOCK
    _CLOCK = _Clock()
    files = {
        "contoso-domain.ldf": render_ldif(domain_entries()),
        "contoso-configuration.ldf": render_ldif(configuration_entries()),
    }
    for export in (POP01, POP02):
        for name, data in pop3_files(export).items():
            files[f"{export.folder}/{name}"] = data
    return files


def write_sample(folder: Path = SAMPLE_FOLDER) -> list[Path]:
    """Write the files; returns the paths whose content changed."""
    changed = []
    for relative, data in sample_files().items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_bytes() != data:
            path.write_bytes(data)
            changed.append(path)
    return changed


def main() -> None:
    for path in write_sample():
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
