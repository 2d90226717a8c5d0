"""Fetching a fresh export from a Linux host over SSH (OpenSSH client, key auth, known_hosts).

Each pass runs the export script remotely, fed on standard input (`ssh HOST sh -s -- -t`), so
nothing needs installing on the host; the script answers with a tar stream that is unpacked into
a fresh temporary folder and then read like any export folder. An administrator may instead pin
the command in `authorized_keys` (`command="sh /usr/local/sbin/export-linux.sh -t"`): the answer is
the same tar stream.

Security: `BatchMode=yes` (never a password prompt), `StrictHostKeyChecking=yes` against the
configured known_hosts file only (an unknown or changed host key is refused, never accepted),
`IdentitiesOnly` with the configured key. The tar stream is untrusted: only regular files and
folders with plain relative names are unpacked, within size and count limits.
"""

from __future__ import annotations

import io
import subprocess
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from auditor.errors import CollectorError

__all__ = ["EXPORT_SCRIPT", "MAX_EXPORT_BYTES", "SshTarget", "fetch_export"]

EXPORT_SCRIPT = Path(__file__).with_name("export-linux.sh")
MAX_EXPORT_BYTES = 256 * 1024 * 1024
MAX_MEMBERS = 100_000


@dataclass(frozen=True, slots=True)
class SshTarget:
    """`destination` is `user@host`; `known_hosts` is the only file host keys are checked against."""

    destination: str
    known_hosts: Path
    identity: Path | None = None
    port: int | None = None
    timeout: float = 120.0
    ssh_program: str = "ssh"

    def command(self) -> list[str]:
        options = [
            "BatchMode=yes",
            "StrictHostKeyChecking=yes",
            f"UserKnownHostsFile={self.known_hosts}",
            "GlobalKnownHostsFile=/dev/null",
            "UpdateHostKeys=no",
            "PasswordAuthentication=no",
            "KbdInteractiveAuthentication=no",
            f"ConnectTimeout={max(1, int(min(self.timeout, 60)))}",
            "LogLevel=ERROR",
        ]
        command = [self.ssh_program, "-T", "-F", "/dev/null"]
        for option in options:
            command += ["-o", option]
        if self.identity is not None:
            command += ["-o", "IdentitiesOnly=yes", "-i", str(self.identity)]
        if self.port is not None:
            command += ["-p", str(self.port)]
        return [*command, "--", self.destination, "sh -s -- -t"]


def _host_key_problem(stderr: str) -> bool:
    text = stderr.lower()
    return "host key verification failed" in text or "remote host identification has changed" in text


def _run(target: SshTarget, script: bytes) -> bytes:
    try:
        process = subprocess.Popen(
            target.command(), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
    except OSError as exc:
        raise CollectorError(
            f"ssh {target.destination}: cannot run {target.ssh_program} ({exc.strerror})"
        ) from None
    try:
        stdout, stderr = process.communicate(script, timeout=target.timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise CollectorError(
            f"ssh {target.destination}: no complete answer within {target.timeout:.0f} s"
        ) from None
    message = stderr.decode("utf-8", "replace").strip()
    if process.returncode != 0:
        if _host_key_problem(message):
            raise CollectorError(
                f"ssh {target.destination}: host key verification failed (unknown or changed host key; "
                f"checked against {target.known_hosts}); refusing to connect"
            )
        last = message.splitlines()[-1] if message else f"exit status {process.returncode}"
        raise CollectorError(f"ssh {target.destination}: the export failed: {last[:200]}")
    if len(stdout) > MAX_EXPORT_BYTES:
        raise CollectorError(f"ssh {target.destination}: the export is larger than {MAX_EXPORT_BYTES} bytes")
    return stdout


def _unpack(destination: str, data: bytes, into: Path) -> None:
    try:
        archive = tarfile.open(fileobj=io.BytesIO(data), mode="r:")  # noqa: SIM115 (closed by the with below)
    except tarfile.TarError as exc:
        raise CollectorError(f"ssh {destination}: the answer is not a tar stream ({exc})") from None
    with archive:
        members = archive.getmembers()
        if len(members) > MAX_MEMBERS:
            raise CollectorError(f"ssh {destination}: the export holds more than {MAX_MEMBERS} entries")
        safe: list[tarfile.TarInfo] = []
        for member in members:
            path = PurePosixPath(member.name)
            parts = [p for p in path.parts if p != "."]
            if path.is_absolute() or ".." in parts or not (member.isreg() or member.isdir()):
                raise CollectorError(
                    f"ssh {destination}: the export holds an unsafe entry {member.name[:80]!r}"
                )
            if parts:
                safe.append(member)
        into.mkdir(parents=True, exist_ok=False)
        archive.extractall(into, members=safe, filter="data")


def fetch_export(target: SshTarget, into: Path, *, script: Path = EXPORT_SCRIPT) -> float:
    """Run the export on `target` and unpack it into the new folder `into`; returns seconds taken."""
    started = time.monotonic()
    try:
        body = script.read_bytes()
    except OSError as exc:
        raise CollectorError(f"{script}: cannot read the export script ({exc.strerror})") from None
    _unpack(target.destination, _run(target, body), into)
    return time.monotonic() - started
