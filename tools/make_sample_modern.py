"""Writes the bundled modern sample: an Exchange 2016 / Subscription Edition organization.

Run `.venv/bin/python tools/make_sample_modern.py` (or `make sample-data`) to rewrite the data files
in auditor/sample_modern/. Like tools/make_sample.py (whose LDIF helpers and POP3 export writers it
reuses) it is a development tool, not installed, and deterministic: name-based GUIDs, a fixed
clock, and receive connector descriptors packed from SDDL by Samba's own encoder
(deploy/lab/sddl_pack.py, python3-samba), never by auditor. Packing the same SDDL gives the same
bytes, so a re-run changes nothing unless this file changed.

The organization: Contoso after a migration from Exchange 2003 to 2016 (one 2003-era SMTP
connector left behind), an Exchange Subscription Edition server beside the 2016 one, accepted
domains of every type, send and receive connectors with real descriptors, mailbox and mail users,
and three POP3 hosts: LNX01, the Linux host of the shared namespace (pop.contoso.com and
northwindtraders.com, InternalRelay, routed to it by the send connector To LNX01; its relay taken
by the receive connector Relay from LNX01), LNX02, a legacy Linux box, and POP01, the Windows POP3
server LNX01 is replacing, which still hosts two domains. The Linux hosts' export folders are
written by the real Postfix and Dovecot (tools/make_linux_sample.py); this file writes the
directory they are judged against and POP01's export. Every deliberate misconfiguration is listed
in README.md beside the data.
"""

from __future__ import annotations

import sys
from pathlib import Path

import make_sample as legacy
from make_sample import (
    AUTH_AD,
    CONFIG,
    DOMAIN,
    EXCHANGE,
    ORG,
    POLICIES,
    SCHEMA,
    WINPOP_MEMBER,
    Entry,
    Pop3Export,
    Value,
    container,
    make,
    ou,
    pop3_files,
    relay_blob,
    render_ldif,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "deploy" / "lab"))
from sddl_pack import pack_sddl

__all__ = ["main", "sample_files", "write_sample"]

SAMPLE_FOLDER = Path(__file__).resolve().parents[1] / "auditor" / "sample_modern"

AG = f"CN=Exchange Administrative Group (FYDIBOHF23SPDLT),CN=Administrative Groups,{ORG}"
RG = f"CN=Exchange Routing Group (DWBGZMFD01QNBJR),CN=Routing Groups,{AG}"
CONNECTIONS = f"CN=Connections,{RG}"
SERVERS = f"CN=Servers,{AG}"
EX16 = f"CN=EX16,{SERVERS}"
SE01 = f"CN=SE01,{SERVERS}"
DATABASES = f"CN=Databases,{AG}"
DB01 = f"CN=DB01,{DATABASES}"
ACCEPTED = f"CN=Accepted Domains,CN=Transport Settings,{ORG}"
RECEIVE = f"CN=SMTP Receive Connectors,CN=Protocols,{EX16}"
LEGACY_AG = f"CN=First Administrative Group,CN=Administrative Groups,{ORG}"
LEGACY_CONNECTIONS = f"CN=Connections,CN=First Routing Group,CN=Routing Groups,{LEGACY_AG}"
LEGACY_DN = "/o=Contoso/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)"
MSEXCH_VERSION = "88218628259840"  # Exchange 2013+ object version (research §1.3)
EX16_ADDRESS, SE01_ADDRESS, POP01_ADDRESS = "10.0.0.16", "10.0.0.17", "10.0.0.25"
LNX01_ADDRESS = "10.0.0.40"  # LNX02 is 172.16.5.26: in no range that grants relay (COEX-702)

SUBMIT = "a18293f1-0685-4540-aa63-e32df421b3a2"
RELAY = "5c82f031-4e4c-4326-88e1-8c4f0cad9de5"
ANY_SENDER = "b857b50b-94a2-4b53-93f6-41cebd2fced0"
HEADERS = "04031f4f-7c36-43ea-9b49-4bd0f5f1e6af"
ESS = "S-1-9-1419165041-1139599005-3936102811-1022490595-23"

# name -> (SDDL, bindings, remote ranges, msExchSMTPReceiveInboundSecurityFlag, role)
RECEIVE_CONNECTORS: dict[str, tuple[str, tuple[str, ...], tuple[str, ...], str, str]] = {
    # Good: the defaults. Anonymous may submit, not relay; authenticated users may relay on 587.
    "Default Frontend EX16": (
        f"O:BAG:BAD:(OA;;CR;{SUBMIT};;AN)(OA;;CR;{ANY_SENDER};;AN)(OA;;CR;{HEADERS};;AN)",
        ("0.0.0.0:25", "[::]:25"),
        ("0.0.0.0-255.255.255.255", "::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
        "29",
        "16384",
    ),
    "Client Frontend EX16": (
        f"O:BAG:BAD:(OA;;CR;{SUBMIT};;AU)(OA;;CR;{RELAY};;AU)(OA;;CR;{HEADERS};;AU)",
        ("0.0.0.0:587", "[::]:587"),
        ("0.0.0.0-255.255.255.255", "::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
        "15",
        "16384",
    ),
    # Good: anonymous relay for POP01 alone (COEX-702, COEX-703 pass).
    "Relay from POP01": (
        f"O:BAG:BAD:(OA;;CR;{SUBMIT};;AN)(OA;;CR;{RELAY};;AN)",
        ("0.0.0.0:25",),
        (POP01_ADDRESS,),
        "1",
        "16384",
    ),
    # Good: anonymous relay for LNX01 alone, whose relayhost is EX16 (COEX-702, COEX-703 pass).
    "Relay from LNX01": (
        f"O:BAG:BAD:(OA;;CR;{SUBMIT};;AN)(OA;;CR;{RELAY};;AN)",
        ("0.0.0.0:25",),
        (LNX01_ADDRESS,),
        "1",
        "16384",
    ),
    # Bad: anonymous relay for 10.0.0.0/8 (COEX-703 critical, COEX-901).
    "App Relay": (
        f"O:BAG:BAD:(OA;;CR;{SUBMIT};;AN)(OA;;CR;{RELAY};;AN)",
        ("0.0.0.0:25",),
        ("10.0.0.0/8",),
        "1",
        "16384",
    ),
    # Bad: relay granted to Everyone (counted as anonymous, and said so) for a /24 (COEX-703 high).
    "Scanner Relay": (
        f"O:BAG:BAD:(OA;;CR;{SUBMIT};;WD)(OA;;CR;{RELAY};;WD)",
        ("0.0.0.0:25",),
        ("10.0.7.0/24",),
        "1",
        "16384",
    ),
    # Bad: ExternalAuthoritative over a range holding POP01 (COEX-704; COEX-703 high).
    "Legacy Trusted": (
        f"O:BAG:BAD:(OA;;CR;{SUBMIT};;{ESS})(OA;;CR;{RELAY};;{ESS})",
        ("0.0.0.0:25",),
        ("10.0.0.20-10.0.0.31",),
        "33",
        "32",
    ),
    # Good: a deny ACE cancels the relay grant (COEX-703 passes, and says the grant was cancelled).
    "Partner Inbound": (
        f"O:BAG:BAD:(OD;;CR;{RELAY};;AN)(OA;;CR;{SUBMIT};;AN)(OA;;CR;{RELAY};;AN)",
        ("0.0.0.0:25",),
        ("203.0.113.0/24",),
        "1",
        "16384",
    ),
    # Bad: a descriptor cut short in transit (an `error`, never a pass: exit 1).
    "Broken Import": (
        f"O:BAG:BAD:(OA;;CR;{SUBMIT};;AN)(OA;;CR;{RELAY};;AN)",
        ("0.0.0.0:25",),
        ("198.51.100.7",),
        "1",
        "16384",
    ),
}
CUT_SHORT = {"Broken Import": 60}


def _org_entries() -> list[Entry]:
    return [
        make(CONFIG, ("top", "configuration"), "Configuration", instance_type="13"),
        container(f"CN=Services,{CONFIG}"),
        container(
            EXCHANGE, ("top", "container", "msExchConfigurationContainer"), "ms-Exch-Configuration-Container"
        ),
        make(
            ORG,
            ("top", "container", "msExchOrganizationContainer"),
            "ms-Exch-Organization-Container",
            [("msExchVersion", MSEXCH_VERSION)],
        ),
        container(
            f"CN=Transport Settings,{ORG}",
            ("top", "container", "msExchTransportSettings"),
            "ms-Exch-Transport-Settings",
        ),
        container(ACCEPTED),
        container(
            POLICIES,
            ("top", "container", "msExchRecipientPolicyContainer"),
            "ms-Exch-Recipient-Policy-Container",
        ),
        container(
            f"CN=Administrative Groups,{ORG}",
            ("top", "container", "msExchAdminGroupContainer"),
            "ms-Exch-Admin-Group-Container",
        ),
        make(AG, ("top", "msExchAdminGroup"), "ms-Exch-Admin-Group", [("msExchVersion", MSEXCH_VERSION)]),
        container(SERVERS, ("top", "container", "msExchServersContainer"), "ms-Exch-Servers-Container"),
        container(DATABASES, ("top", "container", "msExchMDBContainer"), "ms-Exch-MDB-Container"),
        container(
            f"CN=Routing Groups,{AG}",
            ("top", "container", "msExchRoutingGroupContainer"),
            "ms-Exch-Routing-Group-Container",
        ),
        make(RG, ("top", "msExchRoutingGroup"), "ms-Exch-Routing-Group"),
        container(CONNECTIONS, ("top", "container", "msExchConnectors"), "ms-Exch-Connectors"),
    ]


def accepted(cn: str, name: str, flags: int) -> Entry:
    return make(
        f"CN={cn},{ACCEPTED}",
        ("top", "msExchAcceptedDomain"),
        "ms-Exch-Accepted-Domain",
        [
            ("msExchAcceptedDomainName", name),
            ("msExchAcceptedDomainFlags", str(flags)),
            ("msExchVersion", MSEXCH_VERSION),
        ],
    )


def server(dn: str, name: str, serial: str, version_number: str, address: str) -> list[Entry]:
    protocols = f"CN=Protocols,{dn}"
    return [
        make(
            dn,
            ("top", "server", "msExchExchangeServer"),
            "ms-Exch-Exchange-Server",
            [
                ("serialNumber", serial),
                ("versionNumber", version_number),
                ("msExchCurrentServerRoles", "16439"),
                ("networkAddress", [f"ncacn_ip_tcp:{name.lower()}.contoso.com", f"netbios:{name}"]),
                ("legacyExchangeDN", f"{LEGACY_DN}/cn=Configuration/cn=Servers/cn={name}"),
                ("msExchVersion", MSEXCH_VERSION),
            ],
        ),
        container(
            protocols,
            ("top", "container", "msExchProtocolCfgProtocolContainer"),
            "ms-Exch-Protocol-Cfg-Protocol-Container",
        ),
        container(f"CN=SMTP Receive Connectors,{protocols}"),
    ]


def send_connector(
    name: str, spaces: list[str], smart_host: str | None, outbound: int, sources: tuple[str, ...] = ("EX16",)
) -> Entry:
    return make(
        f"CN={name},{CONNECTIONS}",
        ("top", "msExchConnector", "mailGateway", "msExchRoutingSMTPConnector"),
        "ms-Exch-Routing-SMTP-Connector",
        [
            ("routingList", spaces),
            ("msExchSmtpSmartHost", smart_host),
            (
                "msExchSourceBridgeheadServersDN",
                [f"CN=1,CN=SMTP,CN=Protocols,CN={s},{SERVERS}" for s in sources],
            ),
            ("msExchSmtpSendPort", "25"),
            ("msExchSmtpSendEnabled", "TRUE"),
            ("msExchSmtpOutboundSecurityFlag", str(outbound)),
            ("msExchSmtpSendFlags", "0"),
            ("deliveryMechanism", "2"),
            ("msExchVersion", MSEXCH_VERSION),
        ],
    )


def receive_connectors() -> list[Entry]:
    names = list(RECEIVE_CONNECTORS)
    packed = dict(zip(names, pack_sddl([RECEIVE_CONNECTORS[n][0] for n in names]), strict=True))
    entries = []
    for name in names:
        _, bindings, ranges, auth, role = RECEIVE_CONNECTORS[name]
        descriptor = packed[name][: CUT_SHORT[name]] if name in CUT_SHORT else packed[name]
        entries.append(
            make(
                f"CN={name},{RECEIVE}",
                ("top", "msExchSmtpReceiveConnector"),
                "ms-Exch-Smtp-Receive-Connector",
                [
                    ("msExchSmtpReceiveBindings", list(bindings)),
                    ("msExchSmtpReceiveRemoteIPRanges", list(ranges)),
                    ("msExchSMTPReceiveInboundSecurityFlag", auth),
                    ("msExchSmtpReceiveRole", role),
                    ("msExchSmtpReceiveEnabled", "TRUE"),
                    ("msExchSMTPReceiveConnectorFQDN", "ex16.contoso.com"),
                    ("msExchVersion", MSEXCH_VERSION),
                    ("nTSecurityDescriptor", descriptor),
                ],
            )
        )
    return entries


def configuration_entries() -> list[Entry]:
    entries = _org_entries()
    entries += [
        accepted("contoso.com", "contoso.com", 12),  # Authoritative, default
        accepted("pop.contoso.com", "pop.contoso.com", 2),  # InternalRelay + "To LNX01": good
        accepted("Northwind Traders", "northwindtraders.com", 2),  # the same; LNX01's catch-all: COEX-305
        accepted("Sales", "sales.contoso.com", 0),  # Authoritative, hosted by LNX02: COEX-301
        accepted("Fabrikam", "*.fabrikam.example", 0),  # Authoritative over a POP3 domain: COEX-301
        accepted("Northwind", "northwind.example", 2),  # InternalRelay, only `*` routes it: COEX-602
        accepted("Partner", "partner.example", 1),  # ExternalRelay with its connector: good
        make(
            f"CN=Default Policy,{POLICIES}",
            ("top", "msExchRecipientPolicy"),
            "ms-Exch-Recipient-Policy",
            [
                ("gatewayProxy", ["SMTP:@contoso.com", "smtp:@pop.contoso.com"]),
                ("msExchNonAuthoritativeDomains", "smtp:@pop.contoso.com"),
                ("msExchPolicyOrder", "2147483647"),
                ("msExchQueryFilter", "Alias -ne $null"),
                ("purportedSearch", "(&(mailNickname=*))"),
                ("msExchPolicyOptionList", legacy.EAP_GUID.bytes_le),
                ("msExchVersion", MSEXCH_VERSION),
            ],
        ),
        *server(EX16, "EX16", "Version 15.1 (Build 32507.006)", "1942063563", EX16_ADDRESS),
        *server(SE01, "SE01", "Version 15.2 (Build 32562.017)", "1942129154", SE01_ADDRESS),
        make(
            DB01,
            ("top", "msExchMDB", "msExchPrivateMDB"),
            "ms-Exch-Private-MDB",
            [
                ("msExchOwningServer", EX16),
                ("legacyExchangeDN", f"{LEGACY_DN}/cn=Configuration/cn=Servers/cn=EX16/cn=DB01"),
                ("msExchVersion", MSEXCH_VERSION),
            ],
        ),
        *receive_connectors(),
        send_connector("Internet", ["SMTP:*;1"], None, 0),
        send_connector(
            "To LNX01", ["SMTP:pop.contoso.com;1", "SMTP:northwindtraders.com;1"], f"[{LNX01_ADDRESS}]", 4
        ),
        send_connector("To LNX02", ["SMTP:partners.contoso.com;1"], "lnx02.contoso.com", 4),
        send_connector("To POP01 Fabrikam", ["SMTP:fabrikam.example;1"], "pop01.contoso.com", 0),
        send_connector("Partner", ["SMTP:partner.example;1"], "mx.partner.example", 4),
        send_connector("Lists", ["SMTP:lists.contoso.com;1"], f"[{POP01_ADDRESS}]", 4, sources=("EX13",)),
        # A leftover of the 2003 organization: its administrative and routing groups, one connector.
        make(LEGACY_AG, ("top", "msExchAdminGroup"), "ms-Exch-Admin-Group"),
        container(
            f"CN=Routing Groups,{LEGACY_AG}",
            ("top", "container", "msExchRoutingGroupContainer"),
            "ms-Exch-Routing-Group-Container",
        ),
        make(
            f"CN=First Routing Group,CN=Routing Groups,{LEGACY_AG}",
            ("top", "msExchRoutingGroup"),
            "ms-Exch-Routing-Group",
        ),
        container(LEGACY_CONNECTIONS, ("top", "container", "msExchConnectors"), "ms-Exch-Connectors"),
        make(
            f"CN=Old Partner,{LEGACY_CONNECTIONS}",
            ("top", "msExchConnector", "mailGateway", "msExchRoutingSMTPConnector"),
            "ms-Exch-Routing-SMTP-Connector",
            [
                ("routingList", "SMTP:oldpartner.example;1"),
                ("msExchSmtpSmartHost", "[192.0.2.10]"),
                ("deliveryMechanism", "2"),
            ],
        ),
    ]
    return entries


def _user(cn: str, ou_dn: str, alias: str, attributes: list[tuple[str, Value | list[str] | None]]) -> Entry:
    return make(
        f"CN={cn},{ou_dn}",
        ("top", "person", "organizationalPerson", "user"),
        "Person",
        [
            ("userAccountControl", "512"),
            ("sAMAccountName", alias),
            ("userPrincipalName", f"{alias}@contoso.com"),
            *attributes,
        ],
    )


def mailbox(cn: str, alias: str, *, database: str = DB01, also: tuple[str, ...] = ()) -> Entry:
    return _user(
        cn,
        f"OU=Staff,{DOMAIN}",
        alias,
        [
            ("displayName", cn),
            ("mailNickname", alias),
            ("mail", f"{alias}@contoso.com"),
            ("proxyAddresses", [f"SMTP:{alias}@contoso.com", *(f"smtp:{a}" for a in also)]),
            ("legacyExchangeDN", f"{LEGACY_DN}/cn=Recipients/cn={alias}"),
            ("homeMDB", database),
            ("msExchHomeServerName", f"{LEGACY_DN}/cn=Configuration/cn=Servers/cn=EX16"),
            ("msExchRecipientTypeDetails", "1"),
            ("msExchRecipientDisplayType", "1073741824"),
            ("msExchVersion", MSEXCH_VERSION),
        ],
    )


def mail_user(
    cn: str, alias: str, target: str, *, stamped: bool = True, domain: str = "contoso.com"
) -> Entry:
    attributes: list[tuple[str, Value | list[str] | None]] = [
        ("mailNickname", alias),
        ("targetAddress", f"SMTP:{target}"),
    ]
    if stamped:
        attributes += [
            ("displayName", cn),
            ("mail", f"{alias}@{domain}"),
            ("proxyAddresses", [f"SMTP:{alias}@{domain}"]),
            ("legacyExchangeDN", f"{LEGACY_DN}/cn=Recipients/cn={alias}"),
            ("msExchRecipientTypeDetails", "128"),
            ("msExchRecipientDisplayType", "6"),
            ("msExchVersion", MSEXCH_VERSION),
        ]
    return _user(cn, f"OU=POP,{DOMAIN}", alias, attributes)


def domain_entries() -> list[Entry]:
    return [
        make(DOMAIN, ("top", "domain", "domainDNS"), "Domain-DNS", instance_type="5"),
        ou(f"OU=Staff,{DOMAIN}"),
        ou(f"OU=POP,{DOMAIN}"),
        mailbox("Alice Adams", "alice", also=("postmaster@contoso.com",)),
        mailbox("Oscar Orphan", "oscar", database=f"CN=DB02,{DATABASES}"),  # database removed: COEX-101
        mail_user("Bob Brown", "bob", "bob@pop.contoso.com"),  # a POP3 user of LNX01 done right
        mail_user("Nancy Davolio", "nancy", "nancy@northwindtraders.com"),  # LNX01's catch-all takes hers
        mail_user("Carol Clark", "carol", "carol@pop.contoso.com", stamped=False),  # by hand: COEX-405
        mail_user(
            "Dave Dunn", "dave", "dave@fabrikam.example", domain="fabrikam.example"
        ),  # Authoritative: loop
        mail_user("Announce List", "announce", "announce@lists.contoso.com"),
        _user(  # a hybrid remote mailbox: not a mailbox of this organization, not a POP3 user
            "Gina Green",
            f"OU=Staff,{DOMAIN}",
            "gina",
            [
                ("mailNickname", "gina"),
                ("mail", "gina@contoso.com"),
                ("targetAddress", "SMTP:gina@contoso.mail.onmicrosoft.com"),
                ("proxyAddresses", ["SMTP:gina@contoso.com", "smtp:gina@contoso.mail.onmicrosoft.com"]),
                ("legacyExchangeDN", f"{LEGACY_DN}/cn=Recipients/cn=gina"),
                ("msExchRecipientTypeDetails", "2147483648"),
                ("msExchRemoteRecipientType", "4"),
                ("msExchRecipientDisplayType", "-2147483642"),
                ("msExchVersion", MSEXCH_VERSION),
            ],
        ),
    ]


POP01 = Pop3Export(
    folder="pop01",
    fqdn="pop01.contoso.com",
    metabase_service={"MaxMessageSize": "10485760", "SmtpDisableRelay": "0"},
    metabase_server={
        **legacy._smtp_server("pop01.contoso.com", relay_blob(["127.0.0.1"], grant=True).hex(), "4294967295"),
        "SmartHost": f"[{EX16_ADDRESS}]",
        "SmartHostType": "2",
    },
    auth_flags="AuthBasic | AuthNTLM",
    domains={
        "fabrikam.example": ["dave"],
        "lists.contoso.com": ["announce"],
    },
    winpop_methods=WINPOP_MEMBER,
    winpop_current="Active Directory Integrated",
    default_auth_method=1,
    auth_guid=AUTH_AD,
)


def sample_files() -> dict[str, bytes]:
    """Every generated file, by path relative to the sample folder."""
    legacy._CLOCK = legacy._Clock()
    files = {
        "modern-domain.ldf": render_ldif(domain_entries()),
        "modern-configuration.ldf": render_ldif(configuration_entries()),
    }
    for name, data in pop3_files(POP01).items():
        files[f"{POP01.folder}/{name}"] = data
    return files


def write_sample(folder: Path = SAMPLE_FOLDER) -> tuple[list[Path], list[Path]]:
    """Write the files (a file POP01's folder no longer gets is removed); (written, removed)."""
    files = sample_files()
    export = folder / POP01.folder
    stale = {p for p in export.iterdir() if p.is_file()} if export.exists() else set()
    removed = sorted(stale - {folder / name for name in files})
    for path in removed:
        path.unlink()
    changed = []
    for relative, data in files.items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_bytes() != data:
            path.write_bytes(data)
            changed.append(path)
    return changed, removed


def main() -> None:
    written, removed = write_sample()
    for path in written:
        print(f"wrote {path}")
    for path in removed:
        print(f"removed {path}")


_ = SCHEMA  # the LDIF helpers name objectCategory under it

if __name__ == "__main__":
    main()
