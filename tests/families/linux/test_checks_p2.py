"""COEX-201, COEX-203, COEX-204 on Linux hosts whose exports the real doveconf / postconf wrote.

Each fleet is a set of hosts named pass-* / fail-* / error-* (the finding's subject is the host
name), exported with deploy/linux/export-linux.sh from configurations written here, read by the
family's own source, and judged beside a small Exchange organization built with auditor.testing.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from linuxlab import STOCK_MASTER, dovecot_24_export, export_host, records_of

from auditor.checks.p2_authentication import directory_connections_encrypted as coex_204
from auditor.checks.p2_authentication import mailbox_service_refuses_cleartext as coex_203
from auditor.checks.p2_authentication import pop3_uses_ad_authentication as coex_201
from auditor.model import Snapshot
from auditor.records import ObjectRecord
from auditor.registry import SkipCheck, Status
from auditor.testing import exchange_server, outcome, pop3_server, run, snapshot

LDAP_PASSDB = """\
protocols = pop3 imap
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
LDAP_EXT = "uris = ldaps://dc1.contoso.com\ndn = cn=svc-dovecot,dc=contoso,dc=com\ndnpass = secret\nauth_bind = yes\n"


def _dovecot(**settings: str) -> str:
    lines = "".join(f"{key} = {value}\n" for key, value in settings.items())
    return LDAP_PASSDB + lines


def _fleet(root: Path, hosts: dict[str, dict[str, object]]) -> list[ObjectRecord]:
    records: list[ObjectRecord] = []
    for name, spec in hosts.items():
        if spec.get("docs_24"):
            folder = dovecot_24_export(root, name)
        else:
            files = spec.get("files", {"dovecot-ldap.conf.ext": LDAP_EXT})
            assert isinstance(files, dict)
            folder = export_host(
                root,
                name,
                main=spec.get("main"),  # type: ignore[arg-type]
                dovecot=str(spec["dovecot"]),
                dovecot_files=files,
            )
        records += records_of(folder, name)
    return records


# -- COEX-201 ----------------------------------------------------------------------------------

FLEET_201: dict[str, dict[str, object]] = {
    "pass-ldap-auth-bind": {"dovecot": LDAP_PASSDB},
    "pass-ldap-and-kerberos": {"dovecot": _dovecot(auth_mechanisms="plain gssapi")},
    "pass-dovecot-24-docs": {"docs_24": True},
    "fail-passwd-file": {
        "dovecot": "protocols = pop3\npassdb {{\n  driver = passwd-file\n  args = {dc}/users\n}}\n",
        "files": {},
    },
    "fail-second-local-passdb": {
        "dovecot": LDAP_PASSDB + "passdb {{\n  driver = passwd-file\n  args = {dc}/users\n}}\n",
    },
    "fail-smtp-auth-through-cyrus": {
        "dovecot": LDAP_PASSDB,
        "main": "compatibility_level = 3.6\nsmtpd_sasl_auth_enable = yes\nsmtpd_sasl_type = cyrus\n",
    },
    "error-pam": {"dovecot": "protocols = pop3\npassdb {{\n  driver = pam\n}}\n", "files": {}},
    "error-args-file-not-exported": {"dovecot": LDAP_PASSDB, "files": {}},
    "error-ldap-without-auth-binds": {
        "dovecot": LDAP_PASSDB,
        "files": {"dovecot-ldap.conf.ext": "uris = ldaps://dc1.contoso.com\nauth_bind = no\n"},
    },
}


@pytest.fixture(scope="module")
def fleet_201(tmp_path_factory: pytest.TempPathFactory) -> Snapshot:
    return snapshot(exchange_server("EX01"), *_fleet(tmp_path_factory.mktemp("f201"), FLEET_201))


def test_201_exact_sets(fleet_201: Snapshot) -> None:
    passed, failed, errors = outcome(coex_201, fleet_201)
    assert passed == {"pass-ldap-auth-bind", "pass-ldap-and-kerberos", "pass-dovecot-24-docs"}
    assert failed == {"fail-passwd-file", "fail-second-local-passdb", "fail-smtp-auth-through-cyrus"}
    assert errors == {"error-pam", "error-args-file-not-exported", "error-ldap-without-auth-binds"}


def test_201_messages_name_the_setting(fleet_201: Snapshot) -> None:
    by_subject = {f.subject: f for f in run(coex_201, fleet_201)}
    assert "passwd-file" in by_subject["fail-passwd-file"].message
    assert "smtpd_sasl_type = cyrus" in by_subject["fail-smtp-auth-through-cyrus"].message
    assert "dovecot-ldap.conf.ext was not exported" in by_subject["error-args-file-not-exported"].message
    assert "gssapi" in by_subject["pass-ldap-and-kerberos"].message
    kinds = {ref.kind for ref in by_subject["fail-passwd-file"].evidence}
    assert kinds == {"dovecot_host", "dovecot_passdb"}
    cyrus = {ref.kind for ref in by_subject["fail-smtp-auth-through-cyrus"].evidence}
    assert cyrus == {"postfix_host", "dovecot_host", "dovecot_passdb", "postfix_service"}


def test_201_skips_a_host_without_its_dovecot_export(tmp_path: Path) -> None:
    folder = export_host(tmp_path, "LNX01", main="compatibility_level = 3.6\n")
    with pytest.raises(SkipCheck, match="authentication settings"):
        list(coex_201.run(snapshot(*records_of(folder, "LNX01"))))


# -- COEX-203 ----------------------------------------------------------------------------------

FLEET_203: dict[str, dict[str, object]] = {
    "pass-ssl-required": {"dovecot": _dovecot(disable_plaintext_auth="no")},
    "pass-default-plaintext-refused": {"dovecot": LDAP_PASSDB.replace("ssl = required\n", "")},
    "pass-no-pop3-nor-imap": {"dovecot": LDAP_PASSDB.replace("pop3 imap", "lmtp") + "ssl = no\n"},
    "pass-trusted-loopback-and-own-address": {
        "dovecot": _dovecot(login_trusted_networks="127.0.0.0/8 10.0.0.25")
    },
    "pass-dovecot-24-docs": {"docs_24": True},
    "fail-ssl-no": {"dovecot": LDAP_PASSDB.replace("ssl = required", "ssl = no")},
    "fail-plaintext-with-ssl-yes": {
        "dovecot": LDAP_PASSDB.replace("ssl = required", "ssl = yes") + "disable_plaintext_auth = no\n"
    },
    "fail-plaintext-in-a-protocol-section": {
        "dovecot": LDAP_PASSDB.replace("ssl = required", "ssl = yes")
        + "protocol pop3 {{\n  disable_plaintext_auth = no\n}}\n"
    },
    "fail-trusted-network-beyond-the-host": {"dovecot": _dovecot(login_trusted_networks="10.0.0.0/8")},
}


@pytest.fixture(scope="module")
def fleet_203(tmp_path_factory: pytest.TempPathFactory) -> Snapshot:
    return snapshot(*_fleet(tmp_path_factory.mktemp("f203"), FLEET_203))


def test_203_exact_sets_and_severities(fleet_203: Snapshot) -> None:
    passed, failed, errors = outcome(coex_203, fleet_203)
    assert passed == {
        "pass-ssl-required",
        "pass-default-plaintext-refused",
        "pass-no-pop3-nor-imap",
        "pass-trusted-loopback-and-own-address",
        "pass-dovecot-24-docs",
    }
    assert failed == {
        "fail-ssl-no",
        "fail-plaintext-with-ssl-yes",
        "fail-plaintext-in-a-protocol-section",
        "fail-trusted-network-beyond-the-host",
    }
    assert errors == set()
    severities = {f.subject: f.severity for f in run(coex_203, fleet_203) if f.status is Status.FAIL}
    assert severities == {
        "fail-ssl-no": None,
        "fail-plaintext-with-ssl-yes": None,
        "fail-plaintext-in-a-protocol-section": None,
        "fail-trusted-network-beyond-the-host": "medium",
    }


def test_203_skips_windows_hosts_and_hosts_without_dovecot() -> None:
    with pytest.raises(SkipCheck, match="cleartext passwords"):
        list(coex_203.run(snapshot(pop3_server("POP01", files=["pop3.reg"]))))


# -- COEX-204 ----------------------------------------------------------------------------------

POSTFIX_LDAP_MAIN = """\
compatibility_level = 3.6
virtual_mailbox_domains = pop.contoso.com
virtual_mailbox_maps = ldap:{pf}/ldap-mailboxes.cf
"""

FLEET_204: dict[str, dict[str, object]] = {
    "pass-ldaps": {"dovecot": LDAP_PASSDB},
    "pass-starttls": {
        "dovecot": LDAP_PASSDB,
        "files": {"dovecot-ldap.conf.ext": "hosts = dc1.contoso.com\ntls = yes\nauth_bind = yes\n"},
    },
    "pass-no-ldap": {"dovecot": "protocols = pop3\npassdb {{\n  driver = pam\n}}\n", "files": {}},
    "pass-postfix-ldap-table-with-start-tls": {
        "dovecot": LDAP_PASSDB,
        "main": POSTFIX_LDAP_MAIN,
        "postfix_files": "server_host = dc1.contoso.com\nstart_tls = yes\nversion = 3\nbind_pw = secret\n",
    },
    "fail-plain-ldap": {
        "dovecot": LDAP_PASSDB,
        "files": {"dovecot-ldap.conf.ext": "uris = ldap://dc1.contoso.com\nauth_bind = yes\n"},
    },
    "fail-postfix-ldap-table-in-clear": {
        "dovecot": LDAP_PASSDB,
        "main": POSTFIX_LDAP_MAIN,
        "postfix_files": "server_host = dc1.contoso.com\nversion = 3\nbind_pw = secret\n",
    },
    "fail-dovecot-24-docs": {"docs_24": True},
    "error-no-auth-binds": {
        "dovecot": LDAP_PASSDB,
        "files": {"dovecot-ldap.conf.ext": "uris = ldaps://dc1.contoso.com\nauth_bind = no\n"},
    },
    "error-args-file-not-exported": {"dovecot": LDAP_PASSDB, "files": {}},
}


@pytest.fixture(scope="module")
def fleet_204(tmp_path_factory: pytest.TempPathFactory) -> Snapshot:
    root = tmp_path_factory.mktemp("f204")
    records: list[ObjectRecord] = []
    for name, spec in FLEET_204.items():
        if "postfix_files" in spec:
            files = spec.get("files", {"dovecot-ldap.conf.ext": LDAP_EXT})
            assert isinstance(files, dict)
            folder = export_host(
                root,
                name,
                main=str(spec["main"]),
                master=STOCK_MASTER,
                tables={"ldap-mailboxes.cf": str(spec["postfix_files"])},
                dovecot=str(spec["dovecot"]),
                dovecot_files=files,
            )
            records += records_of(folder, name)
        else:
            records += _fleet(root, {name: spec})
    return snapshot(*records)


def test_204_exact_sets(fleet_204: Snapshot) -> None:
    passed, failed, errors = outcome(coex_204, fleet_204)
    assert passed == {"pass-ldaps", "pass-starttls", "pass-no-ldap", "pass-postfix-ldap-table-with-start-tls"}
    assert failed == {"fail-plain-ldap", "fail-postfix-ldap-table-in-clear", "fail-dovecot-24-docs"}
    assert errors == {"error-no-auth-binds", "error-args-file-not-exported"}


def test_204_names_the_file_and_cites_the_table(fleet_204: Snapshot) -> None:
    by_subject = {f.subject: f for f in run(coex_204, fleet_204)}
    clear = by_subject["fail-postfix-ldap-table-in-clear"]
    assert "ldap-mailboxes.cf" in clear.message and "without STARTTLS" in clear.message
    assert "postfix_map" in {ref.kind for ref in clear.evidence}
    assert "AD never returns a password" in by_subject["error-no-auth-binds"].message
    assert "dovecot_passdb" in {ref.kind for ref in by_subject["fail-plain-ldap"].evidence}


def test_204_skips_without_a_dovecot_export() -> None:
    with pytest.raises(SkipCheck, match="connections to the directory"):
        list(coex_204.run(snapshot(pop3_server("POP01"))))
