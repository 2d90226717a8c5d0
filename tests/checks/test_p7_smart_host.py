"""COEX-701 (Exchange is the POP3 server's smart host) and COEX-702 (Exchange grants it relay)."""

from __future__ import annotations

import base64

import pytest

from auditor.checks.p7_smart_host import pop3_server_may_relay_on_exchange as coex_702
from auditor.checks.p7_smart_host import pop3_smart_host_is_exchange as coex_701
from auditor.model import Snapshot
from auditor.records import ObjectRecord
from auditor.registry import SkipCheck
from auditor.testing import b64, exchange_server, outcome, pop3_server, relay_blob, snapshot, virtual_server


def fixture_701(*, domain: bool = True, configuration: bool = True) -> Snapshot:
    return snapshot(
        exchange_server("EX01", "10.0.0.10"),
        virtual_server("EX01", msExchSmtpFullyQualifiedDomainName="mail.contoso.com"),
        pop3_server("pass-ip", SmartHost="[10.0.0.10]", SmartHostType="2"),
        pop3_server("pass-name", SmartHost="ex01", SmartHostType="2"),
        pop3_server("pass-fqdn", SmartHost="MAIL.contoso.com.", SmartHostType="2"),
        pop3_server("fail-dnsfirst", SmartHost="[10.0.0.10]", SmartHostType="1"),
        pop3_server("fail-notype", SmartHost="[10.0.0.10]"),
        pop3_server("fail-nohost", SmartHostType="2"),
        pop3_server("fail-isp", SmartHost="smtp.isp.example", SmartHostType="2"),
        pop3_server("no-metabase", files=["winpop-auth.txt"]),
        domain=domain,
        configuration=configuration,
    )


def test_701_exact_sets() -> None:
    passed, failed, _ = outcome(coex_701, fixture_701())
    assert passed == {"pass-ip", "pass-name", "pass-fqdn"}
    assert failed == {"fail-dnsfirst", "fail-notype", "fail-nohost", "fail-isp"}


def test_701_uses_configured_exchange_addresses() -> None:
    snap = fixture_701()
    snap.configured_exchange_hosts = {"ex01": frozenset({"smtp.isp.example"})}
    _, failed, _ = outcome(coex_701, snap)
    assert "fail-isp" not in failed


def test_701_skips() -> None:
    with pytest.raises(SkipCheck, match="Configuration"):
        list(coex_701.run(fixture_701(configuration=False)))
    with pytest.raises(SkipCheck, match="no Exchange server"):
        list(coex_701.run(snapshot(pop3_server("POP01"))))
    with pytest.raises(SkipCheck, match="its SMTP settings"):
        list(coex_701.run(snapshot(exchange_server("EX01"), pop3_server("POP01", files=["pop3.reg"]))))


def fixture_702(*extra_vs: ObjectRecord, domain: bool = True, configuration: bool = True) -> Snapshot:
    return snapshot(
        virtual_server("EX01", 1, msExchSmtpRelayIpList=b64(relay_blob(["10.0.0.25/32", "10.1.0.0/24"]))),
        virtual_server("EX01", 2, msExchSmtpRelayIpList=b64(relay_blob(all_except=True))),
        virtual_server("EX02", 1),
        *extra_vs,
        pop3_server("pass-single", addresses=["10.0.0.25"]),
        pop3_server("pass-subnet", addresses=["10.1.0.7", "10.0.0.25"]),
        pop3_server("fail-missing", addresses=["10.9.9.9"]),
        pop3_server("fail-partial", addresses=["10.0.0.25", "10.9.9.8"]),
        pop3_server("err-noaddress"),
        domain=domain,
        configuration=configuration,
    )


def test_702_exact_sets() -> None:
    passed, failed, errors = outcome(coex_702, fixture_702())
    assert passed == {"pass-single", "pass-subnet"}
    assert failed == {"fail-missing", "fail-partial"}
    assert errors == {"err-noaddress"}


def test_702_undecodable_list_turns_missing_grants_into_errors() -> None:
    garbage = virtual_server("EX03", 1, msExchSmtpRelayIpList=base64.b64encode(b"\xff" * 30).decode())
    passed, failed, errors = outcome(coex_702, fixture_702(garbage))
    assert passed == {"pass-single", "pass-subnet"}
    assert failed == set()
    assert errors == {"fail-missing", "fail-partial", "err-noaddress"}


def test_702_skips() -> None:
    with pytest.raises(SkipCheck, match="no POP3 server"):
        list(coex_702.run(snapshot(virtual_server("EX01"))))
    with pytest.raises(SkipCheck, match="Configuration"):
        list(coex_702.run(fixture_702(configuration=False)))
    with pytest.raises(SkipCheck, match="virtual server"):
        list(coex_702.run(snapshot(pop3_server("POP01", addresses=["10.0.0.25"]))))
