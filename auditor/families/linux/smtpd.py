"""SASL and TLS of each Postfix `smtpd` service (COEX-201's Postfix half, COEX-503).

AUTH is offered when `smtpd_sasl_auth_enable = yes`; it is protected by TLS when the service is
wrapper-mode TLS (`smtpd_tls_wrappermode = yes`, port 465), or TLS is mandatory
(`smtpd_tls_security_level = encrypt`, or the pre-2.3 `smtpd_enforce_tls = yes`), or AUTH is only
offered after STARTTLS (`smtpd_tls_auth_only = yes`). SASL through Dovecot: `smtpd_sasl_type =
dovecot`, one credential path for POP3 and SMTP.
"""

from __future__ import annotations

from dataclasses import dataclass

from auditor.families.linux.host import LinuxHost, PostfixService

__all__ = ["SmtpdAuth", "smtpd_auth", "smtpd_auth_all"]


@dataclass(frozen=True, slots=True)
class SmtpdAuth:
    service: str
    port: int | None
    sasl_offered: bool
    sasl_type: str
    sasl_path: str
    sasl_via_dovecot: bool
    tls_before_auth: bool
    tls_reason: str
    origin: str


def smtpd_auth(service: PostfixService) -> SmtpdAuth:
    settings = service.settings
    offered = settings.flag("smtpd_sasl_auth_enable")
    sasl_type = settings.get("smtpd_sasl_type").strip().lower()
    level = settings.get("smtpd_tls_security_level").strip().lower()
    if settings.flag("smtpd_tls_wrappermode"):
        protected, reason = True, "smtpd_tls_wrappermode = yes"
    elif level == "encrypt":
        protected, reason = True, "smtpd_tls_security_level = encrypt"
    elif not level and settings.flag("smtpd_enforce_tls"):
        protected, reason = True, "smtpd_enforce_tls = yes"
    elif settings.flag("smtpd_tls_auth_only"):
        protected, reason = True, "smtpd_tls_auth_only = yes"
    else:
        shown = level or "(empty)"
        protected, reason = False, f"smtpd_tls_security_level = {shown}, smtpd_tls_auth_only = no"
    return SmtpdAuth(
        service=service.key,
        port=service.port,
        sasl_offered=offered,
        sasl_type=sasl_type,
        sasl_path=settings.get("smtpd_sasl_path"),
        sasl_via_dovecot=sasl_type == "dovecot",
        tls_before_auth=protected,
        tls_reason=reason,
        origin=settings.origin,
    )


def smtpd_auth_all(host: LinuxHost) -> list[SmtpdAuth] | None:
    """One entry per smtpd service; None when master.cf was not exported."""
    if host.postfix is None or not host.postfix.master_exported:
        return None
    return [smtpd_auth(s) for s in host.postfix.smtpd_services()]
