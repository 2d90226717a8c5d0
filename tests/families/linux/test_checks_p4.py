"""COEX-202 and COEX-401 on Linux hosts: POP3 mailboxes from the real `doveadm user '*'`.

The users are those of a running Dovecot (conftest.CHECK_USERS); the export script lists them like
on a real host. LNX01 hosts one domain, so its bare user names take it; LNX02 hosts two, so its
names cannot be mapped to addresses: one `error` for the host, never a guess.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from linuxlab import STOCK_MASTER, export_host, records_of

from auditor.checks.p2_authentication import pop3_mailboxes_have_ad_users as coex_202
from auditor.checks.p4_mail_enabled import pop3_mailboxes_are_mail_enabled as coex_401
from auditor.model import Snapshot
from auditor.testing import outcome, run, snapshot, user

MAIN = "compatibility_level = 3.6\nmydestination = localhost\nvirtual_mailbox_domains = {domains}\n"


@pytest.fixture(scope="module")
def mailboxes(tmp_path_factory: pytest.TempPathFactory, users_dovecot: Path) -> Snapshot:
    root = tmp_path_factory.mktemp("f202")
    one = export_host(
        root,
        "LNX01",
        main=MAIN.format(domains="pop.contoso.com"),
        master=STOCK_MASTER,
        dovecot_conf=users_dovecot,
    )
    two = export_host(
        root,
        "LNX02",
        main=MAIN.format(domains="a.example b.example"),
        master=STOCK_MASTER,
        dovecot_conf=users_dovecot,
    )
    assert (one / "doveadm-users.txt").read_text(encoding="utf-8").split() == [
        "pass-bob",
        "fail-no-ad-user",
        "fail-contact",
        "fail-disabled",
    ]
    return snapshot(
        user("pass-bob", target="SMTP:pass-bob@pop.contoso.com", proxies=["SMTP:pass-bob@contoso.com"]),
        user("fail-contact", contact=True, target="SMTP:fail-contact@pop.contoso.com"),
        user("fail-disabled", disabled=True, target="SMTP:fail-disabled@pop.contoso.com"),
        *records_of(one, "LNX01"),
        *records_of(two, "LNX02"),
    )


def test_202_exact_sets(mailboxes: Snapshot) -> None:
    passed, failed, errors = outcome(coex_202, mailboxes)
    assert passed == {"pass-bob@pop.contoso.com"}
    assert failed == {
        "fail-no-ad-user@pop.contoso.com",
        "fail-contact@pop.contoso.com",
        "fail-disabled@pop.contoso.com",
    }
    assert errors == {"LNX02"}
    message = {f.subject: f.message for f in run(coex_202, mailboxes)}["LNX02"]
    assert "2 domain(s), not exactly one" in message


def test_401_exact_sets(mailboxes: Snapshot) -> None:
    passed, failed, errors = outcome(coex_401, mailboxes)
    # COEX-401 asks for a mail-enabled user only; that the account is disabled is COEX-202's business.
    assert passed == {"pass-bob@pop.contoso.com", "fail-disabled@pop.contoso.com"}
    assert failed == {"fail-no-ad-user@pop.contoso.com", "fail-contact@pop.contoso.com"}
    assert errors == {"LNX02"}
    evidence = {f.subject: f.evidence for f in run(coex_401, mailboxes)}["pass-bob@pop.contoso.com"]
    assert {ref.kind for ref in evidence} == {"dovecot_host", "user"}
