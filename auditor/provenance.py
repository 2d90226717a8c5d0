"""What checked a snapshot: auditor's version, a fingerprint of each check, of the config the checks read.

A verdict is a pure function of the snapshot, the check's code, the configuration the checks read
and the date. When a finding appears or goes away while none of the objects in its evidence
changed, one of the others did, and the drift report says which (`auditor.causes`): that needs
each stored snapshot to record what checked it. These fingerprints are stored with the results
(`snapshot.auditor_version`, `snapshot.config_fingerprint`, `check_result.code_fingerprint`).

A check's fingerprint covers its spec (ID, severity, principles) and the source text of its
function and of everything of its own plugin package the function reaches by name (helpers in the
same module, `checks/_support.py` for auditor's own), transitively. Source text rather than
bytecode, so that a new Python does not read as a changed check. What a check reaches through
auditor itself (the model, the routing simulation) is covered by auditor's version instead.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import marshal
import sys
import types
from collections.abc import Iterator, Mapping
from functools import cache
from typing import Any

from auditor import __version__
from auditor.registry import CheckSpec

__all__ = ["AUDITOR_VERSION", "check_fingerprint", "config_fingerprint"]

AUDITOR_VERSION = __version__


def check_fingerprint(spec: CheckSpec) -> str:
    """sha256 of the check's spec and the source of the code of its plugin it runs."""
    return _fingerprint(spec.id, spec.severity.value, tuple(sorted(spec.principles)), spec.function)


def config_fingerprint(settings: Mapping[str, Any]) -> str:
    """sha256 of the configuration values the checks read (`auditor.run.check_settings`)."""
    text = json.dumps(settings, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@cache
def _fingerprint(check_id: str, severity: str, principles: tuple[str, ...], function: Any) -> str:
    digest = hashlib.sha256(json.dumps([check_id, severity, list(principles)]).encode("utf-8"))
    module = getattr(function, "__module__", "") or ""
    package = module.rpartition(".")[0] or module
    for name, text in _reached(function, package):
        digest.update(f"\x00{name}\x00".encode())
        digest.update(text)
    return digest.hexdigest()


def _reached(function: Any, package: str) -> Iterator[tuple[str, bytes]]:
    """(qualified name, source) of the function and of what of `package` it reaches, sorted by name."""
    found: dict[str, bytes] = {}
    pending: list[Any] = [function]
    while pending:
        item = pending.pop()
        name = f"{getattr(item, '__module__', '') or getattr(item, '__name__', '')}.{getattr(item, '__qualname__', '')}"
        if name in found:
            continue
        found[name] = _source(item)
        if isinstance(item, types.FunctionType):
            pending.extend(_referenced(item, package))
    yield from sorted(found.items())


def _referenced(function: types.FunctionType, package: str) -> Iterator[Any]:
    """Functions, classes and modules of `package` that the function names (nested code too)."""
    namespace = function.__globals__
    for name in _names(function.__code__):
        value = namespace.get(name)
        if value is None:
            continue
        owner = value.__name__ if isinstance(value, types.ModuleType) else getattr(value, "__module__", "")
        if not isinstance(owner, str) or not (owner == package or owner.startswith(package + ".")):
            continue
        if isinstance(value, types.FunctionType | type | types.ModuleType):
            yield value
        elif isinstance(value, CheckSpec):
            yield value.function


def _names(code: types.CodeType) -> Iterator[str]:
    yield from code.co_names
    for constant in code.co_consts:
        if isinstance(constant, types.CodeType):
            yield from _names(constant)


def _source(item: Any) -> bytes:
    """The item's source text; its compiled code when the source cannot be read (a zipped plugin)."""
    try:
        return inspect.getsource(item).encode("utf-8")
    except (OSError, TypeError):
        code = getattr(item, "__code__", None)
        if code is not None:
            return b"marshal" + sys.version.encode() + marshal.dumps(code)
        return repr(item).encode("utf-8")
