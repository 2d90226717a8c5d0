"""The compatibility-level defaults table and parameter expansion, checked against the real postconf.

For each level this Postfix knows, main.cf gets only that level (plus host names, which are
host-dependent); every parameter of auditor's table must then expand exactly to what `postconf -x`
prints. Level 3.11's change (smtp_tls_security_level = may) postdates Debian 12's Postfix 3.7 and is
checked against COMPATIBILITY_README's text only (test_level_311_...).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from linuxlab import postconf, postfix_config

from auditor.families.linux.defaults import compatibility_level, defaults_for
from auditor.families.linux.params import UNKNOWN, ExpansionError, Settings, expand, unknown_default
from auditor.families.linux.postconf import parse_parameters

HOST_LINES = "myhostname = mail.contoso.com\nmydomain = contoso.com\nmynetworks = 10.0.0.0/24\n"


@pytest.mark.parametrize("level", ["0", "1", "2", "3.6"])
def test_defaults_table_equals_postconf_x_at_level(tmp_path: Path, level: str) -> None:
    config = postfix_config(tmp_path, f"compatibility_level = {level}\n{HOST_LINES}")
    explicit = parse_parameters(Path("n"), postconf(config, "-n"))
    effective = parse_parameters(Path("x"), postconf(config, "-x"))
    settings = Settings.from_postconf_n(explicit)
    table = defaults_for(compatibility_level(level) or (0,))
    mismatches = {
        name: (settings.get(name), effective[name])
        for name in table
        if name in effective and settings.get(name) != effective[name]
    }
    assert mismatches == {}
    assert len([n for n in table if n in effective]) >= 40


def test_level_311_turns_client_tls_on() -> None:
    assert defaults_for((3, 11))["smtp_tls_security_level"] == "may"
    assert defaults_for((3, 10))["smtp_tls_security_level"] == ""
    assert compatibility_level("3.10") == (3, 10) > (3, 9)


def test_unset_host_names_stay_unknown_never_guessed() -> None:
    settings = Settings.from_postconf_n({"compatibility_level": "3.6"})
    assert settings.get("mydestination") == (
        f"{unknown_default('myhostname')}, localhost.{unknown_default('mydomain')}, localhost"
    )
    assert settings.origin == "postconf -n + Postfix defaults (compatibility_level 3.6)"


def test_an_expression_level_is_taken_as_zero_and_said_so() -> None:
    settings = Settings.from_postconf_n({"compatibility_level": "${{$x} ? {3.6} : {2}}"})
    assert settings.get("smtpd_relay_restrictions") == ""
    assert "unreadable level" in settings.origin


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("$a", "A"),
        ("${a}", "A"),
        ("$(a)", "A"),
        ("x$a.y", "xA.y"),
        ("${a?set}", "set"),
        ("${empty?set}", ""),
        ("${a:unset}", ""),
        ("${empty:unset}", "unset"),
        ("${a?{with, comma}}", "with, comma"),
        ("${empty?{yes}:{no}}", "no"),
        ("${a?{yes}:{no}}", "yes"),
        ("$$a", "$a"),
        ("$undefined!", "!"),
        ("$b", "A and A"),
    ],
)
def test_expansion_forms(value: str, expected: str) -> None:
    values = {"a": "A", "empty": "", "b": "$a and ${a}"}
    assert expand(value, values.get) == expected


def test_expansion_forms_agree_with_postconf(tmp_path: Path) -> None:
    lines = {
        "a": "A",
        "empty": "",
        "smtpd_banner": "${a?{yes, $a}}",
        "myorigin": "${empty:{fallback}}",
        "delay_notice_recipient": "${a?{one}:{two}}",
        "error_notice_recipient": "x$(a)y ${a}",
    }
    config = postfix_config(tmp_path, "".join(f"{k} = {v}\n" for k, v in lines.items()))
    names = [k for k in lines if k not in ("a", "empty")]
    effective = parse_parameters(Path("x"), postconf(config, "-x", *names))
    settings = Settings.from_postconf_n(lines)
    assert {k: settings.get(k) for k in names} == effective
    assert effective["smtpd_banner"] == "yes, A"


def test_a_loop_or_an_unknown_operator_is_an_expansion_error() -> None:
    with pytest.raises(ExpansionError):
        expand("$a", {"a": "$a"}.get)
    with pytest.raises(ExpansionError):
        expand("${{$a} == {b} ? {c} : {d}}", {"a": "b"}.get)


def test_a_value_auditor_cannot_expand_is_unknown_not_a_crash() -> None:
    settings = Settings.from_postconf_n({"relayhost": "${{$x} == {y} ? {[a]} : {[b]}}", "x": "y"})
    assert settings.get("relayhost") == UNKNOWN
    service = settings.with_overrides(
        {"smtpd_relay_restrictions": "${{$x} == {y} ? {permit} : {reject}}"}, expanded=False
    )
    assert service.get("smtpd_relay_restrictions") == UNKNOWN


def test_per_service_override_beats_main_and_expands_against_it() -> None:
    main = Settings.from_postconf_n(
        {"compatibility_level": "3.6", "mua": "permit_sasl_authenticated, reject"}
    )
    service = main.with_overrides({"smtpd_relay_restrictions": "$mua"}, expanded=False)
    assert service.get("smtpd_relay_restrictions") == "permit_sasl_authenticated, reject"
    assert main.get("smtpd_relay_restrictions").startswith("permit_mynetworks")
