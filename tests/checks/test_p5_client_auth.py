"""COEX-501 (Exchange VS authentication and authenticated relay) and COEX-502 (POP3 SMTP service)."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from auditor.checks.p5_client_auth import exchange_vs_allows_authenticated_relay as coex_501
from auditor.checks.p5_client_auth import pop3_smtp_requires_authentication as coex_502
from auditor.registry import SkipCheck
from auditor.testing import b64, outcome, pop3_server, relay_blob, snapshot, virtual_server, vs_dn

NOBODY = b64(relay_blob())
UNDECODABLE = base64.b64encode(b"\x01\x02\x03").decode()


def test_501_exact_sets() -> None:
    snap = snapshot(
        virtual_server("pass-default"),
        virtual_server("pass-basic", msExchAuthenticationFlags="3", msExchSmtpRelayForAuth="TRUE"),
        virtual_server("pass-integrated", msExchAuthenticationFlags="5"),
        virtual_server("fail-anonymous", msExchAuthenticationFlags="1"),
        virtual_server("fail-norelay", msExchSmtpRelayForAuth="FALSE"),
        virtual_server("err-garbage", msExchAuthenticationFlags="lots"),
    )
    passed, failed, errors = outcome(coex_501, snap)
    assert passed == {vs_dn("pass-default"), vs_dn("pass-basic"), vs_dn("pass-integrated")}
    assert failed == {vs_dn("fail-anonymous"), vs_dn("fail-norelay")}
    assert errors == {vs_dn("err-garbage")}


def test_501_skips() -> None:
    with pytest.raises(SkipCheck, match="Configuration"):
        list(coex_501.run(snapshot(virtual_server("EX01"), configuration=False)))
    with pytest.raises(SkipCheck, match="virtual server"):
        list(coex_501.run(snapshot()))


def test_502_exact_sets() -> None:
    good: dict[str, Any] = {"AuthFlags": "6", "RelayForAuth": "4294967295", "RelayIpList": NOBODY}
    snap = snapshot(
        pop3_server("pass-pop", **good),
        pop3_server("pass-names", **{**good, "AuthFlags": "AuthAnonymous | AuthBasic"}),
        pop3_server("pass-relayforauth-default", **{**good, "RelayForAuth": None}),
        pop3_server("fail-anonymous", **{**good, "AuthFlags": "1"}),
        pop3_server("fail-noauthflags", **{**good, "AuthFlags": None}),
        pop3_server("fail-norelayauth", **{**good, "RelayForAuth": "0"}),
        pop3_server("fail-nolist", **{**good, "RelayIpList": None}),
        pop3_server("fail-emptylist", **{**good, "RelayIpList": ""}),
        pop3_server("fail-wide", **{**good, "RelayIpList": b64(relay_blob(["10.0.0.0/8"]))}),
        pop3_server("fail-allexcept", **{**good, "RelayIpList": b64(relay_blob(all_except=True))}),
        pop3_server("err-blob", **{**good, "RelayIpList": UNDECODABLE}),
        pop3_server("fail-anonymous-and-blob", **{**good, "AuthFlags": "1", "RelayIpList": UNDECODABLE}),
        pop3_server("no-metabase", files=["pop3.reg"]),
    )
    passed, failed, errors = outcome(coex_502, snap)
    assert passed == {"pass-pop", "pass-names", "pass-relayforauth-default"}
    assert failed == {
        "fail-anonymous",
        "fail-noauthflags",
        "fail-norelayauth",
        "fail-nolist",
        "fail-emptylist",
        "fail-wide",
        "fail-allexcept",
        "fail-anonymous-and-blob",
    }
    assert errors == {"err-blob"}


def test_502_skips() -> None:
    with pytest.raises(SkipCheck, match="no POP3 server"):
        list(coex_502.run(snapshot()))
    with pytest.raises(SkipCheck, match="its SMTP settings"):
        list(coex_502.run(snapshot(pop3_server("POP01", files=["pop3.reg"]))))
