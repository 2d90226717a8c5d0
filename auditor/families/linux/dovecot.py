"""Dovecot verdicts: protocols, AD-backed passdbs (COEX-201), cleartext auth (COEX-203), LDAP
encryption towards AD (COEX-204, with Postfix's `ldap:` tables), `login_trusted_networks`.

Defaults (research modern-model.md §4): 2.3 `protocols = imap pop3 lmtp`, 2.4 empty; `ssl = yes`;
2.3 `disable_plaintext_auth = yes`; 2.4 `auth_allow_cleartext = no`. LDAP: 2.3 ext files (`uris`,
`hosts`, `tls`, `auth_bind`), 2.4 settings (`ldap_uris`, `ldap_starttls`, `passdb_ldap_bind`, or
`bind` / `ldap_bind` inside `passdb ldap { }`). AD never returns a password over LDAP, so an LDAP
passdb must use auth binds; one that does not is an `error` (it cannot authenticate AD users).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, replace
from enum import StrEnum

from auditor.families.linux.doveconf import DoveSection
from auditor.families.linux.host import AuthDatabase, DovecotHost, LinuxHost
from auditor.families.linux.params import split_list

__all__ = [
    "AdBacking",
    "CleartextAuth",
    "Kerberos",
    "LdapConnection",
    "PassdbVerdict",
    "cleartext_auth",
    "kerberos",
    "ldap_connections",
    "passdb_verdicts",
    "protocols",
    "trusted_networks_beyond_host",
]

_NOT_AD = frozenset({"passwd-file", "static", "sql", "passwd", "shadow", "bsdauth", "vpopmail", "dict"})
_REVIEW = frozenset({"pam", "checkpassword", "oauth2", "lua", "imap"})


def _yes(value: str | None) -> bool:
    return (value or "").strip().lower() in ("yes", "true", "1")


def protocols(dovecot: DovecotHost) -> tuple[str, ...]:
    value = dovecot.setting("protocols")
    if value is None:
        return ("imap", "pop3", "lmtp") if dovecot.version == "2.3" else ()
    if value.strip().lower() == "none":
        return ()
    return tuple(p.lower() for p in value.split())


class AdBacking(StrEnum):
    AD = "ad"
    NOT_AD = "not ad"
    REVIEW = "review"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class PassdbVerdict:
    label: str
    driver: str
    verdict: AdBacking
    reason: str


def _ext_file(dovecot: DovecotHost, db: AuthDatabase) -> tuple[dict[str, str] | None, str]:
    args = db.settings.get("args", "").strip()
    if not args:
        return None, "no args file"
    name = args.rsplit("/", 1)[-1]
    found = dovecot.ext_files.get(name)
    return (dict(found), args) if found is not None else (None, args)


def _ldap_binds(dovecot: DovecotHost, db: AuthDatabase) -> tuple[bool | None, str]:
    if dovecot.version == "2.4":
        for key in ("bind", "ldap_bind", "passdb_ldap_bind"):
            if key in db.settings:
                return _yes(db.settings[key]), f"{key} = {db.settings[key]}"
        value = dovecot.setting("passdb_ldap_bind")
        if value is not None:
            return _yes(value), f"passdb_ldap_bind = {value}"
        return False, "passdb_ldap_bind is not set (default no)"
    ext, args = _ext_file(dovecot, db)
    if ext is None:
        return None, f"its args file {args} was not exported"
    return _yes(ext.get("auth_bind")), f"auth_bind = {ext.get('auth_bind', 'no (default)')} in {args}"


def passdb_verdicts(dovecot: DovecotHost) -> list[PassdbVerdict]:
    """One verdict per passdb: AD-backed, not, manual review, or error (cannot be told)."""
    verdicts: list[PassdbVerdict] = []
    for db in dovecot.passdbs:
        driver = db.driver.lower()
        where = f"passdb {db.label} (driver {driver or '?'})"
        if driver == "ldap":
            binds, detail = _ldap_binds(dovecot, db)
            if binds is None:
                verdicts.append(PassdbVerdict(db.label, driver, AdBacking.ERROR, f"{where}: {detail}"))
            elif binds:
                verdicts.append(
                    PassdbVerdict(db.label, driver, AdBacking.AD, f"{where}: LDAP auth binds ({detail})")
                )
            else:
                verdicts.append(
                    PassdbVerdict(
                        db.label,
                        driver,
                        AdBacking.ERROR,
                        f"{where}: LDAP without auth binds ({detail}); AD never returns passwords over LDAP",
                    )
                )
        elif driver in _REVIEW:
            verdicts.append(
                PassdbVerdict(db.label, driver, AdBacking.REVIEW, f"{where}: needs manual review")
            )
        elif driver in _NOT_AD:
            verdicts.append(
                PassdbVerdict(db.label, driver, AdBacking.NOT_AD, f"{where}: a local password database")
            )
        else:
            verdicts.append(PassdbVerdict(db.label, driver, AdBacking.REVIEW, f"{where}: unknown driver"))
    return verdicts


@dataclass(frozen=True, slots=True)
class Kerberos:
    """GSSAPI (Kerberos against AD) as an authentication mechanism: offered, and with which keytab."""

    offered: bool
    keytab: str | None


def kerberos(dovecot: DovecotHost) -> Kerberos:
    """`auth_mechanisms` containing `gssapi`; the keytab from `auth_krb5_keytab` (2.3) or `auth_gssapi_keytab`."""
    mechanisms = (dovecot.setting("auth_mechanisms") or "plain").lower().split()
    keytab = dovecot.setting("auth_krb5_keytab") or dovecot.setting("auth_gssapi_keytab")
    return Kerberos("gssapi" in mechanisms, keytab)


@dataclass(frozen=True, slots=True)
class CleartextAuth:
    """COEX-203: `allowed` when a client can send a password without TLS; `severity` high / medium."""

    applies: bool
    allowed: bool
    severity: str | None
    reason: str
    trusted_beyond: tuple[str, ...]
    basis: str = ""


def _sections_setting(root: DoveSection, key: str) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for section in root.sections:
        if section.name in ("protocol", "local", "remote") and key in section.settings:
            found.append((f"{section.name} {section.label or ''}".strip(), section.settings[key]))
    return found


def trusted_networks_beyond_host(dovecot: DovecotHost, host_addresses: tuple[str, ...]) -> tuple[str, ...]:
    """`login_trusted_networks` entries wider than loopback and the host's own addresses."""
    own = set()
    for address in host_addresses:
        try:
            own.add(ipaddress.ip_network(address, strict=False))
        except ValueError:
            continue
    beyond: list[str] = []
    for entry in (dovecot.setting("login_trusted_networks") or "").split():
        try:
            network = ipaddress.ip_network(entry, strict=False)
        except ValueError:
            beyond.append(entry)
            continue
        if network.is_loopback or any(network.subnet_of(o) for o in own if o.version == network.version):  # type: ignore[arg-type]
            continue
        beyond.append(entry)
    return tuple(beyond)


def cleartext_auth(dovecot: DovecotHost, host_addresses: tuple[str, ...] = ()) -> CleartextAuth:
    """COEX-203's rule on a Dovecot configuration.

    `basis` is the verdict of the settings alone (`ssl`, `disable_plaintext_auth` /
    `auth_allow_cleartext`), before `login_trusted_networks` is considered.
    """
    enabled = [p for p in protocols(dovecot) if p in ("pop3", "imap")]
    if not enabled:
        reason = "neither pop3 nor imap is in protocols"
        return CleartextAuth(False, False, None, reason, (), reason)
    ssl = (dovecot.setting("ssl") or "yes").strip().lower()
    if dovecot.version == "2.4":
        key, allowing = "auth_allow_cleartext", "yes"
        value = (dovecot.setting(key) or "no").strip().lower()
    else:
        key, allowing = "disable_plaintext_auth", "no"
        value = (dovecot.setting(key) or "yes").strip().lower()
    trusted = trusted_networks_beyond_host(dovecot, host_addresses)
    if ssl == "no":
        reason = "ssl = no: every password travels in clear"
        return CleartextAuth(True, True, "high", reason, trusted, reason)
    if ssl != "required":
        if value == allowing:
            reason = f"{key} = {value} with ssl = {ssl}"
            return CleartextAuth(True, True, "high", reason, trusted, reason)
        for where, section_value in _sections_setting(dovecot.root, key):
            if section_value.strip().lower() == allowing:
                reason = f"{key} = {section_value} in {where} with ssl = {ssl}"
                return CleartextAuth(True, True, "high", reason, trusted, reason)
    basis = f"ssl = {ssl}, {key} = {value}"
    if trusted:
        return CleartextAuth(
            True,
            True,
            "medium",
            f"login_trusted_networks lets {', '.join(trusted)} authenticate in clear",
            trusted,
            basis,
        )
    return CleartextAuth(True, False, None, basis, trusted, basis)


@dataclass(frozen=True, slots=True)
class LdapConnection:
    """One configured LDAP connection to AD: where it is set, its URIs and whether it is encrypted.

    `database` names the Dovecot block (`passdb 0`, `userdb ldap`) or the Postfix table reference
    it belongs to; `auth_binds`, for a passdb, whether it checks passwords by binding as the user
    (None: not a passdb, or its args file was not exported).
    """

    origin: str
    uris: tuple[str, ...]
    encrypted: bool | None
    reason: str
    database: str = ""
    kind: str = ""
    auth_binds: bool | None = None


def _encrypted(uris: list[str], starttls: bool, where: str) -> LdapConnection:
    if not uris:
        return LdapConnection(where, (), None, f"{where}: no LDAP URI or host is set")
    plain = [u for u in uris if not u.lower().startswith("ldaps://")]
    if not plain:
        return LdapConnection(where, tuple(uris), True, f"{where}: every URI is ldaps://")
    if starttls:
        return LdapConnection(where, tuple(uris), True, f"{where}: STARTTLS is on")
    return LdapConnection(where, tuple(uris), False, f"{where}: {', '.join(plain)} without STARTTLS")


def _dovecot_ldap(dovecot: DovecotHost) -> list[LdapConnection]:
    found: list[LdapConnection] = []
    for db in [*dovecot.passdbs, *dovecot.userdbs]:
        if db.driver.lower() != "ldap":
            continue
        where = f"dovecot {db.kind} {db.label}"
        binds = _ldap_binds(dovecot, db)[0] if db.kind == "passdb" else None
        database = f"{db.kind} {db.label}"
        if dovecot.version == "2.4":
            text = db.settings.get("ldap_uris") or dovecot.setting("ldap_uris") or ""
            starttls = db.settings.get("ldap_starttls") or dovecot.setting("ldap_starttls")
            connection = _encrypted(text.split(), _yes(starttls), where)
        else:
            ext, args = _ext_file(dovecot, db)
            if ext is None:
                reason = f"{where}: args file {args} was not exported"
                connection = LdapConnection(f"{where} ({args})", (), None, reason)
            else:
                uris = ext.get("uris", "").split() or [f"ldap://{h}" for h in ext.get("hosts", "").split()]
                connection = _encrypted(uris, _yes(ext.get("tls")), f"{where} ({args})")
        found.append(replace(connection, database=database, kind=db.kind, auth_binds=binds))
    return found


def _postfix_ldap(host: LinuxHost) -> list[LdapConnection]:
    if host.postfix is None:
        return []
    found: list[LdapConnection] = []
    for reference, exported in sorted(host.postfix.maps.items()):
        if exported.type.removeprefix("proxy") != "ldap" and not reference.startswith(
            ("ldap:", "proxy:ldap:")
        ):
            continue
        where = f"postfix {reference}"
        if exported.config is None:
            found.append(
                LdapConnection(
                    where, (), None, f"{where}: its configuration was not exported", reference, "postfix"
                )
            )
            continue
        hosts = split_list(exported.config.get("server_host", "localhost"))
        port = exported.config.get("server_port")
        uris = [h if "://" in h else f"ldap://{h}" + (f":{port}" if port else "") for h in hosts]
        connection = _encrypted(uris, _yes(exported.config.get("start_tls")), where)
        found.append(replace(connection, database=reference, kind="postfix"))
    return found


def ldap_connections(host: LinuxHost) -> list[LdapConnection]:
    """Every LDAP connection configured on the host (Dovecot passdb/userdb, Postfix ldap: tables)."""
    found = _dovecot_ldap(host.dovecot) if host.dovecot is not None else []
    return [*found, *_postfix_ldap(host)]
