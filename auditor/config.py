"""The configuration file (TOML), validated into typed settings.

Validation is strict (unknown keys are errors) because a misspelt key in a compliance tool silently
audits less than its owner thinks. Every problem becomes one `ConfigError` line naming the file and
the key. Relative paths resolve against the folder of the config file. Secrets are never inline:
each has a `*_env` (environment variable) and a `*_file` (path) form, resolved only when used, so a
`check --once` over LDIF exports never needs the bind password. A secret is registered with
`auditor.secrets` the moment it is read (and a password written in the store URL when the config
is validated), so no message auditor prints, logs, stores or traces can carry it.

Hostile or broken files end as one `ConfigError` line too: the config file and secret files must
be regular files of a sane size (`auditor.collect.files`), a NUL byte in any string value is
refused naming its key, and nesting deeper than a TOML reader manages is refused, not a crash.
"""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from collections.abc import Mapping
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from auditor.collect.files import KiB, MiB, exists_at, read_regular
from auditor.errors import AuditorError, ConfigError
from auditor.registry import Severity
from auditor.secrets import register_secret

__all__ = [
    "CONFIG_ENV",
    "DEFAULT_LOCATIONS",
    "AuditorConfig",
    "ChecksConfig",
    "DirectoryConfig",
    "ExchangeServerConfig",
    "Pop3ServerConfig",
    "ReportConfig",
    "ScheduleConfig",
    "StoreConfig",
    "TelemetryConfig",
    "WaiverConfig",
    "checked_file",
    "find_config",
    "load_config",
    "parse_duration",
    "resolve_secret",
]

CONFIG_ENV = "AUDITOR_CONFIG"
DEFAULT_LOCATIONS = (Path("auditor.toml"), Path("/etc/auditor/auditor.toml"))
CONFIG_LIMIT = 1 * MiB
SECRET_FILE_LIMIT = 64 * KiB
MAX_DURATION = timedelta(days=36525)
"""Longest period or age accepted (100 years): anything longer is a typo, and overflows dates."""


def _config_error(location: str, problem: str) -> AuditorError:
    return ConfigError(f"{location}: {problem}")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def resolve_secret(env: str | None, file: Path | None, what: str) -> str | None:
    """Read a secret from its environment variable or file; the error names the variable, never a value."""
    if env:
        value = os.environ.get(env)
        if value is None:
            raise ConfigError(f"{what}_env: environment variable {env} is not set")
        register_secret(value)
        return value
    if file:
        data = read_regular(
            file,
            limit=SECRET_FILE_LIMIT,
            error=lambda where, problem: ConfigError(f"{what}_file: {where}: {problem}"),
        )
        try:
            value = data.decode("utf-8").rstrip("\r\n")
        except UnicodeDecodeError:
            raise ConfigError(f"{what}_file: {file}: not UTF-8 text") from None
        register_secret(value)
        return value
    return None


def checked_file(path: Path | None, what: str) -> str | None:
    """A file another library will read (a CA bundle): a regular file of sane size, or one line."""
    if path is None:
        return None
    read_regular(
        path, limit=CONFIG_LIMIT, error=lambda where, problem: ConfigError(f"{what}: {where}: {problem}")
    )
    return str(path)


class StoreConfig(_Strict):
    url: str = "sqlite:///auditor.db"
    scope: str = "default"
    lock_timeout: float = Field(default=60.0, ge=0, le=86400)

    @field_validator("url")
    @classmethod
    def _register_url_password(cls, value: str) -> str:
        from auditor.store.engine import url_password

        register_secret(url_password(value))
        return value


class DirectoryConfig(_Strict):
    url: str | None = None
    bind_dn: str | None = None
    password_env: str | None = None
    password_file: Path | None = None
    tls: Literal["starttls", "ldaps", "none"] | None = None
    allow_insecure: bool = False
    ca_file: Path | None = None
    base_dn: str | None = None
    configuration_dn: str | None = None
    page_size: int = Field(default=500, ge=1, le=100_000)
    timeout: float = Field(default=30.0, gt=0)
    retries: int = Field(default=3, ge=0, le=10)
    ldif: list[Path] = Field(default_factory=list)
    # Live LDAP only: read what changed since the previous complete snapshot when the directory
    # allows it (DirSync, else uSNChanged), and in full at least every `full_every`.
    # None: the default, true for live LDAP (an export is always read whole).
    incremental: bool | None = None
    full_every: str = "7d"

    @field_validator("full_every")
    @classmethod
    def _valid_full_every(cls, value: str) -> str:
        try:
            parse_duration(value)
        except ConfigError as exc:
            raise ValueError(str(exc)) from None
        return value

    @model_validator(mode="after")
    def _one_source(self) -> DirectoryConfig:
        if self.url and self.ldif:
            raise ValueError("set either url (live LDAP) or ldif (exported files), not both")
        if not self.url and not self.ldif:
            raise ValueError("set url (live LDAP) or ldif (a list of exported files)")
        if self.url and not self.url.lower().startswith(("ldap://", "ldaps://")):
            raise ValueError(f"url must start with ldap:// or ldaps://, not {self.url!r}")
        if self.tls == "none" and not self.allow_insecure:
            raise ValueError('tls = "none" sends the bind password in clear; it needs allow_insecure = true')
        if self.password_env and self.password_file:
            raise ValueError("set password_env or password_file, not both")
        if self.ldif and self.incremental:
            raise ValueError("incremental applies to a live directory (url); exported files are read whole")
        return self

    @property
    def incremental_reads(self) -> bool:
        """Whether a live read may be incremental (`incremental`, default true for live LDAP)."""
        return bool(self.url) and self.incremental is not False

    @property
    def full_every_delta(self) -> timedelta:
        return parse_duration(self.full_every)

    def password(self) -> str | None:
        return resolve_secret(self.password_env, self.password_file, "directory.password")


_SSH_DESTINATION = re.compile(
    r"^ssh://(?:[A-Za-z0-9._-]+@)?[A-Za-z0-9._-]+(?::\d{1,5})?$|^(?:[A-Za-z0-9._-]+@)?[A-Za-z0-9._-]+$"
)


class Pop3ServerConfig(_Strict):
    """A POP3 server: Windows (export folder) or Linux (export folder, or fetched over SSH each pass).

    `kind` absent: a Linux host when `ssh` is set (only a Linux host is fetched over SSH), else told
    from the export folder's files (`auditor.families.pop3_kind`).
    """

    name: str = Field(min_length=1)
    kind: Literal["windows", "postfix-dovecot"] | None = None
    fqdn: str | None = None
    addresses: list[str] = Field(default_factory=list)
    export: Path | None = None
    ssh: str | None = None
    known_hosts: Path | None = None
    ssh_key: Path | None = None
    max_age: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _ssh_means_linux(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and data.get("ssh") and not data.get("kind"):
            return {**data, "kind": "postfix-dovecot"}
        return data

    @field_validator("ssh")
    @classmethod
    def _ssh_destination(cls, value: str | None) -> str | None:
        if value is not None and (not _SSH_DESTINATION.match(value) or value.startswith("-")):
            raise ValueError(f'ssh must be "user@host" or "ssh://user@host:port", not {value!r}')
        return value

    @field_validator("max_age")
    @classmethod
    def _valid_age(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                parse_duration(value)
            except ConfigError as exc:
                raise ValueError(str(exc)) from None
        return value

    @model_validator(mode="after")
    def _linux_keys(self) -> Pop3ServerConfig:
        if self.ssh and self.export:
            raise ValueError("set export (a folder) or ssh (fetched each pass), not both")
        if self.kind == "windows" and (self.ssh or self.max_age or self.known_hosts or self.ssh_key):
            raise ValueError('ssh, known_hosts, ssh_key and max_age are for kind = "postfix-dovecot"')
        if (self.known_hosts or self.ssh_key) and not self.ssh:
            raise ValueError("known_hosts and ssh_key need ssh")
        return self

    @property
    def max_age_delta(self) -> timedelta | None:
        return parse_duration(self.max_age) if self.max_age else None


class ExchangeServerConfig(_Strict):
    """Extra names that designate an Exchange server (its cn and networkAddress come from AD)."""

    name: str = Field(min_length=1)
    fqdn: str | None = None
    addresses: list[str] = Field(default_factory=list)


class WaiverConfig(_Strict):
    check: str = Field(min_length=1)
    subject: str = Field(min_length=1)
    reason: str = Field(min_length=1)
    expires: date

    @field_validator("reason")
    @classmethod
    def _reason_says_something(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("a waiver needs a reason")
        return value


class ChecksConfig(_Strict):
    fail_on: Severity = Severity.LOW
    disabled: list[str] = Field(default_factory=list)
    waiver: list[WaiverConfig] = Field(default_factory=list)
    # Other hosts rightly granted anonymous relay on Exchange (COEX-703): addresses or CIDR networks.
    relay_allowlist: list[str] = Field(default_factory=list)

    @field_validator("relay_allowlist")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for entry in value:
            try:
                ipaddress.ip_network(entry, strict=True)
            except ValueError as exc:
                raise ValueError(f"relay_allowlist: {entry!r} is not an address or network ({exc})") from None
        return value


class ScheduleConfig(_Strict):
    check: str = "0 */4 * * *"
    report: str = "0 7 * * mon"
    tz: str | None = None

    @field_validator("check", "report")
    @classmethod
    def _valid_cron(cls, value: str) -> str:
        from auditor.service import build_trigger

        try:
            build_trigger(value, "UTC")
        except ConfigError as exc:
            raise ValueError(str(exc).partition(": ")[2] or str(exc)) from None
        return value

    @field_validator("tz")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is not None:
            from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(f"unknown time zone {value!r}") from None
        return value


_DURATION = re.compile(r"^\s*(\d{1,15})\s*([smhdw])\s*$", re.ASCII)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str) -> timedelta:
    """`7d`, `24h`, `2w`, `30m`, `90s` as a timedelta, at most 100 years; a ConfigError line otherwise."""
    match = _DURATION.match(text)
    if not match or int(match.group(1)) == 0:
        raise ConfigError(
            f"invalid duration {text[:40]!r}: use a positive number and a unit, e.g. 7d, 24h, 2w"
        )
    seconds = int(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if seconds > MAX_DURATION.total_seconds():
        raise ConfigError(f"invalid duration {text[:40]!r}: at most 100 years (36525d)")
    return timedelta(seconds=seconds)


class ReportConfig(_Strict):
    email_to: list[str] = Field(default_factory=list)
    email_from: str | None = None
    smtp_url: str | None = None
    starttls: Literal["require", "auto", "never"] = "auto"
    ca_file: Path | None = None
    smtp_username: str | None = None
    smtp_password_env: str | None = None
    smtp_password_file: Path | None = None
    since: str = "7d"
    timeout: float = Field(default=30.0, gt=0)
    retries: int = Field(default=3, ge=0, le=10)

    @model_validator(mode="after")
    def _smtp_url_form(self) -> ReportConfig:
        if self.smtp_url and not self.smtp_url.lower().startswith(("smtp://", "smtps://")):
            raise ValueError(f"smtp_url must start with smtp:// or smtps://, not {self.smtp_url!r}")
        return self

    @field_validator("since")
    @classmethod
    def _valid_period(cls, value: str) -> str:
        try:
            parse_duration(value)
        except ConfigError as exc:
            raise ValueError(str(exc)) from None
        return value

    def smtp_password(self) -> str | None:
        return resolve_secret(self.smtp_password_env, self.smtp_password_file, "report.smtp_password")


class TelemetryConfig(_Strict):
    exporter: Literal["otlp", "console", "none"] | None = None
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"


class AuditorConfig(_Strict):
    organization: str = ""
    store: StoreConfig = Field(default_factory=StoreConfig)
    directory: DirectoryConfig | None = None
    pop3_server: list[Pop3ServerConfig] = Field(default_factory=list)
    exchange_server: list[ExchangeServerConfig] = Field(default_factory=list)
    checks: ChecksConfig = Field(default_factory=ChecksConfig)
    schedule: ScheduleConfig = Field(default_factory=ScheduleConfig)
    report: ReportConfig = Field(default_factory=ReportConfig)
    telemetry: TelemetryConfig = Field(default_factory=TelemetryConfig)
    path: Path | None = Field(default=None, exclude=True)

    @model_validator(mode="after")
    def _something_to_audit(self) -> AuditorConfig:
        if self.directory is None and not self.pop3_server:
            raise ValueError("nothing to audit: add a [directory] section or a [[pop3_server]] table")
        names = [s.name.lower() for s in self.pop3_server]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"[[pop3_server]] names must be unique; repeated: {', '.join(duplicates)}")
        return self

    @property
    def base_dir(self) -> Path:
        return self.path.parent if self.path else Path.cwd()


def _location(loc: tuple[Any, ...]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts[-1:] = [f"{parts[-1]}[{item}]"] if parts else [f"[{item}]"]
        else:
            parts.append(str(item))
    return ".".join(parts) or "(top level)"


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    loc = tuple(x for x in error["loc"] if x not in ("function-after",))
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        message = "unknown key"
    elif error["type"] == "missing":
        message = "required key is missing"
    more = f" (and {len(exc.errors()) - 1} more problem(s))" if len(exc.errors()) > 1 else ""
    return f"{_location(loc)}: {message}{more}"


def _resolve_paths(data: dict[str, Any], base: Path) -> None:
    """Make relative paths (and relative SQLite URLs) absolute against the config's folder."""

    def absolute(value: Any) -> Any:
        if isinstance(value, str) and value and not Path(value).is_absolute():
            return str(base / value)
        return value

    directory = data.get("directory")
    if isinstance(directory, dict):
        for key in ("password_file", "ca_file"):
            if key in directory:
                directory[key] = absolute(directory[key])
        if isinstance(directory.get("ldif"), list):
            directory["ldif"] = [absolute(v) for v in directory["ldif"]]
    for server in data.get("pop3_server", []) if isinstance(data.get("pop3_server"), list) else []:
        if isinstance(server, dict):
            for key in ("export", "known_hosts", "ssh_key"):
                if key in server:
                    server[key] = absolute(server[key])
    report = data.get("report")
    if isinstance(report, dict):
        for key in ("ca_file", "smtp_password_file"):
            if key in report:
                report[key] = absolute(report[key])
    store = data.setdefault("store", {})
    if isinstance(store, dict):
        url = store.get("url", StoreConfig().url)
        prefix = "sqlite:///"
        if isinstance(url, str) and url.startswith(prefix) and not url.startswith("sqlite:////"):
            rest = url[len(prefix) :]
            if rest and rest != ":memory:" and not Path(rest).is_absolute():
                store["url"] = prefix + str(base / rest)


def _refuse_nul(value: Any, where: tuple[Any, ...], label: str) -> None:
    """No string of the config may hold a NUL byte: no path, URL or name legitimately does."""
    stack: list[tuple[Any, tuple[Any, ...]]] = [(value, where)]
    while stack:
        item, loc = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                raise ConfigError(f"{label}: {_location(loc)}: a NUL byte is not allowed in a value")
        elif isinstance(item, Mapping):
            for key, child in item.items():
                if "\x00" in str(key):
                    raise ConfigError(f"{label}: {_location(loc)}: a NUL byte is not allowed in a key")
                stack.append((child, (*loc, key)))
        elif isinstance(item, list):
            stack.extend((child, (*loc, index)) for index, child in enumerate(item))


def parse_config(data: Mapping[str, Any], *, path: Path | None = None) -> AuditorConfig:
    base = path.parent if path else Path.cwd()
    mutable = {k: (dict(v) if isinstance(v, Mapping) else v) for k, v in data.items()}
    for key in ("pop3_server", "exchange_server"):
        if isinstance(mutable.get(key), list):
            mutable[key] = [dict(x) if isinstance(x, Mapping) else x for x in mutable[key]]
    label = str(path) if path else "configuration"
    _refuse_nul(data, (), label)
    _resolve_paths(mutable, base)
    try:
        config = AuditorConfig.model_validate({**mutable, "path": path})
    except ValidationError as exc:
        raise ConfigError(f"{label}: {_first_error(exc)}") from None
    return config


def find_config(explicit: Path | None = None) -> Path:
    """`-c FILE`, else `$AUDITOR_CONFIG`, else ./auditor.toml, else /etc/auditor/auditor.toml."""
    if explicit is not None:
        if not exists_at(explicit):
            raise ConfigError(f"{explicit}: config file not found")
        return explicit
    from_env = os.environ.get(CONFIG_ENV)
    if from_env:
        path = Path(from_env)
        if not exists_at(path):
            raise ConfigError(f"{path}: config file not found (from ${CONFIG_ENV})")
        return path
    for candidate in DEFAULT_LOCATIONS:
        if exists_at(candidate):  # anything there is read, or refused naming it
            return candidate
    raise ConfigError(
        "no config file: pass -c FILE, set $AUDITOR_CONFIG, or create ./auditor.toml "
        "(or try the bundled sample: auditor check --once --sample)"
    )


def load_config(path: Path) -> AuditorConfig:
    raw = read_regular(path, limit=CONFIG_LIMIT, error=_config_error)
    try:
        data = tomllib.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: config file is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    except RecursionError:
        raise ConfigError(f"{path}: invalid TOML: nested deeper than a TOML reader manages") from None
    try:
        return parse_config(data, path=path.resolve())
    except RecursionError:
        raise ConfigError(f"{path}: values nested deeper than auditor reads") from None
