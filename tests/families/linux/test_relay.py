"""relay_report: the three probes of each smtpd service and the `mynetworks` population (real exports)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from linuxlab import STOCK_MASTER, linux_host

from auditor.families.linux.relay import RelayVerdict, ServiceRelay, relay_report


def report(tmp: Path, main: str, service: str = "smtp/inet", **kwargs: Any) -> ServiceRelay:
    host = linux_host(tmp, "compatibility_level = 3.6\n" + main, **kwargs)
    assert host.postfix is not None
    (found,) = [s for s in host.postfix.smtpd_services() if s.key == service]
    return relay_report(host, found)


def test_the_stock_submission_service_relays_only_for_authenticated_clients(tmp_path: Path) -> None:
    result = report(tmp_path, "mynetworks = 127.0.0.0/8\n", "submission/inet")
    assert result.outside.verdict is RelayVerdict.NOT_OPEN
    assert result.outside.restriction == "reject"
    assert result.outside.list_name == "smtpd_relay_restrictions"
    assert result.authenticated.verdict is RelayVerdict.OPEN
    assert result.verdict is RelayVerdict.NOT_OPEN


def test_a_wide_mynetworks_reached_through_permit_mynetworks_is_open(tmp_path: Path) -> None:
    result = report(tmp_path, "mynetworks = 127.0.0.0/8, 10.0.0.0/8, [2001:db8::]/32\n")
    assert result.outside.verdict is RelayVerdict.NOT_OPEN
    assert result.inside.verdict is RelayVerdict.OPEN
    assert result.wide_networks == ("10.0.0.0/8", "[2001:db8::]/32")
    assert result.verdict is RelayVerdict.OPEN
    assert "10.0.0.0/8" in result.reason


def test_debians_stock_loopback_mynetworks_is_not_too_wide(tmp_path: Path) -> None:
    """Loopback reaches only the host's own processes, whatever its prefix (Debian's main.cf)."""
    result = report(tmp_path, "mynetworks = 127.0.0.0/8 [::ffff:127.0.0.0]/104 [::1]/128\n")
    assert result.inside.verdict is RelayVerdict.OPEN
    assert (result.wide_networks, result.verdict) == ((), RelayVerdict.NOT_OPEN)


def test_a_narrow_mynetworks_is_not_open(tmp_path: Path) -> None:
    result = report(tmp_path, "mynetworks = 127.0.0.1/32 10.0.5.0/24 [::1]/128\n")
    assert result.networks_reached == ("127.0.0.1/32", "10.0.5.0/24", "[::1]/128")
    assert (result.wide_networks, result.verdict) == ((), RelayVerdict.NOT_OPEN)


def test_mynetworks_from_an_exported_file_is_read(tmp_path: Path) -> None:
    result = report(
        tmp_path,
        "mynetworks = {pf}/networks.list\n",
        tables={"networks.list": "# office\n10.1.0.0/16\n172.16.0.0/12\n"},
    )
    assert result.wide_networks == ("172.16.0.0/12",)


def test_an_access_map_before_any_reject_is_an_error_naming_it(tmp_path: Path) -> None:
    result = report(
        tmp_path,
        "mynetworks = 127.0.0.1/32\n"
        "smtpd_relay_restrictions = check_client_access hash:{pf}/clients, reject_unauth_destination\n",
        tables={"clients": "10.0.0.1 OK\n"},
    )
    assert result.outside.verdict is RelayVerdict.ERROR
    assert f"check_client_access hash:{tmp_path}/postfix/clients" in result.outside.reason
    assert result.verdict is RelayVerdict.ERROR


def test_a_wide_mynetworks_behind_an_access_map_cannot_be_judged(tmp_path: Path) -> None:
    result = report(
        tmp_path,
        "mynetworks = 10.0.0.0/8\nsmtpd_relay_restrictions = check_client_access hash:{pf}/clients, "
        "permit_mynetworks, reject_unauth_destination\n",
        tables={"clients": "10.0.0.1 REJECT\n"},
    )
    assert result.outside.verdict is RelayVerdict.ERROR
    narrow = report(
        tmp_path / "narrow",
        "mynetworks = 127.0.0.1/32\nsmtpd_client_restrictions = check_client_access hash:{pf}/clients\n",
        tables={"clients": "10.0.0.1 REJECT\n"},
    )
    assert narrow.outside.verdict is RelayVerdict.NOT_OPEN
    assert narrow.inside.verdict is RelayVerdict.ERROR
    assert (narrow.undecided_wide, narrow.verdict) == ((), RelayVerdict.NOT_OPEN)
    wide = report(
        tmp_path / "wide",
        "mynetworks = 10.0.0.0/8\nsmtpd_client_restrictions = check_client_access hash:{pf}/clients\n",
        tables={"clients": "10.0.0.1 REJECT\n"},
    )
    assert wide.outside.verdict is RelayVerdict.NOT_OPEN
    assert (wide.undecided_wide, wide.verdict) == (("10.0.0.0/8",), RelayVerdict.ERROR)
    assert "cannot be told" in wide.reason


def test_an_access_map_after_a_reject_is_harmless(tmp_path: Path) -> None:
    result = report(
        tmp_path,
        "mynetworks = 127.0.0.1/32\nsmtpd_relay_restrictions = reject_unauth_destination\n"
        "smtpd_recipient_restrictions = check_recipient_access hash:{pf}/rcpt\n",
        tables={"rcpt": "x@y OK\n"},
    )
    assert result.outside.verdict is RelayVerdict.NOT_OPEN


def test_the_subnet_style_default_cannot_be_judged_without_the_interfaces(tmp_path: Path) -> None:
    from linuxlab import postfix_config, run_export

    from auditor.families.linux.export import read_linux_export
    from auditor.families.linux.host import LinuxHost

    config = postfix_config(tmp_path / "pf", "compatibility_level = 0\n", STOCK_MASTER)
    out = tmp_path / "export"
    run_export(out, postfix=config)
    (out / "postconf-x.txt").unlink()
    host = LinuxHost.from_export(read_linux_export(out), name="L")
    assert host.postfix is not None
    (smtp,) = [s for s in host.postfix.smtpd_services() if s.key == "smtp/inet"]
    result = relay_report(host, smtp)
    assert result.outside.verdict is RelayVerdict.ERROR
    assert "specify at least one working instance" in result.outside.reason


@pytest.mark.parametrize(
    ("restrictions", "verdict"),
    [
        ("permit_naked_ip_address, reject_unauth_destination", "open"),
        ("permit_auth_destination, reject_unauth_destination", "not open"),
        ("permit_mx_backup, reject_unauth_destination", "error"),
        ("warn_if_reject reject, reject_unauth_destination", "not open"),
        ("reject_rbl_client zen.example, reject_unauth_destination", "not open"),
        ("permit_dnswl_client list.example, reject_unauth_destination", "error"),
        ("myclass, reject_unauth_destination", "error"),
        ("no_such_restriction, reject_unauth_destination", "error"),
        ("hash:/etc/postfix/access, reject_unauth_destination", "error"),
        ("reject_unauth_destination, hash:/etc/postfix/access", "not open"),
    ],
)
def test_each_kind_of_restriction_for_the_probe(tmp_path: Path, restrictions: str, verdict: str) -> None:
    result = report(
        tmp_path,
        f"mynetworks = 127.0.0.1/32\nsmtpd_restriction_classes = myclass\nmyclass = permit\n"
        f"smtpd_relay_restrictions = {restrictions}\n",
    )
    assert str(result.outside.verdict) == verdict, result.outside.reason
