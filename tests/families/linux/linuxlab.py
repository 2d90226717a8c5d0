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
from pathlib import Path

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
    """Run deploy/linux/export-linux.sh on these configurations into `out`."""
    command = ["sh", str(EXPORT_SCRIPT), "-o", str(out)]
    if postfix is not None:
        command += ["-c", str(postfix)]
    if dovecot is not None:
        command += ["-d", str(dovecot)]
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
