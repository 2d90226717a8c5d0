"""From a `[[pop3_server]]` table of kind `postfix-dovecot` to its source (the family's factory).

Which family a `[[pop3_server]]` belongs to is told once, for every family, by
`auditor.families.pop3_kind` (its `kind`, else the export folder's marker files; `ssh` implies a
Linux host, see `auditor.config`); a folder holding the files of two kinds of host is refused there.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from auditor.config import Pop3ServerConfig
from auditor.errors import ConfigError
from auditor.families.linux.source import LinuxExportSource
from auditor.families.linux.ssh import SshTarget

if TYPE_CHECKING:
    from auditor.collect import Source
    from auditor.config import AuditorConfig

__all__ = ["DEFAULT_KNOWN_HOSTS", "linux_source", "linux_sources"]

DEFAULT_KNOWN_HOSTS = Path("~/.ssh/known_hosts")


def linux_source(server: Pop3ServerConfig) -> LinuxExportSource:
    """The source of a `kind = "postfix-dovecot"` server: its folder, or SSH each pass."""
    ssh = None
    if server.ssh:
        ssh = SshTarget(
            destination=server.ssh,
            known_hosts=(server.known_hosts or DEFAULT_KNOWN_HOSTS).expanduser(),
            identity=server.ssh_key.expanduser() if server.ssh_key else None,
        )
    elif server.export is None:
        raise ConfigError(f'pop3_server {server.name!r}: kind = "postfix-dovecot" needs export or ssh')
    return LinuxExportSource(
        name=server.name,
        folder=server.export if ssh is None else None,
        ssh=ssh,
        fqdn=server.fqdn,
        addresses=server.addresses,
        max_age=server.max_age_delta,
    )


def linux_sources(server: Pop3ServerConfig, config: AuditorConfig) -> Sequence[Source]:
    """The family's `sources` factory (`Family.sources`): one source per configured Linux host."""
    return [linux_source(server)]
