"""COEX-101: mailbox-enabled users are complete Exchange recipients."""

from __future__ import annotations

import pytest

from auditor.checks.p1_exchange_users import mailbox_users_are_complete as coex_101
from auditor.model import Snapshot
from auditor.registry import SkipCheck
from auditor.testing import exchange_server, mailbox_store, outcome, policy, snapshot, store_dn, user


def fixture(*, domain: bool = True, configuration: bool = True) -> Snapshot:
    return snapshot(
        policy(
            "Default",
            "SMTP:@contoso.com",
            "smtp:@pop.contoso.com",
            non_authoritative=["smtp:@pop.contoso.com"],
        ),
        exchange_server("EX01"),
        mailbox_store("EX01"),
        user("pass-alice", mailbox=True, proxies=["SMTP:pass-alice@contoso.com"]),
        user("pass-msexch", proxies=["SMTP:pass-msexch@contoso.com"], home_mdb=store_dn().upper()),
        user("fail-store", proxies=["SMTP:fail-store@contoso.com"], home_mdb=store_dn("EX99")),
        user("fail-legacy", mailbox=True, proxies=["SMTP:fail-legacy@contoso.com"], legacyExchangeDN=None),
        user("fail-foreign", mailbox=True, proxies=["SMTP:fail-foreign@fabrikam.com"]),
        user("fail-nonauth", mailbox=True, proxies=["SMTP:fail-nonauth@pop.contoso.com"]),
        user("fail-noprimary", mailbox=True, proxies=["smtp:fail-noprimary@contoso.com"]),
        user(
            "fail-nohomemdb",
            proxies=["SMTP:fail-nohomemdb@contoso.com"],
            msExchHomeServerName="/o=Contoso/cn=EX01",
        ),
        user("mail-enabled", target="SMTP:x@pop.contoso.com", proxies=["SMTP:x@contoso.com"]),
        user("plain"),
        domain=domain,
        configuration=configuration,
    )


def test_exact_pass_and_fail_sets() -> None:
    passed, failed, errors = outcome(coex_101, fixture())
    dn = "CN={},OU=Mail,DC=contoso,DC=com".format
    assert passed == {dn("pass-alice"), dn("pass-msexch")}
    assert failed == {
        dn(n)
        for n in (
            "fail-store",
            "fail-legacy",
            "fail-foreign",
            "fail-nonauth",
            "fail-noprimary",
            "fail-nohomemdb",
        )
    }
    assert errors == set()


def test_without_configuration_store_and_domain_are_not_judged() -> None:
    passed, failed, _ = outcome(coex_101, fixture(configuration=False))
    dn = "CN={},OU=Mail,DC=contoso,DC=com".format
    assert failed == {dn("fail-legacy"), dn("fail-noprimary"), dn("fail-nohomemdb")}
    assert dn("fail-store") in passed and dn("fail-foreign") in passed


def test_message_names_the_missing_store() -> None:
    findings = {f.subject: f for f in coex_101.run(fixture())}
    message = findings["CN=fail-store,OU=Mail,DC=contoso,DC=com"].message
    assert "EX99" in message and "not a mailbox store" in message


def test_skips_without_mailbox_users() -> None:
    with pytest.raises(SkipCheck, match="mailbox-enabled"):
        list(coex_101.run(snapshot(user("plain"), policy("Default", "SMTP:@contoso.com"))))
