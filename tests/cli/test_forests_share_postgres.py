"""Several forests, one PostgreSQL: two agents with two configs and two scopes share one database.

Forest A is the bundled sample organization (scope `contoso`); forest B is a generated one of
1,000 recipients (scope `fabrikam`, deploy/lab/gen_org.py). Both configs say `lock_timeout = 0`,
so a pass that had to wait for the other forest's lock would fail at once instead of waiting.

1. While a helper process holds forest A's pass lock, forest B's `check --once` completes and
   forest A's fails naming the lock: the locks are per scope, and the holder really held one.
2. Both `check --once` run as processes at the same time, twice, each forest changed in between:
   both complete every time.
3. `history`, `diff` and `report` of each forest show only its own snapshots and objects.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import gen_org  # deploy/lab, on pytest's pythonpath
import pytest
from auditor_store_testing import postgres_server

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.postgres

HOLDER = """
import sys, time
from auditor.store import HistoryStore
store = HistoryStore(sys.argv[1], scope=sys.argv[2])
with store.pass_lock(timeout=5):
    print("locked", flush=True)
    time.sleep(60)
"""
NEW_CONTACT = (
    "dn: CN=Late Contact,OU=Contacts,DC=contoso,DC=com\r\n"
    "changetype: add\r\n"
    "objectClass: top\r\nobjectClass: person\r\nobjectClass: organizationalPerson\r\nobjectClass: contact\r\n"
    "cn: Late Contact\r\n"
    "mailNickname: late.contact\r\n"
    "mail: late@partner.example\r\n"
    "targetAddress: SMTP:late@partner.example\r\n"
    "proxyAddresses: SMTP:late@partner.example\r\n"
    "objectGUID:: 3q2+796tvu/erb7v3q2+7w==\r\n"
    "\r\n"
)
FOREST_B_RECIPIENTS = 1000


def store_section(url: str, scope: str) -> str:
    return f'\n[store]\nurl = "{url}"\nscope = "{scope}"\nlock_timeout = 0\n'


@pytest.fixture
def forests(org: Path, tmp_path: Path, request: pytest.FixtureRequest) -> tuple[Path, Path, str]:
    url = postgres_server(request.config).database()
    config_a = org / "auditor.toml"
    text = config_a.read_text(encoding="utf-8").replace('\n[store]\nurl = "sqlite:///history.db"\n', "")
    config_a.write_text(text + store_section(url, "contoso"), encoding="utf-8")
    forest_b = tmp_path / "fabrikam"
    forest_b.mkdir()
    gen_org.write(forest_b / "recipients.ldf", FOREST_B_RECIPIENTS)
    (forest_b / "auditor.toml").write_text(
        'organization = "Fabrikam"\n\n[directory]\nldif = ["recipients.ldf"]\n'
        + store_section(url, "fabrikam"),
        encoding="utf-8",
    )
    return config_a, forest_b / "auditor.toml", url


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "auditor.cli", *args]


def run_json(auditor: Any, config: Path, *args: str) -> Any:
    done = auditor(*args, "-c", str(config), "--format", "json", cwd=config.parent)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def both_at_once(config_a: Path, config_b: Path) -> None:
    """Start both passes together (neither may wait for a lock: `lock_timeout = 0`); both complete."""
    processes = [
        subprocess.Popen(
            cli("check", "--once", "-c", str(config)),
            cwd=config.parent,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "OTEL_TRACES_EXPORTER": "none"},
        )
        for config in (config_a, config_b)
    ]
    for process in processes:
        _, stderr = process.communicate(timeout=300)
        assert process.returncode in (0, 1), stderr
        assert "lock" not in stderr


def keys_of(objects: dict[str, list[dict[str, Any]]]) -> set[str]:
    return {entry["dn"] for change in ("added", "removed", "changed") for entry in objects[change]}


def test_two_forests_share_one_postgresql_without_waiting_or_mixing(
    auditor: Any, forests: tuple[Path, Path, str]
) -> None:
    config_a, config_b, url = forests

    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, url, "contoso"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "locked"
        other = auditor("check", "--once", "-c", str(config_b), cwd=config_b.parent)
        blocked = auditor("check", "--once", "-c", str(config_a), cwd=config_a.parent)
    finally:
        holder.kill()
        holder.wait()
    assert other.returncode in (0, 1), other.stderr
    assert blocked.returncode == 2
    assert len(blocked.stderr.strip().splitlines()) == 1
    assert "lock" in blocked.stderr and "'contoso'" in blocked.stderr

    both_at_once(config_a, config_b)
    domain_a = config_a.parent / "contoso-domain.ldf"
    domain_a.write_bytes(domain_a.read_bytes() + NEW_CONTACT.encode())
    gen_org.write(config_b.parent / "recipients.ldf", FOREST_B_RECIPIENTS + 5)
    both_at_once(config_a, config_b)

    history_a = run_json(auditor, config_a, "history")["snapshots"]
    history_b = run_json(auditor, config_b, "history")["snapshots"]
    assert [s["complete"] for s in history_a] == [True, True]
    assert [s["complete"] for s in history_b] == [True, True, True]
    assert {s["id"] for s in history_a}.isdisjoint({s["id"] for s in history_b})
    assert history_b[0]["objects"] == FOREST_B_RECIPIENTS + 5
    assert history_a[0]["objects"] == history_a[1]["objects"] + 1

    diff_a = run_json(auditor, config_a, "diff")["objects"]
    diff_b = run_json(auditor, config_b, "diff")["objects"]
    assert keys_of(diff_a) == {"CN=Late Contact,OU=Contacts,DC=contoso,DC=com"}
    assert keys_of(diff_b) == {
        f"CN=Gen User {i:05d},OU=Generated,DC=contoso,DC=com"
        if i % 3 != 2
        else f"CN=Gen Contact {i:05d},OU=Generated,DC=contoso,DC=com"
        for i in range(FOREST_B_RECIPIENTS, FOREST_B_RECIPIENTS + 5)
    }

    report_a = run_json(auditor, config_a, "report", "--since", "3650d")
    report_b = run_json(auditor, config_b, "report", "--since", "3650d")
    assert keys_of(report_a["objects"]) == keys_of(diff_a)
    assert keys_of(report_b["objects"]) == keys_of(diff_b)
    assert report_a["organization"] != report_b["organization"]
