"""HTML rendering: Jinja2 with autoescaping on and StrictUndefined, CSS inlined, no script.

Everything shown comes from the views in `view.py`; directory values are untrusted and reach the
page only through autoescaping (the Markdown of check docs is escaped by `markdown.py`). The page
carries a Content-Security-Policy that forbids scripts and remote fetches as a second line.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from .catalog import anchor_for
from .markdown import render_markdown
from .view import SEVERITIES, CheckRunView, DiffView, DriftView, plural, short_time

__all__ = ["render_html"]


@lru_cache(maxsize=1)
def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("auditor.reports", "templates"),
        autoescape=select_autoescape(
            enabled_extensions=("html", "j2"), default_for_string=True, default=True
        ),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.globals.update(
        severities=SEVERITIES,
        anchor_for=anchor_for,
        markdown=render_markdown,
        plural=plural,
        short_time=short_time,
    )
    return env


@lru_cache(maxsize=1)
def _css() -> Markup:
    """Our own stylesheet, trusted: escaping it would break its quotes inside <style>."""
    css = resources.files("auditor.reports").joinpath("static", "report.css").read_text("utf-8")
    if "</" in css:
        raise ValueError("report.css must not contain '</'")
    return Markup(css)


TEMPLATES = {CheckRunView: "check_run.html.j2", DiffView: "diff.html.j2", DriftView: "drift_report.html.j2"}


def render_html(view: CheckRunView | DiffView | DriftView, *, more_hint: str = "see the JSON report") -> str:
    """The page for `view`; `more_hint` tells the reader where the entries cut from long lists are."""
    template = _environment().get_template(TEMPLATES[type(view)])
    return template.render(v=view, css=_css(), more_hint=more_hint)
