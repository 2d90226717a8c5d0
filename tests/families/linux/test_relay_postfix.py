"""The open-relay simulation against the real thing: Postfix on loopback answers the same probe.

For each configuration of `linuxlab.RELAY_CASES` (13 distinct smtpd_*_restrictions / mynetworks
setups): write it, export it with the project's export script, simulate; then start that very
configuration with deploy/lab/postfix.sh and probe it over SMTP from 127.0.0.2 (outside
`mynetworks` unless the case says otherwise): EHLO, MAIL FROM, RCPT TO a foreign domain,
unauthenticated, then again after AUTH PLAIN through the lab Dovecot. The probe stops at RCPT
(RSET, QUIT: no DATA, nothing queued) and the configuration has no route off the machine.
The simulation must say `open` exactly when Postfix answered 2xx, `not open` when it answered
4xx/5xx, and `error` (smtpd's configuration error) when Postfix answered 4xx "configuration error".
"""

from __future__ import annotations

import base64
import os
import shutil
import smtplib
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from linuxlab import (
    LAB_USERS,
    PROBE_CLIENT,
    PROBE_RECIPIENT,
    PROBE_SENDER,
    RELAY_CASES,
    RelayCase,
    free_port,
    lab,
    lab_dir,
    relay_lab_config,
    run_export,
)

from auditor.families.linux.export import read_linux_export
from auditor.families.linux.host import LinuxHost
from auditor.families.linux.relay import simulate_relay
from auditor.families.linux.tables import Tables

pytestmark = pytest.mark.slow
KEEP = bool(os.environ.get("AUDITOR_KEEP_LAB"))


NO_GREETING = 0


def probe(port: int, *, authenticate: bool) -> tuple[int, str]:
    """RCPT TO's answer (code, text); AUTH not offered or refused counts as the server's refusal.

    (NO_GREETING, ...) when no smtpd answers at all: Postfix's master accepted the connection but
    could not start smtpd (its configuration is fatal), so the client never hears a greeting.
    """
    deadline = time.monotonic() + 10
    while True:
        try:
            client = smtplib.SMTP("127.0.0.1", port, source_address=(PROBE_CLIENT, 0), timeout=4)
            break
        except (smtplib.SMTPServerDisconnected, TimeoutError) as exc:
            return NO_GREETING, f"no greeting: {exc}"
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
    try:
        code, message = client.ehlo("probe.example")
        if code != 250:
            return code, message.decode()
        if authenticate:
            if not client.has_extn("auth"):
                return 530, "AUTH not offered"
            user, password = next(iter(LAB_USERS.items()))
            token = base64.b64encode(f"\0{user}\0{password}".encode()).decode()
            code, message = client.docmd("AUTH", f"PLAIN {token}")
            if code != 235:
                return code, message.decode()
        code, message = client.mail(PROBE_SENDER)
        if code != 250:
            return code, message.decode()
        code, message = client.rcpt(PROBE_RECIPIENT)
        client.rset()
        return code, message.decode()
    except smtplib.SMTPServerDisconnected as exc:
        return 421, f"disconnected: {exc}"
    finally:
        try:
            client.quit()
        except smtplib.SMTPException:
            client.close()


@pytest.fixture
def lab_postfix(dovecot_lab: Path) -> Iterator[tuple[Path, int, Path]]:
    folder = lab_dir("postfix")
    try:
        yield folder, free_port(), dovecot_lab / "auth-postfix"
    finally:
        if (folder / "etc" / "main.cf").exists():
            lab("postfix.sh", "stop", str(folder / "etc"))
        if not KEEP:
            shutil.rmtree(folder, ignore_errors=True)


def verdict_of_answer(code: int, maillog: str) -> str:
    """Postfix's answer as a verdict: 2xx open; no smtpd at all (its fatal start-up) error; else not open."""
    if 200 <= code < 300:
        return "open"
    if code == NO_GREETING:
        assert "specify at least one working instance of" in maillog, maillog[-2000:]
        return "error"
    return "not open"


@pytest.mark.parametrize("case", RELAY_CASES, ids=[c.name for c in RELAY_CASES])
def test_simulation_equals_postfixs_answer(case: RelayCase, lab_postfix: tuple[Path, int, Path]) -> None:
    folder, port, socket = lab_postfix
    config = relay_lab_config(folder / "etc", case, port, socket)
    export = folder / "export"
    run_export(export, postfix=config)
    host = LinuxHost.from_export(read_linux_export(export), name="LAB")
    assert host.postfix is not None
    (service,) = [s for s in host.postfix.smtpd_services() if s.key == f"127.0.0.1:{port}/inet"]
    tables = Tables(host.postfix.maps)
    simulated = {
        auth: simulate_relay(service, tables=tables, client=PROBE_CLIENT, authenticated=auth)
        for auth in (False, True)
    }
    assert (simulated[False].verdict, simulated[True].verdict) == (case.outside, case.authenticated), (
        simulated[False].reason,
        simulated[True].reason,
    )

    lab("postfix.sh", "start", str(config))
    answers = {auth: probe(port, authenticate=auth) for auth in (False, True)}
    maillog = (config / "maillog").read_text(encoding="utf-8", errors="replace")
    observed = {auth: verdict_of_answer(answers[auth][0], maillog) for auth in answers}
    assert observed == {auth: str(simulated[auth].verdict) for auth in simulated}, answers
