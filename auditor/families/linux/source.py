"""A Linux POP3 host (Postfix + Dovecot) as a `Source`: an export folder, or a fresh one over SSH.

`LinuxExportSource` yields the raw records of `raw.host_records` (kinds postfix_host,
postfix_service, postfix_map, dovecot_host, dovecot_passdb, dovecot_userdb). Every file is parsed
before anything is yielded, so a damaged file stops the pass (exit 2) without half a host handed on.
A folder holding the files of another kind of host too is ambiguous and refused, by the same test
that `auditor.families.pop3_kind` applies to a configured folder (`single_export_kind`): this
source applies it again to what it fetched over SSH.

Staleness: the export script writes its UTC time to `EXPORT-INFO.txt`; the source records it in
`SourceInfo.exported_at`, and with `max_age` set, an export older than that (or one that does not
say when it was made) is recorded as stale (`SourceInfo.stale`, the reason), which collection
health reports. The snapshot is still complete: stale is a warning about age, not a failed read.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from auditor.errors import AuditorError, InputFormatError
from auditor.families.linux.export import EXPORT_INFO, LinuxExport, read_linux_export
from auditor.families.linux.host import LinuxHost
from auditor.families.linux.raw import host_records
from auditor.families.linux.ssh import SshTarget, fetch_export
from auditor.records import ObjectRecord, SourceInfo

__all__ = ["LINUX_KIND", "LinuxExportSource"]

LINUX_KIND = "postfix-dovecot"


class LinuxExportSource:
    """One configured Linux host, read from its export folder or fetched over SSH each pass."""

    def __init__(
        self,
        *,
        name: str,
        folder: Path | None = None,
        ssh: SshTarget | None = None,
        fqdn: str | None = None,
        addresses: Sequence[str] = (),
        max_age: timedelta | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        if (folder is None) == (ssh is None):
            raise ValueError("give exactly one of folder and ssh")
        self.name = name
        self.folder = Path(folder) if folder is not None else None
        self.ssh = ssh
        self.fqdn = fqdn
        self.addresses = tuple(addresses)
        self.max_age = max_age
        self.clock = clock
        self.info = SourceInfo(name=f"pop3:{name}", kind="linux-ssh" if ssh else "linux-export")
        self.host: LinuxHost | None = None

    def collect(self) -> Iterator[ObjectRecord]:
        self.info.complete, self.info.objects, self.info.error = False, 0, None
        self.info.exported_at, self.info.stale = None, None
        started = time.monotonic()
        try:
            if self.ssh is not None:
                with tempfile.TemporaryDirectory(prefix="auditor-linux-") as temp:
                    folder = Path(temp) / "export"
                    fetch_export(self.ssh, folder)
                    records = self._read(folder)
            else:
                assert self.folder is not None
                records = self._read(self.folder)
        except AuditorError as exc:
            self.info.error = str(exc)
            raise
        yield from records
        self.info.objects = len(records)
        self.info.duration_seconds = time.monotonic() - started
        self.info.complete = True

    def _read(self, folder: Path) -> list[ObjectRecord]:
        from auditor.families import single_export_kind

        single_export_kind(folder)
        export = read_linux_export(folder)
        if not (export.has_postfix or export.has_dovecot):
            raise InputFormatError(
                str(folder), "no Postfix or Dovecot files (postconf-*.txt, doveconf-n.txt, doveadm-users.txt)"
            )
        self.host = LinuxHost.from_export(export, name=self.name, fqdn=self.fqdn, addresses=self.addresses)
        self._age(export)
        self.info.coverage = {f"pop3:{self.name}"} | {f"pop3:{self.name}:{f}" for f in export.files}
        return host_records(self.host)

    def _age(self, export: LinuxExport) -> None:
        self.info.exported_at = export.exported_at
        if self.max_age is None:
            return
        if export.exported_at is None:
            self.info.stale = f"the export does not say when it was made (no {EXPORT_INFO})"
            return
        age = self.clock() - export.exported_at
        if age > self.max_age:
            self.info.stale = (
                f"exported {export.exported_at.isoformat().replace('+00:00', 'Z')}, "
                f"{_human(age)} ago, older than max_age {_human(self.max_age)}"
            )


def _human(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if (seconds >= size and seconds % size == 0) or seconds >= size * 10:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
