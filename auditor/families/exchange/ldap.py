"""Reading a live Active Directory over LDAP (ldap3): recipients and the Exchange configuration.

Two paged subtree searches, one per partition: the domain partition for users and contacts, the
Configuration partition for the Exchange objects auditor keeps. Only the attributes of
`COLLECTED_ATTRIBUTES` (plus `objectGUID`) are requested, as raw bytes with no client-side schema
or formatting, and every entry goes through the same `record_from_entry` as the LDIF source, so
a live read and an `ldifde` export of the same forest give the same records (collector parity).

Why it is shaped this way:

- Records stream page by page: memory stays flat whatever the size of the forest.
- A failure is never returned as a short result. Transient faults (connection refused, timeout,
  server busy) are retried with exponential backoff a bounded number of times, but only while
  nothing of the partition has been handed out yet: a retry restarts the paged search from scratch
  on a fresh connection, because pages of two reads must never be stitched together, and records
  already yielded cannot be taken back. Past that point a lost server raises `DirectoryError`.
- Every error is one line naming the URL (scheme, host and port) and what failed; the password is
  never in a message or a log line.
- What is read comes from a `DirectoryTables` (filters, attributes, record builder): the 2003
  tables of `auditor.records` by default. When a search names `nTSecurityDescriptor` it goes with
  the SD-flags control asking for the DACL only (`0x04`): AD returns the SACL part only to holders
  of SeSecurityPrivilege, so without the control a non-admin service account gets no descriptor.
- Values beyond AD's `MaxValRange` (1,500) come back as `name;range=0-1499`; the rest is fetched
  (`name;range=1500-*` ...) and merged before the record is built. Referrals are skipped, never
  chased: a referral points at another partition or forest that this source was not asked to read.
- Attribution (`collect()` only, not the LDIF export): each entry's `replPropertyMetaData` is read
  with it and becomes the record's volatile `origins`; tombstones of the kept classes give
  `deletions` (objectGUID key -> origin). What that needs (prefix table, schema, DC names) is read
  first by `ldap_attribution.py`. Attribution is an extra: when it cannot be read, one warning is
  logged and the records carry no origins, never a failed or short collection.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import logging
import math
import re
import ssl
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, TypeVar
from urllib.parse import urlsplit

import ldap3
from ldap3.core import exceptions as ldap_exceptions
from ldap3.protocol.microsoft import security_descriptor_control
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from auditor.attribution import Origin
from auditor.collect import Baseline, RawValue
from auditor.collect.ldif import SharedText
from auditor.errors import ConfigError, DirectoryError
from auditor.families.exchange import incremental, incremental_merge
from auditor.families.exchange.attributes import (
    COLLECTED_ATTRIBUTES,
    CONFIGURATION_CLASSES,
    CONFIGURATION_FILTER,
    CONFIGURATION_KINDS,
    RECIPIENT_FILTER,
    RECIPIENT_KINDS,
)
from auditor.families.exchange.incremental import IncrementalSettings
from auditor.families.exchange.ldap_attribution import (
    METADATA_ATTRIBUTE,
    read_attribution,
    read_deletions,
)
from auditor.families.exchange.ldap_decode import raw_entries_only
from auditor.families.exchange.modern import MODERN_TABLES
from auditor.families.exchange.prefixmap import PrefixMapError
from auditor.families.exchange.replication import Attribution
from auditor.families.exchange.tables import DESCRIPTOR_ATTRIBUTE, DirectoryTables
from auditor.records import ObjectKind, ObjectRecord, SourceInfo

__all__ = [
    "CONFIGURATION_CLASSES",
    "CONFIGURATION_FILTER",
    "CONFIGURATION_KINDS",
    "DEFAULT_TABLES",
    "RECIPIENT_FILTER",
    "RECIPIENT_KINDS",
    "SD_FLAGS_DACL",
    "LdapSettings",
    "LdapSource",
    "RawEntry",
    "attributes_for",
    "merge_ranges",
    "shared_text",
]

log = logging.getLogger(__name__)
_T = TypeVar("_T")

SD_FLAGS_DACL = 0x04  # OWNER 1, GROUP 2, DACL 4, SACL 8

Partition = Literal["domain", "configuration"]
# One directory entry as read: partition, DN, raw values by attribute name (ranges merged).
RawEntry = tuple[Partition, str, dict[str, list[bytes]]]

_PAGED_RESULTS = "1.2.840.113556.1.4.319"
_CLASS_TERM = re.compile(r"\(objectClass=([^)*]+)\)", re.IGNORECASE)
_RANGE = re.compile(r"^(?P<name>[^;]+);range=(?P<low>\d+)-(?P<high>\d+|\*)$", re.IGNORECASE)
_AD_DATA = re.compile(r"data ([0-9a-f]{3,4})", re.IGNORECASE)
# AD's sub-codes of invalidCredentials (the `data NNN` part of the diagnostic message).
_AD_BIND_REASONS = {
    "525": "no such user",
    "52e": "invalid credentials",
    "530": "logon not permitted at this time",
    "531": "logon not permitted from this workstation",
    "532": "password expired",
    "533": "account disabled",
    "701": "account expired",
    "773": "user must reset the password",
    "775": "account locked out",
}
# Result codes worth another attempt: the server is there but could not answer right now.
_TRANSIENT_RESULTS = frozenset({"busy", "unavailable", "timeLimitExceeded", "adminLimitExceeded", "other"})


@dataclass(frozen=True)
class LdapSettings:
    """How to reach and read one directory. The password is already resolved by the config layer."""

    url: str  # ldaps://host[:port] or ldap://host[:port]
    bind_dn: str | None  # DN, UPN or DOMAIN\\user; None = anonymous (refused unless allow_insecure)
    password: str | None  # never logged, never in a message
    tls: str = "auto"  # "starttls" | "ldaps" | "none"; auto: ldaps:// -> ldaps, ldap:// -> starttls
    allow_insecure: bool = False  # "none" (and anonymous binds) only with this; then a warning is logged
    ca_file: str | None = None  # verify the server certificate against it; else the system trust store
    base_dn: str | None = None  # default: rootDSE defaultNamingContext
    configuration_dn: str | None = None  # default: rootDSE configurationNamingContext
    page_size: int = 500
    timeout: float = 30.0  # connect and per-operation timeout, seconds
    retries: int = 3  # further attempts after a transient failure, with exponential backoff

    def __repr__(self) -> str:
        return (
            f"LdapSettings(url={self.url!r}, bind_dn={self.bind_dn!r}, password={'***' if self.password else None},"
            f" tls={self.tls!r}, ca_file={self.ca_file!r})"
        )


class _TransientError(Exception):
    """A fault worth retrying; carries the one-line description (without the URL)."""


def attributes_for(kinds: Sequence[ObjectKind]) -> list[str]:
    """The attributes to request for these kinds: what they keep, plus `objectGUID` (the key)."""
    names: dict[str, None] = {}
    for kind in kinds:
        names.update(dict.fromkeys(COLLECTED_ATTRIBUTES[kind]))
    names["objectGUID"] = None
    return list(names)


# Every directory read collects the 2007+ tables (a superset of the 2003 ones) unless told otherwise.
DEFAULT_TABLES = MODERN_TABLES


def merge_ranges(
    dn: str, attributes: Mapping[str, list[bytes]], fetch: Callable[[str, str], Mapping[str, list[bytes]]]
) -> dict[str, list[bytes]]:
    """Complete every `name;range=low-high` attribute by fetching `name;range=high+1-*` until `*`.

    `fetch(dn, attribute description)` returns the raw attributes of one base read of `dn`. A
    server that answers a range request without the attribute, or with a range that does not
    continue where the last one stopped, is an incomplete read and raises `_TransientError`.
    """
    merged: dict[str, list[bytes]] = {}
    for key, values in attributes.items():
        match = _RANGE.match(key)
        if match is None:
            merged.setdefault(key, []).extend(values)
            continue
        name = match["name"]
        collected = list(values)
        high = match["high"]
        while high != "*":
            start = int(high) + 1
            answer = fetch(dn, f"{name};range={start}-*")
            found = None
            for answer_key, answer_values in answer.items():
                part = _RANGE.match(answer_key)
                if part and part["name"].lower() == name.lower():
                    found = (int(part["low"]), part["high"], answer_values)
            if found is None or found[0] != start:
                raise _TransientError(f"{dn}: range retrieval of {name} stopped at value {start}")
            collected.extend(found[2])
            high = found[1]
        merged.setdefault(name, []).extend(collected)
    return merged


class LdapSource:
    """A live Active Directory as a `Source` (kind `ldap`); see the module docstring.

    `value_range` asks for multi-valued attributes in ranges of that many values, as AD itself
    does past 1,500 values; only useful to exercise range retrieval against a server that does not
    range on its own (Samba). `tables` says what to read (default: `DEFAULT_TABLES`).
    `attribution=False` reads no replication metadata and no tombstones (records then carry no
    origins; the benchmark measures what attribution costs with it). `incremental` (the config's
    `incremental` / `full_every`): read only what changed since the previous complete snapshot
    that `use_baseline` hands in, where possible (`incremental.py`); the records are still every
    object there is, and `info.mode` / `info.changes_read` / `info.sync_state` say how it went.
    A baseline with an `index` lets an incremental read yield only the objects read again and
    name the unchanged rest in `carried` (`auditor.collect.CarriesOver`).
    """

    def __init__(
        self,
        settings: LdapSettings,
        *,
        name: str = "directory",
        value_range: int | None = None,
        tables: DirectoryTables | None = None,
        attribution: bool = True,
        incremental: IncrementalSettings | None = None,
    ) -> None:
        self.settings = settings
        self.tables = tables or DEFAULT_TABLES
        self.info = SourceInfo(name=name, kind="ldap")
        self.value_range = value_range
        self._scheme, self._host, self._port, self._use_ssl, self._start_tls = _endpoint(settings)
        self.where = f"{self._scheme}://{self._host}:{self._port}"
        if settings.page_size < 1:
            raise ConfigError(f"{self.where}: page_size must be at least 1")
        if settings.bind_dn is None and not settings.allow_insecure:
            raise ConfigError(f"{self.where}: anonymous bind refused (set bind_dn, or allow_insecure = true)")
        self._conn: ldap3.Connection | None = None
        self._retry_sleep: Callable[[float], None] = time.sleep
        self.attribution_wanted = attribution
        self.attribution: Attribution | None = None
        self.deletions: dict[str, Origin] = {}
        self.incremental = incremental
        self.baseline: Baseline | None = None
        # Objects of the baseline in this snapshot unchanged but not yielded (`CarriesOver`).
        self.carried: dict[str, tuple[str, str]] = {}
        self.force_full = False

    # -- public -------------------------------------------------------------------------------

    def use_baseline(self, baseline: Baseline | None, *, full: bool = False) -> None:
        """The previous complete snapshot an incremental read starts from; `full` forces a full read."""
        self.baseline, self.force_full = baseline, full

    def collect(self) -> Iterator[ObjectRecord]:
        """Yield users and contacts, then the Exchange configuration objects; raise rather than stop short.

        With `incremental` settings, only what changed since the previous complete snapshot is read
        when that is possible (`incremental.py`), and the records are still every object there is.
        """
        started = time.monotonic()
        info = self.info
        info.complete, info.objects, info.error = False, 0, None
        info.coverage = set()
        info.mode, info.changes_read, info.sync_state = "full", None, None
        self.carried = {}
        try:
            if self.incremental is None or not self.incremental.enabled:
                if self.incremental is not None:
                    log.info("%s: reading in full: incremental = false", self.where)
                yield from self._read_all()
            else:
                yield from self._read_tracked(self.incremental)
        except DirectoryError as exc:
            info.error = str(exc)
            raise
        finally:
            info.duration_seconds = time.monotonic() - started
            self._close()
        info.complete = True

    def _read_all(self) -> Iterator[ObjectRecord]:
        """Every object of both partitions (a full read)."""
        shared = SharedText()
        for _partition, dn, attributes in self.entries(metadata=self.attribution_wanted):
            metadata = _pop_any_case(attributes, METADATA_ATTRIBUTE)
            record = self.tables.record(dn, shared_text(attributes, self.tables.binary, shared))
            if record is None:
                continue
            if metadata and self.attribution is not None:
                record = dataclasses.replace(record, origins=self.attribution.origins(metadata[0]))
            self.info.objects += 1
            yield record

    def _read_tracked(self, settings: incremental.IncrementalSettings) -> Iterator[ObjectRecord]:
        """Read only what changed when possible, else in full; either way leave the state for next time."""
        now = datetime.now(UTC)
        base_dn, configuration_dn = self._retrying(self._naming_contexts)
        identity = self._retrying(lambda: incremental.read_identity(self))
        read_fingerprint = incremental.fingerprint(self, base_dn, configuration_dn)
        reason = incremental.full_read_reason(
            settings, self.baseline, self.info.name, identity, read_fingerprint, now, forced=self.force_full
        )
        if reason is None:
            try:
                records, carried = self._read_changes(identity, read_fingerprint, base_dn, configuration_dn)
            except incremental.IncrementalRefused as exc:
                reason = str(exc)
            else:
                self.info.mode = "incremental"
                self.info.coverage = {"domain", "configuration"}
                self.carried = carried
                self.info.objects = len(carried)
                for record in records:
                    self.info.objects += 1
                    yield record
                return
        log.warning("%s: reading in full: %s", self.where, reason)
        # The change tracking starts before the read: what changes during it is read again next time.
        method, cookies = self._start_cookies(base_dn, configuration_dn)
        yield from self._read_all()
        self.info.sync_state = incremental.new_state(identity, read_fingerprint, cookies, now, method)

    def _start_cookies(self, base_dn: str, configuration_dn: str) -> tuple[str, dict[str, bytes] | None]:
        """How the next pass will ask what changed, and the DirSync cookies it starts from.

        DirSync needs the "Replicating Directory Changes" right; without it, DirSync limited to what
        the account may read (the object-security flag) still reports changes, but no deletions;
        where both are refused, uSNChanged (no cookies).
        """
        first: incremental.IncrementalRefused | None = None
        for method, object_security in (
            (incremental.DIRSYNC_METHOD, False),
            (incremental.OBJECT_SECURITY_METHOD, True),
        ):
            try:
                cookies = {
                    "domain": incremental.dirsync_cookie(self, base_dn, object_security=object_security),
                    "configuration": incremental.dirsync_cookie(
                        self, configuration_dn, object_security=object_security
                    ),
                }
            except incremental.IncrementalRefused as exc:
                first = first or exc
                continue
            if first is not None:
                log.warning(
                    "%s: %s; the next pass uses DirSync with object security (what this account may read)"
                    " and lists GUIDs to find deletions",
                    self.where,
                    first,
                )
            return method, cookies
        log.warning("%s: %s; the next pass reads what changed by uSNChanged", self.where, first)
        return incremental.USN_METHOD, None

    def _read_changes(
        self, identity: incremental.DcIdentity, read_fingerprint: str, base_dn: str, configuration_dn: str
    ) -> tuple[list[ObjectRecord], dict[str, tuple[str, str]]]:
        """The previous snapshot's objects with what changed read again (`incremental.py`): the
        records to yield and, with a baseline that has an `index`, those carried over unchanged."""
        assert self.baseline is not None
        previous = next(s for s in self.baseline.sources if s.name == self.info.name)
        state = previous.sync_state or {}
        self.attribution, self.deletions = None, {}
        if self.attribution_wanted:
            self.attribution = self._read_attribution(configuration_dn)
        extra = [METADATA_ATTRIBUTE] if self.attribution is not None else []
        tables = self.tables
        partitions: list[tuple[Partition, str, str, list[str]]] = [
            ("domain", base_dn, tables.recipient_filter, [*tables.recipient_attributes, *extra]),
            (
                "configuration",
                configuration_dn,
                tables.configuration_filter,
                [*tables.configuration_attributes, *extra],
            ),
        ]
        found: list[tuple[Partition, str, str, list[str], incremental.Changes]] = []
        cookies: dict[str, bytes] | None = None
        method = str(state.get("method"))
        object_security = method == incremental.OBJECT_SECURITY_METHOD
        if method in (incremental.DIRSYNC_METHOD, incremental.OBJECT_SECURITY_METHOD):
            cookies = {}
            stored = state.get("cookies") or {}
            for name, base, search_filter, attributes in partitions:
                if name not in stored:
                    raise incremental.IncrementalRefused(f"no DirSync cookie stored for the {name} partition")
                try:
                    cookie = base64.b64decode(str(stored[name]), validate=True)
                except ValueError:
                    raise incremental.IncrementalRefused(
                        f"the stored DirSync cookie of the {name} partition is damaged"
                    ) from None
                changes, cookies[name] = incremental.dirsync_changes(
                    self,
                    base,
                    incremental.dirsync_attributes(attributes),
                    cookie,
                    object_security=object_security,
                )
                found.append((name, base, search_filter, attributes, changes))
        else:
            for name, base, search_filter, attributes in partitions:
                changes = incremental.usn_changes(self, base, int(state.get("usn", 0)))
                found.append((name, base, search_filter, attributes, changes))
        assert self.baseline is not None
        records, carried, self.deletions = incremental_merge.read_incrementally(
            self, self.baseline, found, self.attribution, scan=method != incremental.DIRSYNC_METHOD
        )
        self.info.changes_read = sum(changes.count for *_rest, changes in found)
        full_read_at = datetime.fromisoformat(str(state["full_read_at"]))
        self.info.sync_state = incremental.new_state(
            identity, read_fingerprint, cookies, full_read_at, method
        )
        return records, carried

    def entries(self, *, metadata: bool = False) -> Iterator[RawEntry]:
        """Raw entries of both partitions (ranges merged); `info.coverage` grows as each is finished.

        This is what `collect()` builds records from and what the LDIF export writes, so both see
        exactly the same objects and values. With `metadata`, each entry also carries its raw
        `replPropertyMetaData`, and `attribution` / `deletions` are filled (see the module docstring).
        """
        self.attribution, self.deletions = None, {}
        try:
            base_dn, configuration_dn = self._retrying(self._naming_contexts)
            tables = self.tables
            extra: list[str] = []
            if metadata:
                self.attribution = self._read_attribution(configuration_dn)
                extra = [METADATA_ATTRIBUTE] if self.attribution is not None else []
            yield from self._partition(
                "domain", base_dn, tables.recipient_filter, [*tables.recipient_attributes, *extra]
            )
            self.info.coverage.add("domain")
            yield from self._partition(
                "configuration",
                configuration_dn,
                tables.configuration_filter,
                [*tables.configuration_attributes, *extra],
            )
            self.info.coverage.add("configuration")
            if self.attribution is not None:
                self.deletions = self._read_deletions(self.attribution, (base_dn, configuration_dn))
        finally:
            self._close()

    # -- attribution ----------------------------------------------------------------------------

    def _read_attribution(self, configuration_dn: str) -> Attribution | None:
        kept = [*self.tables.recipient_attributes, *self.tables.configuration_attributes]

        def read() -> Attribution:
            return read_attribution(self._search_base, self._search_all, configuration_dn, None, kept)

        try:
            return self._retrying(read)
        except (DirectoryError, PrefixMapError) as exc:
            log.warning(
                "%s: changes will carry no origin: cannot read the replication schema (%s)", self.where, exc
            )
            return None

    def _read_deletions(self, attribution: Attribution, naming_contexts: Sequence[str]) -> dict[str, Origin]:
        # Tombstones keep objectClass (not objectCategory nor the mail attributes): the classes the
        # tables' filters name are what a deleted object of a kept kind still shows.
        classes = sorted(
            set(_CLASS_TERM.findall(self.tables.recipient_filter + self.tables.configuration_filter))
        )
        try:
            found = self._retrying(
                lambda: read_deletions(self._search_all, attribution, naming_contexts, classes)
            )
        except DirectoryError as exc:
            log.warning(
                "%s: removed objects will carry no origin: cannot read tombstones (%s)", self.where, exc
            )
            found = {}
        if attribution.unreadable:
            log.warning(
                "%s: %d objects carried replication metadata auditor cannot read; their changes have no origin",
                self.where,
                attribution.unreadable,
            )
        return found

    def _search_all(
        self, base_dn: str, search_filter: str, attributes: list[str], controls: Sequence[str]
    ) -> Iterator[tuple[str, dict[str, list[bytes]]]]:
        """Every entry of a paged subtree search, with critical controls (by OID) added."""
        what = f"paged search of {base_dn} for {search_filter[:60]}"
        cookie: bytes | None = None
        while True:
            entries, cookie = self._page(base_dn, search_filter, attributes, cookie, what, controls)
            for item in entries:
                yield item["dn"], {str(k): list(v) for k, v in item.get("raw_attributes", {}).items()}
            if not cookie:
                return

    # -- connection ---------------------------------------------------------------------------

    def _open(self) -> ldap3.Connection:
        """Connect, secure and bind; every failure mapped to DirectoryError or _TransientError."""
        settings = self.settings
        tls = None
        if self._use_ssl or self._start_tls:
            tls = ldap3.Tls(
                validate=ssl.CERT_REQUIRED,
                ca_certs_file=settings.ca_file,
                version=None,
            )
        server = ldap3.Server(
            self._host,
            port=self._port,
            use_ssl=self._use_ssl,
            tls=tls,
            get_info=ldap3.NONE,
            connect_timeout=settings.timeout,
        )
        conn = ldap3.Connection(
            server,
            user=settings.bind_dn,
            password=settings.password,
            authentication=ldap3.SIMPLE if settings.bind_dn else ldap3.ANONYMOUS,
            client_strategy=ldap3.SYNC,
            check_names=False,
            raise_exceptions=False,
            auto_referrals=False,
            auto_range=False,
            return_empty_attributes=False,
            receive_timeout=max(1, math.ceil(settings.timeout)),  # ldap3 packs it as an integer
            read_only=True,
        )
        try:
            conn.open()
            if self._start_tls:
                conn.start_tls()
            if not conn.bind():
                raise self._bind_failure(conn.result)
        except (DirectoryError, _TransientError):
            _quietly_close(conn)
            raise
        except ldap_exceptions.LDAPException as exc:
            _quietly_close(conn)
            raise self._communication_failure(exc, "connect") from None
        except OSError as exc:
            _quietly_close(conn)
            raise _TransientError(f"connect failed ({exc})") from None
        if not (self._use_ssl or self._start_tls):
            log.warning("%s: reading the directory without TLS (allow_insecure)", self.where)
        return conn

    def _session(self) -> ldap3.Connection:
        if self._conn is None or self._conn.closed:
            self._conn = self._open()
        return self._conn

    def _close(self) -> None:
        if self._conn is not None:
            _quietly_close(self._conn)
            self._conn = None

    def _retrying(self, operation: Callable[[], _T]) -> _T:
        """Run `operation`, retrying transient faults on a fresh connection; then one clear error."""
        retrying = Retrying(
            stop=stop_after_attempt(max(0, self.settings.retries) + 1),
            wait=wait_exponential(multiplier=0.5, min=0.2, max=10),
            retry=retry_if_exception_type(_TransientError),
            sleep=self._retry_sleep,
            reraise=True,
        )

        def attempt() -> _T:
            try:
                return operation()
            except _TransientError:
                self._close()
                raise

        try:
            return retrying(attempt)
        except _TransientError as exc:
            attempts = max(0, self.settings.retries) + 1
            suffix = f" (after {attempts} attempts)" if attempts > 1 else ""
            raise DirectoryError(f"{self.where}: {exc}{suffix}") from None

    # -- reading ------------------------------------------------------------------------------

    def _naming_contexts(self) -> tuple[str, str]:
        base_dn, configuration_dn = self.settings.base_dn, self.settings.configuration_dn
        if base_dn and configuration_dn:
            self._session()
            return base_dn, configuration_dn
        root = self._search_base("", ["defaultNamingContext", "configurationNamingContext"])
        if base_dn is None:
            base_dn = _first_text(root, "defaultNamingContext")
        if configuration_dn is None:
            configuration_dn = _first_text(root, "configurationNamingContext")
        if not base_dn or not configuration_dn:
            raise DirectoryError(
                f"{self.where}: the rootDSE names no default or configuration naming context "
                "(not Active Directory? set base_dn and configuration_dn)"
            )
        return base_dn, configuration_dn

    def _search_base(self, dn: str, attributes: list[str]) -> dict[str, list[bytes]]:
        conn = self._session()
        try:
            conn.search(dn, "(objectClass=*)", ldap3.BASE, attributes=attributes)
        except ldap_exceptions.LDAPException as exc:
            raise self._communication_failure(exc, f"read of {dn or 'the rootDSE'}") from None
        self._check_result(conn.result, f"read of {dn or 'the rootDSE'}")
        for item in conn.response or []:
            if item.get("type") == "searchResEntry":
                return dict(item.get("raw_attributes", {}))
        return {}

    def _page(
        self,
        base_dn: str,
        search_filter: str,
        attributes: list[str],
        cookie: bytes | None,
        what: str,
        extra_controls: Sequence[str] = (),
    ) -> tuple[list[dict[str, Any]], bytes | None]:
        """One page of a paged subtree search: (entries, cookie of the next page or None).

        `extra_controls` are OIDs of value-less controls sent as critical (show-deleted).
        """
        conn = self._session()
        controls = [(oid, True, None) for oid in extra_controls]
        if DirectoryTables.asks_for_descriptor(attributes):
            controls += security_descriptor_control(sdflags=SD_FLAGS_DACL)
        try:
            with raw_entries_only(conn):
                conn.search(
                    base_dn,
                    search_filter,
                    ldap3.SUBTREE,
                    attributes=attributes,
                    paged_size=self.settings.page_size,
                    paged_cookie=cookie,
                    time_limit=max(1, int(self.settings.timeout)),
                    controls=controls or None,
                )
        except ldap_exceptions.LDAPException as exc:
            raise self._communication_failure(exc, what) from None
        self._check_result(conn.result, what)
        entries = [item for item in conn.response or [] if item.get("type") == "searchResEntry"]
        control = (conn.result.get("controls") or {}).get(_PAGED_RESULTS) or {}
        next_cookie = (control.get("value") or {}).get("cookie") or None
        return entries, next_cookie

    def _partition(
        self, partition: Partition, base_dn: str, search_filter: str, attributes: list[str]
    ) -> Iterator[RawEntry]:
        """Yield one partition's entries page by page.

        The first page is retried from scratch (fresh connection, no cookie) on a transient fault;
        once records of the partition are out, a fault ends the read with DirectoryError.
        """
        what = f"paged search of the {partition} partition ({base_dn})"
        requested = self._requested(attributes)

        def first() -> tuple[list[dict[str, Any]], bytes | None]:
            return self._page(base_dn, search_filter, requested, None, what)

        entries, cookie = self._retrying(first)
        read = 0
        while True:
            try:
                for item in entries:
                    raw = {str(k): list(v) for k, v in item.get("raw_attributes", {}).items()}
                    raw = merge_ranges(item["dn"], raw, self._fetch_range)
                    read += 1
                    yield partition, item["dn"], raw
                if not cookie:
                    return
                entries, cookie = self._page(base_dn, search_filter, requested, cookie, what)
            except _TransientError as exc:
                self._close()
                raise DirectoryError(
                    f"{self.where}: {exc} after {read} entries of the {partition} partition; "
                    "the read is incomplete"
                ) from None

    def _requested(self, attributes: list[str]) -> list[str]:
        if not self.value_range:
            return attributes
        high = self.value_range - 1
        whole = ("objectClass", "objectGUID", DESCRIPTOR_ATTRIBUTE, METADATA_ATTRIBUTE)
        return [name if name in whole else f"{name};range=0-{high}" for name in attributes]

    def _fetch_range(self, dn: str, description: str) -> dict[str, list[bytes]]:
        return self._search_base(dn, [description])

    # -- errors -------------------------------------------------------------------------------

    def _check_result(self, result: Mapping[str, Any], what: str) -> None:
        description = str(result.get("description", ""))
        if description == "success":
            return
        message = str(result.get("message") or "").strip()
        detail = f"{description}" + (f": {message}" if message else "")
        if description in _TRANSIENT_RESULTS:
            raise _TransientError(f"{what} failed ({detail})")
        if description == "sizeLimitExceeded":
            raise DirectoryError(
                f"{self.where}: {what} cut short by the server (sizeLimitExceeded); the read is incomplete"
            )
        if description == "noSuchObject":
            raise DirectoryError(
                f"{self.where}: {what} failed: no such object (check base_dn / configuration_dn)"
            )
        raise DirectoryError(f"{self.where}: {what} failed ({detail})")

    def _bind_failure(self, result: Mapping[str, Any]) -> Exception:
        description = str(result.get("description", ""))
        message = str(result.get("message") or "")
        who = self.settings.bind_dn or "anonymous"
        if description == "invalidCredentials":
            found = _AD_DATA.search(message)
            code = found.group(1).lower() if found else None
            reason = _AD_BIND_REASONS.get(code or "", "invalid credentials")
            suffix = f" (AD data {code})" if code else ""
            return DirectoryError(f"{self.where}: bind as {who} failed: {reason}{suffix}")
        if description == "strongerAuthRequired":
            return DirectoryError(
                f"{self.where}: bind as {who} refused: the server requires a protected connection "
                "(use ldaps:// or StartTLS)"
            )
        if description in _TRANSIENT_RESULTS:
            return _TransientError(f"bind as {who} failed ({description})")
        detail = f"{description}: {message.strip()}" if message.strip() else description
        return DirectoryError(f"{self.where}: bind as {who} failed ({detail})")

    def _communication_failure(self, exc: Exception, what: str) -> Exception:
        text = _clean(str(exc))
        lowered = text.lower()
        if (
            isinstance(exc, ldap_exceptions.LDAPCertificateError)
            or "certificate_verify_failed" in lowered
            or "doesn't match any name" in lowered
        ):
            return DirectoryError(f"{self.where}: TLS certificate verification failed ({_tls_reason(text)})")
        if "invalid server address" in lowered:
            return DirectoryError(f"{self.where}: the host name does not resolve")
        if "refused" in lowered:
            return _TransientError(f"{what} failed: connection refused")
        if isinstance(exc, ldap_exceptions.LDAPResponseTimeoutError) or "timed out" in lowered:
            return _TransientError(f"{what} timed out after {self.settings.timeout:g} s")
        if isinstance(exc, ldap_exceptions.LDAPStartTLSError) or "ssl" in lowered:
            return DirectoryError(f"{self.where}: TLS negotiation failed ({text[:200]})")
        if isinstance(exc, ldap_exceptions.LDAPCommunicationError | ldap_exceptions.LDAPSocketOpenError):
            return _TransientError(f"{what} failed: connection lost ({text[:200]})")
        return DirectoryError(f"{self.where}: {what} failed ({type(exc).__name__}: {text[:200]})")


def _endpoint(settings: LdapSettings) -> tuple[str, str, int, bool, bool]:
    """(scheme, host, port, LDAPS, StartTLS) from the URL and the tls setting; ConfigError if they clash."""
    try:
        parts = urlsplit(settings.url)
        port = parts.port
    except ValueError as exc:
        raise ConfigError(f"directory url {settings.url!r}: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in ("ldap", "ldaps") or not parts.hostname:
        raise ConfigError(
            f"directory url {settings.url!r}: expected ldap://host[:port] or ldaps://host[:port]"
        )
    host = parts.hostname
    mode = settings.tls.lower()
    if mode == "auto":
        mode = "ldaps" if scheme == "ldaps" else "starttls"
    if mode not in ("ldaps", "starttls", "none"):
        raise ConfigError(f"directory tls {settings.tls!r}: expected starttls, ldaps or none")
    if scheme == "ldaps" and mode != "ldaps":
        raise ConfigError(f"directory url {settings.url!r} is LDAPS but tls = {settings.tls!r}")
    default_port = 636 if mode == "ldaps" else 389
    where = f"{'ldaps' if mode == 'ldaps' else 'ldap'}://{host}:{port or default_port}"
    if mode == "none" and not settings.allow_insecure:
        raise ConfigError(
            f'{where}: tls = "none" would send the bind password in clear text; '
            "use ldaps:// or StartTLS, or set allow_insecure = true"
        )
    return (
        ("ldaps" if mode == "ldaps" else "ldap"),
        host,
        port or default_port,
        mode == "ldaps",
        mode == "starttls",
    )


def shared_text(
    attributes: Mapping[str, list[bytes]], binary: frozenset[str], shared: SharedText
) -> dict[str, list[RawValue]]:
    """The entry with its text values decoded, each repeated value one string object (`SharedText`).

    Why: the typed snapshot keeps values that most users repeat (the mailbox store's DN in
    `homeMDB`, the address lists in `showInAddressBook`, the server names). Decoded per entry,
    every user holds its own copies: measured on the realistic 100,000-user lab DC (bench/README.md,
    6 December 2026), that was the 90 MiB (640,000 more Python objects at the end of the read) a live
    first pass held above an LDIF read of the same entries, whose reader shares them the same way. Binary attributes (`binary`, lower-case
    names) stay bytes, and a value that is not UTF-8 stays bytes too, so the record builder sees
    and refuses exactly what it did before.
    """
    decoded: dict[str, list[RawValue]] = {}
    for name, values in attributes.items():
        if name.split(";", 1)[0].lower() in binary:
            decoded[name] = list(values)
            continue
        texts: list[RawValue] = []
        for value in values:
            try:
                texts.append(shared(value.decode("utf-8")))
            except UnicodeDecodeError:
                texts.append(value)
        decoded[name] = texts
    return decoded


def _first_text(attributes: Mapping[str, list[bytes]], name: str) -> str | None:
    for key, values in attributes.items():
        if key.lower() == name.lower() and values:
            value = values[0]
            return value.decode("utf-8") if isinstance(value, bytes) else str(value)
    return None


def _pop_any_case(attributes: dict[str, list[bytes]], name: str) -> list[bytes] | None:
    for key in [k for k in attributes if k.lower() == name.lower()]:
        return attributes.pop(key)
    return None


def _clean(text: str) -> str:
    return " ".join(text.split())


def _tls_reason(text: str) -> str:
    found = re.search(r"certificate verify failed: ([^(\]]+)", text)
    if found:
        return found.group(1).strip()
    if "doesn't match" in text:
        return "the certificate does not name this host"
    return text[:200]


def _quietly_close(conn: ldap3.Connection) -> None:
    # Closing a broken connection must not mask the error that broke it.
    with contextlib.suppress(Exception):
        conn.unbind()
