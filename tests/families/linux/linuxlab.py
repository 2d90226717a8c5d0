"""Helpers for the Linux family's tests: real Postfix / Dovecot configurations and their exports.

Every export a test reads is made by the real programs: the test writes main.cf / master.cf /
dovecot.conf into a throwaway folder and runs the project's export script on it (`postconf -c DIR`,
`postmap`, `doveconf -c FILE`), exactly as an administrator would on the host.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from auditor.families.linux.host import LinuxHost
    from auditor.records import ObjectRecord

REPO = Path(__file__).resolve().parents[3]
EXPORT_SCRIPT = REPO / "deploy" / "linux" / "export-linux.sh"
LAB = REPO / "deploy" / "lab"

# The stock services of Debian's master.cf that matter here, unfolded as postconf -M prints them.
STOCK_MASTER = textwrap.dedent(
    """\
    smtp      inet  n       -       y       -       -       smtpd
    submission inet n       -       y       -       -       smtpd
      -o syslog_name=postfix/submission
      -o smtpd_tls_security_level=encrypt
      -o smtpd_sasl_auth_enable=yes
      -o smtpd_tls_auth_only=yes
      -o smtpd_relay_restrictions=permit_sasl_authenticated,reject
    pickup    unix  n       -       y       60      1       pickup
    cleanup   unix  n       -       y       -       0       cleanup
    qmgr      unix  n       -       n       300     1       qmgr
    rewrite   unix  -       -       y       -       -       trivial-rewrite
    smtp      unix  -       -       y       -       -       smtp
    relay     unix  -       -       y       -       -       smtp
    error     unix  -       -       y       -       -       error
    discard   unix  -       -       y       -       -       discard
    lmtp      unix  -       -       y       -       -       lmtp
    local     unix  -       n       n       -       -       local
    virtual   unix  -       n       n       -       -       virtual
    """
)

# The lab Dovecot's users (passwd-file, plain passwords: a throwaway test server only).
LAB_USERS = {"alice": "wonderland", "bob@pop.contoso.com": "builder"}


def lab_dir(prefix: str) -> Path:
    """A folder under /tmp that Postfix's and Dovecot's unprivileged users can traverse."""
    folder = Path(tempfile.mkdtemp(prefix=f"auditor-{prefix}-", dir="/tmp"))
    folder.chmod(0o755)
    return folder


def write(folder: Path, name: str, text: str) -> Path:
    """Write a config file dated a minute ago: Postfix waits for a main.cf younger than ~2 s to settle."""
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    past = time.time() - 60
    os.utime(path, (past, past))
    return path


def postfix_config(folder: Path, main: str, master: str = STOCK_MASTER) -> Path:
    """A Postfix configuration folder with this main.cf and master.cf."""
    folder.mkdir(parents=True, exist_ok=True)
    write(folder, "main.cf", main)
    write(folder, "master.cf", master)
    return folder


def postmap(path: Path, kind: str = "hash") -> str:
    """Build `kind:path` with the real postmap; returns the reference."""
    subprocess.run(["postmap", f"{kind}:{path}"], check=True, capture_output=True)
    return f"{kind}:{path}"


def postconf(folder: Path, *args: str) -> str:
    return subprocess.run(
        ["postconf", "-c", str(folder), *args], check=True, capture_output=True, text=True
    ).stdout


def run_export(
    out: Path, *, postfix: Path | None = None, dovecot: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run deploy/linux/export-linux.sh on these configurations into `out`.

    A configuration not given points at a path that does not exist, so the export never picks up
    this machine's own /etc/postfix or /etc/dovecot.
    """
    missing = out.parent / "not-configured"
    command = ["sh", str(EXPORT_SCRIPT), "-o", str(out)]
    command += ["-c", str(postfix if postfix is not None else missing)]
    command += ["-d", str(dovecot if dovecot is not None else missing)]
    return subprocess.run(
        command, capture_output=True, text=True, check=True, env={**os.environ, **(env or {})}, timeout=120
    )


def export_of(tmp: Path, main: str, master: str = STOCK_MASTER, *, dovecot: Path | None = None) -> Path:
    """The export folder of a Postfix configuration (and optionally a Dovecot one)."""
    config = postfix_config(tmp / "postfix", main, master)
    out = tmp / "export"
    if out.exists():
        shutil.rmtree(out)
    run_export(out, postfix=config, dovecot=dovecot)
    return out


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def lab(script: str, *args: str) -> None:
    """Run one of the project's lab scripts (deploy/lab/SCRIPT start|stop ...)."""
    result = subprocess.run(["sh", str(LAB / script), *args], capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        raise RuntimeError(f"{script} {' '.join(args)}: {result.stderr.strip()}")


# --- the relay configurations shared by the simulation tests and the cross-check with Postfix ---

PROBE_CLIENT = "127.0.0.2"
PROBE_SENDER = "probe@example.org"
PROBE_RECIPIENT = "victim@relay-probe.example"


@dataclass(frozen=True)
class RelayCase:
    """main.cf lines and the probed service's `-o` options, with the verdicts expected for a client
    at 127.0.0.2: unauthenticated (`outside`) and authenticated through Dovecot SASL."""

    name: str
    main: str
    options: tuple[str, ...] = ()
    outside: str = "not open"
    authenticated: str = "open"


RELAY_CASES = (
    RelayCase("compat-3.6-defaults", "compatibility_level = 3.6\nmynetworks = 127.0.0.1/32\n"),
    RelayCase(
        "reject-unauth-destination",
        "compatibility_level = 3.6\nmynetworks = 127.0.0.1/32\n"
        "smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination\n",
    ),
    RelayCase(
        "permit-before-reject-is-fatal",
        "compatibility_level = 3.6\nmynetworks = 127.0.0.1/32\n"
        "smtpd_relay_restrictions = permit, reject_unauth_destination\n",
        outside="error",
        authenticated="error",
    ),
    RelayCase("mynetworks-everything", "compatibility_level = 2\nmynetworks = 0.0.0.0/0\n", outside="open"),
    RelayCase("mynetworks-too-wide", "compatibility_level = 3.6\nmynetworks = 127.0.0.0/8\n", outside="open"),
    RelayCase(
        "mynetworks-exclusion",
        "compatibility_level = 3.6\nmynetworks = !127.0.0.2 127.0.0.0/8\n",
    ),
    RelayCase(
        "compat-0-recipient-list-only",
        "compatibility_level = 0\nmynetworks = 127.0.0.1/32\n"
        "smtpd_recipient_restrictions = permit_mynetworks, reject_unauth_destination\n",
        authenticated="not open",
    ),
    RelayCase(
        "client-list-rejects",
        "compatibility_level = 3.6\nmynetworks = 127.0.0.1/32\n"
        "smtpd_client_restrictions = permit_sasl_authenticated, reject\n",
    ),
    RelayCase(
        "sender-permit-ends-only-its-list",
        "compatibility_level = 3.6\nmynetworks = 127.0.0.1/32\nsmtpd_sender_restrictions = permit\n",
    ),
    RelayCase(
        "service-override-beats-main",
        "compatibility_level = 3.6\nmynetworks = 127.0.0.1/32\nsmtpd_relay_restrictions = permit\n",
        options=("smtpd_relay_restrictions=permit_sasl_authenticated,reject",),
    ),
    RelayCase(
        "recipient-before-relay-at-level-2",
        "compatibility_level = 2\nmynetworks = 127.0.0.1/32\nsmtpd_recipient_restrictions = permit\n"
        "smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination\n",
        authenticated="not open",
    ),
    RelayCase("host-style-mynetworks-default", "compatibility_level = 3.6\n"),
    RelayCase(
        "no-required-restriction",
        "compatibility_level = 3.6\nmynetworks = 127.0.0.1/32\nsmtpd_relay_restrictions =\n"
        "smtpd_recipient_restrictions = permit_mynetworks, permit\n",
        outside="error",
        authenticated="error",
    ),
    RelayCase(
        "no-sasl-offered",
        "compatibility_level = 3.6\nmynetworks = 127.0.0.1/32\nsmtpd_sasl_auth_enable = no\n",
        authenticated="not open",
    ),
)

LAB_MASTER_SERVICES = textwrap.dedent(
    """\
    pickup    unix  n       -       n       60      1       pickup
    cleanup   unix  n       -       n       -       0       cleanup
    qmgr      unix  n       -       n       300     1       qmgr
    rewrite   unix  -       -       n       -       -       trivial-rewrite
    bounce    unix  -       -       n       -       0       bounce
    defer     unix  -       -       n       -       0       bounce
    trace     unix  -       -       n       -       0       bounce
    verify    unix  -       -       n       -       1       verify
    proxymap  unix  -       -       n       -       -       proxymap
    error     unix  -       -       n       -       -       error
    retry     unix  -       -       n       -       -       error
    discard   unix  -       -       n       -       -       discard
    anvil     unix  -       -       n       -       1       anvil
    scache    unix  -       -       n       -       1       scache
    postlog   unix-dgram n  -       n       -       1       postlogd
    """
)


def relay_lab_config(folder: Path, case: RelayCase, port: int, sasl_socket: Path) -> Path:
    """A Postfix instance for one relay case: loopback only, its own queue, no route off the machine.

    Everything remote goes to `error` (default_transport, relay_transport); the probe's domain is
    sent to `discard` so that an accepted probe answers 250 rather than "no route" (smtpd refuses
    recipients of the error transport). Neither changes the relay decision, which is made from
    address classes and restriction lists only.
    """
    main = (
        textwrap.dedent(
            f"""\
        queue_directory = {folder}/queue
        data_directory = {folder}/data
        maillog_file = {folder}/maillog
        maillog_file_prefixes = {folder}
        myhostname = lab.invalid
        mydomain = invalid
        mydestination =
        inet_interfaces = 127.0.0.1
        inet_protocols = ipv4
        alias_maps =
        alias_database =
        local_recipient_maps =
        default_transport = error:no route off this machine
        relay_transport = error:no route off this machine
        transport_maps = inline:{{ relay-probe.example=discard: }}
        smtpd_sasl_auth_enable = yes
        smtpd_sasl_type = dovecot
        smtpd_sasl_path = {sasl_socket}
        smtpd_tls_security_level = none
        smtputf8_enable = no
        """
        )
        + case.main
    )
    options = "".join(f" -o {option}" for option in case.options)
    master = f"127.0.0.1:{port} inet n - n - - smtpd{options}\n" + LAB_MASTER_SERVICES
    return postfix_config(folder, main, master)


def linux_host(
    tmp: Path,
    main: str = "",
    *,
    master: str = STOCK_MASTER,
    tables: dict[str, str] | None = None,
    dovecot: str | None = None,
    dovecot_files: dict[str, str] | None = None,
    name: str = "LNX01",
    addresses: tuple[str, ...] = ("10.0.0.25",),
) -> LinuxHost:
    """Write a Postfix (and optionally Dovecot) configuration, export it with the real programs, parse it.

    `{pf}` / `{dc}` in the texts stand for the Postfix / Dovecot folders; `tables` are written into
    the Postfix folder and built with postmap (hash) when their name has no extension.
    """
    from auditor.families.linux.export import read_linux_export
    from auditor.families.linux.host import LinuxHost

    pf, dc = tmp / "postfix", tmp / "dovecot"
    pf.mkdir(parents=True, exist_ok=True)
    dc.mkdir(parents=True, exist_ok=True)
    for table, text in (tables or {}).items():
        path = write(pf, table, text.format(pf=pf, dc=dc))
        if "." not in table:
            postmap(path)
    postfix_config(pf, main.format(pf=pf, dc=dc), master)
    conf = None
    if dovecot is not None:
        for file, text in (dovecot_files or {}).items():
            write(dc, file, text.format(pf=pf, dc=dc))
        conf = write(dc, "dovecot.conf", dovecot.format(pf=pf, dc=dc))
    out = tmp / "export"
    if out.exists():
        shutil.rmtree(out)
    run_export(out, postfix=pf, dovecot=conf)
    return LinuxHost.from_export(read_linux_export(out), name=name, addresses=addresses)


# --- whole hosts for the check tests: exported by the real programs, read by the real source ---

DATA = Path(__file__).parent / "data"


def export_host(
    root: Path,
    name: str,
    *,
    main: str | None = None,
    master: str = STOCK_MASTER,
    tables: dict[str, str] | None = None,
    dovecot: str | None = None,
    dovecot_files: dict[str, str] | None = None,
    dovecot_conf: Path | None = None,
) -> Path:
    """The export folder of one host (under root/name): its Postfix when `main` is given, its Dovecot
    when `dovecot` is (or `dovecot_conf`, the dovecot.conf of a running Dovecot, whose users the
    export lists). `{pf}` / `{dc}` in the texts stand for the host's Postfix / Dovecot folders;
    `tables` without an extension are built with postmap (hash)."""
    base = root / name
    pf, dc = base / "postfix", base / "dovecot"
    pf.mkdir(parents=True, exist_ok=True)
    dc.mkdir(parents=True, exist_ok=True)
    if main is not None:
        for table, text in (tables or {}).items():
            path = write(pf, table, text.format(pf=pf, dc=dc))
            if "." not in table:
                postmap(path)
        postfix_config(pf, main.format(pf=pf, dc=dc), master)
    conf = dovecot_conf
    if dovecot is not None:
        for file, text in (dovecot_files or {}).items():
            write(dc, file, text.format(pf=pf, dc=dc))
        conf = write(dc, "dovecot.conf", dovecot.format(pf=pf, dc=dc))
    out = base / "export"
    if out.exists():
        shutil.rmtree(out)
    run_export(out, postfix=pf if main is not None else None, dovecot=conf)
    return out


def dovecot_24_export(root: Path, name: str) -> Path:
    """An export folder holding the hand-written Dovecot 2.4 `doveconf -n` of the documentation
    (data/doveconf-2.4-docs.txt, marked as such: Debian 12 has no Dovecot 2.4 to run)."""
    folder = root / name / "export"
    folder.mkdir(parents=True)
    shutil.copy(DATA / "doveconf-2.4-docs.txt", folder / "doveconf-n.txt")
    return folder


def records_of(
    folder: Path, name: str, *, addresses: tuple[str, ...] = ("10.0.0.25",), fqdn: str | None = None
) -> list[ObjectRecord]:
    """The raw records the family's source reads from an export folder (what a pass stores)."""
    from auditor.families.linux.source import LinuxExportSource

    source = LinuxExportSource(name=name, folder=folder, addresses=list(addresses), fqdn=fqdn)
    return list(source.collect())
