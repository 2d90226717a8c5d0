"""Linux POP3 host family: export, parse, records, evaluation and checks times on a large host.

    .venv/bin/python bench/bench_linux.py [--mailboxes 100000] [--recipients 100000]

Builds a throwaway Postfix configuration whose virtual_mailbox_maps (hash) holds N addresses and
whose virtual_alias_maps holds N/2, with Debian's real postmap; runs deploy/linux/export-linux.sh on
it (postconf -c, postmap -s); then times read_linux_export, host_records, host_from_records,
route_address for 1,000 addresses and relay_report for every smtpd service. Then the host's records
beside bench_checks.py's synthetic organization of R recipients (two thirds Exchange mailboxes):
`Snapshot.from_records` (the Linux adapter included) and every check, COEX-303 with each Exchange
mailbox's address entering at the Linux host. Prints figures only: no assertion (timing goals
never go in tests). Needs Postfix installed (deploy/lab/install-test-deps.sh).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from bench_checks import organization, recipients

from auditor.families.linux.export import read_linux_export
from auditor.families.linux.host import LinuxHost
from auditor.families.linux.raw import host_from_records, host_records
from auditor.families.linux.relay import relay_report
from auditor.families.linux.route import route_address
from auditor.model import Snapshot
from auditor.records import SourceInfo
from auditor.registry import SkipCheck, discover_checks

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "deploy" / "linux" / "export-linux.sh"
MASTER = """\
smtp      inet  n       -       y       -       -       smtpd
submission inet n       -       y       -       -       smtpd -o smtpd_tls_security_level=encrypt -o smtpd_sasl_auth_enable=yes -o smtpd_relay_restrictions=permit_sasl_authenticated,reject
smtp      unix  -       -       y       -       -       smtp
relay     unix  -       -       y       -       -       smtp
lmtp      unix  -       -       y       -       -       lmtp
"""


def timed(label: str, action):  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    result = action()
    print(f"{label:<44} {time.perf_counter() - started:8.3f} s", flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mailboxes", type=int, default=100_000)
    parser.add_argument("--recipients", type=int, default=100_000)
    args = parser.parse_args()
    n = args.mailboxes
    work = Path(tempfile.mkdtemp(prefix="auditor-bench-linux-"))
    try:
        pf = work / "postfix"
        pf.mkdir()
        (pf / "vmailbox").write_text(
            "".join(f"user{i}@pop.contoso.com ok\n" for i in range(n)), encoding="utf-8"
        )
        (pf / "virtual").write_text(
            "".join(f"alias{i}@pop.contoso.com user{i}@pop.contoso.com\n" for i in range(n // 2)),
            encoding="utf-8",
        )
        timed(
            f"postmap of {n:,} + {n // 2:,} entries",
            lambda: [
                subprocess.run(["postmap", f"hash:{pf / name}"], check=True)
                for name in ("vmailbox", "virtual")
            ],
        )
        (pf / "main.cf").write_text(
            f"compatibility_level = 3.6\nmydestination = localhost\nmynetworks = 127.0.0.0/8\n"
            f"relayhost = [ex16.contoso.com]:25\nvirtual_mailbox_domains = pop.contoso.com\n"
            f"virtual_mailbox_maps = hash:{pf}/vmailbox\nvirtual_alias_maps = hash:{pf}/virtual\n"
            f"virtual_transport = lmtp:unix:private/dovecot-lmtp\n",
            encoding="utf-8",
        )
        (pf / "master.cf").write_text(MASTER, encoding="utf-8")
        past = time.time() - 60
        for name in ("main.cf", "master.cf"):
            os.utime(pf / name, (past, past))
        out = work / "export"
        timed(
            "export-linux.sh (postconf, postmap -s)",
            lambda: subprocess.run(
                ["sh", str(SCRIPT), "-c", str(pf), "-d", str(work / "none"), "-o", str(out)],
                check=True,
                capture_output=True,
            ),
        )
        size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
        print(f"{'export size':<44} {size / 1e6:8.1f} MB")
        export = timed("read_linux_export (parse every file)", lambda: read_linux_export(out))
        host = LinuxHost.from_export(export, name="LNX01", addresses=("10.0.0.25",))
        records = timed("host_records", lambda: host_records(host))
        rebuilt = timed("host_from_records", lambda: host_from_records(records, "LNX01"))
        assert rebuilt.postfix is not None
        timed(
            "route_address x 1,000",
            lambda: [route_address(host, f"alias{i}@pop.contoso.com") for i in range(1000)],
        )
        timed(
            "relay_report for every smtpd service",
            lambda: [
                relay_report(host, s)
                for s in host.postfix.smtpd_services()  # type: ignore[union-attr]
            ],
        )
        checks_beside_an_organization(records, args.recipients)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def checks_beside_an_organization(linux_records: list, count: int) -> None:  # type: ignore[type-arg]
    """The host beside `count` directory recipients: the adapter, then every check on its own."""
    directory = [*organization(), *recipients(count)]
    coverage = {"domain", "configuration"} | {f"pop3:POP{n:02d}" for n in range(4)}
    source = SourceInfo(name="bench", kind="synthetic", complete=True, coverage=coverage)
    snap = timed(
        f"Snapshot.from_records, {count:,} recipients + host",
        lambda: Snapshot.from_records([*directory, *linux_records], [source]),
    )
    mailboxes = sum(1 for r in snap.recipients if r.is_mailbox_enabled)
    print(f"{'Exchange mailboxes probed from LNX01':<44} {mailboxes:>8,}")
    total = 0.0
    for spec in discover_checks():
        started = time.perf_counter()
        try:
            found = len(list(spec.run(snap)))
        except SkipCheck:
            found = 0
        elapsed = time.perf_counter() - started
        total += elapsed
        print(f"{spec.id + f' ({found:,} findings)':<44} {elapsed:8.3f} s", flush=True)
    print(f"{'all checks':<44} {total:8.3f} s")


if __name__ == "__main__":
    main()
