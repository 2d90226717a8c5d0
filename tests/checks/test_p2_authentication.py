"""COEX-201 (POP3 service uses AD authentication) and COEX-202 (mailboxes belong to enabled users)."""

from __future__ import annotations

import pytest

from auditor.checks.p2_authentication import pop3_mailboxes_have_ad_users as coex_202
from auditor.checks.p2_authentication import pop3_uses_ad_authentication as coex_201
from auditor.model import Snapshot
from auditor.registry import SkipCheck
from auditor.testing import outcome, pop3_mailbox, pop3_server, snapshot, user

AD = "{EF9D811E-36C5-497F-ADE7-2B36DF172824}"
SAM = "{14F1665C-E3D3-46AA-884F-ED4CF19D7AD5}"
MD5 = "{C395E20C-2236-4AF7-B736-54FAD07DC526}"
WINPOP = "winpop-auth.txt"
REG = "pop3.reg"


def auth_fixture() -> Snapshot:
    methods = [SAM, AD, MD5]
    return snapshot(
        pop3_server("pass-winpop", files=[WINPOP], winpopAuthCurrent="Active Directory Integrated"),
        pop3_server("pass-reg", files=[REG], regAuthMethods=methods, regDefaultAuthMethod="1"),
        pop3_server(
            "pass-both",
            files=[WINPOP, REG],
            winpopAuthCurrent="active directory integrated",
            regAuthMethods=methods,
            regDefaultAuthMethod="1",
        ),
        pop3_server("fail-winpop", files=[WINPOP], winpopAuthCurrent="Encrypted Password File"),
        pop3_server("fail-unmarked", files=[WINPOP], winpopAuthMethods=["Active Directory Integrated"]),
        pop3_server("fail-reg", files=[REG], regAuthMethods=methods, regDefaultAuthMethod="0"),
        pop3_server(
            "fail-both",
            files=[WINPOP, REG],
            winpopAuthCurrent="Local Windows Accounts",
            regAuthMethods=methods,
            regDefaultAuthMethod="0",
        ),
        pop3_server(
            "err-contradiction",
            files=[WINPOP, REG],
            winpopAuthCurrent="Active Directory Integrated",
            regAuthMethods=methods,
            regDefaultAuthMethod="2",
        ),
        pop3_server("err-index", files=[REG], regAuthMethods=methods, regDefaultAuthMethod="7"),
        pop3_server("unexported", files=["MetaBase.xml"]),
    )


def test_201_exact_sets() -> None:
    passed, failed, errors = outcome(coex_201, auth_fixture())
    assert passed == {"pass-winpop", "pass-reg", "pass-both"}
    assert failed == {"fail-winpop", "fail-unmarked", "fail-reg", "fail-both"}
    assert errors == {"err-contradiction", "err-index"}


def test_201_contradiction_names_both_files() -> None:
    findings = {f.subject: f for f in coex_201.run(auth_fixture())}
    message = findings["err-contradiction"].message
    assert "winpop-auth.txt" in message and "pop3.reg" in message and "Encrypted Password File" in message


def test_201_skips_without_pop3_servers_or_auth_exports() -> None:
    with pytest.raises(SkipCheck, match="no POP3 server"):
        list(coex_201.run(snapshot()))
    with pytest.raises(SkipCheck, match="its authentication settings"):
        list(coex_201.run(snapshot(pop3_server("POP01", files=["MetaBase.xml"]))))


def mailbox_fixture(*, domain: bool = True, configuration: bool = True) -> Snapshot:
    return snapshot(
        pop3_server("POP01", files=["winpop-list.txt"]),
        user("pass-sam"),
        user("someone", upn="pass-upn@pop.example"),
        user("another", target="SMTP:pass-target@pop.example"),
        user("erin", contact=True, target="SMTP:fail-contact@pop.example"),
        user("fail-disabled", disabled=True),
        pop3_mailbox("POP01", "pass-sam@pop.example"),
        pop3_mailbox("POP01", "pass-upn@pop.example"),
        pop3_mailbox("POP01", "pass-target@pop.example"),
        pop3_mailbox("POP01", "fail-contact@pop.example"),
        pop3_mailbox("POP01", "fail-disabled@pop.example"),
        pop3_mailbox("POP01", "fail-nobody@pop.example"),
        domain=domain,
        configuration=configuration,
    )


def test_202_exact_sets() -> None:
    passed, failed, errors = outcome(coex_202, mailbox_fixture())
    assert passed == {"pass-sam@pop.example", "pass-upn@pop.example", "pass-target@pop.example"}
    assert failed == {"fail-contact@pop.example", "fail-disabled@pop.example", "fail-nobody@pop.example"}
    assert errors == set()


def test_202_messages_say_why() -> None:
    findings = {f.subject: f.message for f in coex_202.run(mailbox_fixture())}
    assert "is a contact" in findings["fail-contact@pop.example"]
    assert "disabled" in findings["fail-disabled@pop.example"]


def test_202_skips_without_mailbox_list_or_domain_partition() -> None:
    with pytest.raises(SkipCheck, match="its mailbox list"):
        list(coex_202.run(snapshot(pop3_server("POP01"))))
    with pytest.raises(SkipCheck, match="domain partition"):
        list(coex_202.run(mailbox_fixture(domain=False)))
