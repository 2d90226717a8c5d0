"""Reports with the real check catalogue: titles and doc pages come from the registry."""

from __future__ import annotations

from report_inputs import PageInspector, make_run

from auditor.registry import discover_checks
from auditor.reports.catalog import anchor_for, registry_catalog
from auditor.reports.render import render_check_run


def test_registry_catalog_carries_every_discovered_check_with_its_doc() -> None:
    specs = discover_checks()
    catalog = registry_catalog()
    assert sorted(catalog) == [spec.id for spec in specs]
    for spec in specs:
        info = catalog[spec.id]
        assert (info.title, info.severity, info.doc) == (spec.title, spec.severity.value, spec.doc())


def test_default_rendering_uses_the_registry_titles_and_docs() -> None:
    html = render_check_run(make_run(), "html")
    page = PageInspector(html)
    spec = next(s for s in discover_checks() if s.id == "COEX-301")
    assert anchor_for("COEX-301") in page.ids
    assert f"COEX-301: {spec.title}" in page.text
    assert "script" not in page.tags and page.event_handlers == []
    assert "COEX-999: A check the catalogue does not know" in page.text  # unknown to the registry
