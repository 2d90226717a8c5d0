"""From a `[[pop3_server]]` table to the right source (for `run.build_sources`).

`server_kind` tells the family: the configured `kind`, else a Linux host when `ssh` is set, else
from the export folder's files. It never raises, because `build_sources` runs before the pass
starts recording: a folder holding both families goes to the Linux source whatever `kind` says,
and its `collect()` refuses it (InputFormatError, exit 2, an incomplete pass recorded).
"""

from __future__ import annotations

from pathlib import Path

from auditor.config import Pop3ServerConfig
from auditor.errors import InputFormatError
from auditor.families.linux.source import LINUX_KIND, WINDOWS_KIND, LinuxExportSource, detect_family
from auditor.families.linux.ssh import SshTarget

__all__ = ["DEFAULT_KNOWN_HOSTS", "linux_source", "server_kind"]

DEFAULT_KNOWN_HOSTS = Path("~/.ssh/known_hosts")


def server_kind(server: Pop3ServerConfig) -> str:
    """`windows` or `postfix-dovecot` for this server (see the module docstring for mixed folders)."""
    detected: str | None = None
    if server.export is not None:
        try:
            detected = detect_family(server.export)
        except InputFormatError as exc:
            if "both Windows POP3 files" in exc.problem:
                return LINUX_KIND
    if server.kind is not None:
        return server.kind
    if server.ssh:
        return LINUX_KIND
    return detected or WINDOWS_KIND


def linux_source(server: Pop3ServerConfig) -> LinuxExportSource:
    """The source of a `kind = "postfix-dovecot"` server: its folder, or SSH each pass."""
    ssh = None
    if server.ssh:
        ssh = SshTarget(
            destination=server.ssh,
            known_hosts=(server.known_hosts or DEFAULT_KNOWN_HOSTS).expanduser(),
            identity=server.ssh_key.expanduser() if server.ssh_key else None,
        )
    return LinuxExportSource(
        name=server.name,
        folder=server.export if ssh is None else None,
        ssh=ssh,
        fqdn=server.fqdn,
        addresses=server.addresses,
        max_age=server.max_age_delta,
    )
