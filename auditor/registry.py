"""The check plugin API and its discovery.

A check is a pure function of a `Snapshot` that yields `Finding`s, wrapped by `@check` into a
frozen `CheckSpec`. Nothing registers itself on import: the registry loads every module named by
the entry-point group `auditor.checks` (the built-ins included, exactly as a third party's would
be) and collects the `CheckSpec` objects those modules define. Discovery fails fast on anything
malformed, so a broken plugin stops the program at start rather than silently checking less.

    @check("COEX-301", title="...", severity=Severity.CRITICAL, principles=("P3",),
           remediation="...")
    def pop3_domain_not_authoritative(snap: Snapshot) -> Iterator[Finding]:
        \"\"\"Why it matters.\"\"\"
        if not snap.pop3_domains:
            raise SkipCheck("no POP3 export configured")
        for domain in ...:
            yield Finding.of(passed=..., subject=domain, message="...")
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from importlib import metadata, resources
from types import ModuleType

from auditor.errors import AuditorError
from auditor.model import ObjectRef, Snapshot

__all__ = [
    "ENTRY_POINT_GROUP",
    "PRINCIPLES",
    "CheckSpec",
    "Finding",
    "RegistryError",
    "Severity",
    "SkipCheck",
    "Status",
    "check",
    "discover_checks",
    "specs_from_module",
]

ENTRY_POINT_GROUP = "auditor.checks"
PRINCIPLES = frozenset({"P1", "P2", "P3", "P4", "P5", "P6", "P7", "all"})
CHECK_ID = re.compile(r"^[A-Z][A-Z0-9]*-[0-9]{3}$")


class Severity(StrEnum):
    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return list(Severity).index(self)

    # str's own comparisons would order severities alphabetically ("medium" > "high"): rank them.
    def __lt__(self, other: object) -> bool:
        return self.rank < Severity(other).rank if isinstance(other, str) else NotImplemented

    def __le__(self, other: object) -> bool:
        return self.rank <= Severity(other).rank if isinstance(other, str) else NotImplemented

    def __gt__(self, other: object) -> bool:
        return self.rank > Severity(other).rank if isinstance(other, str) else NotImplemented

    def __ge__(self, other: object) -> bool:
        return self.rank >= Severity(other).rank if isinstance(other, str) else NotImplemented


class Status(StrEnum):
    """A check's or a finding's outcome. `waived` exists only on findings."""

    PASS = "pass"
    FAIL = "fail"
    SKIPPED = "skipped"
    ERROR = "error"
    WAIVED = "waived"


class SkipCheck(Exception):
    """Raised by a check when the snapshot lacks the data it needs; the message says what is missing."""


class RegistryError(AuditorError):
    """A check plugin is malformed (bad or duplicate ID, no docstring, no doc page, unknown principle)."""


@dataclass(frozen=True, slots=True)
class Finding:
    """The outcome of a check for one subject.

    `subject` is the stable key (DN, lower-case domain, address, POP3 server name); the identity of
    a finding is check ID + subject, never the message. `evidence` names the stored objects the
    verdict depends on (passing verdicts too: the drift report recomputes an earlier verdict to find
    which change broke it).
    """

    subject: str
    status: Status
    message: str
    evidence: tuple[ObjectRef, ...] = ()

    @classmethod
    def of(cls, *, passed: bool, subject: str, message: str, evidence: Iterable[ObjectRef] = ()) -> Finding:
        status = Status.PASS if passed else Status.FAIL
        return cls(subject=subject, status=status, message=message, evidence=_unique(evidence))

    @classmethod
    def passed(cls, subject: str, message: str = "", evidence: Iterable[ObjectRef] = ()) -> Finding:
        return cls(subject=subject, status=Status.PASS, message=message, evidence=_unique(evidence))

    @classmethod
    def failed(cls, subject: str, message: str, evidence: Iterable[ObjectRef] = ()) -> Finding:
        return cls(subject=subject, status=Status.FAIL, message=message, evidence=_unique(evidence))

    @classmethod
    def error(cls, subject: str, message: str, evidence: Iterable[ObjectRef] = ()) -> Finding:
        """Input that cannot be decoded: a human must review it; never a pass."""
        return cls(subject=subject, status=Status.ERROR, message=message, evidence=_unique(evidence))


def _unique(evidence: Iterable[ObjectRef]) -> tuple[ObjectRef, ...]:
    """Evidence in first-seen order, each object once."""
    return tuple(dict.fromkeys(evidence))


CheckFunction = Callable[[Snapshot], Iterable[Finding]]


@dataclass(frozen=True, slots=True)
class CheckSpec:
    id: str
    title: str
    severity: Severity
    principles: tuple[str, ...]
    function: CheckFunction = field(repr=False, compare=False)
    remediation: str = ""
    module: str = ""

    @property
    def rationale(self) -> str:
        """The function's docstring: why the check matters."""
        return " ".join((self.function.__doc__ or "").split())

    def doc(self) -> str | None:
        """The Markdown page `checks/docs/<ID>.md`, or None when missing."""
        try:
            return resources.files("auditor.checks").joinpath("docs", f"{self.id}.md").read_text("utf-8")
        except (FileNotFoundError, ModuleNotFoundError):
            return None

    def run(self, snap: Snapshot) -> Iterator[Finding]:
        return iter(self.function(snap))


def check(
    check_id: str,
    *,
    title: str,
    severity: Severity,
    principles: tuple[str, ...],
    remediation: str = "",
) -> Callable[[CheckFunction], CheckSpec]:
    """Turn a check function into a frozen `CheckSpec` (no registration side effect)."""

    def wrap(function: CheckFunction) -> CheckSpec:
        return CheckSpec(
            id=check_id,
            title=title,
            severity=severity,
            principles=tuple(principles),
            function=function,
            remediation=remediation,
            module=function.__module__,
        )

    return wrap


def specs_from_module(module: ModuleType) -> list[CheckSpec]:
    return [value for value in vars(module).values() if isinstance(value, CheckSpec)]


def _validate(spec: CheckSpec, origin: str) -> None:
    problems = []
    if not CHECK_ID.match(spec.id):
        problems.append(f"ID {spec.id!r} is not of the form ABC-123")
    if not spec.title.strip():
        problems.append("empty title")
    if not isinstance(spec.severity, Severity):
        problems.append(f"severity {spec.severity!r} is not a Severity")
    unknown = set(spec.principles) - PRINCIPLES
    if not spec.principles or unknown:
        problems.append(f"principles {sorted(unknown) or '[]'} unknown (known: {sorted(PRINCIPLES)})")
    if not (spec.function.__doc__ or "").strip():
        problems.append("the check function has no docstring saying why it matters")
    if spec.doc() is None:
        problems.append(f"no doc page checks/docs/{spec.id}.md")
    if problems:
        raise RegistryError(f"check {spec.id} in {origin}: " + "; ".join(problems))


def discover_checks(modules: Iterable[ModuleType] | None = None) -> list[CheckSpec]:
    """Every check from the `auditor.checks` entry points (or `modules`), validated, sorted by ID."""
    if modules is None:
        loaded = []
        for entry_point in metadata.entry_points(group=ENTRY_POINT_GROUP):
            try:
                loaded.append(entry_point.load())
            except Exception as exc:
                raise RegistryError(f"check plugin {entry_point.value!r} failed to load: {exc}") from exc
        if not loaded:
            # Running from a source tree that was never installed: load the built-ins directly.
            loaded = [importlib.import_module(name) for name in BUILTIN_MODULES]
        modules = loaded
    specs: dict[str, CheckSpec] = {}
    for module in modules:
        for spec in specs_from_module(module):
            _validate(spec, module.__name__)
            if spec.id in specs and specs[spec.id] is not spec:
                raise RegistryError(
                    f"check ID {spec.id} is defined twice: in {specs[spec.id].module} and {spec.module}"
                )
            specs[spec.id] = spec
    return sorted(specs.values(), key=lambda s: s.id)


BUILTIN_MODULES = (
    "auditor.checks.p1_exchange_users",
    "auditor.checks.p2_authentication",
    "auditor.checks.p3_domains",
    "auditor.checks.p4_mail_enabled",
    "auditor.checks.p5_client_auth",
    "auditor.checks.p6_connectors",
    "auditor.checks.p7_smart_host",
    "auditor.checks.p9_hygiene",
)
