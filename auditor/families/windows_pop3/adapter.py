"""The Windows POP3 family's adapter: a POP3 server's export records -> a `Pop3Host` and its parts.

This is where the Windows vocabulary ends: MetaBase values (`AuthFlags`, `RelayForAuth`,
`RelayIpList` and its IIS inheritance, `SmartHost`, `SmartHostType`, `RouteAction`), the POP3
service's authentication method GUIDs in `pop3.reg`, the `winpop` outputs and the export's file
names. What leaves this module is an SMTP service, a mailbox service with its authentication
backend, the domains the server hosts and its mailboxes, with notes in the administrator's words.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from auditor.families.iis_relaylist import (
    RelayList,
    RelayListDecodeError,
    RelayMode,
    decode_relay_list,
    to_relay_policy,
)
from auditor.model.codecs import Field, decode_base64, normalize_domain, parse_bool, parse_int
from auditor.model.directory import ObjectRef
from auditor.model.snapshot import Snapshot
from auditor.model.transport import (
    AuthBackend,
    Capability,
    Mailbox,
    MailboxService,
    MailDomain,
    Pop3Host,
    RelayPolicy,
    SmtpService,
    SystemRole,
)
from auditor.records import ObjectKind, ObjectRecord

__all__ = ["AD_INTEGRATED_AUTH_GUID", "KNOWN_AUTH_METHODS", "WindowsPop3Adapter", "capabilities_of"]

AD_INTEGRATED_AUTH_GUID = "ef9d811e-36c5-497f-ade7-2b36df172824"
KNOWN_AUTH_METHODS = {
    AD_INTEGRATED_AUTH_GUID: "Active Directory Integrated",
    "14f1665c-e3d3-46aa-884f-ed4cf19d7ad5": "Local Windows Accounts",
    "c395e20c-2236-4af7-b736-54fad07dc526": "Encrypted Password File",
}
_AD_INTEGRATED = "active directory integrated"
_AUTH_FLAG_NAMES = {"authanonymous": 1, "authbasic": 2, "authntlm": 4, "authmd5": 16, "authpassport": 64}
BASIC, NTLM = 2, 4
ALWAYS_USE_SMART_HOST = 2
ROUTE_ACTION_DELIVER = 32

METABASE = "MetaBase.xml"
POP3_REG = "pop3.reg"
WINPOP_AUTH = "winpop-auth.txt"
WINPOP_LIST = "winpop-list.txt"


def capabilities_of(export_files: frozenset[str]) -> frozenset[Capability]:
    """What an export folder's files let auditor read of the server."""
    found: set[Capability] = set()
    if METABASE in export_files:
        found |= {Capability.SMTP_SETTINGS, Capability.DOMAINS}
    if POP3_REG in export_files or WINPOP_AUTH in export_files:
        found.add(Capability.AUTH)
    if WINPOP_LIST in export_files:
        found.add(Capability.DOMAINS)
    if any(name.startswith("winpop-list-") for name in export_files):
        found.add(Capability.MAILBOXES)
    return frozenset(found)


def _auth_flags(value: str | None) -> int | None:
    """IIS `AuthFlags` as a number, or as MetaBase.xml's `AuthAnonymous | AuthBasic` names."""
    number = parse_int(value)
    if number is not None or value is None:
        return number
    total = 0
    for name in value.split("|"):
        bit = _AUTH_FLAG_NAMES.get(name.strip().lower())
        if bit is None:
            return None
        total |= bit
    return total


def _client_auth(record: ObjectRecord) -> Field[bool]:
    raw = record.first("AuthFlags")
    flags = _auth_flags(raw)
    source = "AuthFlags"
    if flags is None and raw is not None:
        return Field.unreadable(raw, source=source, note=f"AuthFlags {raw!r} cannot be read")
    if flags is None:
        return Field.absent(
            False, source=source, note="AuthFlags is not set (IIS default: anonymous access only)"
        )
    if not flags & (BASIC | NTLM):
        return Field.present(
            False, raw=raw, source=source, note=f"AuthFlags {flags} offers neither Basic (2) nor NTLM (4)"
        )
    return Field.present(True, raw=raw, source=source, note=f"AuthFlags {flags}")


def _relay_for_authenticated(record: ObjectRecord) -> Field[bool]:
    raw = record.first("RelayForAuth")
    value = parse_bool(raw)
    source = "RelayForAuth"
    if raw is None:
        return Field.absent(True, source=source, note="authenticated relay allowed")
    if value is None:
        return Field.unreadable(raw, source=source, note=f"RelayForAuth {raw!r} cannot be read")
    if not value:
        return Field.present(
            False, raw=raw, source=source, note="RelayForAuth is 0: authenticated clients may not relay"
        )
    return Field.present(True, raw=raw, source=source, note="authenticated relay allowed")


def _relay(record: ObjectRecord) -> Field[RelayPolicy]:
    """IIS: no `RelayIpList` on the server nor inherited, or an empty one, relays for every client."""
    raw = record.first("RelayIpList")
    source = "RelayIpList"
    blob = decode_base64(raw) if raw else b""
    if raw and blob is None:
        return Field.unreadable(
            raw, source=source, note="RelayIpList is not valid hex/base64; review it by hand"
        )
    if not blob:
        where = "empty" if raw is not None else "not set on /LM/SMTPSVC/1 nor inherited"
        everyone = RelayList(mode=RelayMode.ALL_EXCEPT, grants=(), denies=())
        policy = to_relay_policy(everyone)
        policy = RelayPolicy(
            only_listed=False,
            description=policy.description,
            everyone_reason=f"RelayIpList is {where}: IIS relays for every client",
        )
        return Field.present(policy, raw=raw, source=source, note=policy.everyone_reason or "")
    assert blob is not None
    try:
        relay = decode_relay_list(blob)
    except RelayListDecodeError as exc:
        return Field.unreadable(
            raw, source=source, note=f"RelayIpList cannot be decoded ({exc}); review it by hand"
        )
    return Field.present(to_relay_policy(relay), raw=raw, source=source, note=relay.describe())


def _smtp_service(name: str, record: ObjectRecord) -> SmtpService:
    smart_host = record.first("SmartHost")
    host_type = parse_int(record.first("SmartHostType"))
    shown = "not set" if host_type is None else str(host_type)
    always = host_type == ALWAYS_USE_SMART_HOST
    always_note = (
        "SmartHostType 2" if always else f"SmartHostType is {shown}, not 2 (always use the smart host)"
    )
    return SmtpService(
        role=SystemRole.POP3_HOST,
        system=name,
        subject=name,
        name=f"{name} SMTP service",
        ref=ObjectRef(record.kind, record.key, record.dn),
        client_auth=_client_auth(record),
        relay_for_authenticated=_relay_for_authenticated(record),
        relay=_relay(record),
        smart_host=(
            Field.present(smart_host, raw=smart_host, source="SmartHost")
            if smart_host
            else Field.absent(source="SmartHost", note="SmartHost is not set")
        ),
        smart_host_always=(
            Field.present(always, raw=str(host_type), source="SmartHostType", note=always_note)
            if host_type is not None
            else Field.absent(False, source="SmartHostType", note=always_note)
        ),
    )


def _is_ad_integrated(method: str) -> bool:
    return method.strip().strip("{}").strip().lower() in {_AD_INTEGRATED, AD_INTEGRATED_AUTH_GUID}


def _auth_backend(record: ObjectRecord, files: frozenset[str]) -> AuthBackend:
    """The one authentication method of the POP3 service, as `winpop get auth` and `pop3.reg` say.

    Both files describe the same setting, so two that disagree are a contradiction for a human to
    resolve, and a registry index that points nowhere cannot be judged.
    """
    winpop: tuple[bool, str] | None = None
    registry: tuple[bool | None, str] | None = None
    if WINPOP_AUTH in files:
        current = record.first("winpopAuthCurrent")
        winpop = (
            (_is_ad_integrated(current), f"winpop-auth.txt says {current!r}")
            if current
            else (False, "winpop-auth.txt marks no method as current")
        )
    if POP3_REG in files:
        methods = record.values("regAuthMethods")
        index = parse_int(record.first("regDefaultAuthMethod"))
        if index is None or not 0 <= index < len(methods):
            registry = (
                None,
                f"pop3.reg DefaultAuthMethod {index} does not index one of its {len(methods)} AuthMethods",
            )
        else:
            guid = methods[index].strip("{} ").lower()
            name = KNOWN_AUTH_METHODS.get(guid, "an unknown method")
            registry = (guid == AD_INTEGRATED_AUTH_GUID, f"pop3.reg says {name} ({{{guid}}})")
    if registry is not None and registry[0] is None:
        return AuthBackend(None, registry[1] + (f"; {winpop[1]}" if winpop else ""))
    if winpop is not None and registry is not None and winpop[0] != registry[0]:
        return AuthBackend(None, f"the exports contradict each other: {winpop[1]}, {registry[1]}")
    verdicts = [v for v in (winpop, registry) if v is not None]
    return AuthBackend(all(v[0] for v in verdicts), "; ".join(v[1] for v in verdicts))


@dataclass
class _Server:
    record: ObjectRecord
    domains: list[ObjectRecord] = field(default_factory=list)
    mailboxes: list[ObjectRecord] = field(default_factory=list)


class WindowsPop3Adapter:
    """Gathers each server's records, then builds its host, domains and mailboxes in `finish`."""

    def __init__(self) -> None:
        self._servers: dict[str, _Server] = {}
        self._orphans: dict[str, list[ObjectRecord]] = defaultdict(list)

    def add(self, record: ObjectRecord, snap: Snapshot) -> None:
        if record.kind == ObjectKind.POP3_SERVER:
            name = record.first("name") or record.dn
            server = self._servers.setdefault(name.lower(), _Server(record))
            server.record = record
        else:
            self._orphans[(record.first("server") or "").lower()].append(record)

    def finish(self, snap: Snapshot) -> None:
        for key, records in self._orphans.items():
            server = self._servers.get(key)
            if server is None:
                continue
            for record in records:
                (server.domains if record.kind == ObjectKind.POP3_DOMAIN else server.mailboxes).append(record)
        for server in self._servers.values():
            self._build(server, snap)

    def _build(self, server: _Server, snap: Snapshot) -> None:
        record = server.record
        name = record.first("name") or record.dn
        files = frozenset(record.values("exportFiles"))
        capabilities = capabilities_of(files)
        host = Pop3Host(
            name=name,
            family="windows-pop3",
            ref=ObjectRef(record.kind, record.key, record.dn),
            fqdn=record.first("fqdn"),
            addresses=record.values("addresses"),
            capabilities=capabilities,
        )
        if Capability.SMTP_SETTINGS in capabilities:
            service = _smtp_service(name, record)
            host.smtp_services = (service,)
            host.outbound = service
            snap.smtp_services.append(service)
        if Capability.AUTH in capabilities:
            host.mailbox_service = MailboxService(
                system=name,
                ad_method_name="Active Directory Integrated",
                backends=(_auth_backend(record, files),),
            )
        snap.pop3_servers.append(host)
        # D_pop(S): `winpop list` when exported, else the MetaBase's domains with the deliver bit.
        listed = WINPOP_LIST in files or any(d.first("source") == "winpop" for d in server.domains)
        for domain_record in server.domains:
            source = domain_record.first("source") or ""
            route_action = parse_int(domain_record.first("RouteAction"))
            local = route_action is not None and bool(route_action & ROUTE_ACTION_DELIVER)
            hosted = source == "winpop" if listed else source == "metabase" and local
            snap.pop3_domains.append(
                MailDomain(
                    system=name,
                    domain=normalize_domain(domain_record.first("domain") or ""),
                    hosted=hosted,
                    source=source,
                    ref=ObjectRef(domain_record.kind, domain_record.key, domain_record.dn),
                )
            )
        for mailbox_record in server.mailboxes:
            snap.pop3_mailboxes.append(
                Mailbox(
                    system=name,
                    local=mailbox_record.first("mailbox") or "",
                    domain=normalize_domain(mailbox_record.first("domain") or ""),
                    ref=ObjectRef(mailbox_record.kind, mailbox_record.key, mailbox_record.dn),
                )
            )
