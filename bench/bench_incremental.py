"""Incremental live passes on the Samba lab DC: no-change and 1 %-churn passes next to a full pass.

    .venv/bin/python bench/bench_incremental.py [--users 100000] [--churn 0.01] [--prepare]

Every pass is `auditor check --once` as a process (as cron runs it: wall time and peak RSS), over
LDAPS into a SQLite store in a temporary folder:

  first        empty store: a full read (and the DirSync cookies it leaves)
  no change    nothing changed: an incremental read (DirSync says "nothing"), checks, store
  full         `--full` on the same store: the full read a no-change pass is compared with
  churn        after --churn of the generated users were changed over LDAP (proxyAddresses and
               displayName): an incremental read
  full again   `--full` after the churn pass: a full read whose checks are skipped (the content is
               the churn pass's, so its results are reused)
  full instead `--full` on a copy of the store as it was before the churn pass: the full pass the
               churn pass replaces (same store, same directory; it reads everything and, the
               content having changed, runs the checks). The churn ratio's denominator.

For the no-change pass the full pass it replaces is `full` itself: the content is unchanged either
way, so both reuse the results.

The directory is the bundled sample organization plus N generated recipients (deploy/lab/gen_org.py:
mailbox users, POP3 mail users, contacts; one user with 1,600 proxyAddresses), bulk-loaded into
the stopped DC by deploy/lab/bulk_load.py (the sample over LDAP first, as the tests load it) and cached under .lab/samba-incr-<N>-<key>. Self-
contained on purpose: it needs neither bench_ldap.py's organization (org_files.py) nor its DC.
Needs root (Samba). In a network namespace of its own (`unshare --net`) it takes no port lock.
"""

from __future__ import annotations

import argparse
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import ldap3

sys.path.insert(0, str(Path(__file__).resolve().parent))
from measure import REPO, Measured, python, ratio_line, run_measured

LAB_SCRIPTS = REPO / "deploy" / "lab"
sys.path.insert(0, str(LAB_SCRIPTS))
import gen_org  # noqa: E402
from labcache import cache_key  # noqa: E402
from labports import ports_lock  # noqa: E402

SAMBA = LAB_SCRIPTS / "samba.sh"
LAB = REPO / ".lab"
PASSWORD = "Lab-Adm1n-Passw0rd"
ADMIN_DN = "CN=Administrator,CN=Users,DC=contoso,DC=com"
SYSTEM_PYTHON = "/usr/bin/python3"  # Debian's, with python3-samba (bulk_load.py)
SAMPLE = sorted((REPO / "auditor" / "sample").glob("*.ldf"))


def samba(*args: str) -> None:
    env = dict(os.environ, LAB_ADMIN_PASSWORD=PASSWORD, LAB_PYTHON=sys.executable)
    done = subprocess.run(["bash", str(SAMBA), *args], env=env, text=True, capture_output=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"samba.sh {' '.join(args)} failed:\n{done.stdout}{done.stderr}")


def build(target: Path, make: list[list[str]]) -> None:
    """A cached DC folder, built in a scratch folder and renamed when done."""
    if target.exists():
        return
    scratch = target.with_name(target.name + ".building")
    if scratch.exists():
        samba("stop", str(scratch))
        shutil.rmtree(scratch)
    try:
        for step in make:
            if step[0] == "copy":
                # Resolved: `cp -a` copies a symlinked cache as a link, and the DC started from
                # the copy would then change the cache itself.
                subprocess.run(["cp", "-a", str(Path(step[1]).resolve()), str(scratch)], check=True)
                samba("relocate", str(scratch))
            elif step[0] == "bulk":
                subprocess.run(
                    [SYSTEM_PYTHON, str(LAB_SCRIPTS / "bulk_load.py"), str(scratch), *step[1:]], check=True
                )
            else:
                samba(*[str(scratch) if part == "{dir}" else part for part in step])
    finally:
        if scratch.exists():
            samba("stop", str(scratch))
    scratch.rename(target)


def lab_dc(users: int) -> tuple[Path, Path]:
    """(the cached loaded DC, the generated LDIF): the base as the tests build it, then the load."""
    base = (
        LAB
        / f"samba-base-{cache_key([SAMBA, LAB_SCRIPTS / 'exchange_schema.py', LAB_SCRIPTS / 'labconn.py'])}"
    )
    build(base, [["provision", "{dir}"], ["start", "{dir}"], ["schema", "{dir}"]])
    inputs = LAB / "inputs"
    inputs.mkdir(parents=True, exist_ok=True)
    generated = gen_org.write(inputs / f"incr-generated-{users}.ldf", users, proxies=1600)
    loaded = (
        LAB / f"samba-incr-{users}-{cache_key([LAB_SCRIPTS / 'bulk_load.py', *SAMPLE, generated], base.name)}"
    )
    if not loaded.exists():
        print(
            f"loading {users:,} generated recipients into a lab DC (cached afterwards) ...", file=sys.stderr
        )
    build(
        loaded,
        [
            ["copy", str(base)],
            ["start", "{dir}"],
            ["load", "{dir}", *map(str, SAMPLE)],  # over LDAP, as the tests load it
            ["stop", "{dir}"],
            ["bulk", str(generated)],  # into the stopped DC's sam.ldb
        ],
    )
    return loaded, generated


READER_DN = "CN=bench-reader,CN=Users,DC=contoso,DC=com"
READER_PASSWORD = "Bench-Reader-Passw0rd!"


def admin(ca_file: str) -> ldap3.Connection:
    tls = ldap3.Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=ca_file)
    server = ldap3.Server("127.0.0.1", port=636, use_ssl=True, tls=tls, get_info=ldap3.NONE)
    return ldap3.Connection(
        server, ADMIN_DN, PASSWORD, auto_bind=True, check_names=False, raise_exceptions=True
    )


def add_reader(ca_file: str) -> None:
    """A plain domain user (no DirSync right, no tombstones) to read the directory as."""
    conn = admin(ca_file)
    conn.add(
        READER_DN,
        ["top", "person", "organizationalPerson", "user"],
        {
            "sAMAccountName": "bench-reader",
            "unicodePwd": [f'"{READER_PASSWORD}"'.encode("utf-16-le")],
            "userAccountControl": "512",
        },
    )
    conn.unbind()


def live_config(folder: Path, ca_file: str, bind_dn: str = ADMIN_DN) -> Path:
    config = folder / "live.toml"
    config.write_text(
        f"""organization = "Contoso"
[store]
url = "sqlite:///{folder / "live.db"}"
[directory]
url = "ldaps://127.0.0.1:636"
bind_dn = "{bind_dn}"
password_env = "LAB_ADMIN_PASSWORD"
ca_file = "{ca_file}"
page_size = 1000
""",
        encoding="utf-8",
    )
    return config


def churn(ca_file: str, fraction: float) -> int:
    """Change `fraction` of the generated recipients (users and contacts with mail) over LDAP; returns how many were changed."""
    tls = ldap3.Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=ca_file)
    server = ldap3.Server("127.0.0.1", port=636, use_ssl=True, tls=tls, get_info=ldap3.NONE)
    conn = ldap3.Connection(
        server, ADMIN_DN, PASSWORD, auto_bind=True, check_names=False, raise_exceptions=True
    )
    dns = [
        str(entry["dn"])
        for entry in conn.extend.standard.paged_search(
            f"OU=Generated,{gen_org.DOMAIN_DN}",
            "(&(mail=*)(|(objectClass=user)(objectClass=contact)))",
            attributes=["cn"],
            paged_size=1000,
        )
        if entry.get("type") == "searchResEntry"
    ]
    step = max(1, round(1 / fraction)) if fraction > 0 else len(dns) + 1
    changed = 0
    for number, dn in enumerate(dns[::step]):
        conn.modify(
            dn,
            {
                "proxyAddresses": [(ldap3.MODIFY_ADD, [f"smtp:churn{number}@contoso.com"])],
                "displayName": [(ldap3.MODIFY_REPLACE, [f"Churned {number}"])],
            },
        )
        changed += 1
    conn.unbind()
    return changed


def store_mib(folder: Path) -> float:
    """The SQLite store's size on disk (the database and its WAL files) after a pass: what a pass
    adds to the history."""
    parts = [part for part in folder.glob("live.db*") if not part.name.endswith(".lock")]
    return sum(part.stat().st_size for part in parts) / 2**20


def keep_store(folder: Path, label: str) -> Path:
    """A copy of the SQLite store (and its WAL files) between two passes, to run another pass from."""
    kept = folder / label
    kept.mkdir()
    for part in folder.glob("live.db*"):
        if not part.name.endswith(".lock"):
            shutil.copy2(part, kept / part.name)
    return kept


def restore_store(folder: Path, kept: Path) -> None:
    """The store as `keep_store` copied it: the passes since then never happened."""
    for part in folder.glob("live.db*"):
        if not part.name.endswith(".lock"):
            part.unlink()
    for part in kept.iterdir():
        shutil.copy2(part, folder / part.name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--churn", type=float, default=0.01)
    parser.add_argument("--prepare", action="store_true", help="only build the cached lab DC")
    parser.add_argument(
        "--plain-account",
        action="store_true",
        help="read as a plain domain user (DirSync with object security and a GUID listing) instead of Administrator",
    )
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("bench_incremental: needs root (Samba's AD DC)")
    LAB.mkdir(exist_ok=True)
    started = time.monotonic()
    with ports_lock():
        loaded, _generated = lab_dc(args.users)
    if args.prepare:
        print(f"lab DC ready: {loaded} ({time.monotonic() - started:.0f} s)")
        return
    with ports_lock(), tempfile.TemporaryDirectory(prefix="auditor-bench-incr-") as temp:
        folder = Path(temp)
        run_dir = LAB / "samba-incr-run"
        if run_dir.exists():
            samba("stop", str(run_dir))
            shutil.rmtree(run_dir)
        subprocess.run(["cp", "-a", str(loaded.resolve()), str(run_dir)], check=True)  # see build()
        samba("relocate", str(run_dir))
        samba("start", str(run_dir))
        try:
            ca_file = str(run_dir / "tls" / "ca.pem")
            if args.plain_account:
                add_reader(ca_file)
            config = live_config(folder, ca_file, READER_DN if args.plain_account else ADMIN_DN)
            check = [python(), "-m", "auditor.cli", "check", "--once", "-c", str(config)]
            env = {"LAB_ADMIN_PASSWORD": READER_PASSWORD if args.plain_account else PASSWORD}

            def measured(label: str, *extra: str) -> Measured:
                result = run_measured(label, [*check, *extra], cwd=folder, ok=(0, 1), env=env)
                print(f"{result.line()}   store {store_mib(folder):.1f} MiB", flush=True)
                return result

            measured("first (empty store, full read)")
            unchanged = measured("no change (incremental)")
            full = measured("full (--full)", "--full")
            changed = churn(ca_file, args.churn)
            print(f"changed {changed:,} recipients over LDAP (proxyAddresses + displayName)", flush=True)
            before_churn = keep_store(folder, "before-churn")
            churned = measured(f"{args.churn:.0%} churn (incremental)")
            full_again = measured("full again (--full, results reused)", "--full")
            restore_store(folder, before_churn)
            full_instead = measured("full instead of the churn pass (--full)", "--full")
        finally:
            samba("stop", str(run_dir))
            shutil.rmtree(run_dir, ignore_errors=True)
    account = "a plain account" if args.plain_account else "Administrator"
    detail = f"{args.users:,} generated recipients + the sample organization, LDAPS, SQLite, as {account}"
    print(ratio_line("live: no-change pass / full pass", unchanged.seconds, full.seconds, detail))
    print(
        ratio_line(
            f"live: {args.churn:.0%}-churn pass / the full pass it replaces",
            churned.seconds,
            full_instead.seconds,
            detail,
        )
    )
    print(
        ratio_line(
            f"live: {args.churn:.0%}-churn pass / a full read with results reused",
            churned.seconds,
            full_again.seconds,
            detail,
        )
    )
    for result in (unchanged, full, churned, full_again, full_instead):
        print(f"PEAK {result.label:<40} {result.peak_rss_mib:7.1f} MiB")
    for result in (unchanged, churned):
        fallback = [line for line in result.stderr.splitlines() if "reading in full" in line]
        if fallback:  # then the ratio above is not that of an incremental pass
            print(f"NOTE {result.label} read in full: {fallback[0]}")


if __name__ == "__main__":
    main()
