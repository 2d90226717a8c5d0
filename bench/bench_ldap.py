"""The live read on the Samba lab DC: LdapSource next to raw ldap3 and `ldapsearch`, same attributes.

    .venv/bin/python bench/bench_ldap.py [--users 100000] [--variant realistic|lean] [--repeat 3]

The directory holds the bench organization (org_files.py: the same users, policy, servers and
connectors the offline benches read from files), loaded once into a lab DC and cached under .lab/:

    .lab/samba-base-<key>                         provisioned + Exchange schema (as the tests')
    .lab/samba-bench-<variant>-<N>-<key>          + the organization, bulk-loaded into the stopped
                                                  DC's sam.ldb by deploy/lab/bulk_load.py (Samba's
                                                  Python; 100,000 realistic users take 10-15 minutes)

Then, on a copy of that cache started for the run (over LDAPS, page size 1,000, both partitions,
the filters and attribute lists of LdapSource), best of --repeat runs each:

  raw ldap3     ldap3 SYNC paged search, raw values, entries counted and dropped
  LdapSource    LdapSource.collect(): records built, ranges checked, counted and dropped
  ldapsearch    OpenLDAP's ldapsearch -E pr=1000/noprompt, output to a file

and two live passes through the CLI as processes, wall time and peak RSS: `auditor check --once`
into an empty SQLite store, then again with nothing changed. Needs root (Samba); takes the
machine-wide Samba port lock that the test sessions take, except in a network namespace of its own
(`unshare --net`), where the DC's ports are its alone.
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
from collections.abc import Callable
from pathlib import Path

import ldap3

sys.path.insert(0, str(Path(__file__).resolve().parent))

from measure import REPO, python, ratio_line, run_measured
from org_files import VARIANTS, write_org

from auditor.families.exchange.ldap import (
    CONFIGURATION_FILTER,
    CONFIGURATION_KINDS,
    RECIPIENT_FILTER,
    RECIPIENT_KINDS,
    LdapSettings,
    LdapSource,
    attributes_for,
)

LAB_SCRIPTS = REPO / "deploy" / "lab"
SAMBA = LAB_SCRIPTS / "samba.sh"
sys.path.insert(0, str(LAB_SCRIPTS))
from labcache import cache_key  # noqa: E402  (one cache key with tests/ldap/conftest.py)
from labports import ports_lock  # noqa: E402

LAB = REPO / ".lab"
PASSWORD = "Lab-Adm1n-Passw0rd"
ADMIN_DN = "CN=Administrator,CN=Users,DC=contoso,DC=com"
DOMAIN_DN = "DC=contoso,DC=com"
CONFIGURATION_DN = "CN=Configuration,DC=contoso,DC=com"
SYSTEM_PYTHON = "/usr/bin/python3"  # Debian's, with python3-samba (bulk_load.py)


def run(*args: str) -> None:
    env = dict(os.environ, LAB_ADMIN_PASSWORD=PASSWORD, LAB_PYTHON=sys.executable)
    done = subprocess.run(["bash", str(SAMBA), *args], env=env, text=True, capture_output=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"samba.sh {' '.join(args)} failed:\n{done.stdout}{done.stderr}")


def build(target: Path, steps: list[tuple[str, ...]]) -> None:
    """Create a cached DC folder atomically: build in a scratch folder, stop it, rename."""
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
            elif step[0] == "bulk":
                subprocess.run(
                    [SYSTEM_PYTHON, str(LAB_SCRIPTS / "bulk_load.py"), str(scratch), *step[1:]], check=True
                )
            else:
                run(*step)
    finally:
        if scratch.exists():
            run("stop", str(scratch))
    scratch.rename(target)


def base_dc() -> Path:
    base = (
        LAB
        / f"samba-base-{cache_key([SAMBA, LAB_SCRIPTS / 'exchange_schema.py', LAB_SCRIPTS / 'labconn.py'])}"
    )
    scratch = str(base) + ".building"
    with ports_lock():  # building the base starts a DC
        run("install")
        build(base, [("provision", scratch), ("start", scratch), ("schema", scratch)])
    return base


def loaded_dc(base: Path, org: Path, exports: list[Path], users: int, variant: str) -> Path:
    key = cache_key([LAB_SCRIPTS / "bulk_load.py", *exports], base.name)
    loaded = LAB / f"samba-bench-{variant}-{users}-{key}"
    if not loaded.exists():
        print(
            f"loading {users:,} {variant} recipients into a lab DC (cached afterwards) ...", file=sys.stderr
        )
        build(loaded, [("copy", str(base)), ("bulk", *map(str, exports))])
    return loaded


def best(label: str, repeat: int, read: Callable[[], int]) -> tuple[float, int]:
    """(best seconds, objects) of `repeat` reads."""
    times: list[float] = []
    count = 0
    for _ in range(repeat):
        started = time.perf_counter()
        count = read()
        times.append(time.perf_counter() - started)
    print(
        f"{label:<12} {count:,} objects, best {min(times):.2f} s ({count / min(times):,.0f} objects/s), runs {', '.join(f'{t:.2f}' for t in times)}"
    )
    return min(times), count


def raw_ldap3(settings: LdapSettings) -> int:
    tls = ldap3.Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=settings.ca_file)
    server = ldap3.Server("127.0.0.1", port=636, use_ssl=True, tls=tls, get_info=ldap3.NONE)
    conn = ldap3.Connection(
        server, settings.bind_dn, settings.password, auto_bind=True, check_names=False, auto_referrals=False
    )
    count = 0
    for base, search_filter, kinds in (
        (DOMAIN_DN, RECIPIENT_FILTER, RECIPIENT_KINDS),
        (CONFIGURATION_DN, CONFIGURATION_FILTER, CONFIGURATION_KINDS),
    ):
        for entry in conn.extend.standard.paged_search(
            base,
            search_filter,
            attributes=attributes_for(kinds),
            paged_size=settings.page_size,
            generator=True,
        ):
            if entry.get("type") == "searchResEntry":
                count += 1
    conn.unbind()
    return count


def ldapsearch(settings: LdapSettings, folder: Path) -> int:
    secret = folder / "bind-password"
    secret.write_text(PASSWORD)
    secret.chmod(0o600)
    output = folder / "ldapsearch.ldif"
    env = {**os.environ, "LDAPTLS_CACERT": settings.ca_file or "", "LDAPTLS_REQCERT": "demand"}
    with output.open("wb") as handle:
        for base, search_filter, kinds in (
            (DOMAIN_DN, RECIPIENT_FILTER, RECIPIENT_KINDS),
            (CONFIGURATION_DN, CONFIGURATION_FILTER, CONFIGURATION_KINDS),
        ):
            command = [
                "ldapsearch", "-LLL", "-o", "ldif-wrap=no", "-H", "ldaps://127.0.0.1:636", "-x",
                "-D", ADMIN_DN, "-y", str(secret), "-E", f"pr={settings.page_size}/noprompt",
                "-b", base, search_filter, *attributes_for(kinds),
            ]  # fmt: skip
            done = subprocess.run(command, stdout=handle, stderr=subprocess.PIPE, env=env, check=False)
            if done.returncode != 0:
                raise SystemExit(f"ldapsearch failed ({done.returncode}): {done.stderr.decode().strip()}")
    with output.open("rb") as handle:
        return sum(1 for line in handle if line.startswith(b"dn: ") or line.startswith(b"dn:: "))


def live_config(org: Path, folder: Path, ca_file: str) -> Path:
    """The organization's config, its directory read live from the lab DC instead of the exports."""
    text = (org / "auditor.toml").read_text(encoding="utf-8")
    text = text.replace(
        'ldif = ["domain.ldf", "configuration.ldf"]',
        f'url = "ldaps://127.0.0.1:636"\nbind_dn = "{ADMIN_DN}"\npassword_env = "LAB_ADMIN_PASSWORD"\n'
        f'ca_file = "{ca_file}"\npage_size = 1000',
    )
    text = text.replace('url = "sqlite:///history.db"', f'url = "sqlite:///{folder / "live.db"}"')
    for name in ("pop00", "pop01", "pop02", "pop03"):
        text = text.replace(f'export = "{name}"', f'export = "{org / name}"')
    config = folder / "live.toml"
    config.write_text(text, encoding="utf-8")
    return config


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--variant", choices=VARIANTS, default="realistic")
    parser.add_argument("--page-size", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--prepare", action="store_true", help="only build the cached lab DC, measure nothing"
    )
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("bench_ldap: needs root (Samba's AD DC)")
    LAB.mkdir(exist_ok=True)
    org = (
        LAB
        / "inputs"
        / f"bench-org-{args.variant}-{args.users}-{cache_key([REPO / 'bench' / 'org_files.py', REPO / 'bench' / 'bench_checks.py'])}"
    )
    if not (org / "auditor.toml").exists():
        write_org(org, args.users, args.variant)
    exports = [org / "configuration.ldf", org / "domain.ldf"]
    started = time.monotonic()
    loaded = loaded_dc(base_dc(), org, exports, args.users, args.variant)
    prepared = time.monotonic() - started
    if args.prepare:
        print(f"lab DC ready: {loaded} ({prepared:.0f} s)")
        return

    with (
        ports_lock(),
        tempfile.TemporaryDirectory(prefix="auditor-bench-ldap-") as temp,
    ):
        folder = Path(temp)
        run_dir = LAB / "samba-bench-run"
        if run_dir.exists():
            run("stop", str(run_dir))
            shutil.rmtree(run_dir)
        subprocess.run(["cp", "-a", str(loaded), str(run_dir)], check=True)
        run("relocate", str(run_dir))
        run("start", str(run_dir))
        try:
            ca_file = str(run_dir / "tls" / "ca.pem")
            settings = LdapSettings(
                url="ldaps://127.0.0.1:636",
                bind_dn=ADMIN_DN,
                password=PASSWORD,
                ca_file=ca_file,
                page_size=args.page_size,
            )
            print(
                f"variant {args.variant}: {args.users:,} generated recipients in the lab DC ({loaded.name}; "
                f"ready in {prepared:.0f} s), LDAPS, page size {args.page_size}, both partitions"
            )
            ldapsearch(settings, folder)  # warm the DC's caches once, untimed
            raw, raw_count = best("raw ldap3", args.repeat, lambda: raw_ldap3(settings))
            source, source_count = best(
                "LdapSource", args.repeat, lambda: sum(1 for _ in LdapSource(settings).collect())
            )
            best(
                "LdapSource without attribution (no replPropertyMetaData, no tombstones)",
                args.repeat,
                lambda: sum(1 for _ in LdapSource(settings, attribution=False).collect()),
            )
            tool, tool_count = best("ldapsearch", args.repeat, lambda: ldapsearch(settings, folder))
            config = live_config(org, folder, ca_file)
            check = [python(), "-m", "auditor.cli", "check", "--once", "-c", str(config)]
            env = {"LAB_ADMIN_PASSWORD": PASSWORD}
            first = run_measured(
                "live check --once, first (empty store)", check, cwd=folder, ok=(0, 1), env=env
            )
            again = run_measured("live check --once, unchanged", check, cwd=folder, ok=(0, 1), env=env)
        finally:
            run("stop", str(run_dir))
            shutil.rmtree(run_dir, ignore_errors=True)

    if raw_count != tool_count:
        print(f"note: raw ldap3 read {raw_count:,} entries, ldapsearch {tool_count:,}", file=sys.stderr)
    print(f"LdapSource kept {source_count:,} records (entries of kinds auditor does not keep are skipped)")
    for measured in (first, again):
        print(measured.line())
    detail = f"{args.variant}, {args.users:,} recipients, LDAPS"
    print(ratio_line("live: LdapSource full read / raw ldap3 paged search", source, raw, detail))
    print(ratio_line("live: LdapSource full read / ldapsearch", source, tool, detail))
    print(ratio_line("live: raw ldap3 / ldapsearch", raw, tool, detail))
    print(ratio_line("live: check --once first pass / LdapSource read", first.seconds, source, detail))
    print(ratio_line("live: unchanged pass / first pass", again.seconds, first.seconds, detail))
    for measured in (first, again):
        print(f"PEAK {measured.label:<40} {measured.peak_rss_mib:7.1f} MiB")


if __name__ == "__main__":
    main()
