"""Dovecot exports: `doveconf -n` 2.3 (made by the real doveconf) and 2.4 (from the docs), args files, users."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from linuxlab import write

from auditor.errors import InputFormatError
from auditor.families.linux.doveconf import HIDDEN, parse_doveadm_users, parse_doveconf, parse_ext_args

DATA = Path(__file__).parent / "data"
DOVECOT_23 = """\
protocols = imap pop3
ssl = required
ssl_cert = </etc/ssl/certs/ssl-cert-snakeoil.pem
ssl_key = </etc/ssl/private/ssl-cert-snakeoil.key
login_trusted_networks = 10.0.0.0/8
log_path = "/var/log/dove cot.log"
postmaster_address = "# postmaster@contoso.com"
passdb {
  driver = ldap
  args = /etc/dovecot/dovecot-ldap.conf.ext
}
userdb {
  driver = ldap
  args = /etc/dovecot/dovecot-ldap.conf.ext
}
service auth {
  unix_listener /var/spool/postfix/private/auth {
    mode = 0660
    user = postfix
  }
}
"""


def doveconf_n(conf: Path) -> str:
    return subprocess.run(
        ["doveconf", "-c", str(conf), "-n"], capture_output=True, text=True, check=True
    ).stdout


def test_real_doveconf_23_output_parses_into_sections(tmp_path: Path) -> None:
    text = doveconf_n(write(tmp_path, "dovecot.conf", DOVECOT_23))
    root = parse_doveconf(Path("doveconf-n.txt"), text)
    assert text.startswith("# 2.3")
    assert root.get("protocols") == "imap pop3"
    assert root.get("ssl_key") == HIDDEN
    assert root.get("log_path") == "/var/log/dove cot.log"
    assert root.get("postmaster_address") == "# postmaster@contoso.com"
    passdbs = root.children("passdb")
    assert [(p.label, p.settings["driver"]) for p in passdbs] == [(None, "ldap")]
    (auth,) = root.children("service")
    assert auth.label == "auth"
    (listener,) = auth.children("unix_listener")
    assert (listener.label, listener.settings) == (
        "/var/spool/postfix/private/auth",
        {"mode": "0660", "user": "postfix"},
    )


def test_the_24_output_from_the_documentation_parses() -> None:
    root = parse_doveconf(Path("d"), (DATA / "doveconf-2.4-docs.txt").read_text(encoding="utf-8"))
    assert root.get("dovecot_config_version") == "2.4.1"
    assert root.get("ldap_auth_dn_password") == HIDDEN
    (passdb,) = root.children("passdb")
    assert (passdb.label, passdb.settings["bind"]) == ("ldap", "yes")
    assert passdb.children("fields")[0].settings == {"user": "%{ldap:mailRoutingAddress}"}
    (userdb,) = root.children("userdb")
    assert userdb.settings["iterate_filter"] == "(objectClass=messageStoreRecipient)"


@pytest.mark.parametrize(
    ("text", "location", "problem"),
    [
        ("ssl = yes\npassdb {\n  driver = ldap\n", "d:2", "never closed"),
        ("ssl = yes\n}\n", "d:2", "without an open section"),
        ("ssl = yes\nssl = no\n", "d:2", "repeated"),
        ("ssl = yes\nthis is not a setting\n", "d:2", "not a 'key = value'"),
        ('ssl = "yes\n', "d:1", "unterminated"),
        ("# only a header\n", "d", "no settings"),
        ("service {{ {\n}\n", "d:1", "not a section start"),
    ],
)
def test_broken_doveconf_output_names_file_and_line(text: str, location: str, problem: str) -> None:
    with pytest.raises(InputFormatError) as caught:
        parse_doveconf(Path("d"), text)
    assert caught.value.location == location
    assert problem in caught.value.problem


def test_an_ldap_args_file_with_comments_and_continuations() -> None:
    text = (
        "# AD\nuris = ldaps://dc1.contoso.com ldaps://dc2.contoso.com\ndn = cn=svc\ndnpass = <redacted>\n"
        "auth_bind = yes\nuser_filter = (&(objectClass=user)\\\n  (sAMAccountName=%n))\n\n"
    )
    assert parse_ext_args(Path("e"), text) == {
        "uris": "ldaps://dc1.contoso.com ldaps://dc2.contoso.com",
        "dn": "cn=svc",
        "dnpass": "<redacted>",
        "auth_bind": "yes",
        "user_filter": "(&(objectClass=user) (sAMAccountName=%n))",
    }
    with pytest.raises(InputFormatError, match="e:2"):
        parse_ext_args(Path("e"), "a = 1\nno equals sign\n")
    assert parse_ext_args(Path("e"), "!include_try /etc/dovecot/ldap-secret.ext\nbase = dc=x\n") == {
        "!include_try /etc/dovecot/ldap-secret.ext": "/etc/dovecot/ldap-secret.ext",
        "base": "dc=x",
    }
    with pytest.raises(InputFormatError, match="continued"):
        parse_ext_args(Path("e"), "a = 1 \\\n")


def test_the_users_list_of_a_running_dovecot(dovecot_lab: Path) -> None:
    text = subprocess.run(
        ["doveadm", "-c", str(dovecot_lab / "dovecot.conf"), "user", "*"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert parse_doveadm_users(Path("u"), text) == ["alice", "bob@pop.contoso.com"]


@pytest.mark.parametrize("text", ["userdb: alice\n  uid : 1000\n", "alice\nalice\n", "two words\n"])
def test_anything_but_one_user_name_per_line_is_refused(text: str) -> None:
    with pytest.raises(InputFormatError):
        parse_doveadm_users(Path("u"), text)
