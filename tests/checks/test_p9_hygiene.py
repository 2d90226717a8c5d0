"""COEX-901 (no open relay), COEX-902 (unique SMTP addresses), COEX-903 (one primary SMTP address)."""

from __future__ import annotations

import base64

import pytest

from auditor.checks.p9_hygiene import no_open_relay as coex_901
from auditor.checks.p9_hygiene import one_primary_smtp as coex_903
from auditor.checks.p9_hygiene import smtp_addresses_unique as coex_902
from auditor.model import Snapshot
from auditor.records import ObjectKind
from auditor.registry import SkipCheck
from auditor.testing import (
    b64,
    dn_of,
    outcome,
    pop3_server,
    recipient,
    relay_blob,
    snapshot,
    user,
    virtual_server,
    vs_dn,
)

UNDECODABLE = base64.b64encode(b"\x00" * 10).decode()


def fixture_901(*, domain: bool = True, configuration: bool = True) -> Snapshot:
    return snapshot(
        virtual_server("pass-default"),
        virtual_server("pass-list", msExchSmtpRelayIpList=b64(relay_blob(["10.0.0.25/32"]))),
        virtual_server("pass-16", msExchSmtpRelayIpList=b64(relay_blob(["10.1.0.0/16"]))),
        virtual_server("fail-15", msExchSmtpRelayIpList=b64(relay_blob(["10.0.0.0/15"]))),
        virtual_server("fail-allexcept", msExchSmtpRelayIpList=b64(relay_blob(all_except=True))),
        virtual_server(
            "fail-allexcept-deny",
            msExchSmtpRelayIpList=b64(relay_blob(denies=["1.2.3.4/32"], all_except=True)),
        ),
        virtual_server("err-garbage", msExchSmtpRelayIpList=UNDECODABLE),
        virtual_server("err-notbase64", msExchSmtpRelayIpList="%%%"),
        pop3_server("pass-pop", RelayIpList=b64(relay_blob())),
        pop3_server("fail-pop-unset"),
        pop3_server("fail-pop-empty", RelayIpList=""),
        pop3_server("fail-pop-any", RelayIpList=b64(relay_blob(["0.0.0.0/0"]))),
        pop3_server("err-pop-garbage", RelayIpList=UNDECODABLE),
        pop3_server("no-metabase", files=["pop3.reg"]),
        domain=domain,
        configuration=configuration,
    )


def test_901_exact_sets() -> None:
    passed, failed, errors = outcome(coex_901, fixture_901())
    assert passed == {vs_dn("pass-default"), vs_dn("pass-list"), vs_dn("pass-16"), "pass-pop"}
    assert failed == {
        vs_dn("fail-15"),
        vs_dn("fail-allexcept"),
        vs_dn("fail-allexcept-deny"),
        "fail-pop-unset",
        "fail-pop-empty",
        "fail-pop-any",
    }
    assert errors == {vs_dn("err-garbage"), vs_dn("err-notbase64"), "err-pop-garbage"}


def test_901_without_configuration_examines_only_pop3_servers() -> None:
    passed, failed, errors = outcome(coex_901, fixture_901(configuration=False))
    assert passed == {"pass-pop"}
    assert failed == {"fail-pop-unset", "fail-pop-empty", "fail-pop-any"}
    assert errors == {"err-pop-garbage"}


def test_901_skips_with_nothing_to_examine() -> None:
    with pytest.raises(SkipCheck, match="no SMTP service to examine"):
        list(coex_901.run(snapshot(pop3_server("POP01", files=["pop3.reg"]), configuration=False)))


def test_902_exact_sets() -> None:
    snap = snapshot(
        user("a", proxies=["SMTP:pass-a@contoso.com", "smtp:fail-dup@contoso.com"]),
        user("b", proxies=["SMTP:pass-b@contoso.com", "smtp:FAIL-DUP@contoso.com"]),
        user("c", proxies=["SMTP:pass-c@contoso.com"], mail="pass-c@contoso.com"),
        user("d", contact=True, mail="fail-mail@contoso.com", proxies=["SMTP:pass-d@contoso.com"]),
        user("e", proxies=["SMTP:fail-mail@contoso.com", "X400:c=US;a= ;p=Contoso;"]),
    )
    passed, failed, _ = outcome(coex_902, snap)
    assert passed == {"pass-a@contoso.com", "pass-b@contoso.com", "pass-c@contoso.com", "pass-d@contoso.com"}
    assert failed == {"fail-dup@contoso.com", "fail-mail@contoso.com"}
    messages = {f.subject: f.message for f in coex_902.run(snap)}
    assert dn_of("a") in messages["fail-dup@contoso.com"] and dn_of("b") in messages["fail-dup@contoso.com"]


def test_902_skips_without_addresses() -> None:
    with pytest.raises(SkipCheck, match="no SMTP address"):
        list(coex_902.run(snapshot(user("plain"))))


def test_903_exact_sets() -> None:
    snap = snapshot(
        user("pass-one", proxies=["SMTP:pass-one@contoso.com", "smtp:x@contoso.com"]),
        user("pass-case", proxies=["SMTP:Pass-Case@contoso.com"], mail="pass-case@CONTOSO.com"),
        user("pass-nomail", proxies=["SMTP:pass-nomail@contoso.com"], mail=""),
        user("fail-none", proxies=["smtp:fail-none@contoso.com", "X400:c=US;a= ;p=Contoso;"]),
        user("fail-two", proxies=["SMTP:a@contoso.com", "SMTP:b@contoso.com"]),
        user("fail-mail", proxies=["SMTP:fail-mail@contoso.com"], mail="other@contoso.com"),
        user("plain"),
    )
    passed, failed, _ = outcome(coex_903, snap)
    assert passed == {dn_of("pass-one"), dn_of("pass-case"), dn_of("pass-nomail")}
    assert failed == {dn_of("fail-none"), dn_of("fail-two"), dn_of("fail-mail")}


def test_903_skips_without_proxy_addresses() -> None:
    with pytest.raises(SkipCheck, match="proxyAddresses"):
        list(coex_903.run(snapshot(user("plain"))))


def test_902_and_903_judge_every_kind_of_recipient() -> None:
    """A user claiming a distribution group's address collides; a group with two primaries fails."""
    snap = snapshot(
        user(
            "fail-902-user",
            mailbox=True,
            proxies=["SMTP:fail-902-user@contoso.com", "smtp:sales@contoso.com"],
        ),
        recipient(ObjectKind.GROUP, "Sales", "SMTP:sales@contoso.com"),
        recipient(ObjectKind.GROUP, "fail-903-group", "SMTP:a@contoso.com", "SMTP:b@contoso.com"),
        recipient(ObjectKind.DYNAMIC_GROUP, "pass-dynamic", "SMTP:dynamic@contoso.com"),
        recipient(ObjectKind.PUBLIC_FOLDER, "pass-folder", "SMTP:folder@contoso.com"),
    )
    _, failed, _ = outcome(coex_902, snap)
    assert failed == {"sales@contoso.com"}
    passed, failed, _ = outcome(coex_903, snap)
    assert failed == {dn_of("fail-903-group")}
    assert {dn_of("pass-dynamic"), dn_of("pass-folder"), dn_of("Sales")} <= passed
