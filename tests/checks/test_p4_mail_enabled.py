"""COEX-401, COEX-402, COEX-403, COEX-404: POP3 users are mail-enabled, addressable, visible, not looped."""

from __future__ import annotations

import pytest

from auditor.checks.p4_mail_enabled import pop3_mailboxes_are_mail_enabled as coex_401
from auditor.checks.p4_mail_enabled import pop3_users_in_gal as coex_403
from auditor.checks.p4_mail_enabled import pop3_users_reply_address_accepted as coex_402
from auditor.checks.p4_mail_enabled import target_address_not_authoritative as coex_404
from auditor.model import Snapshot
from auditor.records import ObjectRecord
from auditor.registry import SkipCheck
from auditor.testing import (
    accepted_domain,
    dn_of,
    outcome,
    policy,
    pop3_domain,
    pop3_mailbox,
    pop3_server,
    snapshot,
    user,
)

GAL = "CN=Default Global Address List,CN=All Global Address Lists,CN=Address Lists Container"


def fixture_401(*, domain: bool = True, configuration: bool = True) -> Snapshot:
    mailboxes = [
        "pass-bob",
        "pass-upper",
        "fail-contact",
        "fail-mailbox",
        "fail-nonick",
        "fail-wrong",
        "fail-none",
    ]
    return snapshot(
        pop3_server("POP01", files=["winpop-list.txt"]),
        *(pop3_mailbox("POP01", f"{m}@pop.example") for m in mailboxes),
        user("pass-bob", target="SMTP:pass-bob@pop.example"),
        user("upper", target="smtp:PASS-UPPER@POP.EXAMPLE"),
        user("fail-contact", contact=True, target="SMTP:fail-contact@pop.example"),
        user("fail-mailbox", mailbox=True, target="SMTP:fail-mailbox@pop.example"),
        user("fail-nonick"),
        user("fail-wrong", target="SMTP:fail-wrong@elsewhere.example"),
        domain=domain,
        configuration=configuration,
    )


def test_401_exact_sets() -> None:
    passed, failed, _ = outcome(coex_401, fixture_401())
    assert passed == {"pass-bob@pop.example", "pass-upper@pop.example"}
    assert failed == {
        f"{m}@pop.example" for m in ("fail-contact", "fail-mailbox", "fail-nonick", "fail-wrong", "fail-none")
    }


def test_401_messages_say_why() -> None:
    messages = {f.subject: f.message for f in coex_401.run(fixture_401())}
    assert "contact" in messages["fail-contact@pop.example"]
    assert "homeMDB" in messages["fail-mailbox@pop.example"]
    assert "no mailNickname" in messages["fail-nonick@pop.example"]
    assert "elsewhere.example" in messages["fail-wrong@pop.example"]


def test_401_skips() -> None:
    with pytest.raises(SkipCheck, match="its mailbox list"):
        list(coex_401.run(snapshot(pop3_server("POP01"))))
    with pytest.raises(SkipCheck, match="domain partition"):
        list(coex_401.run(fixture_401(domain=False)))


def pop3_org(*records: ObjectRecord, domain: bool = True, configuration: bool = True) -> Snapshot:
    return snapshot(
        policy("Default", "SMTP:@contoso.com"),
        pop3_server("POP01", files=["winpop-list.txt"]),
        pop3_domain("POP01", "pop.example"),
        *records,
        domain=domain,
        configuration=configuration,
    )


def test_402_exact_sets() -> None:
    snap = pop3_org(
        user("pass-ex", target="SMTP:a@pop.example", proxies=["SMTP:pass-ex@contoso.com"]),
        user("pass-pop", target="SMTP:b@pop.example", proxies=["SMTP:b@pop.example"]),
        user("fail-other", target="SMTP:c@pop.example", proxies=["SMTP:c@fabrikam.example"]),
        user("fail-noprimary", target="SMTP:d@pop.example", proxies=["smtp:d@contoso.com"]),
        user("elsewhere", target="SMTP:e@elsewhere.example", proxies=["SMTP:e@fabrikam.example"]),
        user("contact", contact=True, target="SMTP:f@pop.example", proxies=["SMTP:f@fabrikam.example"]),
        user("mailbox", mailbox=True, proxies=["SMTP:g@fabrikam.example"]),
    )
    passed, failed, _ = outcome(coex_402, snap)
    assert passed == {dn_of("pass-ex"), dn_of("pass-pop")}
    assert failed == {dn_of("fail-other"), dn_of("fail-noprimary")}


def test_402_skips() -> None:
    with pytest.raises(SkipCheck, match="Configuration"):
        list(coex_402.run(pop3_org(configuration=False)))
    with pytest.raises(SkipCheck, match="no POP3 domain"):
        list(coex_402.run(snapshot(policy("Default", "SMTP:@contoso.com"))))
    with pytest.raises(SkipCheck, match="no mail-enabled user"):
        list(coex_402.run(pop3_org(user("x", target="SMTP:x@elsewhere.example"))))


def gal_users(with_abook: bool) -> tuple[ObjectRecord, ...]:
    abook = GAL if with_abook else None
    return (
        user("pass-visible", target="SMTP:a@pop.example", showInAddressBook=abook),
        user(
            "fail-hidden",
            target="SMTP:b@pop.example",
            showInAddressBook=abook,
            msExchHideFromAddressLists="TRUE",
        ),
        user("fail-nolegacy", target="SMTP:c@pop.example", showInAddressBook=abook, legacyExchangeDN=None),
        user("fail-noabook", target="SMTP:d@pop.example"),
        user(
            "pass-shown",
            target="SMTP:e@pop.example",
            showInAddressBook=abook,
            msExchHideFromAddressLists="FALSE",
        ),
    )


def test_403_exact_sets_with_show_in_address_book_collected() -> None:
    passed, failed, _ = outcome(coex_403, pop3_org(*gal_users(with_abook=True)))
    assert passed == {dn_of("pass-visible"), dn_of("pass-shown")}
    assert failed == {dn_of("fail-hidden"), dn_of("fail-nolegacy"), dn_of("fail-noabook")}


def test_403_ignores_show_in_address_book_when_never_collected() -> None:
    passed, failed, _ = outcome(coex_403, pop3_org(*gal_users(with_abook=False)))
    assert failed == {dn_of("fail-hidden"), dn_of("fail-nolegacy")}
    assert dn_of("fail-noabook") in passed


def test_404_exact_sets() -> None:
    snap = snapshot(
        policy(
            "Default",
            "SMTP:@contoso.com",
            "smtp:@pop.contoso.com",
            non_authoritative=["smtp:@pop.contoso.com"],
        ),
        accepted_domain("*.wild.example", flags=0),
        user("pass-pop", target="SMTP:pass-pop@pop.contoso.com", proxies=["SMTP:pass-pop@contoso.com"]),
        user("pass-contact", contact=True, target="SMTP:x@fabrikam.example"),
        user("fail-self", target="SMTP:fail-self@contoso.com", proxies=["SMTP:fail-self@contoso.com"]),
        user("fail-other", target="SMTP:pass-pop@contoso.com"),
        user("fail-nobody", target="SMTP:nobody@CONTOSO.COM"),
        user("fail-contact", contact=True, target="SMTP:y@contoso.com"),
        user("fail-wild", target="SMTP:z@a.wild.example"),
        user("x400", target="X400:c=US;a= ;p=Contoso;o=Exchange;s=X;"),
    )
    passed, failed, _ = outcome(coex_404, snap)
    assert passed == {dn_of("pass-pop"), dn_of("pass-contact")}
    assert failed == {
        dn_of(n) for n in ("fail-self", "fail-other", "fail-nobody", "fail-contact", "fail-wild")
    }
    messages = {f.subject: f.message for f in coex_404.run(snap)}
    assert "5.4.6" in messages[dn_of("fail-self")]
    assert "misdelivery" in messages[dn_of("fail-other")]
    assert "NDR" in messages[dn_of("fail-nobody")]


def test_404_skips() -> None:
    with pytest.raises(SkipCheck, match="Configuration"):
        list(coex_404.run(snapshot(user("a", target="SMTP:a@x.example"), configuration=False)))
    with pytest.raises(SkipCheck, match="targetAddress"):
        list(coex_404.run(snapshot(policy("Default", "SMTP:@contoso.com"), user("a"))))
