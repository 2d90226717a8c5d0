"""Dovecot verdicts (COEX-201, 203, 204 inputs) on doveconf -n made by the real doveconf, and on 2.4 docs."""

from __future__ import annotations

from pathlib import Path

import pytest
from linuxlab import linux_host

from auditor.families.linux.doveconf import parse_doveconf
from auditor.families.linux.dovecot import (
    AdBacking,
    Kerberos,
    cleartext_auth,
    kerberos,
    ldap_connections,
    passdb_verdicts,
    protocols,
)
from auditor.families.linux.export import LinuxExport
from auditor.families.linux.host import DovecotHost, LinuxHost

DATA = Path(__file__).parent / "data"
LDAP_EXT = (
    "uris = {uris}\ndn = cn=svc\ndnpass = secret\nauth_bind = {bind}\ntls = {tls}\nbase = dc=contoso,dc=com\n"
)


def dovecot_host(
    tmp: Path,
    conf: str,
    *,
    uris: str = "ldaps://dc1.contoso.com",
    bind: str = "yes",
    tls: str = "no",
    main: str = "compatibility_level = 3.6\n",
    tables: dict[str, str] | None = None,
) -> LinuxHost:
    files = {"dovecot-ldap.conf.ext": LDAP_EXT.format(uris=uris, bind=bind, tls=tls)}
    return linux_host(tmp, main, dovecot=conf, dovecot_files=files, tables=tables)


LDAP_ONLY = """\
protocols = imap pop3
ssl = required
passdb {{
  driver = ldap
  args = {dc}/dovecot-ldap.conf.ext
}}
userdb {{
  driver = ldap
  args = {dc}/dovecot-ldap.conf.ext
}}
"""


def test_an_ldap_passdb_with_auth_binds_over_ldaps_is_ad_backed(tmp_path: Path) -> None:
    host = dovecot_host(tmp_path, LDAP_ONLY)
    assert host.dovecot is not None
    assert host.dovecot.version == "2.3"
    assert protocols(host.dovecot) == ("imap", "pop3")
    (verdict,) = passdb_verdicts(host.dovecot)
    assert verdict.verdict is AdBacking.AD
    assert [c.encrypted for c in ldap_connections(host)] == [True, True]
    assert not cleartext_auth(host.dovecot).allowed


def test_an_ldap_passdb_without_auth_binds_is_an_error(tmp_path: Path) -> None:
    host = dovecot_host(tmp_path, LDAP_ONLY, bind="no")
    assert host.dovecot is not None
    (verdict,) = passdb_verdicts(host.dovecot)
    assert verdict.verdict is AdBacking.ERROR
    assert "AD never returns passwords" in verdict.reason


def test_an_args_file_that_was_not_exported_is_an_error(tmp_path: Path) -> None:
    host = dovecot_host(tmp_path, LDAP_ONLY)
    assert host.dovecot is not None
    host.dovecot.ext_files = {}
    (verdict,) = passdb_verdicts(host.dovecot)
    assert verdict.verdict is AdBacking.ERROR
    assert "was not exported" in verdict.reason
    assert [c.encrypted for c in ldap_connections(host)] == [None, None]


@pytest.mark.parametrize(
    ("uris", "tls", "encrypted"),
    [
        ("ldaps://dc1 ldaps://dc2", "no", True),
        ("ldap://dc1", "yes", True),
        ("ldaps://dc1 ldap://dc2", "no", False),
    ],
)
def test_ldap_encryption_of_every_uri(tmp_path: Path, uris: str, tls: str, encrypted: bool) -> None:
    host = dovecot_host(tmp_path, LDAP_ONLY, uris=uris, tls=tls)
    assert {c.encrypted for c in ldap_connections(host)} == {encrypted}


def test_postfix_ldap_tables_count_as_connections_to_ad(tmp_path: Path) -> None:
    host = dovecot_host(
        tmp_path,
        LDAP_ONLY,
        main="compatibility_level = 3.6\nvirtual_mailbox_maps = ldap:{pf}/mailboxes.cf\n",
        tables={"mailboxes.cf": "server_host = ldap://dc1.contoso.com\nstart_tls = no\nbind_pw = x\n"},
    )
    postfix = [c for c in ldap_connections(host) if c.origin.startswith("postfix")]
    assert [(c.encrypted, c.uris) for c in postfix] == [(False, ("ldap://dc1.contoso.com",))]


@pytest.mark.parametrize(
    ("driver", "args", "verdict"),
    [
        ("passwd-file", "scheme=CRYPT {dc}/users", AdBacking.NOT_AD),
        ("pam", "", AdBacking.REVIEW),
        ("static", "password=x", AdBacking.NOT_AD),
        ("checkpassword", "/usr/bin/checkpassword", AdBacking.REVIEW),
    ],
)
def test_other_passdb_drivers(tmp_path: Path, driver: str, args: str, verdict: AdBacking) -> None:
    conf = LDAP_ONLY.replace(
        "}}\nuserdb", f"}}}}\npassdb {{{{\n  driver = {driver}\n  args = {args}\n}}}}\nuserdb", 1
    )
    host = dovecot_host(tmp_path, conf)
    assert host.dovecot is not None
    verdicts = passdb_verdicts(host.dovecot)
    assert [v.verdict for v in verdicts] == [AdBacking.AD, verdict]
    assert verdicts[1].label == "1"


@pytest.mark.parametrize(
    ("settings", "allowed", "severity"),
    [
        ("ssl = no\n", True, "high"),
        ("ssl = yes\ndisable_plaintext_auth = no\n", True, "high"),
        ("ssl = required\ndisable_plaintext_auth = no\n", False, None),
        ("ssl = yes\n", False, None),
        ("ssl = yes\nlogin_trusted_networks = 10.0.0.0/8\n", True, "medium"),
        ("ssl = yes\nlogin_trusted_networks = 127.0.0.0/8 10.0.0.25\n", False, None),
        ("ssl = yes\nprotocol pop3 {{\n  disable_plaintext_auth = no\n}}\n", True, "high"),
    ],
)
def test_cleartext_authentication(tmp_path: Path, settings: str, allowed: bool, severity: str | None) -> None:
    conf = "protocols = imap pop3\n" + settings + "passdb {{\n  driver = pam\n}}\n"
    host = dovecot_host(tmp_path, conf)
    assert host.dovecot is not None
    result = cleartext_auth(host.dovecot, host.addresses)
    assert (result.allowed, result.severity) == (allowed, severity), result.reason


def test_kerberos_is_seen_in_the_mechanisms(tmp_path: Path) -> None:
    host = dovecot_host(
        tmp_path,
        "protocols = imap\nauth_mechanisms = gssapi plain\nauth_krb5_keytab = /etc/dovecot/krb5.keytab\n"
        "passdb {{\n  driver = pam\n}}\n",
    )
    assert host.dovecot is not None
    assert kerberos(host.dovecot) == Kerberos(True, "/etc/dovecot/krb5.keytab")
    plain = dovecot_host(tmp_path / "plain", LDAP_ONLY)
    assert plain.dovecot is not None
    assert kerberos(plain.dovecot).offered is False


def test_no_pop3_or_imap_means_the_rule_does_not_apply(tmp_path: Path) -> None:
    host = dovecot_host(tmp_path, "protocols = lmtp\nssl = no\npassdb {{\n  driver = pam\n}}\n")
    assert host.dovecot is not None
    assert cleartext_auth(host.dovecot).applies is False


def dovecot_24() -> DovecotHost:
    root = parse_doveconf(
        DATA / "doveconf-2.4-docs.txt", (DATA / "doveconf-2.4-docs.txt").read_text(encoding="utf-8")
    )
    export = LinuxExport(folder=DATA, files=("doveconf-n.txt",), doveconf=root)
    host = LinuxHost.from_export(export, name="LNX24")
    assert host.dovecot is not None
    return host.dovecot


def test_the_24_documentation_example() -> None:
    dovecot = dovecot_24()
    assert dovecot.version == "2.4"
    assert [(p.label, p.driver, p.named) for p in dovecot.passdbs] == [("ldap", "ldap", True)]
    (verdict,) = passdb_verdicts(dovecot)
    assert (verdict.verdict, verdict.reason.endswith("(bind = yes)")) == (AdBacking.AD, True)
    assert protocols(dovecot) == ("imap", "pop3")
    assert cleartext_auth(dovecot).allowed is False
    host = LinuxHost(
        name="LNX24",
        fqdn=None,
        addresses=(),
        export=LinuxExport(folder=DATA, files=()),
        postfix=None,
        dovecot=dovecot,
    )
    assert [(c.encrypted, c.reason) for c in ldap_connections(host)] == [
        (False, "dovecot passdb ldap: ldap://dc1.contoso.com without STARTTLS"),
        (False, "dovecot userdb ldap: ldap://dc1.contoso.com without STARTTLS"),
    ]


def test_24_cleartext_and_default_protocols() -> None:
    dovecot = dovecot_24()
    dovecot.root.settings["auth_allow_cleartext"] = "yes"
    dovecot.root.settings["ssl"] = "yes"
    assert cleartext_auth(dovecot).allowed is True
    del dovecot.root.settings["protocols"]
    assert protocols(dovecot) == ()
