"""COEX-701, COEX-702 (2003 relay list) and COEX-705 (host half) on Linux hosts exported by the
real postconf / postmap, beside an Exchange organization built with auditor.testing."""

from __future__ import annotations

from pathlib import Path

import pytest
from linuxlab import export_host, records_of

from auditor.checks.p7_smart_host import exchange_pop3_hop_encrypted as coex_705
from auditor.checks.p7_smart_host import pop3_server_may_relay_on_exchange as coex_702
from auditor.checks.p7_smart_host import pop3_smart_host_is_exchange as coex_701
from auditor.model import Snapshot
from auditor.records import ObjectRecord
from auditor.registry import SkipCheck, Status
from auditor.testing import (
    b64,
    exchange_server,
    outcome,
    pop3_server,
    relay_blob,
    run,
    snapshot,
    virtual_server,
)

SMTP_ONLY = "smtp      inet  n       -       y       -       -       smtpd\n"
BASE = "compatibility_level = 3.6\nmynetworks = 127.0.0.0/8\n"
EXCHANGE = (
    exchange_server("EX01", "ex01.contoso.com", "10.0.0.10"),
    exchange_server("EX02", "ex02.contoso.com"),
    virtual_server("EX01", msExchSmtpRelayIpList=b64(relay_blob(["10.0.0.25/32"]))),
)


def _fleet(
    root: Path,
    hosts: dict[str, str],
    tables: dict[str, str] | None = None,
    addresses: dict[str, str] | None = None,
) -> list[ObjectRecord]:
    records: list[ObjectRecord] = []
    for name, main in hosts.items():
        folder = export_host(root, name, main=main, master=SMTP_ONLY, tables=tables)
        records += records_of(folder, name, addresses=((addresses or {}).get(name, "10.0.0.25"),))
    return records


# -- COEX-701 ----------------------------------------------------------------------------------

FLEET_701 = {
    "pass-bracketed-name": BASE + "relayhost = [ex01.contoso.com]:25\n",
    "pass-bracketed-address": BASE + "relayhost = [10.0.0.10]\n",
    "pass-unbracketed-exchange-name": BASE + "relayhost = ex01.contoso.com\n",
    "pass-two-exchange-relayhosts": BASE + "relayhost = [ex01.contoso.com], [ex02.contoso.com]\n",
    "fail-bare-mail-domain": BASE + "relayhost = contoso.com\n",
    "fail-no-relayhost": BASE,
    "fail-second-relayhost-elsewhere": BASE + "relayhost = [ex01.contoso.com], [smtp.isp.example]\n",
    "fail-transport-map-around-it": BASE
    + "relayhost = [ex01.contoso.com]\ntransport_maps = hash:{pf}/transport\n",
    "fail-default-transport-nexthop": BASE
    + "relayhost = [ex01.contoso.com]\ndefault_transport = smtp:[smtp.isp.example]\n",
    "error-transport-map-in-ldap": BASE
    + "relayhost = [ex01.contoso.com]\ntransport_maps = ldap:{pf}/ldap-transport.cf\n",
}
TABLES_701 = {
    "transport": "example.net smtp:[smtp.isp.example]\n",
    "ldap-transport.cf": "server_host = ldaps://dc1.contoso.com\nquery_filter = (mail=%s)\n",
}


@pytest.fixture(scope="module")
def fleet_701(tmp_path_factory: pytest.TempPathFactory) -> Snapshot:
    return snapshot(*EXCHANGE, *_fleet(tmp_path_factory.mktemp("f701"), FLEET_701, TABLES_701))


def test_701_exact_sets(fleet_701: Snapshot) -> None:
    passed, failed, errors = outcome(coex_701, fleet_701)
    assert passed == {
        "pass-bracketed-name",
        "pass-bracketed-address",
        "pass-unbracketed-exchange-name",
        "pass-two-exchange-relayhosts",
    }
    assert failed == {
        "fail-bare-mail-domain",
        "fail-no-relayhost",
        "fail-second-relayhost-elsewhere",
        "fail-transport-map-around-it",
        "fail-default-transport-nexthop",
    }
    assert errors == {"error-transport-map-in-ldap"}


def test_701_messages_name_main_cf_settings(fleet_701: Snapshot) -> None:
    by_subject = {f.subject: f.message for f in run(coex_701, fleet_701)}
    assert "looks up its MX records first" in by_subject["pass-unbracketed-exchange-name"]
    assert "relayhost contoso.com designates no Exchange server" in by_subject["fail-bare-mail-domain"]
    assert "also lists [smtp.isp.example]" in by_subject["fail-second-relayhost-elsewhere"]
    assert "transport_maps entry example.net" in by_subject["fail-transport-map-around-it"]
    assert "default_transport = smtp:[smtp.isp.example]" in by_subject["fail-default-transport-nexthop"]
    assert "ldap-transport.cf" in by_subject["error-transport-map-in-ldap"]


# -- COEX-702, the 2003 relay-list rule on Linux hosts' addresses -------------------------------


def test_702_grants_linux_host_addresses_like_any_pop3_server(tmp_path: Path) -> None:
    hosts = {"pass-granted": BASE + "relayhost = [10.0.0.10]\n", "fail-not-granted": BASE}
    records = _fleet(tmp_path, hosts, addresses={"fail-not-granted": "10.0.0.99"})
    passed, failed, errors = outcome(coex_702, snapshot(*EXCHANGE, *records))
    assert (passed, failed, errors) == ({"pass-granted"}, {"fail-not-granted"}, set())


# -- COEX-705 (host half) ----------------------------------------------------------------------

RELAY = BASE + "relayhost = [ex01.contoso.com]:25\n"
FLEET_705 = {
    "pass-encrypt": RELAY + "smtp_tls_security_level = encrypt\n",
    "pass-policy-map-encrypts-the-relayhost": RELAY
    + "smtp_tls_security_level = may\nsmtp_tls_policy_maps = hash:{pf}/tls_policy\n",
    "fail-opportunistic-tls": RELAY + "smtp_tls_security_level = may\n",
    "fail-no-tls-at-level-2": "compatibility_level = 2\nmynetworks = 127.0.0.0/8\nrelayhost = [ex01.contoso.com]:25\n",
    "fail-login-without-tls": RELAY
    + "smtp_tls_security_level = may\nsmtp_sasl_auth_enable = yes\nsmtp_sasl_password_maps = hash:{pf}/sasl_passwd\n",
    "error-policy-map-not-exported": RELAY + "smtp_tls_policy_maps = ldap:{pf}/ldap-tls.cf\n",
}
TABLES_705 = {
    "tls_policy": "[ex01.contoso.com]:25 encrypt\n",
    "sasl_passwd": "[ex01.contoso.com]:25 relay@contoso.com:secret\n",
    "ldap-tls.cf": "server_host = ldaps://dc1.contoso.com\n",
}


@pytest.fixture(scope="module")
def fleet_705(tmp_path_factory: pytest.TempPathFactory) -> Snapshot:
    return snapshot(*EXCHANGE, *_fleet(tmp_path_factory.mktemp("f705"), FLEET_705, TABLES_705))


def test_705_exact_sets_and_severities(fleet_705: Snapshot) -> None:
    passed, failed, errors = outcome(coex_705, fleet_705)
    assert passed == {"pass-encrypt", "pass-policy-map-encrypts-the-relayhost"}
    assert failed == {"fail-opportunistic-tls", "fail-no-tls-at-level-2", "fail-login-without-tls"}
    assert errors == {"error-policy-map-not-exported"}
    findings = {f.subject: f for f in run(coex_705, fleet_705)}
    assert {s: f.severity for s, f in findings.items() if f.status is Status.FAIL} == {
        "fail-opportunistic-tls": "medium",
        "fail-no-tls-at-level-2": "medium",
        "fail-login-without-tls": None,
    }
    assert "the password can travel in clear" in findings["fail-login-without-tls"].message
    assert "<redacted>" not in findings["fail-login-without-tls"].message
    assert "smtp_tls_policy_maps" in findings["pass-policy-map-encrypts-the-relayhost"].message


def test_705_skips_hosts_that_do_not_say() -> None:
    with pytest.raises(SkipCheck, match="TLS settings towards Exchange"):
        list(coex_705.run(snapshot(pop3_server("POP01", SmartHost="[10.0.0.10]", SmartHostType="2"))))
