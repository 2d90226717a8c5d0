"""One exception tree for everything auditor can fail at.

    AuditorError                  anything that stops a command (exit 2)
    ├── ConfigError               the configuration file or a value in it is wrong
    ├── CollectorError            a source could not be read in full
    │   ├── InputFormatError      an exported file is malformed (file, line or entry named)
    │   └── DirectoryError        the live directory failed (host, port, what failed)
    ├── StoreError                the history store is unavailable or inconsistent
    │   ├── LockTimeoutError      another pass holds the store lock
    │   └── StoreDamagedError     the store is not auditor's, is newer, or its content is damaged
    ├── SnapshotError             a snapshot asked for does not exist or is incomplete
    ├── RegistryError             a check plugin is malformed (defined in auditor.registry)
    ├── ReportError               a report could not be rendered
    └── DeliveryError             a report could not be delivered after its retries

The CLI turns any of them into one line on stderr and exit code 2, so every message must name
its cause (file and line, host and port, key) and must never contain a secret: every message is
passed through `auditor.secrets.scrub` when the error is created, so a server or a file that
echoes a known password cannot carry it into a printed, logged, stored or traced message.
"""

from __future__ import annotations

from auditor.secrets import scrub

__all__ = [
    "AuditorError",
    "CollectorError",
    "ConfigError",
    "DeliveryError",
    "DirectoryError",
    "InputFormatError",
    "LockTimeoutError",
    "ReportError",
    "SnapshotError",
    "StoreDamagedError",
    "StoreError",
]


class AuditorError(Exception):
    """Base of every error auditor reports to its user; its message never holds a known secret."""

    def __init__(self, *args: object) -> None:
        super().__init__(*(scrub(arg) if isinstance(arg, str) else arg for arg in args))


class ConfigError(AuditorError):
    """The configuration is missing, unreadable or invalid."""


class CollectorError(AuditorError):
    """A source could not be collected completely; no complete snapshot may be stored."""


class InputFormatError(CollectorError):
    """An exported file cannot be parsed at all.

    `location` is what a human needs to find the fault: a path, with the line or entry when known.
    """

    def __init__(self, location: str, problem: str) -> None:
        super().__init__(f"{location}: {problem}")
        self.location = scrub(location)
        self.problem = scrub(problem)


class DirectoryError(CollectorError):
    """The live directory could not be read in full (connection, TLS, bind, limits, lost session)."""


class StoreError(AuditorError):
    """The history store cannot be opened, written or read."""


class LockTimeoutError(StoreError):
    """Another auditor pass holds the store lock for longer than we may wait."""


class StoreDamagedError(StoreError):
    """The store cannot be trusted: another program's database, a newer schema, or damaged content.

    A pass stores nothing in such a store rather than build on it.
    """


class SnapshotError(AuditorError):
    """A snapshot reference does not resolve to a usable (complete) snapshot."""


class ReportError(AuditorError):
    """A report could not be rendered or written."""


class DeliveryError(AuditorError):
    """A report could not be delivered after its retries."""
