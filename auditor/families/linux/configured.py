"""From a `[[pop3_server]]` table to the right source (for `run.build_sources`).

`server_kind` tells the family: the configured `kind`, else a Linux host when `ssh` is set, else
from the export folder's files (`detect_family`, which refuses a folder holding both families).
"""

from __future__ import annotations

from pathlib import Path

from auditor.config import Pop3ServerConfig
from auditor.families.linux.source import LINUX_KIND, WINDOWS_KIND, LinuxExportSource, detect_family
from auditor.families.linux.ssh import SshTarget

__all__ = ["DEFAULT_KNOWN_HOSTS", "linux_source", "server_kind"]

DEFAULT_KNOWN_HOSTS = Path("~/.ssh/known_hosts")


def server_kind(server: Pop3ServerConfig) -> str:
    """`windows` or `postfix-dovecot`; a mixed export folder raises `InputFormatError` (exit 2)."""
    detected = detect_family(server.export) if server.export is not None and server.export.is_dir() else None
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
