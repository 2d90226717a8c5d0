"""The Samba AD DC lab for the LDAP tests: one real domain controller per test session.

Started by the project's own script (deploy/lab/samba.sh), from cached folders under .lab/ so a
session costs about a second once the caches exist:

    .lab/samba-base-<key>    provisioned + Exchange schema, stopped   (key: the lab scripts)
    .lab/samba-org-<key>     the same with the test organization loaded (key: + loader + inputs)
    .lab/samba-run           the copy this session runs (the tests may kill it)
    .lab/samba-modern-<key>  the base with the modern sample alone loaded (fixture `modern_lab`)
    .lab/samba-modern-run    its copy, run in place of samba-run by the modules that ask for it

The test organization is the sample organization's LDIF (auditor/sample/*.ldf, when present),
the lab fixture tests/ldap/data/org.ldf (every 2003 object kind, under a second org "Lab"),
tests/ldap/data/modern.ldf (the same org's Exchange 2007+ objects: a 2003 -> 2016 migration
forest, receive connectors with binary descriptors packed by Samba from SDDL, and the non-admin
account `svc-auditor`), and a few hundred generated recipients plus one user with 1,600
proxyAddresses.

Samba's LDAP ports are fixed, so sessions take a file lock; a session run in a network namespace
of its own (`unshare --net sh -c 'ip link set lo up && make pytest'`) has ports of its own and
takes none. If Samba cannot be installed or started the tests fail loudly; they are skipped only
when AUDITOR_SKIP_SAMBA=1 is set.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import gen_org
import pytest
from filelock import FileLock, Timeout
from labcache import cache_key
from labports import SAMBA_PORTS_LOCK, private_network

from auditor.families.exchange.ldap import LdapSettings

REPO = Path(__file__).resolve().parents[2]
LAB_SCRIPTS = REPO / "deploy" / "lab"
SAMBA = LAB_SCRIPTS / "samba.sh"
LAB = REPO / ".lab"
# Samba's LDAP ports are fixed machine-wide, so every checkout on this machine shares one lock.
DATA = Path(__file__).resolve().parent / "data"
SAMPLE = sorted((REPO / "auditor" / "sample").glob("*.ldf"))
# The modern sample's own exports, as its auditor.toml names them: the folder also holds the
# Linux-only organization (linux-only-*.ldf), whose users share sAMAccountNames with this one.
MODERN_SAMPLE = sorted(
    REPO / "auditor" / "sample_modern" / name
    for name in tomllib.loads((REPO / "auditor" / "sample_modern" / "auditor.toml").read_text())["directory"][
        "ldif"
    ]
)
LOADER = [LAB_SCRIPTS / "load_org.py", LAB_SCRIPTS / "gen_org.py", LAB_SCRIPTS / "samba_sd.py"]
GENERATED_RECIPIENTS = 300
MANY_PROXIES = 1600
ADMIN_PASSWORD = "Lab-Adm1n-Passw0rd"
ADMIN_DN = "CN=Administrator,CN=Users,DC=contoso,DC=com"
SERVICE_DN = "CN=svc-auditor,OU=Lab Modern,DC=contoso,DC=com"  # an ordinary user (modern.ldf)
SERVICE_PASSWORD = "Lab-User-Passw0rd!"  # what deploy/lab/load_org.py gives every loaded user


@dataclass
class SambaLab:
    """A running lab DC: how to reach it, what was loaded into it, and how to stop and restart it."""

    folder: Path
    settings: LdapSettings
    inputs: list[Path] = field(default_factory=list)
    generated_recipients: int = GENERATED_RECIPIENTS
    many_proxies: int = MANY_PROXIES
    admin_password: str = ADMIN_PASSWORD
    pristine: Path | None = None  # the cached loaded DC this one was copied from

    @property
    def pid(self) -> int:
        return int((self.folder / "samba.pid").read_text().strip())

    def start(self) -> None:
        _run("start", str(self.folder))

    def stop(self) -> None:
        _run("stop", str(self.folder))

    def kill(self) -> None:
        """SIGKILL the DC at once (a server lost in the middle of a read)."""
        os.killpg(self.pid, signal.SIGKILL)
        for _ in range(100):
            try:
                os.kill(self.pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)

    def reset(self) -> None:
        """Back to the loaded organization, for tests that write to the directory (~2 s)."""
        assert self.pristine is not None
        self.stop()
        _copy(self.pristine, self.folder)
        self.start()

    def ensure_running(self) -> None:
        try:
            os.kill(self.pid, 0)
        except (ProcessLookupError, FileNotFoundError, ValueError):
            self.start()


def _run(*args: str) -> str:
    """Run deploy/lab/samba.sh; returns what it printed (stdout, then stderr: the loader's notes)."""
    env = dict(os.environ, LAB_ADMIN_PASSWORD=ADMIN_PASSWORD, LAB_PYTHON=sys.executable)
    done = subprocess.run(
        ["bash", str(SAMBA), *args], capture_output=True, text=True, env=env, timeout=600, check=False
    )
    if done.returncode != 0:
        pytest.fail(
            f"deploy/lab/samba.sh {' '.join(args)} failed (exit {done.returncode}):\n{done.stdout}\n{done.stderr}",
            pytrace=False,
        )
    return done.stdout + done.stderr


def _build(target: Path, make: Callable[[Path], None]) -> None:
    """Create a cached DC folder atomically: build in a scratch folder, stop, rename."""
    if target.exists():
        return
    scratch = target.with_name(target.name + ".building")
    if scratch.exists():
        _run("stop", str(scratch))
        shutil.rmtree(scratch)
    try:
        make(scratch)
    finally:
        _run("stop", str(scratch))
    scratch.rename(target)


def _copy(source: Path, target: Path) -> None:
    if target.exists():
        shutil.rmtree(target)
    subprocess.run(["cp", "-a", str(source), str(target)], check=True)
    _run("relocate", str(target))


def lab_settings(folder: Path, **changes: object) -> LdapSettings:
    values: dict[str, object] = {
        "url": "ldaps://127.0.0.1:636",
        "bind_dn": ADMIN_DN,
        "password": ADMIN_PASSWORD,
        "ca_file": str(folder / "tls" / "ca.pem"),
        "page_size": 50,
        "timeout": 10.0,
        "retries": 1,
    }
    values.update(changes)
    return LdapSettings(**values)  # type: ignore[arg-type]


def _base() -> Path:
    """The provisioned DC with the Exchange schema (stopped, cached); call with the ports lock held."""
    scripts = [SAMBA, LAB_SCRIPTS / "exchange_schema.py", LAB_SCRIPTS / "labconn.py"]
    base = LAB / f"samba-base-{cache_key(scripts)}"

    def provision(folder: Path) -> None:
        _run("provision", str(folder))
        _run("start", str(folder))
        _run("schema", str(folder))

    _build(base, provision)
    return base


@pytest.fixture(scope="session")
def samba_lab() -> Iterator[SambaLab]:
    if os.environ.get("AUDITOR_SKIP_SAMBA") == "1":
        pytest.skip("AUDITOR_SKIP_SAMBA=1: the Samba AD DC lab was explicitly skipped")
    if os.geteuid() != 0:
        pytest.fail(
            "the Samba AD DC lab needs root (set AUDITOR_SKIP_SAMBA=1 to skip explicitly)", pytrace=False
        )
    LAB.mkdir(exist_ok=True)
    # In a network namespace of its own (`unshare --net`), this session's DC ports are its own.
    lock = None if private_network() else FileLock(SAMBA_PORTS_LOCK)
    try:
        if lock is not None:
            lock.acquire(timeout=600)
    except Timeout:
        pytest.fail("another test session holds the Samba lab for more than 10 minutes", pytrace=False)
    run_dir = LAB / "samba-run"
    try:
        _run("install")
        if run_dir.exists():
            _run("stop", str(run_dir))  # left over by a crashed session
        base = _base()
        generated_dir = LAB / "inputs"
        generated_dir.mkdir(exist_ok=True)
        generated = gen_org.write(
            generated_dir / f"generated-{GENERATED_RECIPIENTS}.ldf",
            GENERATED_RECIPIENTS,
            proxies=MANY_PROXIES,
        )
        inputs = [*SAMPLE, DATA / "org.ldf", DATA / "modern.ldf", generated]
        loaded = LAB / f"samba-org-{cache_key(LOADER + inputs, base.name)}"

        def load(folder: Path) -> None:
            _copy(base, folder)
            _run("start", str(folder))
            _run("load", str(folder), *map(str, inputs))

        _build(loaded, load)
        _copy(loaded, run_dir)
        lab = SambaLab(folder=run_dir, settings=lab_settings(run_dir), inputs=inputs, pristine=loaded)
        lab.start()
        try:
            yield lab
        finally:
            lab.stop()
    finally:
        if lock is not None:
            lock.release()


@pytest.fixture(scope="module")
def modern_lab(samba_lab: SambaLab) -> Iterator[SambaLab]:
    """A DC holding the bundled modern sample alone (the exports its auditor.toml names), in place of the
    session's lab for one test module; about 5 s the first time, then about 4 s per module.

    Its own DC rather than more objects in the session's: the modern sample's DNs collide with the
    Contoso sample's (the organization CN=Contoso, OU=Staff users, Default Policy, First
    Administrative Group), and a live audit reads the whole directory, so only a DC holding the
    sample alone can give the findings of its LDIF. Besides the sample it holds what any DC has
    (Administrator, Guest, krbtgt, dns-dc1: users without mail, no finding). Samba's LDAP ports
    are fixed: the session lab, whose lock this session holds, is stopped meanwhile and started
    again after.
    """
    base = _base()
    built = LAB / f"samba-modern-{cache_key(LOADER + MODERN_SAMPLE, base.name)}"
    run_dir = LAB / "samba-modern-run"

    def load(folder: Path) -> None:
        _copy(base, folder)
        _run("start", str(folder))
        (folder / "load.log").write_text(_run("load", str(folder), *map(str, MODERN_SAMPLE)))

    samba_lab.stop()
    try:
        if run_dir.exists():
            _run("stop", str(run_dir))  # left over by a crashed session
        _build(built, load)
        _copy(built, run_dir)
        lab = SambaLab(
            folder=run_dir,
            settings=lab_settings(run_dir),
            inputs=list(MODERN_SAMPLE),
            generated_recipients=0,
            many_proxies=0,
        )
        lab.start()
        try:
            yield lab
        finally:
            lab.stop()
    finally:
        samba_lab.start()
