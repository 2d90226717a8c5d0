"""A deliberately small Markdown subset for check doc pages in the HTML report.

Doc pages are ours, but they travel inside an e-mail, so the renderer only ever emits tags it
writes itself: every piece of source text is escaped first. Headings, paragraphs, bullet and
numbered lists, fenced code, inline code, bold and italics are kept; links become their text
followed by the address in parentheses, because the report fetches and links nothing outside
itself. Anything else shows as the plain text it is.
"""

from __future__ import annotations

import re

from markupsafe import Markup, escape

__all__ = ["render_markdown"]

_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_BULLET = re.compile(r"^\s*[-*+]\s+(.*)$")
_NUMBERED = re.compile(r"^\s*\d+[.)]\s+(.*)$")
_INLINE = re.compile(r"`([^`]+)`|\*\*([^*]+)\*\*|(?<![\w*])\*([^*\s][^*]*)\*(?!\w)|\[([^\]]+)\]\(([^)\s]+)\)")


def _inline(text: str) -> Markup:
    parts: list[Markup] = []
    position = 0
    for match in _INLINE.finditer(text):
        parts.append(escape(text[position : match.start()]))
        code, bold, italic, label, target = match.groups()
        if code is not None:
            parts.append(Markup("<code>%s</code>") % code)
        elif bold is not None:
            parts.append(Markup("<strong>%s</strong>") % bold)
        elif italic is not None:
            parts.append(Markup("<em>%s</em>") % italic)
        else:
            parts.append(Markup("%s (%s)") % (label, target))
        position = match.end()
    parts.append(escape(text[position:]))
    return Markup("").join(parts)


def render_markdown(source: str, *, heading_offset: int = 2, drop_title: bool = False) -> Markup:
    """HTML for `source`; headings are shifted down by `heading_offset` levels to nest in the report.

    `drop_title` leaves out a leading level-1 heading: the report already shows the check's title.
    """
    if drop_title:
        lines = source.lstrip().split("\n", 1)
        if lines[0].startswith("# "):
            source = lines[1] if len(lines) > 1 else ""
    out: list[Markup] = []
    paragraph: list[str] = []
    list_tag: str | None = None
    list_items: list[Markup] = []
    code: list[str] | None = None

    def flush_paragraph() -> None:
        if paragraph:
            out.append(Markup("<p>%s</p>") % _inline(" ".join(paragraph)))
            paragraph.clear()

    def flush_list() -> None:
        nonlocal list_tag
        if list_tag:
            items = Markup("").join(Markup("<li>%s</li>") % item for item in list_items)
            out.append(Markup(f"<{list_tag}>") + items + Markup(f"</{list_tag}>"))
            list_items.clear()
            list_tag = None

    for line in source.replace("\r\n", "\n").split("\n"):
        if code is not None:
            if line.strip().startswith("```"):
                out.append(Markup("<pre><code>%s</code></pre>") % "\n".join(code))
                code = None
            else:
                code.append(line)
            continue
        if line.strip().startswith("```"):
            flush_paragraph()
            flush_list()
            code = []
            continue
        if not line.strip():
            flush_paragraph()
            flush_list()
            continue
        heading = _HEADING.match(line)
        if heading:
            flush_paragraph()
            flush_list()
            level = min(6, len(heading.group(1)) + heading_offset)
            out.append(Markup(f"<h{level}>") + _inline(heading.group(2)) + Markup(f"</h{level}>"))
            continue
        bullet = _BULLET.match(line)
        numbered = None if bullet else _NUMBERED.match(line)
        if bullet or numbered:
            flush_paragraph()
            tag = "ul" if bullet else "ol"
            if list_tag != tag:
                flush_list()
                list_tag = tag
            item = (bullet or numbered).group(1)  # type: ignore[union-attr]
            list_items.append(_inline(item))
            continue
        if list_tag and line.startswith((" ", "\t")):
            list_items[-1] = list_items[-1] + Markup(" ") + _inline(line.strip())
            continue
        flush_list()
        paragraph.append(line.strip())
    if code is not None:
        out.append(Markup("<pre><code>%s</code></pre>") % "\n".join(code))
    flush_paragraph()
    flush_list()
    return Markup("\n").join(out)
