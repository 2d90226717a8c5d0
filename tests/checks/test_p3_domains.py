"""COEX-301, COEX-302, COEX-303 and COEX-304: POP3 and Exchange domains stay apart, and routing terminates."""

from __future__ import annotations

import pytest

from auditor.checks.p3_domains import domain_authority_consistent as coex_304
from auditor.checks.p3_domains import pop3_domain_not_authoritative as coex_301
from auditor.checks.p3_domains import pop3_domain_not_in_exchange as coex_302
from auditor.checks.p3_domains import routing_terminates as coex_303
from auditor.model import Snapshot
from auditor.registry import SkipCheck
from auditor.testing import (
    accepted_domain,
    connector,
    exchange_server,
    outcome,
    policy,
    pop3_domain,
    pop3_mailbox,
    pop3_server,
    snapshot,
    user,
)


def fixture_301(*, domain: bool = True, configuration: bool = True) -> Snapshot:
    return snapshot(
        policy("Default", "SMTP:@contoso.com"),
        policy(
            "POP3 users",
            "SMTP:@contoso.com",
            "smtp:@pass-nonauth.contoso.com",
            "smtp:@fail-policy.contoso.com",
            non_authoritative=["SMTP:@PASS-NONAUTH.contoso.com"],
        ),
        policy("Cleanup", "SMTP:@pass-mbm.example", mailbox_manager=True),
        policy("Disabled", "SMTP:@contoso.com", disabled=["smtp:@pass-disabled.example"]),
        accepted_domain("*.wild.example", flags=0),
        pop3_server("POP01", files=["winpop-list.txt", "MetaBase.xml"]),
        pop3_domain("POP01", "pass-pop.contoso.com"),
        pop3_domain("POP01", "pass-nonauth.contoso.com"),
        pop3_domain("POP01", "fail-policy.contoso.com."),
        pop3_domain("POP01", "fail-sub.wild.example"),
        pop3_domain("POP01", "pass-mbm.example"),
        pop3_domain("POP01", "pass-disabled.example"),
        pop3_domain("POP01", "contoso.com", source="metabase", route_action=32),  # winpop list wins
        pop3_server("POP02", files=["MetaBase.xml"]),
        pop3_domain("POP02", "fail-metabase.contoso.com", source="metabase", route_action=32 | 64),
        pop3_domain("POP02", "contoso.com", source="metabase", route_action=2),  # remote domain, not POP3
        policy("Metabase", "smtp:@fail-metabase.contoso.com"),
        domain=domain,
        configuration=configuration,
    )


def test_301_exact_sets() -> None:
    passed, failed, _ = outcome(coex_301, fixture_301())
    assert passed == {
        "pass-pop.contoso.com",
        "pass-nonauth.contoso.com",
        "pass-mbm.example",
        "pass-disabled.example",
    }
    assert failed == {"fail-policy.contoso.com", "fail-sub.wild.example", "fail-metabase.contoso.com"}


def test_301_names_the_policy() -> None:
    messages = {f.subject: f.message for f in coex_301.run(fixture_301())}
    assert "'POP3 users'" in messages["fail-policy.contoso.com"]
    assert "POP01" in messages["fail-policy.contoso.com"]


def test_301_skips() -> None:
    with pytest.raises(SkipCheck, match="Configuration"):
        list(coex_301.run(fixture_301(configuration=False)))
    with pytest.raises(SkipCheck, match="no POP3 domain"):
        list(coex_301.run(snapshot(policy("Default", "SMTP:@contoso.com"), pop3_server("POP01"))))


def test_302_exact_sets() -> None:
    snap = snapshot(
        policy(
            "Default",
            "SMTP:@contoso.com",
            "smtp:@fail-nonauth.contoso.com",
            "smtp:@fail-auth.contoso.com",
            non_authoritative=["smtp:@fail-nonauth.contoso.com"],
        ),
        accepted_domain("fail-accepted.example", flags=1),
        pop3_server("POP01", files=["winpop-list.txt"]),
        pop3_domain("POP01", "pass-own.example"),
        pop3_domain("POP01", "pass-sub.contoso.com"),
        pop3_domain("POP01", "fail-nonauth.contoso.com"),
        pop3_domain("POP01", "fail-auth.contoso.com"),
        pop3_domain("POP01", "fail-accepted.example"),
    )
    passed, failed, _ = outcome(coex_302, snap)
    assert passed == {"pass-own.example", "pass-sub.contoso.com"}
    assert failed == {"fail-nonauth.contoso.com", "fail-auth.contoso.com", "fail-accepted.example"}


def test_302_skips_without_configuration() -> None:
    snap = snapshot(
        pop3_server("POP01", files=["winpop-list.txt"]),
        pop3_domain("POP01", "x.example"),
        configuration=False,
    )
    with pytest.raises(SkipCheck, match="Configuration"):
        list(coex_302.run(snap))


def test_304_exact_sets() -> None:
    snap = snapshot(
        policy(
            "Default", "SMTP:@pass-auth.example", "smtp:@fail-mixed.example", "smtp:@fail-accepted.example"
        ),
        policy(
            "POP3",
            "smtp:@fail-mixed.example",
            "smtp:@pass-nonauth.example",
            "smtp:@fail-accepted.example",
            non_authoritative=[
                "smtp:@fail-mixed.example",
                "smtp:@pass-nonauth.example",
                "smtp:@fail-accepted.example",
            ],
        ),
        policy("Other", "smtp:@pass-nonauth.example", non_authoritative=["SMTP:@pass-nonauth.example"]),
        policy("Cleanup", "smtp:@pass-auth.example", mailbox_manager=True),
        accepted_domain("pass-accepted.example", flags=0),
    )
    passed, failed, _ = outcome(coex_304, snap)
    assert passed == {"pass-auth.example", "pass-nonauth.example", "pass-accepted.example"}
    assert failed == {"fail-mixed.example", "fail-accepted.example"}
    messages = {f.subject: f.message for f in coex_304.run(snap)}
    assert "'Default'" in messages["fail-mixed.example"] and "'POP3'" in messages["fail-mixed.example"]


def test_304_skips() -> None:
    with pytest.raises(SkipCheck, match="Configuration"):
        list(coex_304.run(snapshot(configuration=False)))
    with pytest.raises(SkipCheck, match="no SMTP domain"):
        list(coex_304.run(snapshot(policy("Cleanup", "SMTP:@x.example", mailbox_manager=True))))


def fixture_303() -> Snapshot:
    return snapshot(
        exchange_server("EX01", "10.0.0.10"),
        policy(
            "Default",
            "SMTP:@pass-ex.example",
            "smtp:@fail-loop.example",
            non_authoritative=["smtp:@fail-loop.example"],
        ),
        connector("To POP01", "SMTP:pass-pop.example;1", smart_host="[10.0.0.25]"),
        connector("Loop", "SMTP:fail-loop.example;1", smart_host="pop01.contoso.com"),
        connector("Internet", "SMTP:*;1"),
        pop3_server("POP01", fqdn="pop01.contoso.com", addresses=["10.0.0.25"], SmartHost="[10.0.0.10]"),
        pop3_domain("POP01", "pass-pop.example", source="metabase", route_action=32),
        pop3_mailbox("POP01", "pass-bob@pass-pop.example"),
        pop3_mailbox("POP01", "fail-dan@pass-pop.example"),
        pop3_mailbox("POP01", "orphan@pass-pop.example"),
        user(
            "pass-bob",
            target="SMTP:pass-bob@pass-pop.example",
            proxies=["SMTP:pass-bob@pass-ex.example", "smtp:pass-bob@pass-pop.example"],
        ),
        user("fail-dan", target="SMTP:fail-dan@pass-pop.example", proxies=["SMTP:fail-dan@pass-ex.example"]),
        user(
            "dup",
            contact=True,
            target="SMTP:dup@elsewhere.example",
            proxies=["smtp:fail-dan@pass-ex.example"],
        ),
    )


def test_303_exact_sets() -> None:
    passed, failed, errors = outcome(coex_303, fixture_303())
    assert passed == {"pass-ex.example", "pass-pop.example", "pass-bob@pass-pop.example"}
    assert failed == {"fail-loop.example", "fail-dan@pass-pop.example"}
    assert errors == set()


def test_303_loop_message_shows_the_path() -> None:
    messages = {f.subject: f.message for f in coex_303.run(fixture_303())}
    assert "EX01 → POP01 → EX01" in messages["fail-loop.example"]
    assert "POP01 → EX01 → POP01" in messages["fail-loop.example"]
    assert "ndr" in messages["fail-dan@pass-pop.example"]


def test_303_skips_without_configuration() -> None:
    with pytest.raises(SkipCheck, match="Configuration"):
        list(coex_303.run(snapshot(configuration=False)))
    with pytest.raises(SkipCheck, match="no organization domain"):
        list(coex_303.run(snapshot()))


def test_pop3_domains_come_from_winpop_list_when_exported_even_if_empty() -> None:
    """D_pop(S) (COEX-301's subjects): winpop list wins; else only MetaBase domains with RouteAction & 32."""
    snap = snapshot(
        pop3_server("POP01", files=["winpop-list.txt", "MetaBase.xml"]),
        pop3_domain("POP01", "listed.example", source="metabase", route_action=32),
        pop3_server("POP02", files=["MetaBase.xml"]),
        pop3_domain("POP02", "drop.example", source="metabase", route_action=32 | 2),
        pop3_domain("POP02", "remote.example", source="metabase", route_action=2),
        pop3_domain("POP02", "unset.example", source="metabase"),
    )
    assert snap.pop3_domains_of("pop01") == frozenset()
    assert snap.pop3_domains_of("POP02") == frozenset({"drop.example"})
    assert snap.pop3_servers_by_domain == {"drop.example": ("POP02",)}
