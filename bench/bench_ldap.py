"""LdapSource throughput next to a bare ldap3 paged search, on the Samba AD DC lab.

    .venv/bin/python bench/bench_ldap.py --users 20000 [--page-size 1000] [--repeat 3]

Loads N generated recipients into a lab DC once (cached under .lab/samba-bench-<N>-<key>, which
takes a minute or two for 20,000: Samba adds 250-500 entries/s), then times, over LDAPS:

  raw     ldap3 SYNC paged search of the domain partition, the same filter and attributes,
          raw values, nothing else done with them
  source  LdapSource.collect() over both partitions (records built, ranges checked)

and prints objects/s for both, the ratio, and LdapSource's peak Python memory (tracemalloc, in a
separate run so it does not slow the timed ones) plus the process's peak RSS. Not part of the
test suite. Needs root (Samba); takes the same lock as the test sessions.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import ssl
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import ldap3
from filelock import FileLock

REPO = Path(__file__).resolve().parents[1]
LAB_SCRIPTS = REPO / "deploy" / "lab"
SAMBA = LAB_SCRIPTS / "samba.sh"
LAB = REPO / ".lab"
# Samba's LDAP ports are fixed machine-wide, so every checkout on this machine shares one lock.
SAMBA_PORTS_LOCK = "/tmp/auditor-samba-ports.lock"
PASSWORD = "Lab-Adm1n-Passw0rd"
sys.path.insert(0, str(LAB_SCRIPTS))
sys.path.insert(0, str(REPO))

import gen_org  # noqa: E402
from labcache import cache_key  # noqa: E402

from auditor.families.exchange.ldap import (  # noqa: E402
    RECIPIENT_FILTER,
    RECIPIENT_KINDS,
    LdapSettings,
    LdapSource,
    attributes_for,
)


def run(*args: str) -> None:
    env = dict(os.environ, LAB_ADMIN_PASSWORD=PASSWORD, LAB_PYTHON=sys.executable)
    done = subprocess.run(["bash", str(SAMBA), *args], env=env, text=True, capture_output=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"samba.sh {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    if done.stderr.strip():
        print(done.stderr.strip(), file=sys.stderr)


def build(target: Path, steps: list[tuple[str, ...]]) -> None:
    if target.exists():
        return
    scratch = target.with_name(target.name + ".building")
    if scratch.exists():
        run("stop", str(scratch))
        shutil.rmtree(scratch)
    try:
        for step in steps:
            if step[0] == "copy":
                subprocess.run(["cp", "-a", step[1], str(scratch)], check=True)
                run("relocate", str(scratch))
            else:
                run(*step)
    finally:
        if scratch.exists():
            run("stop", str(scratch))
    scratch.rename(target)


def raw_paged_read(settings: LdapSettings, attributes: list[str]) -> int:
    tls = ldap3.Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=settings.ca_file)
    server = ldap3.Server("127.0.0.1", port=636, use_ssl=True, tls=tls, get_info=ldap3.NONE)
    conn = ldap3.Connection(
        server, settings.bind_dn, settings.password, auto_bind=True, check_names=False, auto_referrals=False
    )
    count = 0
    for entry in conn.extend.standard.paged_search(
        "DC=contoso,DC=com",
        RECIPIENT_FILTER,
        attributes=attributes,
        paged_size=settings.page_size,
        generator=True,
    ):
        if entry.get("type") == "searchResEntry":
            count += 1
    conn.unbind()
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=20000)
    parser.add_argument("--page-size", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("bench_ldap: needs root (Samba's AD DC)")
    LAB.mkdir(exist_ok=True)
    with FileLock(SAMBA_PORTS_LOCK, timeout=1800):
        run("install")
        base = (
            LAB
            / f"samba-base-{cache_key([SAMBA, LAB_SCRIPTS / 'exchange_schema.py', LAB_SCRIPTS / 'labconn.py'])}"
        )
        scratch_base = str(base) + ".building"
        build(base, [("provision", scratch_base), ("start", scratch_base), ("schema", scratch_base)])
        inputs = LAB / "inputs"
        inputs.mkdir(exist_ok=True)
        ldif = gen_org.write(inputs / f"bench-{args.users}.ldf", args.users)
        loaded = LAB / f"samba-bench-{args.users}-{cache_key([LAB_SCRIPTS / 'load_org.py', ldif], base.name)}"
        scratch = str(loaded) + ".building"
        started = time.monotonic()
        if not loaded.exists():
            print(f"loading {args.users} recipients into the lab DC (cached afterwards) ...", file=sys.stderr)
        build(loaded, [("copy", str(base)), ("start", scratch), ("load", scratch, str(ldif))])
        load_seconds = time.monotonic() - started
        run_dir = LAB / "samba-run"
        if run_dir.exists():
            run("stop", str(run_dir))
            shutil.rmtree(run_dir)
        subprocess.run(["cp", "-a", str(loaded), str(run_dir)], check=True)
        run("relocate", str(run_dir))
        run("start", str(run_dir))
        try:
            settings = LdapSettings(
                url="ldaps://127.0.0.1:636",
                bind_dn="CN=Administrator,CN=Users,DC=contoso,DC=com",
                password=PASSWORD,
                ca_file=str(run_dir / "tls" / "ca.pem"),
                page_size=args.page_size,
            )
            attributes = attributes_for(RECIPIENT_KINDS)
            raw_rates, source_rates, plain_rates = [], [], []
            raw_count = source_count = plain_count = 0
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                raw_count = raw_paged_read(settings, attributes)
                raw_rates.append(raw_count / (time.perf_counter() - t0))
                t0 = time.perf_counter()
                source_count = sum(1 for _ in LdapSource(settings).collect())
                source_rates.append(source_count / (time.perf_counter() - t0))
                t0 = time.perf_counter()
                plain_count = sum(1 for _ in LdapSource(settings, attribution=False).collect())
                plain_rates.append(plain_count / (time.perf_counter() - t0))
            tracemalloc.start()
            source = LdapSource(settings)
            for _ in source.collect():
                pass
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
        finally:
            run("stop", str(run_dir))
    raw_best, source_best = max(raw_rates), max(source_rates)
    print(
        f"directory        {args.users} generated recipients (+ built-ins), page size {args.page_size}, LDAPS"
    )
    print(f"load/cache       {load_seconds:.1f} s")
    print(f"raw ldap3        {raw_count} objects, best {raw_best:,.0f} objects/s  ({args.repeat} runs)")
    print(f"LdapSource       {source_count} objects, best {source_best:,.0f} objects/s  ({args.repeat} runs)")
    plain_best = max(plain_rates)
    print(
        f"  no attribution {plain_count} objects, best {plain_best:,.0f} objects/s  (no replPropertyMetaData, tombstones)"
    )
    print(f"ratio            LdapSource / raw = {source_best / raw_best:.2f}")
    print(f"attribution cost LdapSource with / without = {plain_best / source_best:.2f} x the time")
    print(f"peak memory      LdapSource {peak / 2**20:.1f} MiB (tracemalloc)")
    print(f"process peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.1f} MiB")


if __name__ == "__main__":
    main()
