"""What a report knows about a check beyond its ID: title, severity, doc text.

Reports name checks by ID; people need the title and the doc page. Both come from the registry,
but a report must still render when a check is unknown (a plugin removed since the run was
stored, or the registry failing to load): the ID then stands in for the title. Renderers take an
explicit catalog so tests and golden files do not depend on the installed checks.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache

__all__ = ["CheckInfo", "anchor_for", "info_for", "merged", "registry_catalog"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class CheckInfo:
    id: str
    title: str
    severity: str = ""
    principles: tuple[str, ...] = ()
    name: str = ""  # the check function's name: SARIF's rule `name`
    rationale: str = ""
    remediation: str = ""
    doc: str = ""


@lru_cache(maxsize=1024)  # asked once per finding row, of a few dozen check IDs
@lru_cache(maxsize=4096)  # asked once per finding row (tens of thousands) for a few dozen IDs
def anchor_for(check_id: str) -> str:
    """An in-document anchor that stays a valid fragment whatever the (untrusted) ID contains."""
    return "check-" + re.sub(r"[^A-Za-z0-9_-]", "-", check_id)


@lru_cache(maxsize=1)
def registry_catalog() -> Mapping[str, CheckInfo]:
    """Every registered check; empty (never an exception) when the registry cannot load."""
    try:
        from auditor.registry import discover_checks

        specs = discover_checks()
    except Exception as exc:  # a report must still render with IDs only
        log.warning("check catalogue unavailable, reports show check IDs only: %s", exc)
        return {}
    return {
        spec.id: CheckInfo(
            id=spec.id,
            title=spec.title,
            severity=spec.severity.value,
            principles=tuple(spec.principles),
            name=getattr(spec.function, "__name__", spec.id),
            rationale=spec.rationale,
            remediation=spec.remediation,
            doc=spec.doc() or "",
        )
        for spec in specs
    }


def info_for(check_id: str, catalog: Mapping[str, CheckInfo], fallback: CheckInfo | None = None) -> CheckInfo:
    """The catalogue entry, else what the document itself says (`fallback`), else the ID alone."""
    known = catalog.get(check_id)
    if known is not None:
        return known
    return fallback if fallback is not None else CheckInfo(id=check_id, title=check_id)


def merged(catalog: Mapping[str, CheckInfo], extra: Iterable[CheckInfo]) -> dict[str, CheckInfo]:
    """The catalogue plus entries it lacks (the registry wins: it carries the doc text)."""
    result = dict(catalog)
    for info in extra:
        result.setdefault(info.id, info)
    return result
