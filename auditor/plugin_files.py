"""The files a check plugin keeps beside its module: `docs/<ID>.md` pages and `principles.toml`.

A check plugin is a module named by an entry point in group `auditor.checks` (contract.md, "Check
plugins"); its data lives in the folder of that module, whoever installed it: `docs/<ID>.md` for
each check it defines and, optionally, `principles.toml` for principles of its own. The built-in
checks are found the same way (`checks/docs/`, `checks/principles.toml`), so a third party's
plugin laid out like them works like them.

"Beside the module" is the module's own folder for a package (`acme_checks/__init__.py` ->
`acme_checks/`) and the folder of its file otherwise (`acme_checks/rules.py` -> `acme_checks/`).
Resources are read through `importlib.resources`, so a plugin installed as a wheel, editable or
zipped is read alike.

A doc page is Markdown whose first line is `# <ID> — <title>` (the title exactly as the `@check`
decorator gives it) and whose `## How to fix` section opens with the one-line remediation the
decorator gives; everything longer (why it matters, what is checked, the steps, an example) lives
in the page only. `page_problems` says what a page gets wrong, so discovery can refuse it.
"""

from __future__ import annotations

import importlib
import re
import sys
import tomllib
from dataclasses import dataclass
from importlib import resources
from importlib.abc import Traversable
from pathlib import Path

__all__ = [
    "PRINCIPLES_FILE",
    "Principle",
    "doc_page",
    "folder_of",
    "page_fix",
    "page_problems",
    "page_title",
    "principles_beside",
]

PRINCIPLES_FILE = "principles.toml"
_PRINCIPLE_ID = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,15}$")
_HEADING_DASH = " — "


@dataclass(frozen=True, slots=True)
class Principle:
    """One principle: what must hold, in one line. `origin` names the file that defines it."""

    id: str
    holds: str
    origin: str


class PluginFileError(ValueError):
    """A plugin's data file is malformed; the message names the file and what is wrong."""


def folder_of(module_name: str) -> tuple[str, Traversable] | None:
    """(name, folder) of the folder holding a module's file: the package itself for a package, else
    its parent package; for a top-level single-file module, the folder path. None when unknown."""
    module = sys.modules.get(module_name)
    if module is None:
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            return None
    spec = module.__spec__
    if spec is None:
        return None
    anchor = module_name if spec.submodule_search_locations is not None else spec.parent
    if anchor:
        return anchor, resources.files(anchor)
    if not spec.origin:
        return None
    folder = Path(spec.origin).parent
    return str(folder), folder


def doc_page(module_name: str, check_id: str) -> str | None:
    """`docs/<ID>.md` beside the module, or None when there is none."""
    found = folder_of(module_name)
    if found is None:
        return None
    page = found[1].joinpath("docs", f"{check_id}.md")
    try:
        return page.read_text(encoding="utf-8") if page.is_file() else None
    except (OSError, UnicodeDecodeError):
        return None


def page_title(page: str, check_id: str) -> str | None:
    """The title in the page's heading `# <ID> — <title>`, or None when the heading is not that."""
    first = page.split("\n", 1)[0].rstrip()
    prefix = f"# {check_id}{_HEADING_DASH}"
    return first[len(prefix) :].strip() if first.startswith(prefix) else None


def page_fix(page: str) -> str | None:
    """The first paragraph of the page's `## How to fix` section, on one line, or None."""
    lines = page.splitlines()
    try:
        start = next(i for i, line in enumerate(lines) if line.strip().lower() == "## how to fix")
    except StopIteration:
        return None
    paragraph: list[str] = []
    for line in lines[start + 1 :]:
        if line.startswith("#") or (not line.strip() and paragraph):
            break
        if line.strip():
            paragraph.append(line.strip())
    return " ".join(paragraph) or None


def page_problems(page: str, check_id: str, title: str, remediation: str) -> list[str]:
    """What the page gets wrong against the decorator's title and remediation; [] when nothing."""
    problems = []
    heading = page_title(page, check_id)
    if heading is None:
        problems.append(f"doc page docs/{check_id}.md does not start with '# {check_id} — <title>'")
    elif heading != title:
        problems.append(f"doc page heading {heading!r} differs from the title {title!r}")
    fix = page_fix(page)
    if fix is None:
        problems.append(f"doc page docs/{check_id}.md has no '## How to fix' section")
    elif remediation and fix != remediation:
        problems.append(f"doc page 'How to fix' opens with {fix!r}, not the remediation {remediation!r}")
    return problems


def principles_beside(module_name: str) -> tuple[str, list[Principle]] | None:
    """(where, principles) from `principles.toml` beside the module, or None when it has none.

    The file is one table per principle, in the order they should be listed:

        [P3]
        holds = "the POP3 mail domain differs from Exchange's (else: mail loops)"
    """
    found = folder_of(module_name)
    if found is None:
        return None
    anchor, folder = found
    data_file = folder.joinpath(PRINCIPLES_FILE)
    if not data_file.is_file():
        return None
    where = f"{anchor}/{PRINCIPLES_FILE}"
    try:
        data = tomllib.loads(data_file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise PluginFileError(f"{where}: not a readable TOML file ({exc})") from None
    principles = []
    for key, table in data.items():
        if not _PRINCIPLE_ID.match(key):
            raise PluginFileError(f"{where}: principle id {key!r} is not a short name like P3 or ACME")
        holds = table.get("holds") if isinstance(table, dict) else None
        if not isinstance(holds, str) or not holds.strip() or "\n" in holds:
            raise PluginFileError(f'{where}: [{key}] needs holds = "what must hold" (one line)')
        unknown = set(table) - {"holds"}
        if unknown:
            raise PluginFileError(f"{where}: [{key}] has unknown keys {sorted(unknown)}")
        principles.append(Principle(id=key, holds=holds.strip(), origin=where))
    return where, principles
