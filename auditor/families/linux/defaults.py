"""Postfix's built-in defaults for the parameters auditor evaluates, by `compatibility_level`.

Used only when the export has `postconf -n` (explicit settings) and no `postconf -x` (effective
values): then every parameter main.cf leaves unset takes the value below. Sources, Postfix's own
documentation: postconf(5) for each parameter's default, and COMPATIBILITY_README for the values
that depend on `compatibility_level` (levels 0, 1, 2, then 3.6 and 3.11 in major.minor form, compared
numerically: 3.10 is above 3.9). The table is cross-checked against the installed `postconf -x` in
tests/families/linux/test_defaults.py for every level that Postfix version knows.

A default that depends on the host itself (`myhostname`, `mydomain`, `mynetworks` derived from the
interfaces) cannot be known from main.cf alone: it is listed in `HOST_DEPENDENT` and evaluates as
unknown, never as a guess.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

__all__ = ["HOST_DEPENDENT", "compatibility_level", "defaults_for"]

# (parameter, value below the level, level, value at or above it); COMPATIBILITY_README.
_COMPAT_DEFAULTS: tuple[tuple[str, str, tuple[int, ...], str], ...] = (
    (
        "smtpd_relay_restrictions",
        "",
        (1,),
        "permit_mynetworks, permit_sasl_authenticated, defer_unauth_destination",
    ),
    ("append_dot_mydomain", "yes", (1,), "no"),
    ("smtputf8_enable", "no", (1,), "yes"),
    ("mynetworks_style", "subnet", (2,), "host"),
    ("relay_domains", "$mydestination", (2,), ""),
    ("smtpd_relay_before_recipient_restrictions", "no", (3, 6), "yes"),
    ("smtp_tls_security_level", "", (3, 11), "may"),
)

# postconf(5) defaults that do not depend on the compatibility level.
_FIXED_DEFAULTS: Mapping[str, str] = {
    "compatibility_level": "0",
    "mydestination": "$myhostname, localhost.$mydomain, localhost",
    "inet_interfaces": "all",
    "virtual_alias_domains": "$virtual_alias_maps",
    "virtual_alias_maps": "$virtual_maps",
    "virtual_maps": "",
    "virtual_mailbox_domains": "$virtual_mailbox_maps",
    "virtual_mailbox_maps": "",
    "relay_recipient_maps": "",
    "local_recipient_maps": "proxy:unix:passwd.byname $alias_maps",
    "alias_maps": "hash:/etc/aliases, nis:mail.aliases",
    "luser_relay": "",
    "transport_maps": "",
    "relayhost": "",
    "default_transport": "smtp",
    "relay_transport": "relay",
    "local_transport": "local:$myhostname",
    "virtual_transport": "virtual",
    "sender_dependent_relayhost_maps": "",
    "sender_dependent_default_transport_maps": "",
    "smtpd_client_restrictions": "",
    "smtpd_helo_restrictions": "",
    "smtpd_sender_restrictions": "",
    "smtpd_recipient_restrictions": "",
    "smtpd_reject_unlisted_recipient": "yes",
    "smtpd_sasl_auth_enable": "no",
    "smtpd_sasl_type": "cyrus",
    "smtpd_sasl_path": "smtpd",
    "smtpd_sasl_security_options": "noanonymous",
    "smtpd_tls_security_level": "",
    "smtpd_tls_auth_only": "no",
    "smtpd_tls_wrappermode": "no",
    "smtpd_use_tls": "no",
    "smtpd_enforce_tls": "no",
    "smtp_tls_policy_maps": "",
    "smtp_use_tls": "no",
    "smtp_enforce_tls": "no",
    "smtp_sasl_auth_enable": "no",
    "smtp_sasl_password_maps": "",
    "smtp_sasl_security_options": "noplaintext, noanonymous",
    "smtp_sasl_tls_security_options": "$smtp_sasl_security_options",
    "parent_domain_matches_subdomains": (
        "debug_peer_list,fast_flush_domains,mynetworks,permit_mx_backup_networks,"
        "qmqpd_authorized_clients,relay_domains,smtpd_access_maps"
    ),
    "mynetworks": "",
}

# Defaults Postfix computes from the machine (hostname, interfaces): unknown from main.cf alone.
HOST_DEPENDENT = frozenset({"myhostname", "mydomain", "myorigin", "mynetworks"})

_LEVEL = re.compile(r"^\d+(?:\.\d+){0,2}$")


def compatibility_level(value: str) -> tuple[int, ...] | None:
    """`3.6` -> (3, 6); None for a value that is not a plain level (an expression, say)."""
    value = value.strip()
    if not _LEVEL.match(value):
        return None
    return tuple(int(part) for part in value.split("."))


def defaults_for(level: tuple[int, ...]) -> dict[str, str]:
    """Every default this table knows, for the given level (`mynetworks` handled by the caller)."""
    values = dict(_FIXED_DEFAULTS)
    values.pop("mynetworks")
    for name, below, threshold, at_or_above in _COMPAT_DEFAULTS:
        values[name] = at_or_above if level >= threshold else below
    return values
