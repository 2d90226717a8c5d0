"""Postfix's own output (postconf -n/-x/-M/-P -x, postmap -s) parsed strictly; made by the real programs."""

from __future__ import annotations

from pathlib import Path

import pytest
from linuxlab import STOCK_MASTER, postconf, postfix_config, postmap, write

from auditor.errors import InputFormatError
from auditor.families.linux.postconf import (
    MapIndexEntry,
    parse_map_index,
    parse_master,
    parse_parameters,
    parse_postmap,
    parse_service_overrides,
)

MAIN = """\
compatibility_level = 3.6
mynetworks = 127.0.0.0/8 [::1]/128
relayhost = [ex16.contoso.com]:25
smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination
mua_sender = permit_sasl_authenticated, reject
"""
MASTER = (
    STOCK_MASTER
    + """\
submissions inet n - y - - smtpd
  -o smtpd_tls_wrappermode=yes
  -o { smtpd_sender_restrictions = $mua_sender }
  -o smtpd_recipient_restrictions=
"""
)


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return postfix_config(tmp_path_factory.mktemp("pf"), MAIN, MASTER)


def test_postconf_n_gives_the_explicit_settings(config: Path) -> None:
    values = parse_parameters(Path("n"), postconf(config, "-n"))
    assert values["relayhost"] == "[ex16.contoso.com]:25"
    assert values["mynetworks"] == "127.0.0.0/8 [::1]/128"
    assert "smtpd_tls_security_level" not in values


def test_postconf_x_gives_every_parameter_expanded(config: Path) -> None:
    values = parse_parameters(Path("x"), postconf(config, "-x"))
    assert len(values) > 500
    assert values["relay_domains"] == ""
    assert values["mail_version"].startswith("3.")
    assert values["smtpd_relay_restrictions"].endswith("reject_unauth_destination")


def test_postconf_m_services_with_their_overrides_in_braces(config: Path) -> None:
    services = {s.key: s for s in parse_master(Path("M"), postconf(config, "-M"))}
    assert {"smtp/inet", "submission/inet", "submissions/inet", "smtp/unix", "relay/unix"} <= set(services)
    submissions = services["submissions/inet"]
    assert (submissions.command, submissions.chroot, submissions.private) == ("smtpd", "y", "n")
    assert submissions.overrides == (
        ("smtpd_tls_wrappermode", "yes"),
        ("smtpd_sender_restrictions", "$mua_sender"),
        ("smtpd_recipient_restrictions", ""),
    )
    assert services["pickup/unix"].wakeup == "60"


def test_postconf_p_x_expands_each_override(config: Path) -> None:
    overrides = parse_service_overrides(Path("Px"), postconf(config, "-P", "-x"))
    assert overrides["submissions/inet"]["smtpd_sender_restrictions"] == "permit_sasl_authenticated, reject"
    assert overrides["submission/inet"]["smtpd_relay_restrictions"] == "permit_sasl_authenticated,reject"
    assert overrides["submissions/inet"]["smtpd_recipient_restrictions"] == ""


def test_postmap_s_lists_key_tab_value(tmp_path: Path) -> None:
    table = write(
        tmp_path, "transport", "northwindtraders.com smtp:[ex16.contoso.com]\n.contoso.com  relay:[x]\n"
    )
    reference = postmap(table)
    import subprocess

    listing = subprocess.run(["postmap", "-s", reference], capture_output=True, text=True, check=True).stdout
    assert parse_postmap(Path("t"), listing) == {
        "northwindtraders.com": "smtp:[ex16.contoso.com]",
        ".contoso.com": "relay:[x]",
    }


@pytest.mark.parametrize(
    ("text", "line", "problem"),
    [
        ("smtp inet n - y - - smtpd\nthis is not a service line at all\n", 2, "unknown service type"),
        ("smtp inet n - y - - smtpd\ngarbage line\n", 2, "8 fields"),
        ("smtp inet n - y - - smtpd\nsmtp tcp n - y - - smtpd\n", 2, "unknown service type"),
        ("smtp inet n - maybe - - smtpd\n", 1, "chroot field"),
        ("smtp inet n - y - - smtpd -o {unclosed=1\n", 1, "unbalanced"),
        ("smtp inet n - y - - smtpd -o\n", 1, "'-o' without"),
        ("smtp inet n - y - - smtpd\nsmtp inet n - y - - smtpd\n", 2, "defined twice"),
        ("smtp inet n - y - - smtpd\n    -o a=b\n", 2, "folded"),
        ("smtp inet n - y soon - smtpd\n", 1, "wakeup"),
    ],
)
def test_a_garbage_master_line_names_file_and_line(text: str, line: int, problem: str) -> None:
    with pytest.raises(InputFormatError) as caught:
        parse_master(Path("/x/postconf-M.txt"), text)
    assert caught.value.location == f"/x/postconf-M.txt:{line}"
    assert problem in caught.value.problem


@pytest.mark.parametrize(
    ("text", "line", "problem"),
    [
        ("relayhost = a\nrelayhost = b\n", 2, "listed twice"),
        ("relayhost = a\n  continued\n", 2, "folded"),
        ("just words\n", 1, "name = value"),
        ("bad name = x\n", 1, "parameter name"),
        ("relayhost =x\n", 1, "name = value"),
    ],
)
def test_parameter_lines_of_the_wrong_shape_are_refused(text: str, line: int, problem: str) -> None:
    with pytest.raises(InputFormatError) as caught:
        parse_parameters(Path("p.txt"), text)
    assert caught.value.location == f"p.txt:{line}"
    assert problem in caught.value.problem


def test_an_empty_value_is_kept_empty() -> None:
    assert parse_parameters(Path("p"), "relay_domains =\nrelayhost = \n") == {
        "relay_domains": "",
        "relayhost": "",
    }


def test_override_lines_need_service_type_and_name() -> None:
    with pytest.raises(InputFormatError, match=r"p:1: not a 'service/type/name"):
        parse_service_overrides(Path("p"), "smtp/tcp/x = 1\n")


def test_map_index_names_plain_files_or_a_dash() -> None:
    index = parse_map_index(Path("i"), "hash:/etc/postfix/t\thash__etc_postfix_t.txt\nldap:/x.cf\t-\n")
    assert index["hash:/etc/postfix/t"] == MapIndexEntry("hash:/etc/postfix/t", "hash__etc_postfix_t.txt", 1)
    assert index["hash:/etc/postfix/t"].form == "entries"
    assert index["ldap:/x.cf"].form == "none"
    for bad in ("a\t../etc/passwd.txt\n", "a\tb.exe\n", "a\n", "a\tb.txt\na\tc.txt\n"):
        with pytest.raises(InputFormatError):
            parse_map_index(Path("i"), bad)


def test_postmap_lines_without_a_tab_are_refused() -> None:
    with pytest.raises(InputFormatError, match="m:2"):
        parse_postmap(Path("m"), "a\tb\nno tab here\n")


def test_debians_stock_master_cf_parses_pipe_arguments_with_braces(tmp_path: Path) -> None:
    stock = Path("/usr/share/postfix/master.cf.dist")
    assert stock.exists(), "Debian's postfix package ships master.cf.dist"
    config = postfix_config(tmp_path, "compatibility_level = 3.6\n", stock.read_text(encoding="utf-8"))
    services = {s.key: s for s in parse_master(Path("M"), postconf(config, "-M"))}
    assert services["smtp/inet"].command == "smtpd"
    maildrop = services["maildrop/unix"]
    assert maildrop.command == "pipe"
    assert maildrop.arguments[-1] == "${recipient}"
