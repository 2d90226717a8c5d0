"""COEX-502, COEX-503 and COEX-901 on Linux hosts exported by the real postconf / postmap.

Hosts are named pass-* / fail-* / error-*; COEX-503 and COEX-901 judge each smtpd service (subject
`HOST:service/type`), so their hosts carry only the service under test.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from linuxlab import STOCK_MASTER, export_host, records_of

from auditor.checks.p5_client_auth import pop3_smtp_requires_authentication as coex_502
from auditor.checks.p5_client_auth import smtp_auth_only_after_tls as coex_503
from auditor.checks.p9_hygiene import no_open_relay as coex_901
from auditor.model import Snapshot
from auditor.records import ObjectRecord
from auditor.registry import SkipCheck
from auditor.testing import outcome, pop3_server, run, snapshot

SMTP_ONLY = "smtp      inet  n       -       y       -       -       smtpd\n"
BASE = "compatibility_level = 3.6\nmynetworks = 127.0.0.0/8\nsmtpd_sasl_type = dovecot\nsmtpd_sasl_path = private/auth\n"


def _fleet(root: Path, hosts: dict[str, tuple[str, str]], tables: dict[str, str] | None = None) -> Snapshot:
    records: list[ObjectRecord] = []
    for name, (main, master) in hosts.items():
        records += records_of(export_host(root, name, main=main, master=master, tables=tables), name)
    return snapshot(*records)


# -- COEX-901 ----------------------------------------------------------------------------------

FLEET_901 = {
    "pass-compat-3-6-defaults": (BASE, SMTP_ONLY),
    "pass-debian-loopback-mynetworks": (
        BASE.replace("127.0.0.0/8", "127.0.0.0/8 [::ffff:127.0.0.0]/104 [::1]/128"),
        SMTP_ONLY,
    ),
    "pass-reject-unauth-destination": (
        BASE
        + "smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination\n",
        SMTP_ONLY,
    ),
    "fail-mynetworks-everything": ("compatibility_level = 2\nmynetworks = 0.0.0.0/0\n", SMTP_ONLY),
    "fail-mynetworks-wider-than-16": (BASE.replace("127.0.0.0/8", "127.0.0.0/8 10.0.0.0/8"), SMTP_ONLY),
    "fail-permit-naked-ip-address": (
        BASE + "smtpd_relay_restrictions = permit_naked_ip_address, reject_unauth_destination\n",
        SMTP_ONLY,
    ),
    "error-access-map-before-reject": (
        BASE
        + "smtpd_relay_restrictions = check_client_access hash:{pf}/clients, reject_unauth_destination\n",
        SMTP_ONLY,
    ),
    "error-permit-before-reject-is-fatal": (
        BASE + "smtpd_relay_restrictions = permit, reject_unauth_destination\n",
        SMTP_ONLY,
    ),
}


@pytest.fixture(scope="module")
def fleet_901(tmp_path_factory: pytest.TempPathFactory) -> Snapshot:
    return _fleet(tmp_path_factory.mktemp("f901"), FLEET_901, {"clients": "10.0.0.5 OK\n"})


def test_901_exact_sets(fleet_901: Snapshot) -> None:
    passed, failed, errors = outcome(coex_901, fleet_901)
    service = ":smtp/inet"
    assert passed == {
        f"pass-compat-3-6-defaults{service}",
        f"pass-debian-loopback-mynetworks{service}",
        f"pass-reject-unauth-destination{service}",
    }
    assert failed == {
        f"fail-mynetworks-everything{service}",
        f"fail-mynetworks-wider-than-16{service}",
        f"fail-permit-naked-ip-address{service}",
    }
    assert errors == {
        f"error-access-map-before-reject{service}",
        f"error-permit-before-reject-is-fatal{service}",
    }


def test_901_messages(fleet_901: Snapshot) -> None:
    by_subject = {f.subject: f for f in run(coex_901, fleet_901)}
    assert "10.0.0.0/8, wider than /16" in by_subject["fail-mynetworks-wider-than-16:smtp/inet"].message
    fatal = by_subject["error-permit-before-reject-is-fatal:smtp/inet"].message
    assert "smtpd cannot start" in fatal and "after 'permit' does not count" in fatal
    assert "check_client_access" in by_subject["error-access-map-before-reject:smtp/inet"].message
    assert {ref.kind for ref in by_subject["pass-compat-3-6-defaults:smtp/inet"].evidence} == {
        "postfix_service"
    }


# -- COEX-503 ----------------------------------------------------------------------------------

FLEET_503 = {
    "pass-no-auth-offered": (BASE, SMTP_ONLY),
    "pass-auth-only-after-starttls": (
        BASE,
        SMTP_ONLY.rstrip("\n") + " -o smtpd_sasl_auth_enable=yes -o smtpd_tls_auth_only=yes\n",
    ),
    "pass-tls-required": (
        BASE,
        "submission inet n - y - - smtpd -o smtpd_tls_security_level=encrypt -o smtpd_sasl_auth_enable=yes\n",
    ),
    "pass-wrapper-mode": (
        BASE,
        "submissions inet n - y - - smtpd -o smtpd_tls_wrappermode=yes -o smtpd_sasl_auth_enable=yes\n",
    ),
    "fail-auth-before-tls": (
        BASE + "smtpd_sasl_auth_enable = yes\nsmtpd_tls_security_level = may\n",
        SMTP_ONLY,
    ),
    "fail-override-weakens-main-cf": (
        BASE + "smtpd_sasl_auth_enable = yes\nsmtpd_tls_auth_only = yes\n",
        SMTP_ONLY.rstrip("\n") + " -o smtpd_tls_auth_only=no\n",
    ),
}


@pytest.fixture(scope="module")
def fleet_503(tmp_path_factory: pytest.TempPathFactory) -> Snapshot:
    return _fleet(tmp_path_factory.mktemp("f503"), FLEET_503)


def test_503_exact_sets(fleet_503: Snapshot) -> None:
    passed, failed, errors = outcome(coex_503, fleet_503)
    assert passed == {
        "pass-no-auth-offered:smtp/inet",
        "pass-auth-only-after-starttls:smtp/inet",
        "pass-tls-required:submission/inet",
        "pass-wrapper-mode:submissions/inet",
    }
    assert failed == {"fail-auth-before-tls:smtp/inet", "fail-override-weakens-main-cf:smtp/inet"}
    assert errors == set()
    message = {f.subject: f.message for f in run(coex_503, fleet_503)}["fail-auth-before-tls:smtp/inet"]
    assert "smtpd_tls_security_level = may" in message


def test_503_skips_hosts_that_do_not_say(tmp_path: Path) -> None:
    with pytest.raises(SkipCheck, match="before TLS"):
        list(coex_503.run(snapshot(pop3_server("POP01", AuthFlags="2"))))
    folder = export_host(tmp_path, "LNX01", main=BASE, master=SMTP_ONLY)
    (folder / "postconf-M.txt").unlink()
    with pytest.raises(SkipCheck, match="SMTP settings"):
        list(coex_503.run(snapshot(*records_of(folder, "LNX01"))))


# -- COEX-502 ----------------------------------------------------------------------------------

SUBMISSION_NO_TLS = "submission inet n - y - - smtpd -o smtpd_sasl_auth_enable=yes -o smtpd_relay_restrictions=permit_sasl_authenticated,reject\n"
FLEET_502 = {
    "pass-stock-submission": (BASE, STOCK_MASTER),
    "fail-no-submission-service": (BASE, SMTP_ONLY),
    "fail-sasl-through-cyrus": (BASE.replace("dovecot", "cyrus"), STOCK_MASTER),
    "fail-auth-before-tls": (BASE, SMTP_ONLY + SUBMISSION_NO_TLS),
    "fail-open-port-25": (BASE.replace("127.0.0.0/8", "10.0.0.0/8"), STOCK_MASTER),
    "error-relay-depends-on-a-map": (
        BASE
        + "smtpd_relay_restrictions = check_client_access hash:{pf}/clients, reject_unauth_destination\n",
        STOCK_MASTER,
    ),
}


@pytest.fixture(scope="module")
def fleet_502(tmp_path_factory: pytest.TempPathFactory) -> Snapshot:
    return _fleet(tmp_path_factory.mktemp("f502"), FLEET_502, {"clients": "10.0.0.5 OK\n"})


def test_502_exact_sets(fleet_502: Snapshot) -> None:
    passed, failed, errors = outcome(coex_502, fleet_502)
    assert passed == {"pass-stock-submission"}
    assert failed == {
        "fail-no-submission-service",
        "fail-sasl-through-cyrus",
        "fail-auth-before-tls",
        "fail-open-port-25",
    }
    assert errors == {"error-relay-depends-on-a-map"}
    by_subject = {f.subject: f for f in run(coex_502, fleet_502)}
    assert "not Dovecot" in by_subject["fail-sasl-through-cyrus"].message
    assert "before TLS" in by_subject["fail-auth-before-tls"].message
    assert "open relay" in by_subject["fail-open-port-25"].message
