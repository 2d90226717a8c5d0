"""The check plugin API and its discovery.

A check is a pure function of a `Snapshot` that yields `Finding`s, wrapped by `@check` into a
frozen `CheckSpec`. Nothing registers itself on import: the registry loads every module named by
the entry-point group `auditor.checks` (the built-ins included, exactly as a third party's would
be) and collects the `CheckSpec` objects those modules define. Discovery fails fast on anything
malformed, so a broken plugin stops the program at start rather than silently checking less.

One source of truth per fact: the decorator holds the title and a one-line remediation; the doc
page `docs/<ID>.md` beside the module holds the long texts, its heading repeats the title and its
"How to fix" opens with the remediation (discovery refuses a page that disagrees); principles are
data, `principles.toml` beside a plugin's module (auditor's own: `checks/principles.toml`).
See `auditor.plugin_files`.

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

import re
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from importlib import metadata
from types import ModuleType

from auditor.errors import AuditorError
from auditor.model import ObjectRef, Snapshot
from auditor.plugin_files import PluginFileError, Principle, doc_page, page_problems, principles_beside

__all__ = [
    "ENTRY_POINT_GROUP",
    "REMEDIATION_MAX",
    "CheckSpec",
    "Finding",
    "Principle",
    "RegistryError",
    "Severity",
    "SkipCheck",
    "Status",
    "check",
    "discover_checks",
    "discover_principles",
    "load_plugins",
    "specs_from_module",
]

ENTRY_POINT_GROUP = "auditor.checks"
CHECK_ID = re.compile(r"^[A-Z][A-Z0-9]*-[0-9]{3}$")
# "One line": what a terminal shows without wrapping much; the steps go in the doc page.
REMEDIATION_MAX = 160


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
    # A check whose rule grades its findings (COEX-703: critical when a range is wider than /16,
    # else high) sets it per finding; None is the check's own severity.
    severity: Severity | None = None

    def graded(self, severity: Severity) -> Finding:
        """This finding at another severity than its check's."""
        return Finding(self.subject, self.status, self.message, self.evidence, severity)

    @classmethod
    def of(cls, *, passed: bool, subject: str, message: str, evidence: Iterable[ObjectRef] = ()) -> Finding:
        status = Status.PASS if passed else Status.FAIL
        return cls(subject, status, message, _unique(evidence))

    @classmethod
    def passed(cls, subject: str, message: str = "", evidence: Iterable[ObjectRef] = ()) -> Finding:
        # Positional: checks build 370,000 passing findings per pass at 100,000 recipients, and
        # keyword arguments cost a fifth more.
        return cls(subject, Status.PASS, message, _unique(evidence))

    @classmethod
    def failed(cls, subject: str, message: str, evidence: Iterable[ObjectRef] = ()) -> Finding:
        return cls(subject, Status.FAIL, message, _unique(evidence))

    @classmethod
    def error(cls, subject: str, message: str, evidence: Iterable[ObjectRef] = ()) -> Finding:
        """Input that cannot be decoded: a human must review it; never a pass."""
        return cls(subject, Status.ERROR, message, _unique(evidence))


def _unique(evidence: Iterable[ObjectRef]) -> tuple[ObjectRef, ...]:
    """Evidence in first-seen order, each object once."""
    if type(evidence) in (list, tuple) and len(evidence) <= 1:  # type: ignore[arg-type]
        return tuple(evidence)  # most findings name one object: nothing to deduplicate
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
        """The Markdown page `docs/<ID>.md` beside the module that defines the check, or None."""
        return doc_page(self.module, self.id)

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


def load_plugins() -> list[ModuleType]:
    """Every module named in the `auditor.checks` entry-point group, the built-ins included.

    An installed auditor always has its own entry points; none at all means auditor is imported
    from a source tree that was never installed, where `auditor.checks` (mapped from `checks/` at
    install time) does not exist either: say so in one line rather than fail on an import.
    """
    # auditor's own first, then third parties by name: a stable order for principles and listings.
    entry_points = sorted(
        metadata.entry_points(group=ENTRY_POINT_GROUP),
        key=lambda e: (not e.value.startswith("auditor."), e.value, e.name),
    )
    if not entry_points:
        raise RegistryError(
            f"no check plugins: the entry-point group {ENTRY_POINT_GROUP!r} is empty, so auditor is not "
            "installed in this Python environment (run `pip install -e .` or `make venv` in the source tree)"
        )
    loaded: dict[str, ModuleType] = {}
    for entry_point in entry_points:
        try:
            module = entry_point.load()
        except Exception as exc:
            hint = ""
            if isinstance(exc, ModuleNotFoundError) and (exc.name or "").startswith("auditor."):
                hint = (
                    " (auditor's own packages are missing: install auditor, `pip install -e .` in a checkout)"
                )
            raise RegistryError(
                f"check plugin {entry_point.name} = {entry_point.value!r} failed to load: "
                f"{type(exc).__name__}: {exc}{hint}"
            ) from exc
        if not isinstance(module, ModuleType):
            raise RegistryError(
                f"check plugin {entry_point.name} = {entry_point.value!r} names a {type(module).__name__}, "
                "not a module"
            )
        loaded.setdefault(module.__name__, module)
    return list(loaded.values())


def discover_principles(modules: Iterable[ModuleType] | None = None) -> list[Principle]:
    """The principles of the plugins (`principles.toml` beside their modules), in listing order.

    Each file is read once however many modules share its folder; one principle ID defined in two
    files is refused, naming both.
    """
    modules = load_plugins() if modules is None else list(modules)
    found: dict[str, Principle] = {}
    seen: set[str] = set()
    for module in modules:
        names = [module.__name__, *sorted({spec.module for spec in specs_from_module(module)})]
        for name in names:
            try:
                beside = principles_beside(name)
            except PluginFileError as exc:
                raise RegistryError(f"check plugin {module.__name__}: {exc}") from None
            if beside is None or beside[0] in seen:
                continue
            seen.add(beside[0])
            for principle in beside[1]:
                if principle.id in found:
                    raise RegistryError(
                        f"principle {principle.id} is defined twice: in {found[principle.id].origin} "
                        f"and {principle.origin}"
                    )
                found[principle.id] = principle
    return list(found.values())


def _validate(spec: CheckSpec, origin: str, principles: Collection[str]) -> None:
    problems = []
    if not CHECK_ID.match(spec.id):
        problems.append(f"ID {spec.id!r} is not of the form ABC-123")
    if not spec.title.strip() or "\n" in spec.title:
        problems.append("the title must be one non-empty line")
    if "\n" in spec.remediation or len(spec.remediation) > REMEDIATION_MAX:
        problems.append(
            f"the remediation must be one line of at most {REMEDIATION_MAX} characters "
            "(the steps belong in the doc page)"
        )
    if not isinstance(spec.severity, Severity):
        problems.append(f"severity {spec.severity!r} is not a Severity")
    unknown = set(spec.principles) - set(principles)
    if not spec.principles or unknown:
        problems.append(f"principles {sorted(unknown) or '[]'} unknown (known: {sorted(principles)})")
    if not (spec.function.__doc__ or "").strip():
        problems.append("the check function has no docstring saying why it matters")
    page = spec.doc()
    if page is None:
        problems.append(f"no doc page docs/{spec.id}.md beside module {spec.module}")
    else:
        problems += page_problems(page, spec.id, spec.title, spec.remediation)
    if problems:
        raise RegistryError(f"check {spec.id} in {origin}: " + "; ".join(problems))


def discover_checks(modules: Iterable[ModuleType] | None = None) -> list[CheckSpec]:
    """Every check from the `auditor.checks` entry points (or `modules`), validated, sorted by ID."""
    modules = load_plugins() if modules is None else list(modules)
    principles = {principle.id for principle in discover_principles(modules)}
    specs: dict[str, CheckSpec] = {}
    for module in modules:
        for spec in specs_from_module(module):
            _validate(spec, module.__name__, principles)
            if spec.id in specs and specs[spec.id] is not spec:
                raise RegistryError(
                    f"check ID {spec.id} is defined twice: in {specs[spec.id].module} and {spec.module}"
                )
            specs[spec.id] = spec
    return sorted(specs.values(), key=lambda s: s.id)
