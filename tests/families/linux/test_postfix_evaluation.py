"""Domains, mailboxes, relayhost, client TLS/SASL and smtpd AUTH of a Linux host (real exports)."""

from __future__ import annotations

from pathlib import Path

import pytest
from linuxlab import linux_host

from auditor.families.linux.domains import hosted_domains, mailboxes, relay_domains
from auditor.families.linux.host import LinuxHost
from auditor.families.linux.smtp_client import parse_nexthop, relayhost_use, sasl_client, tls_to_relayhost
from auditor.families.linux.smtpd import smtpd_auth_all

GOOD = """\
compatibility_level = 3.6
myhostname = lnx01.contoso.com
mydomain = contoso.com
mydestination = $myhostname, localhost.$mydomain, localhost
mynetworks = 127.0.0.0/8
relayhost = [ex16.contoso.com]:25
virtual_mailbox_domains = pop.contoso.com, hash:{pf}/vdomains
virtual_alias_domains = [10.0.0.25]
relay_domains = relay.contoso.com
smtp_tls_security_level = encrypt
smtp_sasl_auth_enable = yes
smtp_sasl_password_maps = hash:{pf}/sasl_passwd
smtpd_sasl_type = dovecot
smtpd_sasl_path = private/auth
"""
TABLES = {"vdomains": "northwindtraders.com OK\n", "sasl_passwd": "[ex16.contoso.com]:25 svc:secret\n"}


@pytest.fixture
def good(tmp_path: Path) -> LinuxHost:
    return linux_host(tmp_path, GOOD, tables=TABLES)


def test_hosted_domains_leave_out_localhost_the_host_name_and_literals(good: LinuxHost) -> None:
    hosted = hosted_domains(good)
    assert hosted is not None
    assert hosted.domains == {"pop.contoso.com", "northwindtraders.com"}
    assert hosted.complete
    assert hosted.origin == "postconf -x"
    relayed = relay_domains(good)
    assert relayed is not None
    assert relayed.domains == {"relay.contoso.com"}


def test_a_domain_list_from_an_ldap_table_is_incomplete_never_guessed(tmp_path: Path) -> None:
    host = linux_host(
        tmp_path,
        "compatibility_level = 3.6\nmydestination = localhost\nvirtual_mailbox_domains = pop.contoso.com, "
        "ldap:{pf}/domains.cf\n",
        tables={"domains.cf": "server_host = ldaps://dc1\nbind_pw = x\n"},
    )
    hosted = hosted_domains(host)
    assert hosted is not None
    assert hosted.domains == {"pop.contoso.com"}
    assert not hosted.complete
    assert "ldap" in hosted.errors[0]


def test_without_postconf_x_the_defaults_of_the_level_apply_and_say_so(tmp_path: Path) -> None:
    host = linux_host(tmp_path, "compatibility_level = 0\nmydestination = localhost, pop.contoso.com\n")
    (host.export.folder / "postconf-x.txt").unlink()
    from auditor.families.linux.export import read_linux_export

    host = LinuxHost.from_export(read_linux_export(host.export.folder), name="LNX01")
    relayed, hosted = relay_domains(host), hosted_domains(host)
    assert relayed is not None and hosted is not None
    assert hosted.domains == {"pop.contoso.com"}
    assert relayed.domains == frozenset()
    assert host.postfix is not None
    assert host.postfix.main.get("relay_domains") == "localhost, pop.contoso.com"
    assert relayed.origin.startswith("postconf -n + Postfix defaults (compatibility_level 0")


def test_an_unexpandable_domain_list_is_an_error_not_an_empty_set(tmp_path: Path) -> None:
    host = linux_host(tmp_path, "compatibility_level = 3.6\nmydestination = localhost\n")
    from auditor.families.linux.export import read_linux_export

    (host.export.folder / "postconf-x.txt").unlink()
    (host.export.folder / "postconf-n.txt").write_text(
        "compatibility_level = 3.6\nmydestination = localhost\nx = y\n"
        "virtual_mailbox_domains = ${{$x} == {y} ? {pop.contoso.com} : {}}\n",
        encoding="utf-8",
    )
    rebuilt = LinuxHost.from_export(read_linux_export(host.export.folder), name="LNX01")
    hosted = hosted_domains(rebuilt)
    assert hosted is not None
    assert hosted.domains == frozenset()
    assert not hosted.complete
    assert "virtual_mailbox_domains" in hosted.errors[0]


def test_relay_domains_that_are_hosted_stay_hosted(tmp_path: Path) -> None:
    host = linux_host(
        tmp_path,
        "compatibility_level = 0\nmydestination = localhost, pop.contoso.com\nrelay_domains = $mydestination, "
        "relay.contoso.com\n",
    )
    relayed = relay_domains(host)
    hosted = hosted_domains(host)
    assert relayed is not None and hosted is not None
    assert (hosted.domains, relayed.domains) == ({"pop.contoso.com"}, {"relay.contoso.com"})


def test_bare_user_names_take_the_only_hosted_domain(tmp_path: Path) -> None:
    host = linux_host(
        tmp_path,
        "compatibility_level = 3.6\nmydestination = localhost\nvirtual_mailbox_domains = pop.contoso.com\n",
    )
    host.export.users = ["bob", "Carol", "erin@pop.contoso.com"]
    found = mailboxes(host)
    assert found is not None
    assert found.addresses == ("bob@pop.contoso.com", "carol@pop.contoso.com", "erin@pop.contoso.com")
    assert found.error is None


def test_bare_user_names_with_two_hosted_domains_are_an_error(good: LinuxHost) -> None:
    good.export.users = ["bob"]
    found = mailboxes(good)
    assert found is not None
    assert found.error is not None
    assert "not exactly one" in found.error
    good.export.users = None
    assert mailboxes(good) is None


def test_relayhost_bracketed_always_used_tls_encrypt_and_sasl_entry(good: LinuxHost) -> None:
    use = relayhost_use(good)
    assert use is not None
    assert use.relayhosts == (parse_nexthop("[ex16.contoso.com]:25"),)
    assert use.relayhosts[0].mx_lookup is False
    assert (use.always_used, use.bypasses, use.errors) == (True, (), ())
    tls = tls_to_relayhost(good)
    assert tls is not None
    assert (tls.level, tls.source) == ("encrypt", "smtp_tls_security_level")
    sasl = sasl_client(good)
    assert sasl is not None
    assert (sasl.enabled, sasl.password_entry) == (True, True)


@pytest.mark.parametrize(
    ("extra", "tables", "always", "bypass"),
    [
        (
            "transport_maps = hash:{pf}/transport\n",
            {"transport": "example.org smtp:[mx.example.org]\n"},
            False,
            "transport_maps entry example.org",
        ),
        (
            "transport_maps = hash:{pf}/transport\n",
            {"transport": "pop.contoso.com lmtp:unix:private/dovecot-lmtp\n"},
            True,
            None,
        ),
        ("default_transport = smtp:[other.example]\n", {}, False, "default_transport"),
        (
            "sender_dependent_relayhost_maps = hash:{pf}/sdr\n",
            {"sdr": "@contoso.com [other.example]\n"},
            False,
            "sender_dependent_relayhost_maps entry",
        ),
        ("transport_maps = ldap:{pf}/t.cf\n", {"t.cf": "server_host = ldaps://dc1\n"}, None, None),
    ],
)
def test_what_routes_remote_mail_around_the_relayhost(
    tmp_path: Path, extra: str, tables: dict[str, str], always: bool | None, bypass: str | None
) -> None:
    host = linux_host(tmp_path, GOOD + extra, tables={**TABLES, **tables})
    use = relayhost_use(host)
    assert use is not None
    assert use.always_used is always
    if bypass:
        assert any(b.startswith(bypass) for b in use.bypasses), use.bypasses
    if always is None:
        assert "ldap" in use.errors[0]


def test_a_bare_domain_relayhost_means_an_mx_lookup(tmp_path: Path) -> None:
    host = linux_host(tmp_path, "compatibility_level = 3.6\nrelayhost = contoso.com\n")
    use = relayhost_use(host)
    assert use is not None
    assert use.relayhosts[0].mx_lookup is True
    assert use.relayhosts[0].host == "contoso.com"


def test_the_tls_policy_map_entry_for_the_relayhost_wins(tmp_path: Path) -> None:
    host = linux_host(
        tmp_path,
        GOOD.replace("smtp_tls_security_level = encrypt", "smtp_tls_security_level = may")
        + "smtp_tls_policy_maps = hash:{pf}/tls_policy\n",
        tables={**TABLES, "tls_policy": "[ex16.contoso.com]:25 none\n"},
    )
    tls = tls_to_relayhost(host)
    assert tls is not None
    assert tls.level == "none"
    assert "tls_policy" in tls.source


def test_smtpd_auth_per_service_with_overrides(tmp_path: Path) -> None:
    host = linux_host(
        tmp_path,
        GOOD + "smtpd_sasl_auth_enable = yes\nsmtpd_tls_security_level = may\n",
        master=(
            "smtp inet n - y - - smtpd\n"
            "submission inet n - y - - smtpd -o smtpd_tls_security_level=encrypt\n"
            "submissions inet n - y - - smtpd -o smtpd_tls_wrappermode=yes -o smtpd_sasl_type=cyrus\n"
            "2525 inet n - y - - smtpd -o smtpd_tls_auth_only=yes\n"
            "pickup unix n - y 60 1 pickup\n"
        ),
    )
    found = {a.service: a for a in smtpd_auth_all(host) or []}
    assert set(found) == {"smtp/inet", "submission/inet", "submissions/inet", "2525/inet"}
    assert found["smtp/inet"].sasl_offered and not found["smtp/inet"].tls_before_auth
    assert found["smtp/inet"].tls_reason == "smtpd_tls_security_level = may, smtpd_tls_auth_only = no"
    assert found["submission/inet"].tls_before_auth
    assert (found["submissions/inet"].tls_reason, found["submissions/inet"].sasl_via_dovecot) == (
        "smtpd_tls_wrappermode = yes",
        False,
    )
    assert found["2525/inet"].tls_reason == "smtpd_tls_auth_only = yes"
    assert (found["smtp/inet"].port, found["submission/inet"].port, found["2525/inet"].port) == (
        25,
        587,
        2525,
    )
