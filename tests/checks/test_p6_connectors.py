"""COEX-601: the connector routing chooses for each POP3 domain delivers to its POP3 server."""

from __future__ import annotations

import pytest

from auditor.checks.p6_connectors import connector_routes_pop3_domain as coex_601
from auditor.model import Snapshot
from auditor.registry import SkipCheck
from auditor.testing import connector, outcome, pop3_domain, pop3_server, snapshot, virtual_server, vs_dn

POP01 = "[10.0.0.25]"
ELSEWHERE = "[192.0.2.1]"


def fixture(*, domain: bool = True, configuration: bool = True) -> Snapshot:
    domains = [
        "pass-ip.example",
        "pass-fqdn.example",
        "pass-cost.example",
        "pass-name.example",
        "fail-dns.example",
        "fail-elsewhere.example",
        "fail-cost.example",
        "fail-bridgehead.example",
        "fail-star.test",
        "fail-wild.example",
    ]
    return snapshot(
        virtual_server("EX01"),
        pop3_server("POP01", fqdn="pop01.contoso.com", addresses=["10.0.0.25"], files=["winpop-list.txt"]),
        *(pop3_domain("POP01", d) for d in domains),
        connector("Internet", "SMTP:*;1"),
        connector("Wild", "SMTP:*.example;1", smart_host=ELSEWHERE),
        connector("IP", "SMTP:pass-ip.example;1", smart_host=POP01, bridgeheads=[vs_dn("EX01")]),
        connector("FQDN", "SMTP:pass-fqdn.example;1", smart_host="POP01.contoso.com."),
        connector("Name", "X400:c=US;a= ;p=Contoso;", "SMTP:pass-name.example;1", smart_host="pop01"),
        connector("Cheap", "SMTP:pass-cost.example;1", "SMTP:fail-cost.example;9", smart_host=POP01),
        connector("Dear", "SMTP:pass-cost.example;5", "SMTP:fail-cost.example;2", smart_host=ELSEWHERE),
        connector("DNS", "SMTP:fail-dns.example;1"),
        connector("Elsewhere", "SMTP:fail-elsewhere.example;1", smart_host=f"{ELSEWHERE};{ELSEWHERE}"),
        connector(
            "Dangling", "SMTP:fail-bridgehead.example;1", smart_host=POP01, bridgeheads=[vs_dn("EX99")]
        ),
        domain=domain,
        configuration=configuration,
    )


def test_exact_sets() -> None:
    passed, failed, _ = outcome(coex_601, fixture())
    assert passed == {"pass-ip.example", "pass-fqdn.example", "pass-cost.example", "pass-name.example"}
    assert failed == {
        "fail-dns.example",
        "fail-elsewhere.example",
        "fail-cost.example",
        "fail-bridgehead.example",
        "fail-star.test",
        "fail-wild.example",
    }


def test_messages_name_the_connector() -> None:
    messages = {f.subject: f.message for f in coex_601.run(fixture())}
    assert "'DNS'" in messages["fail-dns.example"] and "DNS routing" in messages["fail-dns.example"]
    assert "'Dear'" in messages["fail-cost.example"]
    assert "EX99" in messages["fail-bridgehead.example"]
    assert "catch-all" in messages["fail-star.test"]
    assert "'Wild'" in messages["fail-wild.example"]


def test_skips() -> None:
    with pytest.raises(SkipCheck, match="Configuration"):
        list(coex_601.run(fixture(configuration=False)))
    with pytest.raises(SkipCheck, match="no POP3 domain"):
        list(coex_601.run(snapshot(connector("Internet", "SMTP:*;1"))))
