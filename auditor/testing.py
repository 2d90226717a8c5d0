"""Builders for check tests: ten-line snapshots of `ObjectRecord`s, no LDIF parser involved.

For plugin authors and for auditor's own check tests alike (contract.md, "Check plugins": these
names stay importable from here). Pure data, no I/O:

    snap = snapshot(
        policy("Default", "SMTP:@contoso.com"),
        user("pass-alice", mailbox=True, proxies=["SMTP:alice@contoso.com"]),
        pop3_server("POP01", files=["MetaBase.xml"], SmartHost="[10.0.0.10]"),
    )

`snapshot()` gives the coverage a full collection would (domain, configuration, and each POP3
server's export files) unless told otherwise; `outcome(spec, snap)` runs one check and returns its
(passed, failed, error) subjects.
"""

from __future__ import annotations

import base64
import ipaddress
import struct
from collections.abc import Iterable

from auditor.families.exchange.adapter import EAP_POLICY_GUID, MAILBOX_MANAGER_POLICY_GUID
from auditor.model import Snapshot
from auditor.records import ObjectKind, ObjectRecord, SourceInfo
from auditor.registry import CheckSpec, Finding, Status

__all__ = [
    "AG",
    "DOMAIN_DN",
    "MODERN_AG",
    "ORG",
    "accepted_domain",
    "b64",
    "connector",
    "database_dn",
    "dn_of",
    "exchange_server",
    "mailbox_database",
    "mailbox_store",
    "modern_server",
    "outcome",
    "policy",
    "pop3_domain",
    "pop3_mailbox",
    "pop3_server",
    "receive_connector",
    "relay_blob",
    "run",
    "send_connector",
    "snapshot",
    "store_dn",
    "subjects",
    "user",
    "virtual_server",
    "vs_dn",
]

ORG = "CN=Contoso,CN=Microsoft Exchange,CN=Services,CN=Configuration,DC=contoso,DC=com"
AG = f"CN=First Administrative Group,CN=Administrative Groups,{ORG}"
DOMAIN_DN = "OU=Mail,DC=contoso,DC=com"
MODERN_AG = f"CN=Exchange Administrative Group (FYDIBOHF23SPDLT),CN=Administrative Groups,{ORG}"
MODERN_CONNECTIONS = (
    f"CN=Connections,CN=Exchange Routing Group (DWBGZMFD01QNBJR),CN=Routing Groups,{MODERN_AG}"
)

_counter = iter(range(1, 10**9))


def _record(kind: str, dn: str, attrs: dict[str, Iterable[str] | str | None]) -> ObjectRecord:
    attributes: dict[str, tuple[str, ...]] = {}
    for name, value in attrs.items():
        if value is None:
            continue
        attributes[name] = (value,) if isinstance(value, str) else tuple(value)
    return ObjectRecord(kind=kind, key=f"guid-{next(_counter):08d}", dn=dn, attributes=attributes)


def dn_of(cn: str) -> str:
    return f"CN={cn},{DOMAIN_DN}"


def store_dn(server: str = "EX01", name: str | None = None) -> str:
    store = name or f"Mailbox Store ({server})"
    return f"CN={store},CN=First Storage Group,CN=InformationStore,CN={server},CN=Servers,{AG}"


def vs_dn(server: str = "EX01", number: int = 1) -> str:
    return f"CN={number},CN=SMTP,CN=Protocols,CN={server},CN=Servers,{AG}"


def user(
    cn: str,
    *,
    proxies: Iterable[str] = (),
    mail: str | None = None,
    nickname: str | None = None,
    target: str | None = None,
    mailbox: bool = False,
    home_mdb: str | None = None,
    sam: str | None = None,
    upn: str | None = None,
    disabled: bool = False,
    contact: bool = False,
    **extra: Iterable[str] | str | None,
) -> ObjectRecord:
    """A user (or contact); `mailbox=True` gives it a homeMDB on EX01's store."""
    proxies = tuple(proxies)
    primary = next((p.partition(":")[2] for p in proxies if p.startswith("SMTP:")), None)
    attrs: dict[str, Iterable[str] | str | None] = {
        "objectClass": ("top", "person", "organizationalPerson", "contact" if contact else "user"),
        "cn": cn,
        "mailNickname": nickname
        if nickname is not None
        else (cn if (proxies or target or mailbox) else None),
        "mail": mail if mail is not None else primary,
        "proxyAddresses": proxies or None,
        "targetAddress": target,
        "homeMDB": home_mdb or (store_dn() if mailbox else None),
        "sAMAccountName": None if contact else (sam or cn),
        "userPrincipalName": upn,
        "userAccountControl": None if contact else ("514" if disabled else "512"),
        "legacyExchangeDN": f"/o=Contoso/ou=First Administrative Group/cn=Recipients/cn={cn}",
    }
    attrs.update(extra)
    kind = ObjectKind.CONTACT if contact else ObjectKind.USER
    return _record(kind, dn_of(cn), attrs)


def recipient(kind: ObjectKind, cn: str, *proxies: str, **extra: Iterable[str] | str | None) -> ObjectRecord:
    """A mail-enabled group, query-based group or public folder (`kind`) with these proxy addresses."""
    primary = next((p.partition(":")[2] for p in proxies if p.startswith("SMTP:")), None)
    classes = {
        ObjectKind.GROUP: ("top", "group"),
        ObjectKind.DYNAMIC_GROUP: ("top", "msExchDynamicDistributionList"),
        ObjectKind.PUBLIC_FOLDER: ("top", "publicFolder"),
    }[kind]
    attrs: dict[str, Iterable[str] | str | None] = {
        "objectClass": classes,
        "cn": cn,
        "mailNickname": cn.replace(" ", ""),
        "mail": primary,
        "proxyAddresses": proxies or None,
        "sAMAccountName": cn if kind == ObjectKind.GROUP else None,
        **extra,
    }
    return _record(kind, dn_of(cn), attrs)


def policy(
    name: str,
    *proxies: str,
    non_authoritative: Iterable[str] = (),
    disabled: Iterable[str] = (),
    mailbox_manager: bool = False,
) -> ObjectRecord:
    import uuid

    guid = MAILBOX_MANAGER_POLICY_GUID if mailbox_manager else EAP_POLICY_GUID
    option = base64.b64encode(uuid.UUID(guid).bytes_le).decode()
    return _record(
        ObjectKind.RECIPIENT_POLICY,
        f"CN={name},CN=Recipient Policies,{ORG}",
        {
            "cn": name,
            "gatewayProxy": proxies or None,
            "disabledGatewayProxy": tuple(disabled) or None,
            "msExchNonAuthoritativeDomains": tuple(non_authoritative) or None,
            "msExchPolicyOptionList": option,
        },
    )


def accepted_domain(name: str, flags: int | str = 0, *, cn: str | None = None) -> ObjectRecord:
    """An accepted domain: `flags & 3` is its type (0 Authoritative, 1 ExternalRelay, 2 InternalRelay),
    65536 covers subdomains; `name` may be `*.parent`."""
    return _record(
        ObjectKind.ACCEPTED_DOMAIN,
        f"CN={cn or name},CN=Accepted Domains,CN=Transport Settings,{ORG}",
        {"cn": cn or name, "msExchAcceptedDomainName": name, "msExchAcceptedDomainFlags": str(flags)},
    )


def modern_server(
    name: str,
    *hosts: str,
    serial: str | None = "Version 15.1 (Build 32507.006)",
    version_number: str | None = None,
    roles: int | None = 16439,
) -> ObjectRecord:
    """A 2007+ Exchange server (default: 2016 CU23, Mailbox roles) in the 2007+ administrative group."""
    return _record(
        ObjectKind.EXCHANGE_SERVER,
        f"CN={name},CN=Servers,{MODERN_AG}",
        {
            "cn": name,
            "networkAddress": tuple(f"ncacn_ip_tcp:{h}" for h in hosts) or None,
            "serialNumber": serial,
            "versionNumber": version_number,
            "msExchCurrentServerRoles": None if roles is None else str(roles),
        },
    )


def database_dn(name: str = "DB01") -> str:
    return f"CN={name},CN=Databases,{MODERN_AG}"


def mailbox_database(name: str = "DB01", server: str = "EX16") -> ObjectRecord:
    """A 2010+ mailbox database under CN=Databases."""
    return _record(
        "mailbox_database",
        database_dn(name),
        {"cn": name, "msExchOwningServer": f"CN={server},CN=Servers,{MODERN_AG}"},
    )


def send_connector(
    name: str,
    *spaces: str,
    smart_host: str | None = None,
    sources: Iterable[str] = ("EX16",),
    enabled: bool | None = None,
    outbound_flags: int | str | None = None,
) -> ObjectRecord:
    """A 2007+ send connector; `spaces` as routingList values, `sources` as server names."""
    return _record(
        "send_connector",
        f"CN={name},{MODERN_CONNECTIONS}",
        {
            "cn": name,
            "routingList": spaces,
            "msExchSmtpSmartHost": smart_host,
            "msExchSourceBridgeheadServersDN": tuple(
                f"CN=1,CN=SMTP,CN=Protocols,CN={server},CN=Servers,{MODERN_AG}" for server in sources
            )
            or None,
            "msExchSmtpSendEnabled": None if enabled is None else ("TRUE" if enabled else "FALSE"),
            "msExchSmtpOutboundSecurityFlag": None if outbound_flags is None else str(outbound_flags),
            "msExchVersion": "88218628259840",
        },
    )


def receive_connector(
    name: str,
    *,
    server: str = "EX16",
    descriptor: bytes | str | None = None,
    ranges: Iterable[str] = ("0.0.0.0-255.255.255.255",),
    bindings: Iterable[str] = ("0.0.0.0:25",),
    auth: int | str | None = 1,
    enabled: bool | None = None,
) -> ObjectRecord:
    """A receive connector; `descriptor` is its nTSecurityDescriptor (bytes, or base64 text as kept).

    Pack descriptors with a real encoder (auditor's own tests use Samba's, deploy/lab/sddl_pack.py),
    so the decoder is never tested against itself.
    """
    raw = b64(descriptor) if isinstance(descriptor, bytes) else descriptor
    return _record(
        "receive_connector",
        f"CN={name},CN=SMTP Receive Connectors,CN=Protocols,CN={server},CN=Servers,{MODERN_AG}",
        {
            "cn": name,
            "msExchSmtpReceiveBindings": tuple(bindings),
            "msExchSmtpReceiveRemoteIPRanges": tuple(ranges),
            "msExchSMTPReceiveInboundSecurityFlag": None if auth is None else str(auth),
            "msExchSmtpReceiveEnabled": None if enabled is None else ("TRUE" if enabled else "FALSE"),
            "nTSecurityDescriptor": raw,
        },
    )


def connector(
    name: str, *spaces: str, smart_host: str | None = None, bridgeheads: Iterable[str] = ()
) -> ObjectRecord:
    """`spaces` as routingList values, e.g. `SMTP:pop.contoso.com;1`."""
    return _record(
        ObjectKind.SMTP_CONNECTOR,
        f"CN={name},CN=Connections,CN=First Routing Group,CN=Routing Groups,{AG}",
        {
            "cn": name,
            "routingList": spaces,
            "msExchSmtpSmartHost": smart_host,
            "msExchSourceBridgeheadServersDN": tuple(bridgeheads) or None,
        },
    )


def exchange_server(name: str, *hosts: str) -> ObjectRecord:
    return _record(
        ObjectKind.EXCHANGE_SERVER,
        f"CN={name},CN=Servers,{AG}",
        {"cn": name, "networkAddress": tuple(f"ncacn_ip_tcp:{h}" for h in hosts) or None},
    )


def mailbox_store(server: str = "EX01", name: str | None = None) -> ObjectRecord:
    dn = store_dn(server, name)
    return _record(ObjectKind.MAILBOX_STORE, dn, {"cn": dn.split(",")[0][3:]})


def virtual_server(server: str = "EX01", number: int = 1, **attrs: str | None) -> ObjectRecord:
    """An Exchange SMTP virtual server; `msExchSmtpRelayIpList` given as base64 (see `relay_blob`)."""
    return _record(ObjectKind.SMTP_VIRTUAL_SERVER, vs_dn(server, number), {"cn": str(number), **attrs})


def pop3_server(
    name: str,
    *,
    fqdn: str | None = None,
    addresses: Iterable[str] = (),
    files: Iterable[str] = ("MetaBase.xml",),
    **attrs: Iterable[str] | str | None,
) -> ObjectRecord:
    """A POP3 server record; `attrs` are metabase / export values (`SmartHost`, `AuthFlags`, ...)."""
    return _record(
        ObjectKind.POP3_SERVER,
        name,
        {
            "name": name,
            "fqdn": fqdn,
            "addresses": tuple(addresses) or None,
            "exportFiles": tuple(files) or None,
            **attrs,
        },
    )


def pop3_domain(
    server: str, domain: str, source: str = "winpop", route_action: int | None = None
) -> ObjectRecord:
    return _record(
        ObjectKind.POP3_DOMAIN,
        f"{server}/{domain}",
        {
            "server": server,
            "domain": domain,
            "source": source,
            "RouteAction": None if route_action is None else str(route_action),
        },
    )


def pop3_mailbox(server: str, address: str) -> ObjectRecord:
    name, _, domain = address.partition("@")
    return _record(
        ObjectKind.POP3_MAILBOX,
        f"{server}/{address}",
        {"server": server, "domain": domain, "mailbox": name},
    )


def snapshot(
    *records: ObjectRecord,
    domain: bool = True,
    configuration: bool = True,
    coverage: Iterable[str] | None = None,
) -> Snapshot:
    """A snapshot with the coverage a full collection of these records would have."""
    covered: set[str] = set()
    if domain:
        covered.add("domain")
    if configuration:
        covered.add("configuration")
    for record in records:
        if record.kind == ObjectKind.POP3_SERVER:
            name = record.first("name") or record.dn
            covered.add(f"pop3:{name}")
            covered |= {f"pop3:{name}:{f}" for f in record.values("exportFiles")}
    if coverage is not None:
        covered = set(coverage)
    source = SourceInfo(name="fixture", kind="fixture", complete=True, objects=len(records), coverage=covered)
    return Snapshot.from_records(records, [source])


def run(spec: CheckSpec, snap: Snapshot) -> list[Finding]:
    return list(spec.run(snap))


def subjects(findings: Iterable[Finding], status: Status) -> set[str]:
    return {f.subject for f in findings if f.status is status}


def outcome(spec: CheckSpec, snap: Snapshot) -> tuple[set[str], set[str], set[str]]:
    """(passed, failed, error) subjects."""
    found = run(spec, snap)
    if len({f.subject for f in found}) != len(found):
        raise AssertionError(f"{spec.id}: more than one finding for a subject (one per subject)")
    return subjects(found, Status.PASS), subjects(found, Status.FAIL), subjects(found, Status.ERROR)


# -- relay lists -------------------------------------------------------------------------------------


def _list_section(networks: Iterable[ipaddress.IPv4Network], base: int, nobody: bool) -> tuple[bytes, int]:
    """One IP list (header + entries + masks/addresses) placed at `base`; returns bytes and entry count."""
    groups: dict[int, list[ipaddress.IPv4Network]] = {}
    for net in networks:
        groups.setdefault(net.prefixlen, []).append(net)
    if nobody and not groups:
        groups[32] = []
    entries = b""
    data = b""
    data_start = base + 8 + 20 * len(groups)
    total = 0
    for prefix, nets in groups.items():
        mask = (0xFFFFFFFF << (32 - prefix)) & 0xFFFFFFFF if prefix else 0
        full, last = prefix // 8, (mask >> (24 - 8 * (prefix // 8))) & 0xFF if prefix % 8 else 0
        entries += struct.pack("<5I", 2, len(nets) + 1, full, last, 0x80000000 | (data_start + len(data)))
        data += mask.to_bytes(4, "big") + b"".join(n.network_address.packed for n in nets)
        total += len(nets)
    return struct.pack("<2I", len(groups), total) + entries + data, len(groups)


def relay_blob(grants: Iterable[str] = (), denies: Iterable[str] = (), *, all_except: bool = False) -> bytes:
    """An IIS IP security list (the layout auditor.families.iis_relaylist decodes).

    "Only the list below" (default) with no grants is IIS's "nobody" list; `all_except=True`
    writes no grant entry at all: everyone not denied may relay.
    """
    grant_nets = [ipaddress.IPv4Network(g, strict=False) for g in grants]
    deny_nets = [ipaddress.IPv4Network(d, strict=False) for d in denies]
    header_size = 24
    deny, _ = _list_section(deny_nets, header_size, nobody=False)
    grant_at = header_size + len(deny)
    grant, _ = _list_section([] if all_except else grant_nets, grant_at, nobody=not all_except)
    names_at = grant_at + len(grant)
    names = struct.pack("<4I", 0, 0, 0, 0)
    refs = [header_size, grant_at, names_at, names_at + 8]
    head = struct.pack("<6I", *(0x80000000 | r for r in refs), 1, names_at + 16)
    return head + deny + grant + names


def b64(blob: bytes) -> str:
    return base64.b64encode(blob).decode()
