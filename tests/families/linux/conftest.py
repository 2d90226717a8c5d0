"""Linux family tests (`linuxlab` is importable through pytest's `pythonpath`); skip nothing silently.

The real programs these tests drive (postconf, postmap, doveconf, doveadm, postfix, dovecot, sshd,
ssh) are installed by deploy/lab/install-test-deps.sh, which `make test` runs; a missing one fails
the test that needs it, loudly.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from linuxlab import LAB_USERS, lab, lab_dir, write


@pytest.fixture(scope="session")
def dovecot_lab() -> Iterator[Path]:
    """A running Dovecot (no mail protocol): the SASL socket DIR/auth-postfix and `doveadm user '*'`."""
    folder = lab_dir("dovecot")
    users = "".join(
        f"{name}:{{PLAIN}}{password}:1000:1000::{folder}/home::\n" for name, password in LAB_USERS.items()
    )
    (folder / "users").write_text(users, encoding="utf-8")
    (folder / "users").chmod(0o644)
    conf = write(
        folder,
        "dovecot.conf",
        f"""\
        base_dir = {folder}/run
        state_dir = {folder}/state
        log_path = {folder}/dovecot.log
        protocols =
        ssl = no
        disable_plaintext_auth = no
        auth_mechanisms = plain login
        passdb {{
          driver = passwd-file
          args = scheme=PLAIN username_format=%u {folder}/users
        }}
        userdb {{
          driver = passwd-file
          args = username_format=%u {folder}/users
        }}
        service auth {{
          unix_listener {folder}/auth-postfix {{
            mode = 0666
          }}
        }}
        """,
    )
    lab("dovecot.sh", "start", str(conf))
    try:
        yield folder
    finally:
        lab("dovecot.sh", "stop", str(conf))
        shutil.rmtree(folder, ignore_errors=True)


# The POP3 users of the check tests' hosts: `doveadm user '*'` of a running Dovecot lists them.
CHECK_USERS = ("pass-bob", "fail-no-ad-user", "fail-contact", "fail-disabled")


@pytest.fixture(scope="session")
def users_dovecot() -> Iterator[Path]:
    """A running Dovecot whose userdb lists CHECK_USERS: an export run with its dovecot.conf gets
    the real `doveadm user '*'` output (the path of that dovecot.conf is what this yields)."""
    folder = lab_dir("dovecot-users")
    (folder / "users").write_text(
        "".join(f"{name}:{{PLAIN}}x:1000:1000::{folder}/home::\n" for name in CHECK_USERS), encoding="utf-8"
    )
    (folder / "users").chmod(0o644)
    conf = write(
        folder,
        "dovecot.conf",
        f"""\
        base_dir = {folder}/run
        state_dir = {folder}/state
        log_path = {folder}/dovecot.log
        protocols =
        ssl = required
        passdb {{
          driver = passwd-file
          args = scheme=PLAIN username_format=%u {folder}/users
        }}
        userdb {{
          driver = passwd-file
          args = username_format=%u {folder}/users
        }}
        """,
    )
    lab("dovecot.sh", "start", str(conf))
    try:
        yield conf
    finally:
        lab("dovecot.sh", "stop", str(conf))
        shutil.rmtree(folder, ignore_errors=True)
