"""Faults injected into real passes: whatever stops one, exit 2 never leaves a complete snapshot.

The snapshot, its check results and findings and the pass's report are one unit (auditor.run): a
full disk while the store is written, a full disk or a bad path for the report, the store locked
mid-pass, SIGKILL mid-save, SMTP down at report time. Each leaves the history readable, the
failed pass incomplete (never a "complete" snapshot with no findings that `diff` would read as
"everything resolved"), and the next pass working.

The full disks are small tmpfs mounts made by the tests themselves (they run as root).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from auditor.config import load_config
from auditor.errors import StoreError
from auditor.run import run_pass
from tests.conftest import RunAuditor

pytestmark = pytest.mark.timeout(240)


def history(auditor: RunAuditor, org: Path) -> list[dict[str, object]]:
    done = auditor("history", "-c", "auditor.toml", "--format", "json", cwd=org)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)["snapshots"]  # type: ignore[no-any-return]


def use_store(org: Path, path: Path, extra: str = "") -> None:
    config = org / "auditor.toml"
    text = config.read_text(encoding="utf-8").replace(
        'url = "sqlite:///history.db"', f'url = "sqlite:///{path}"'
    )
    config.write_text(text + extra, encoding="utf-8")


def integrity(path: Path) -> str:
    with sqlite3.connect(path) as db:
        (result,) = db.execute("PRAGMA integrity_check").fetchone()
    db.close()
    return str(result)


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Callable[[str], Path]]:
    """`mount(size)`: a fresh tmpfs of that size (e.g. "8m"), unmounted after the test."""
    mounted: list[Path] = []

    def mount(size: str) -> Path:
        point = tmp_path / f"tmpfs{len(mounted)}"
        point.mkdir()
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(point)],
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            pytest.fail(f"cannot mount a tmpfs (the fault tests run as root): {done.stderr.strip()}")
        mounted.append(point)
        return point

    yield mount
    for point in reversed(mounted):
        subprocess.run(["umount", "-l", str(point)], capture_output=True)


def fill(folder: Path, leave: int) -> Path:
    """Fill the file system of `folder` until only `leave` bytes are free."""
    stats = os.statvfs(folder)
    free = stats.f_bavail * stats.f_frsize
    filler = folder / "filler"
    with filler.open("wb") as handle:
        handle.write(b"\0" * max(0, free - leave))
    return filler


def test_disk_full_while_the_pass_is_saved_leaves_it_incomplete(
    org: Path, auditor: RunAuditor, tmpfs: Callable[[str], Path], grow_domain: Callable[[Path, int], None]
) -> None:
    disk = tmpfs("24m")
    store = disk / "history.db"
    use_store(org, store)
    first = auditor("check", "--once", "-c", "auditor.toml", cwd=org)
    assert first.returncode == 1, first.stderr
    failing_before = history(auditor, org)[0]["failing"]
    assert failing_before > 0
    grow_domain(org, 4000)
    filler = fill(disk, leave=384 * 1024)

    full = auditor("check", "--once", "-c", "auditor.toml", cwd=org)

    assert full.returncode == 2, full.stdout
    assert full.stderr.startswith(f"auditor: error: history store sqlite:///{store}: cannot "), full.stderr
    assert "full" in full.stderr and full.stderr.count("\n") == 1, full.stderr
    filler.unlink()
    snapshots = history(auditor, org)
    assert [s["complete"] for s in snapshots] == [False, True]
    assert snapshots[1]["failing"] == failing_before, "the complete snapshot keeps its findings"
    assert integrity(store) == "ok"
    refused = auditor("diff", "-c", "auditor.toml", "--from", "1", "--to", "2", cwd=org)
    assert refused.returncode == 2 and "snapshot 2 is incomplete" in refused.stderr

    again = auditor("check", "--once", "-c", "auditor.toml", "--format", "json", cwd=org)
    assert again.returncode == 1, again.stderr
    diff = json.loads(auditor("diff", "-c", "auditor.toml", "--format", "json", cwd=org).stdout)
    assert (diff["from"]["id"], diff["to"]["id"]) == (1, 3)
    assert len(diff["objects"]["added"]) == 4000
    assert diff["findings"]["resolved"] == []


def test_a_report_that_cannot_be_written_fails_the_pass_and_keeps_the_old_report(
    org: Path, auditor: RunAuditor, tmpfs: Callable[[str], Path]
) -> None:
    disk = tmpfs("1m")
    report = disk / "report.json"
    first = auditor(
        "check", "--once", "-c", "auditor.toml", "--format", "json", "--output", str(report), cwd=org
    )
    assert first.returncode == 1, first.stderr
    before = report.read_bytes()
    fill(disk, leave=0)

    full = auditor(
        "check", "--once", "-c", "auditor.toml", "--format", "json", "--output", str(report), cwd=org
    )

    assert full.returncode == 2
    assert full.stderr == f"auditor: error: {report}: cannot write the report: No space left on device\n"
    assert report.read_bytes() == before
    assert sorted(p.name for p in disk.iterdir()) == ["filler", "report.json"]
    assert [s["complete"] for s in history(auditor, org)] == [False, True]


def test_a_report_under_a_path_that_is_a_file_fails_the_pass(org: Path, auditor: RunAuditor) -> None:
    (org / "reports").write_text("a file, not a folder\n")
    done = auditor("check", "--once", "-c", "auditor.toml", "--output", "reports/today.txt", cwd=org)
    assert done.returncode == 2
    assert done.stderr.startswith("auditor: error: reports/today.txt: cannot write the report: ")
    (snapshot,) = history(auditor, org)
    assert snapshot["complete"] is False
    with sqlite3.connect(org / "history.db") as db:
        (error,) = db.execute("SELECT error FROM snapshot").fetchone()
    assert "cannot write the report" in error


def test_output_over_the_store_config_or_an_input_is_refused(org: Path, auditor: RunAuditor) -> None:
    assert auditor("check", "--once", "-c", "auditor.toml", cwd=org).returncode == 1
    files = {p: p.read_bytes() for p in org.rglob("*") if p.is_file() and "history.db" not in p.name}
    store = (org / "history.db").read_bytes()

    for name in ("history.db", "history.db.lock", "auditor.toml", "contoso-domain.ldf", "pop01/x"):
        for command in (["check", "--once"], ["diff"], ["report"]):
            done = auditor(*command, "-c", "auditor.toml", "--output", name, cwd=org)
            assert done.returncode == 2, done.stdout
            assert done.stderr.startswith(f"auditor: error: --output {name}: refusing to write over ")

    assert {p: p.read_bytes() for p in files} == files
    assert (org / "history.db").read_bytes() == store
    assert [s["complete"] for s in history(auditor, org)] == [True]


def test_export_ldif_refuses_to_write_over_the_store_or_the_config(org: Path, auditor: RunAuditor) -> None:
    config = org / "auditor.toml"
    config.write_text(
        config.read_text().replace(
            'ldif = ["contoso-domain.ldf", "contoso-configuration.ldf"]',
            'url = "ldaps://dc1.contoso.test"\nbind_dn = "CN=svc,DC=contoso,DC=test"\n'
            'password_env = "AUDITOR_TEST_UNSET"',
        )
    )
    for target in ("history.db", "auditor.toml"):
        done = auditor(
            "export-ldif",
            "-c",
            "auditor.toml",
            "--domain-out",
            target,
            "--configuration-out",
            "c.ldf",
            cwd=org,
        )
        assert done.returncode == 2
        assert done.stderr.startswith(f"auditor: error: --domain-out {target}: refusing to write over the ")
    assert not (org / "history.db").exists()


class _Locker:
    """Has another process take the store's write lock (and hold it until told to let go)."""

    def __init__(self, database: Path) -> None:
        self.database = database
        self.locker: subprocess.Popen[str] | None = None

    def lock(self) -> None:
        script = (
            "import sqlite3, sys\n"
            f"db = sqlite3.connect({str(self.database)!r}, isolation_level=None)\n"
            "db.execute('BEGIN IMMEDIATE')\n"
            "print('locked', flush=True)\n"
            "sys.stdin.read()\n"
        )
        self.locker = subprocess.Popen(
            [sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self.locker.stdout is not None
        assert self.locker.stdout.readline() == "locked\n"


def test_the_store_locked_mid_pass_leaves_it_incomplete(org: Path, auditor: RunAuditor) -> None:
    """Locked once the pass has saved its objects and results (it holds the write lock from the
    start of collection to the end of the object save, records streaming into the store): the
    pass cannot complete the snapshot, and says why."""
    config_path = org / "auditor.toml"
    config_path.write_text(config_path.read_text(encoding="utf-8") + "lock_timeout = 1\n", encoding="utf-8")
    assert auditor("check", "--once", "-c", "auditor.toml", cwd=org).returncode == 1
    hook = _Locker(org / "history.db")

    with pytest.raises(StoreError) as caught:
        run_pass(load_config(config_path), on_result=lambda _result: hook.lock(), with_diff=True)

    assert hook.locker is not None and hook.locker.stdin is not None
    hook.locker.stdin.close()
    hook.locker.wait(timeout=30)
    assert str(caught.value).startswith(f"history store sqlite:///{org / 'history.db'}: cannot ")
    assert "database is locked" in str(caught.value)
    snapshots = history(auditor, org)
    assert [s["complete"] for s in snapshots] == [False, True]
    assert integrity(org / "history.db") == "ok"
    assert auditor("check", "--once", "-c", "auditor.toml", cwd=org).returncode == 1
    assert [s["complete"] for s in history(auditor, org)] == [True, False, True]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_smtp_down_at_report_time_is_one_line_and_a_missed_delivery(org: Path, auditor: RunAuditor) -> None:
    port = _closed_port()
    config = org / "auditor.toml"
    config.write_text(
        config.read_text(encoding="utf-8")
        + f'\n[report]\nemail_to = ["admins@contoso.com"]\nemail_from = "auditor@contoso.com"\n'
        f'smtp_url = "smtp://127.0.0.1:{port}"\nretries = 0\ntimeout = 5\n',
        encoding="utf-8",
    )
    assert auditor("check", "--once", "-c", "auditor.toml", cwd=org).returncode == 1

    down = auditor("report", "-c", "auditor.toml", "--email", cwd=org)

    assert down.returncode == 2
    assert down.stderr.startswith(f"auditor: error: smtp://127.0.0.1:{port}: ")
    assert down.stderr.count("\n") == 1, down.stderr
    assert [s["complete"] for s in history(auditor, org)] == [True]
    report = auditor("report", "-c", "auditor.toml", "--format", "json", cwd=org)
    assert report.returncode == 0, report.stderr
    (missed,) = json.loads(report.stdout)["delivery"]["missed"]
    assert missed["error"].startswith(f"smtp://127.0.0.1:{port}: ")


def test_sigkill_mid_save_leaves_an_incomplete_snapshot_and_a_sound_store(
    org: Path, auditor: RunAuditor, grow_domain: Callable[[Path, int], None]
) -> None:
    assert auditor("check", "--once", "-c", "auditor.toml", cwd=org).returncode == 1
    original = (org / "contoso-domain.ldf").read_bytes()
    grow_domain(org, 15_000)
    wal = org / "history.db-wal"
    baseline = wal.stat().st_size if wal.exists() else 0
    process = subprocess.Popen(
        [sys.executable, "-m", "auditor.cli", "check", "--once", "-c", "auditor.toml"],
        cwd=org,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "OTEL_TRACES_EXPORTER": "none"},
    )
    killed = threading.Event()

    def kill_when_the_save_is_under_way() -> None:
        # The snapshot row is committed first (a few KiB of WAL); the objects of 15,000 users
        # then grow the WAL by megabytes inside the one big transaction: kill it there.
        while process.poll() is None:
            size = wal.stat().st_size if wal.exists() else 0
            if size > baseline + 2 * 1024 * 1024:
                process.send_signal(signal.SIGKILL)
                killed.set()
                return
            time.sleep(0.005)

    watcher = threading.Thread(target=kill_when_the_save_is_under_way)
    watcher.start()
    process.wait(timeout=200)
    watcher.join()
    assert killed.is_set(), (
        f"the pass ended before the save was under way: {process.stderr.read() if process.stderr else ''}"
    )
    assert process.returncode == -signal.SIGKILL

    snapshots = history(auditor, org)
    assert [s["complete"] for s in snapshots] == [False, True]
    assert integrity(org / "history.db") == "ok"
    with sqlite3.connect(org / "history.db") as db:
        (error,) = db.execute("SELECT error FROM snapshot WHERE id = 2").fetchone()
        (objects,) = db.execute("SELECT count(*) FROM object_version").fetchone()
    assert error.startswith("the pass has not finished")
    assert objects == snapshots[1]["objects"]  # nothing of the killed transaction survived

    (org / "contoso-domain.ldf").write_bytes(original)
    assert auditor("check", "--once", "-c", "auditor.toml", cwd=org).returncode == 1
    diff = json.loads(auditor("diff", "-c", "auditor.toml", "--format", "json", cwd=org).stdout)
    assert (diff["from"]["id"], diff["to"]["id"]) == (1, 3)
    assert diff["objects"] == {"added": [], "removed": [], "changed": []}
