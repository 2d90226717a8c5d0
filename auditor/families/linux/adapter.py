"""The Linux family's adapter: a host's raw records -> a `Pop3Host` and its parts.

This is where the Postfix and Dovecot vocabulary ends. Each host's records are rebuilt into a
`LinuxHost` (`host_from_records`, the same object a fresh export gives), judged by the family's
pure evaluation functions, and described in the model's concepts:

    smtpd services (master.cf)  -> SmtpService each, subject `HOST:service/type`: SASL offered
                                   through Dovecot, TLS before AUTH, relay for authenticated
                                   clients and the open-relay policy (relay_report)
    the SMTP client             -> `host.outbound` (not an smtpd: COEX-901 does not judge it):
                                   relayhost, what routes around it, TLS and login towards it
    Dovecot                     -> MailboxService: passdbs (+ GSSAPI, + smtpd services whose SASL
                                   is not Dovecot's) as backends, cleartext auth, trusted networks
    LDAP connections            -> DirectoryConnection each (Dovecot passdb/userdb, Postfix ldap:)
    D_pop(S), relay_domains     -> MailDomain hosted / relayed, with the unknown-recipient rules
    doveadm user '*'            -> Mailbox each
    route_address               -> the host's HostRouting (COEX-303, auditor trace)

Notes are written in the administrator's words (main.cf, master.cf, dovecot.conf settings).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence

from auditor.families.linux.domains import hosted_domains, mailboxes, relay_domains
from auditor.families.linux.dovecot import (
    AdBacking,
    cleartext_auth,
    kerberos,
    ldap_connections,
    passdb_verdicts,
    protocols,
)
from auditor.families.linux.host import DovecotHost, LinuxHost, PostfixService
from auditor.families.linux.networks import Network, is_loopback
from auditor.families.linux.raw import host_from_records
from auditor.families.linux.relay import RelayVerdict, ServiceRelay, mynetworks_of, relay_report
from auditor.families.linux.routing import LinuxRouting
from auditor.families.linux.smtp_client import relayhost_use, sasl_client, tls_to_relayhost
from auditor.families.linux.smtpd import SmtpdAuth, smtpd_auth
from auditor.families.linux.unknown import UnknownRule, unknown_recipient_rules
from auditor.model import (
    AuthBackend,
    Capability,
    DirectoryConnection,
    Field,
    Mailbox,
    MailboxService,
    MailDomain,
    ObjectRef,
    Pop3Host,
    RelayPolicy,
    SmtpService,
    Snapshot,
    SystemRole,
    UnknownRecipientRule,
)
from auditor.records import ObjectRecord

__all__ = ["FAMILY_NAME", "LinuxAdapter", "build_host"]

FAMILY_NAME = "linux"
AD_METHOD = "backed by Active Directory (LDAP auth binds or Kerberos)"
# smtp_tls_security_level values under which Postfix never sends in clear (postconf(5)).
_TLS_REQUIRED = frozenset({"encrypt", "dane-only", "fingerprint", "verify", "secure"})


def _ref(record: ObjectRecord) -> ObjectRef:
    return ObjectRef(record.kind, record.key, record.dn)


class LinuxAdapter:
    """Gathers each host's records (keys `postfix:NAME...`, `dovecot:NAME...`), builds hosts in `finish`."""

    def __init__(self) -> None:
        self._records: dict[str, list[ObjectRecord]] = defaultdict(list)

    def add(self, record: ObjectRecord, snap: Snapshot) -> None:
        self._records[record.key.split(":", 2)[1]].append(record)

    def finish(self, snap: Snapshot) -> None:
        for _, records in sorted(self._records.items()):
            build_host(records, snap)


# -- SMTP services -------------------------------------------------------------------------------


def _client_auth(auth: SmtpdAuth) -> Field[bool]:
    source = "smtpd_sasl_auth_enable"
    if not auth.sasl_offered:
        return Field.present(False, raw="no", source=source, note="smtpd_sasl_auth_enable = no")
    if not auth.sasl_via_dovecot:
        return Field.present(
            False,
            raw="yes",
            source="smtpd_sasl_type",
            note=f"SMTP AUTH through smtpd_sasl_type = {auth.sasl_type or '(empty)'}, not Dovecot",
        )
    return Field.present(
        True,
        raw="yes",
        source=source,
        note=f"SMTP AUTH through Dovecot (smtpd_sasl_path = {auth.sasl_path})",
    )


def _client_auth_tls(auth: SmtpdAuth) -> Field[bool]:
    if not auth.sasl_offered:
        return Field.present(True, source="smtpd_sasl_auth_enable", note="offers no SMTP AUTH")
    if auth.tls_before_auth:
        return Field.present(
            True, source="smtpd_tls_security_level", note=f"SMTP AUTH only after TLS: {auth.tls_reason}"
        )
    return Field.present(
        False,
        source="smtpd_tls_security_level",
        note=f"SMTP AUTH is offered before TLS ({auth.tls_reason})",
    )


def _relay_for_authenticated(report: ServiceRelay) -> Field[bool]:
    probe = report.authenticated
    source = probe.list_name or "smtpd_relay_restrictions"
    if probe.verdict is RelayVerdict.ERROR:
        return Field.unreadable(probe.restriction, source=source, note=probe.reason)
    if probe.verdict is RelayVerdict.OPEN:
        return Field.present(True, source=source, note=f"authenticated clients may relay ({probe.reason})")
    return Field.present(False, source=source, note=f"authenticated clients may not relay: {probe.reason}")


def _relay(linux: LinuxHost, service: PostfixService, report: ServiceRelay) -> Field[RelayPolicy]:
    """checks.md "Open relay (Postfix)" as a relay policy: open to all, or the mynetworks it permits."""
    source = report.outside.list_name or "smtpd_relay_restrictions"
    if report.verdict is RelayVerdict.ERROR:
        return Field.unreadable(
            report.outside.restriction, source=source, note=f"{report.reason}; review it by hand"
        )
    if report.outside.verdict is RelayVerdict.OPEN:
        policy = RelayPolicy(
            only_listed=False,
            description=report.outside.reason,
            everyone_reason=f"an unauthenticated client outside mynetworks may relay ({report.outside.reason})",
        )
        return Field.present(policy, source=source, note=policy.everyone_reason or "")
    grants: tuple[Network, ...] = ()
    denies: tuple[Network, ...] = ()
    if report.inside.verdict is RelayVerdict.OPEN:
        tables = linux.postfix.tables if linux.postfix is not None else None
        networks, _ = mynetworks_of(service.settings, linux.addresses, tables)
        # Loopback clients are the host's own processes: never a relay population (networks.too_wide).
        grants = tuple(network for network, _ in networks.networks if not is_loopback(network))
        denies = tuple(network for excluded, network, _ in networks.entries if excluded)
        shown = " ".join(text for _, _, text in networks.entries) or "(empty)"
        description = (
            f"permit_mynetworks relays for mynetworks = {shown} (outside it: {report.outside.reason})"
        )
    else:
        description = f"relays for no client by address ({report.outside.reason})"
    policy = RelayPolicy(only_listed=True, grants=grants, denies=denies, description=description)
    return Field.present(policy, source=source, note=description)


def _smtpd_service(linux: LinuxHost, service: PostfixService, ref: ObjectRef) -> SmtpService:
    auth = smtpd_auth(service)
    report = relay_report(linux, service)
    not_sending = "an smtpd service receives; the SMTP client sends (relayhost)"
    return SmtpService(
        role=SystemRole.POP3_HOST,
        system=linux.name,
        subject=f"{linux.name}:{service.key}",
        name=f"{linux.name} {service.key}",
        ref=ref,
        client_auth=_client_auth(auth),
        relay_for_authenticated=_relay_for_authenticated(report),
        relay=_relay(linux, service, report),
        smart_host=Field.absent(source="relayhost", note=not_sending),
        smart_host_always=Field.absent(source="relayhost", note=not_sending),
        fqdn=linux.fqdn,
        client_auth_tls=_client_auth_tls(auth),
    )


def _outbound(linux: LinuxHost, ref: ObjectRef) -> SmtpService | None:
    """Postfix as the client of Exchange: relayhost, what routes around it, TLS and login towards it."""
    use = relayhost_use(linux)
    if use is None:
        return None
    values = [f"[{hop.host}]" if not hop.mx_lookup else hop.host for hop in use.relayhosts]
    first = use.relayhosts[0] if use.relayhosts else None
    if first is None:
        smart_host: Field[str] = Field.absent(
            source="relayhost", note="relayhost is empty: Postfix delivers remote mail itself, by MX"
        )
    else:
        note = f"relayhost = {', '.join(h.text for h in use.relayhosts)}"
        smart_host = Field.present(values[0], raw=first.text, source="relayhost", note=note)
    always: Field[bool]
    if use.bypasses:
        always = Field.present(
            False, source="relayhost", note="remote mail goes around relayhost: " + "; ".join(use.bypasses)
        )
    elif first is None:
        always = Field.absent(False, source="relayhost", note="no relayhost to send through")
    elif use.always_used is None:
        always = Field.unreadable(
            None,
            source="transport_maps",
            note="whether relayhost is always used cannot be told: " + "; ".join(use.errors),
        )
    else:
        mx = (
            f"; relayhost {first.text} is not in [brackets]: Postfix looks up its MX records first"
            if first.mx_lookup
            else ""
        )
        always = Field.present(
            True,
            source="relayhost",
            note="no transport_maps, sender_dependent_*_maps or default_transport route goes around it" + mx,
        )
    tls = tls_to_relayhost(linux)
    tls_required: Field[bool] | None = None
    if tls is not None:
        if tls.level is None:
            tls_required = Field.unreadable(None, source="smtp_tls_policy_maps", note=tls.source)
        else:
            shown = (
                f"{tls.source.removesuffix(' (empty)')} is empty: no TLS"
                if tls.source.endswith("(empty)")
                else f"{tls.source} = {tls.level}"
            )
            tls_required = Field.present(
                tls.level in _TLS_REQUIRED, raw=tls.level, source=tls.source, note=shown
            )
    sasl = sasl_client(linux)
    auth: Field[bool] | None = None
    if sasl is not None:
        if not sasl.enabled:
            auth = Field.present(
                False, raw="no", source="smtp_sasl_auth_enable", note="smtp_sasl_auth_enable = no"
            )
        elif sasl.password_entry is None:
            auth = Field.unreadable(
                "yes", source="smtp_sasl_password_maps", note=f"smtp_sasl_auth_enable = yes; {sasl.detail}"
            )
        else:
            auth = Field.present(
                sasl.password_entry,
                raw="yes",
                source="smtp_sasl_auth_enable",
                note=f"smtp_sasl_auth_enable = yes; {sasl.detail}",
            )
    nothing = "the SMTP client offers no login and relays nothing"
    return SmtpService(
        role=SystemRole.POP3_HOST,
        system=linux.name,
        subject=f"{linux.name}:smtp-client",
        name=f"{linux.name} Postfix SMTP client",
        ref=ref,
        client_auth=Field.absent(False, source="", note=nothing),
        relay_for_authenticated=Field.absent(False, source="", note=nothing),
        relay=Field.absent(None, source="", note=nothing),
        smart_host=smart_host,
        smart_host_always=always,
        fqdn=linux.fqdn,
        smart_host_alternates=tuple(values[1:]),
        smart_host_port=first.port if first is not None else None,
        smart_host_tls_required=tls_required,
        smart_host_auth=auth,
    )


# -- Dovecot ---------------------------------------------------------------------------------------


def _backends(
    dovecot: DovecotHost, smtpd: Sequence[tuple[SmtpdAuth, ObjectRef]], passdb_refs: Mapping[str, ObjectRef]
) -> tuple[AuthBackend, ...]:
    verdicts = {AdBacking.AD: True, AdBacking.NOT_AD: False}
    backends = [
        AuthBackend(verdicts.get(v.verdict), v.reason, passdb_refs.get(f"passdb {v.label}"))
        for v in passdb_verdicts(dovecot)
    ]
    gssapi = kerberos(dovecot)
    if gssapi.offered:
        keytab = gssapi.keytab or "the default keytab"
        backends.append(AuthBackend(True, f"auth_mechanisms offers gssapi (Kerberos against AD, {keytab})"))
    for auth, ref in smtpd:
        if auth.sasl_offered and not auth.sasl_via_dovecot:
            backends.append(
                AuthBackend(
                    False,
                    f"{auth.service} offers SMTP AUTH through smtpd_sasl_type = {auth.sasl_type or '(empty)'}, "
                    "not Dovecot: a second password path",
                    ref,
                )
            )
    return tuple(backends)


def _mailbox_service(
    linux: LinuxHost,
    dovecot: DovecotHost,
    smtpd: Sequence[tuple[SmtpdAuth, ObjectRef]],
    refs: tuple[ObjectRef, Mapping[str, ObjectRef]],
) -> MailboxService:
    verdict = cleartext_auth(dovecot, linux.addresses)
    key = "auth_allow_cleartext" if dovecot.version == "2.4" else "disable_plaintext_auth"
    high = verdict.severity == "high"
    cleartext = Field.present(high, source=key, note=verdict.reason if high else verdict.basis)
    dovecot_ref, passdb_refs = refs
    return MailboxService(
        system=linux.name,
        ad_method_name=AD_METHOD,
        backends=_backends(dovecot, smtpd, passdb_refs),
        protocols=protocols(dovecot),
        cleartext_auth=cleartext,
        trusted_networks=tuple((dovecot.setting("login_trusted_networks") or "").split()),
        ref=dovecot_ref,
    )


def _connections(
    linux: LinuxHost, passdb_refs: Mapping[str, ObjectRef], map_refs: Mapping[str, ObjectRef]
) -> tuple[DirectoryConnection, ...]:
    found = []
    for connection in ldap_connections(linux):
        if connection.kind == "postfix":
            ref = map_refs.get(connection.database)
        else:
            ref = passdb_refs.get(connection.database)
        found.append(
            DirectoryConnection(
                origin=connection.origin,
                uris=connection.uris,
                encrypted=connection.encrypted,
                note=connection.reason,
                checks_passwords=connection.kind == "passdb",
                user_binds=connection.auth_binds,
                ref=ref,
            )
        )
    return tuple(found)


# -- domains ----------------------------------------------------------------------------------------


def _rule(rule: UnknownRule, map_refs: Mapping[str, ObjectRef]) -> UnknownRecipientRule:
    next_host = None
    if rule.nexthop is not None:
        next_host = rule.nexthop.host if rule.nexthop.mx_lookup else f"[{rule.nexthop.host}]"
    refs = tuple(map_refs[t] for t in rule.tables if t in map_refs)
    return UnknownRecipientRule(rule.rule, next_host, rule.delivered, rule.undecided, refs)


def _domains(
    linux: LinuxHost, host: Pop3Host, map_refs: Mapping[str, ObjectRef], snap: Snapshot
) -> str | None:
    hosted, relayed = hosted_domains(linux), relay_domains(linux)
    problems: list[str] = []
    for found, is_hosted in ((hosted, True), (relayed, False)):
        if found is None:
            continue
        problems += found.errors
        for domain in sorted(found.domains):
            rules = unknown_recipient_rules(linux, domain, relayed=not is_hosted)
            snap.pop3_domains.append(
                MailDomain(
                    system=linux.name,
                    domain=domain,
                    hosted=is_hosted,
                    relayed=not is_hosted,
                    source=f"postfix ({found.origin})",
                    ref=host.ref,
                    unknown_recipients=tuple(_rule(r, map_refs) for r in rules),
                )
            )
    return "; ".join(problems) or None


# -- the host ---------------------------------------------------------------------------------------


def _host_name(records: Sequence[ObjectRecord]) -> str:
    for record in records:
        if record.kind in ("postfix_host", "dovecot_host") and record.first("name"):
            return record.first("name") or record.dn
    return records[0].dn.split(":", 1)[0]


def build_host(records: Sequence[ObjectRecord], snap: Snapshot) -> Pop3Host:
    """One Linux host from its records: the host, its services and domains, added to `snap`."""
    name = _host_name(records)
    linux = host_from_records(records, name)
    by_key = {record.key: record for record in records}
    key = name.lower()
    main_record = by_key.get(f"postfix:{key}") or by_key.get(f"dovecot:{key}") or records[0]
    host_ref = _ref(main_record)
    map_refs = {r.first("reference") or "": _ref(r) for r in records if r.kind == "postfix_map"}
    passdb_refs = {
        f"{r.kind.removeprefix('dovecot_')} {r.first('label')}": _ref(r)
        for r in records
        if r.kind in ("dovecot_passdb", "dovecot_userdb")
    }
    postfix_read = linux.postfix is not None and bool(linux.export.postconf_x or linux.export.postconf_n)
    capabilities: set[Capability] = set()
    host = Pop3Host(name=name, family=FAMILY_NAME, ref=host_ref, fqdn=linux.fqdn, addresses=linux.addresses)
    smtpd: list[tuple[SmtpdAuth, ObjectRef]] = []
    if linux.postfix is not None and postfix_read and linux.postfix.master_exported:
        capabilities.add(Capability.SMTP_SETTINGS)
        services = []
        for service in linux.postfix.smtpd_services():
            record = by_key.get(f"postfix:{key}:{service.key}")
            service_ref = _ref(record) if record else host_ref
            services.append(_smtpd_service(linux, service, service_ref))
            smtpd.append((smtpd_auth(service), service_ref))
        host.smtp_services = tuple(services)
        snap.smtp_services.extend(services)
        host.outbound = _outbound(linux, host_ref)
    if postfix_read:
        capabilities.add(Capability.DOMAINS)
        host.domains_problem = _domains(linux, host, map_refs, snap)
        host.routing = LinuxRouting(linux, map_refs)
    dovecot_ref = _ref(by_key.get(f"dovecot:{key}") or main_record)
    if linux.dovecot is not None:
        capabilities.add(Capability.AUTH)
        host.mailbox_service = _mailbox_service(linux, linux.dovecot, smtpd, (dovecot_ref, passdb_refs))
        host.directory_connections = _connections(linux, passdb_refs, map_refs)
    found = mailboxes(linux)
    if found is not None:
        capabilities.add(Capability.MAILBOXES)
        host.mailbox_problem = found.error
        for address in found.addresses:
            local, _, domain = address.rpartition("@")
            snap.pop3_mailboxes.append(Mailbox(system=name, local=local, domain=domain, ref=dovecot_ref))
    host.capabilities = frozenset(capabilities)
    snap.pop3_servers.append(host)
    return host
