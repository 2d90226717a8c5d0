"""The weekly e-mail against real SMTP servers: aiosmtpd in-process, with STARTTLS, AUTH and implicit TLS.

The servers use a self-signed certificate made here (for `localhost` and 127.0.0.1) that the
client trusts through `ca_file`, so certificate verification stays on as in production. Failures
come from real servers too: a wrong password (535), a greeting of 421 (temporary) or 554
(permanent) from a small socket server that counts connections, and a port nobody listens on.
"""

from __future__ import annotations

import email
import email.policy
import json
import logging
import socket
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from report_inputs import SCRIPT, make_report, report_json

from auditor.documents import DriftReport
from auditor.errors import DeliveryError
from auditor.mail import MailSettings, build_report_message, send_message

USER = "reporter"
PASSWORD = "s3cret-Pa55word!"
SENDER = "auditor@contoso.test"
RECIPIENTS = ("mail-admins@contoso.test", "second@contoso.test")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed server certificate for localhost / 127.0.0.1, and its key."""
    folder = tmp_path_factory.mktemp("tls")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.now(UTC)
    import ipaddress

    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "server.pem", folder / "server.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_file, key_file


@dataclass
class Mailbox:
    """What the server saw: delivered envelopes, login attempts, and whether TLS was on."""

    envelopes: list[Envelope] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)
    tls: list[bool] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:  # noqa: N802
        self.envelopes.append(envelope)
        # session.ssl is set by STARTTLS only; implicit TLS shows on the transport
        self.tls.append(session.ssl is not None or server.transport.get_extra_info("ssl_object") is not None)
        return "250 2.0.0 OK"

    def authenticate(
        self, server: Any, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        assert isinstance(auth_data, LoginPassword)
        self.logins.append(auth_data.login.decode())
        ok = auth_data.login.decode() == USER and auth_data.password.decode() == PASSWORD
        return AuthResult(success=ok, auth_data=auth_data if ok else None, handled=False)

    def received(self) -> EmailMessage:
        (envelope,) = self.envelopes
        parsed = email.message_from_bytes(envelope.original_content or b"", policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


def _server_context(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*map(str, certificate))
    return context


@pytest.fixture
def starttls_server(certificate: tuple[Path, Path]) -> Iterator[tuple[Mailbox, int, str]]:
    """STARTTLS required, AUTH required and offered only after TLS (as lab-notes §5)."""
    box = Mailbox()
    port = free_port()
    controller = Controller(
        box,
        hostname="127.0.0.1",
        port=port,
        tls_context=_server_context(certificate),
        require_starttls=True,
        authenticator=box.authenticate,
        auth_required=True,
        auth_require_tls=True,
    )
    controller.start()
    try:
        yield box, port, str(certificate[0])
    finally:
        controller.stop()


@pytest.fixture
def smtps_server(certificate: tuple[Path, Path]) -> Iterator[tuple[Mailbox, int, str]]:
    """Implicit TLS from the first byte (smtps://)."""
    box = Mailbox()
    port = free_port()
    controller = Controller(
        box,
        hostname="127.0.0.1",
        port=port,
        ssl_context=_server_context(certificate),
        authenticator=box.authenticate,
        auth_required=True,
        # aiosmtpd 1.4 counts only STARTTLS as TLS for auth_require_tls; this session is TLS throughout
        auth_require_tls=False,
    )
    controller.start()
    try:
        yield box, port, str(certificate[0])
    finally:
        controller.stop()


@pytest.fixture
def plain_server() -> Iterator[tuple[Mailbox, int]]:
    """No TLS and no AUTH: an internal relay."""
    box = Mailbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield box, port
    finally:
        controller.stop()


class GreetingServer:
    """Accepts connections, greets with a fixed reply and hangs up; counts the connections."""

    def __init__(self, greeting: bytes) -> None:
        self.greeting = greeting
        self.connections = 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.05)  # so that close() is not stuck behind a blocking accept()
        self.stopping = threading.Event()
        self.port = int(self.listener.getsockname()[1])
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stopping.is_set():
            try:
                connection, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            with connection:
                connection.sendall(self.greeting)

    def close(self) -> None:
        self.stopping.set()
        self.thread.join(timeout=5)
        self.listener.close()


def settings(port: int, **overrides: Any) -> MailSettings:
    values: dict[str, Any] = {
        "smtp_url": f"smtp://localhost:{port}",
        "sender": SENDER,
        "recipients": RECIPIENTS,
        "starttls": "auto",
        "username": USER,
        "password": PASSWORD,
        "timeout": 5.0,
        "retries": 3,
        "backoff": 0.01,
    }
    values.update(overrides)
    return MailSettings(**values)


def report_message(mail_settings: MailSettings) -> EmailMessage:
    return build_report_message(make_report(), mail_settings)


# -- the message ----------------------------------------------------------------------------------


def test_message_is_mixed_with_text_html_alternative_and_json_attachment() -> None:
    report = make_report()
    message = build_report_message(report, settings(25))
    assert message.get_content_type() == "multipart/mixed"
    alternative, attachment = message.iter_parts()
    assert alternative.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in alternative.iter_parts()] == ["text/plain", "text/html"]
    assert attachment.get_content_type() == "application/json"
    assert attachment.get_filename() == "report.json"
    assert json.loads(attachment.get_content()) == report.to_json()
    assert (
        message["Subject"]
        == f"[auditor] Contoso {SCRIPT}: 2 new failures, 1 resolved, 1 reopened (week to 2026-11-30)"
    )
    assert message["To"] == "mail-admins@contoso.test, second@contoso.test"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Message-ID"].endswith("@contoso.test>")


def test_subject_cannot_be_split_by_a_hostile_organization_name() -> None:
    report = make_report().model_copy(update={"organization": "Contoso\r\nBcc: victim@example.com"})
    message = build_report_message(report, settings(25))
    headers = message.as_string().split("\n\n", 1)[0]
    reparsed = email.message_from_string(message.as_string(), policy=email.policy.default)
    assert reparsed["Bcc"] is None and "Bcc:" not in headers.replace("Contoso Bcc:", "")
    assert reparsed["Subject"].startswith("[auditor] Contoso Bcc: victim@example.com: 2 new failures")


def test_subject_says_one_new_failure_in_the_singular() -> None:
    data = report_json()
    data["findings"]["new"] = data["findings"]["new"][:1]
    data["summary"]["new"] = 1
    data["summary"]["reopened"] = 0
    report = DriftReport.model_validate(data)
    message = build_report_message(report, settings(25))
    assert message["Subject"] == f"[auditor] Contoso {SCRIPT}: 1 new failure, 1 resolved (week to 2026-11-30)"


# -- delivery -------------------------------------------------------------------------------------


def test_delivers_over_starttls_with_auth(starttls_server: tuple[Mailbox, int, str]) -> None:
    box, port, ca = starttls_server
    mail_settings = settings(port, starttls="require", ca_file=ca)
    send_message(report_message(mail_settings), mail_settings)
    (envelope,) = box.envelopes
    assert envelope.mail_from == SENDER
    assert envelope.rcpt_tos == list(RECIPIENTS)
    assert box.tls == [True]
    assert box.logins == [USER]
    received = box.received()
    assert "2 new failures" in received["Subject"] and f"Contoso {SCRIPT}" in received["Subject"]
    text = received.get_body(preferencelist=("plain",))
    html = received.get_body(preferencelist=("html",))
    assert text is not None and html is not None
    assert "2 new failures, 1 resolved, 1 reopened, 1 still failing" in text.get_content()
    assert "<script" not in html.get_content().lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html.get_content()
    (attachment,) = received.iter_attachments()
    assert attachment.get_filename() == "report.json"
    assert json.loads(attachment.get_content()) == report_json()


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")
def test_delivers_over_implicit_tls(smtps_server: tuple[Mailbox, int, str]) -> None:
    box, port, ca = smtps_server
    mail_settings = settings(port, smtp_url=f"smtps://localhost:{port}", ca_file=ca)
    send_message(report_message(mail_settings), mail_settings)
    assert box.tls == [True]
    assert box.logins == [USER]
    assert box.received()["Subject"].startswith("[auditor] Contoso")


def test_wrong_password_fails_once_without_retries(
    starttls_server: tuple[Mailbox, int, str], caplog: pytest.LogCaptureFixture
) -> None:
    box, port, ca = starttls_server
    mail_settings = settings(port, password="wrong-" + PASSWORD, ca_file=ca)
    caplog.set_level(logging.DEBUG)
    with pytest.raises(DeliveryError) as caught:
        send_message(report_message(mail_settings), mail_settings)
    assert str(caught.value) == (
        f"smtp://localhost:{port}: authentication failed: 535 5.7.8 Authentication credentials invalid"
    )
    assert box.logins == [USER]  # one AUTH, one session: a lockout policy sees a single failure
    assert box.envelopes == []
    assert PASSWORD not in caplog.text and PASSWORD not in str(caught.value)


def test_server_down_is_retried_then_reported(caplog: pytest.LogCaptureFixture) -> None:
    port = free_port()  # nothing listens there
    mail_settings = settings(port, retries=2)
    caplog.set_level(logging.WARNING, logger="auditor.mail")
    with pytest.raises(DeliveryError) as caught:
        send_message(report_message(mail_settings), mail_settings)
    assert (
        str(caught.value)
        == f"smtp://localhost:{port}: connection failed: Connection refused (after 3 attempts)"
    )
    retries = [r.getMessage() for r in caplog.records if r.name == "auditor.mail"]
    assert [m.split(" failed")[0] for m in retries] == [
        f"smtp://localhost:{port}: attempt 1 of 3",
        f"smtp://localhost:{port}: attempt 2 of 3",
    ]
    assert all(PASSWORD not in m for m in retries)


def test_temporary_421_is_retried_and_permanent_554_is_not() -> None:
    busy = GreetingServer(b"421 4.3.2 Service not available, try later\r\n")
    closed = GreetingServer(b"554 5.7.1 No SMTP service here\r\n")
    try:
        with pytest.raises(DeliveryError) as temporary:
            mail_settings = settings(busy.port, retries=3)
            send_message(report_message(mail_settings), mail_settings)
        with pytest.raises(DeliveryError) as permanent:
            mail_settings = settings(closed.port, retries=3)
            send_message(report_message(mail_settings), mail_settings)
    finally:
        busy.close()
        closed.close()
    assert busy.connections == 4
    assert str(temporary.value) == (
        f"smtp://localhost:{busy.port}: server refused the connection: "
        "421 4.3.2 Service not available, try later (after 4 attempts)"
    )
    assert closed.connections == 1
    assert str(permanent.value) == (
        f"smtp://localhost:{closed.port}: server refused the connection: 554 5.7.1 No SMTP service here"
    )


def test_untrusted_certificate_is_refused_without_retries(starttls_server: tuple[Mailbox, int, str]) -> None:
    box, port, _ = starttls_server
    mail_settings = settings(port, ca_file=None)  # the system store does not know our test CA
    with pytest.raises(
        DeliveryError, match=rf"^smtp://localhost:{port}: TLS certificate verification failed: "
    ):
        send_message(report_message(mail_settings), mail_settings)
    assert box.envelopes == [] and box.logins == []


def test_starttls_required_but_not_offered(plain_server: tuple[Mailbox, int]) -> None:
    box, port = plain_server
    mail_settings = settings(port, starttls="require", username=None, password=None)
    with pytest.raises(DeliveryError) as caught:
        send_message(report_message(mail_settings), mail_settings)
    assert (
        str(caught.value)
        == f'smtp://localhost:{port}: the server does not offer STARTTLS (starttls = "require")'
    )
    assert box.envelopes == []


def test_password_is_never_sent_without_tls(plain_server: tuple[Mailbox, int]) -> None:
    box, port = plain_server
    mail_settings = settings(port, starttls="auto")
    with pytest.raises(DeliveryError) as caught:
        send_message(report_message(mail_settings), mail_settings)
    assert str(caught.value) == f"smtp://localhost:{port}: refusing to send the SMTP password without TLS"
    assert box.envelopes == []


def test_plain_relay_without_auth_delivers(plain_server: tuple[Mailbox, int]) -> None:
    box, port = plain_server
    mail_settings = settings(port, starttls="never", username=None, password=None)
    send_message(report_message(mail_settings), mail_settings)
    assert box.tls == [False]
    assert box.received()["To"] == "mail-admins@contoso.test, second@contoso.test"


def test_settings_repr_hides_the_password() -> None:
    assert PASSWORD not in repr(settings(25))
    assert "password=***" in repr(settings(25))
