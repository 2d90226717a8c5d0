"""The weekly drift report by e-mail: build the message, deliver it over SMTP with bounded retries.

The message is what the reader needs without opening anything else: a plain-text and an HTML
rendering of the same report (multipart/alternative) and the full JSON as `report.json`, so the
entries that long lists leave out of the HTML are one click away.

Delivery keeps secrets out of everything it says: the password travels only inside TLS (the
client refuses to send it otherwise), certificate checking is always on, and every error and
log line names the server as `smtp://host:port` and what failed, never the credentials.
Connection problems and 4xx replies are retried with exponential backoff; 5xx replies, TLS
certificate failures and refused logins are not, since repeating them changes nothing.
"""

from __future__ import annotations

import base64
import logging
import smtplib
import socket
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt, wait_exponential

from auditor.errors import ConfigError, DeliveryError
from auditor.secrets import register_secret, scrub

if TYPE_CHECKING:
    from auditor.documents import DriftReport

__all__ = ["MailSettings", "build_report_message", "report_subject", "send_message"]

log = logging.getLogger(__name__)

DEFAULT_PORTS = {"smtp": 25, "smtps": 465}


@dataclass(frozen=True)
class MailSettings:
    """Where and how to send. `password` is resolved by the configuration and never printed."""

    smtp_url: str
    sender: str
    recipients: tuple[str, ...]
    starttls: str = "auto"  # require | auto | never (smtp:// only; smtps:// is TLS from the start)
    username: str | None = None
    password: str | None = None
    ca_file: str | None = None
    timeout: float = 30.0
    retries: int = 3  # further attempts after the first
    backoff: float = 2.0  # seconds before the first retry, doubling after each

    def __repr__(self) -> str:  # the dataclass repr would show the password
        return (
            f"MailSettings(smtp_url={self.smtp_url!r}, sender={self.sender!r}, recipients={self.recipients!r}, "
            f"starttls={self.starttls!r}, username={self.username!r}, password={'***' if self.password else None})"
        )


# -- the message ----------------------------------------------------------------------------------


def _one_line(value: object) -> str:
    """Header-safe text: directory values must not add header lines."""
    return " ".join(str(value).split())


def report_subject(report: DriftReport) -> str:
    """`[auditor] Contoso: 2 new failures, 1 resolved (week to 2026-11-30)`."""
    from auditor.reports.view import drift_view, plural

    view = drift_view(report, {})
    counts = [plural(view.count("new"), "new failure"), f"{view.count('resolved'):,} resolved"]
    if view.count("reopened"):
        counts.append(f"{view.count('reopened'):,} reopened")
    organization = f"{view.organization}: " if view.organization else ""
    return _one_line(f"[auditor] {organization}{', '.join(counts)} ({view.period_label})")


def build_report_message(report: DriftReport, settings: MailSettings) -> EmailMessage:
    """multipart/mixed: [multipart/alternative: text/plain, text/html] + report.json."""
    from auditor.reports.render import render_drift_report

    message = EmailMessage()
    message["Subject"] = report_subject(report)
    message["From"] = _one_line(settings.sender)
    message["To"] = ", ".join(_one_line(r) for r in settings.recipients)
    message["Date"] = formatdate(usegmt=True)
    domain = settings.sender.rpartition("@")[2].strip(" >") or "auditor.invalid"
    message["Message-ID"] = make_msgid(idstring="auditor-report", domain=domain)
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies to a robot
    message.set_content(render_drift_report(report, "text", color=False), subtype="plain", charset="utf-8")
    message.add_alternative(
        render_drift_report(report, "html", attachment=True), subtype="html", charset="utf-8"
    )
    message.add_attachment(
        render_drift_report(report, "json").encode("utf-8"),
        maintype="application",
        subtype="json",
        filename="report.json",
    )
    return message


# -- delivery -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Target:
    scheme: str
    host: str
    port: int

    @property
    def label(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"


def _target(url: str) -> _Target:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        raise ConfigError(
            f"report.smtp_url: expected smtp://host[:port] or smtps://host[:port], got {scheme}://..."
        )
    if parts.username or parts.password:
        raise ConfigError(
            "report.smtp_url must not carry credentials: use smtp_username and smtp_password_env"
        )
    try:
        port = parts.port or DEFAULT_PORTS[scheme]
    except ValueError as exc:
        raise ConfigError(f"report.smtp_url: bad port ({exc})") from exc
    return _Target(scheme, parts.hostname, port)


class _Failure(Exception):
    """One failed attempt: what happened, and whether trying again could help."""

    def __init__(self, description: str, *, transient: bool) -> None:
        super().__init__(description)
        self.description = description
        self.transient = transient


def _reply(code: int, text: bytes | str) -> str:
    decoded = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    return f"{code} {' '.join(decoded.split())}".strip()


def _classify(exc: BaseException) -> _Failure:
    if isinstance(exc, _Failure):
        return exc
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return _Failure(f"authentication failed: {_reply(exc.smtp_code, exc.smtp_error)}", transient=False)
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return _Failure(str(exc), transient=False)
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        refused = "; ".join(f"{rcpt}: {_reply(code, text)}" for rcpt, (code, text) in exc.recipients.items())
        return _Failure(f"all recipients refused ({refused})", transient=all(400 <= c < 500 for c in codes))
    if isinstance(exc, smtplib.SMTPResponseException):
        what = {
            smtplib.SMTPSenderRefused: "sender refused",
            smtplib.SMTPDataError: "message refused",
            smtplib.SMTPConnectError: "server refused the connection",
            smtplib.SMTPHeloError: "EHLO refused",
        }.get(type(exc), "server error")
        return _Failure(
            f"{what}: {_reply(exc.smtp_code, exc.smtp_error)}", transient=400 <= exc.smtp_code < 500
        )
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return _Failure(f"connection closed by the server ({exc})", transient=True)
    if isinstance(exc, ssl.SSLCertVerificationError):
        return _Failure(f"TLS certificate verification failed: {exc.verify_message or exc}", transient=False)
    if isinstance(exc, ssl.SSLError):
        return _Failure(f"TLS failed: {exc.reason or exc}", transient=False)
    if isinstance(exc, TimeoutError | socket.timeout):
        return _Failure("timed out", transient=True)
    if isinstance(exc, socket.gaierror):
        return _Failure(f"cannot resolve the host name ({exc.strerror or exc})", transient=True)
    if isinstance(exc, OSError):
        return _Failure(f"connection failed: {exc.strerror or exc}", transient=True)
    return _Failure(f"{type(exc).__name__}: {exc}", transient=False)


def _login(client: smtplib.SMTP, username: str, password: str) -> None:
    """One AUTH exchange with the best mechanism offered.

    smtplib's `login()` tries every mechanism in turn, so one wrong password would count as two
    or three failures against an Active Directory lockout policy.
    """
    if not client.has_extn("auth"):
        raise _Failure("the server does not offer AUTH (SMTP AUTH extension not supported)", transient=False)
    offered = client.esmtp_features["auth"].upper().split()
    mechanism = next((m for m in ("PLAIN", "LOGIN", "CRAM-MD5") if m in offered), None)
    if mechanism is None:
        raise _Failure(f"no supported AUTH mechanism offered ({' '.join(offered)})", transient=False)
    client.user, client.password = username, password
    if mechanism == "PLAIN":
        client.auth(mechanism, client.auth_plain, initial_response_ok=True)
    elif mechanism == "LOGIN":
        client.auth(mechanism, client.auth_login, initial_response_ok=True)
    else:
        client.auth(mechanism, client.auth_cram_md5, initial_response_ok=True)


def _deliver_once(message: EmailMessage, settings: MailSettings, target: _Target) -> None:
    context = ssl.create_default_context(cafile=settings.ca_file)
    client: smtplib.SMTP
    if target.scheme == "smtps":
        client = smtplib.SMTP_SSL(target.host, target.port, timeout=settings.timeout, context=context)
    else:
        client = smtplib.SMTP(target.host, target.port, timeout=settings.timeout)
    with client:
        client.ehlo()
        encrypted = target.scheme == "smtps"
        if not encrypted and settings.starttls != "never":
            if client.has_extn("starttls"):
                client.starttls(context=context)
                client.ehlo()
                encrypted = True
            elif settings.starttls == "require":
                raise _Failure('the server does not offer STARTTLS (starttls = "require")', transient=False)
        if settings.username:
            if not encrypted:
                raise _Failure("refusing to send the SMTP password without TLS", transient=False)
            if settings.password is None:
                raise _Failure("smtp_username is set but no password is configured", transient=False)
            _login(client, settings.username, settings.password)
        refused = client.send_message(message, from_addr=settings.sender, to_addrs=list(settings.recipients))
    if refused:
        detail = "; ".join(f"{rcpt}: {_reply(code, text)}" for rcpt, (code, text) in sorted(refused.items()))
        raise _Failure(f"sent, but refused for some recipients ({detail})", transient=False)


def _register(settings: MailSettings) -> None:
    """The password and its AUTH PLAIN form become known secrets (`auditor.secrets`), so no log
    line, stored delivery error or span can carry them either."""
    if settings.password:
        register_secret(settings.password)
        if settings.username:
            plain = f"\0{settings.username}\0{settings.password}".encode()
            register_secret(base64.b64encode(plain).decode())


def _scrub(text: str, settings: MailSettings) -> str:
    """Last line of defence: no form of the password survives in a message we emit."""
    _register(settings)
    return scrub(text)


def send_message(message: EmailMessage, settings: MailSettings) -> None:
    """Deliver `message`; raise `DeliveryError("smtp://host:port: what failed")` after the last attempt."""
    _register(settings)
    target = _target(settings.smtp_url)
    attempts = max(0, settings.retries) + 1

    def before_sleep(state: RetryCallState) -> None:
        failure = state.outcome.exception() if state.outcome else None
        text = failure.description if isinstance(failure, _Failure) else "failed"
        wait = state.next_action.sleep if state.next_action else 0.0
        log.warning(
            "%s: attempt %d of %d failed (%s); retrying in %.1f s",
            target.label,
            state.attempt_number,
            attempts,
            _scrub(text, settings),
            wait,
        )

    def attempt() -> None:
        try:
            _deliver_once(message, settings, target)
        except Exception as exc:
            raise _classify(exc) from None

    retrying = Retrying(
        stop=stop_after_attempt(attempts),
        wait=wait_exponential(multiplier=settings.backoff, min=settings.backoff, max=settings.backoff * 32),
        retry=retry_if_exception(lambda exc: isinstance(exc, _Failure) and exc.transient),
        before_sleep=before_sleep,
        reraise=True,
    )
    used = 0
    try:
        for attempt_state in retrying:
            with attempt_state:
                used = attempt_state.retry_state.attempt_number
                attempt()
    except _Failure as failure:
        suffix = f" (after {used} attempts)" if used > 1 else ""
        raise DeliveryError(_scrub(f"{target.label}: {failure.description}{suffix}", settings)) from None
    log.info("%s: report sent to %d recipient(s)", target.label, len(settings.recipients))
