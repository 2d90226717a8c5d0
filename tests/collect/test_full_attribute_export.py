"""A real, full-attribute `ldifde` export audits exactly like the lean export of the same forest.

Before the fix, the first binary attribute auditor does not read (`logonHours`, say) stopped the
whole audit with exit 2 ("base64 value is not UTF-8 text"): real exports were refused.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from auditor.errors import InputFormatError
from auditor.families.exchange.ldif import LdifSource

from .full_export import BINARY_USER_ATTRIBUTES, full_attribute_export


def _findings(auditor: Any, org: Path) -> list[tuple[str, str, str, str]]:
    done = auditor("check", "--once", "-c", "auditor.toml", "--format", "json", cwd=org)
    assert done.returncode == 1, done.stderr
    document = json.loads(done.stdout)
    return sorted((f["check"], f["subject"], f["status"], f["message"]) for f in document["findings"])


def test_full_attribute_export_gives_the_same_findings_as_the_lean_one(
    auditor: Any, org: Path, tmp_path: Path
) -> None:
    lean = _findings(auditor, org)
    full_org = tmp_path / "full"
    shutil.copytree(org, full_org, ignore=shutil.ignore_patterns("history.db*"))
    domain = full_org / "contoso-domain.ldf"
    changed = full_attribute_export(org / "contoso-domain.ldf", domain)
    assert changed > 30
    text = domain.read_text(encoding="utf-8")
    for name in BINARY_USER_ATTRIBUTES:
        assert f"\n{name}:: " in text
    assert _findings(auditor, full_org) == lean


def test_unread_binary_attributes_are_skipped_but_collected_ones_kept(tmp_path: Path, org: Path) -> None:
    full = tmp_path / "domain.ldf"
    full_attribute_export(org / "contoso-domain.ldf", full)
    lean_records = {r.key: r for r in LdifSource([org / "contoso-domain.ldf"]).collect()}
    full_records = {r.key: r for r in LdifSource([full]).collect()}
    assert full_records == lean_records


def test_unread_attribute_with_invalid_base64_is_still_refused(tmp_path: Path) -> None:
    path = tmp_path / "broken.ldf"
    path.write_text(
        "dn: CN=A,DC=contoso,DC=com\nobjectClass: user\ncn: A\nlogonHours:: !!!notbase64\n\n",
        encoding="utf-8",
    )
    with pytest.raises(InputFormatError, match=r"broken\.ldf:4.*logonHours: invalid base64"):
        list(LdifSource([path]).collect())
