"""deploy/linux/export-linux.sh run on real Postfix and Dovecot configurations (as root, -c / -d)."""

from __future__ import annotations

import io
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest
from linuxlab import EXPORT_SCRIPT, STOCK_MASTER, postfix_config, postmap, run_export, write

from auditor.families.linux.export import read_linux_export

SECRET = "S3cret-never-exported"


@pytest.fixture
def host_config(tmp_path: Path) -> tuple[Path, Path]:
    """A Postfix + Dovecot configuration with every kind of table and secret the script handles."""
    pf = tmp_path / "postfix"
    pf.mkdir()
    transport = postmap(write(pf, "transport", "northwindtraders.com smtp:[ex16.contoso.com]\n"))
    sasl = postmap(write(pf, "sasl_passwd", f"[ex16.contoso.com]:25 svc-relay:{SECRET}\n"))
    write(
        pf,
        "ldap-mailboxes.cf",
        f"server_host = ldaps://dc1.contoso.com\nbind_pw = {SECRET}\n  {SECRET}\nsearch_base = dc=contoso,dc=com\n",
    )
    write(pf, "mysql-aliases.cf", f"hosts = db1\npassword = {SECRET}\nquery = SELECT 1\n")
    write(pf, "relay_domains.list", "relay.contoso.com\n# a comment\n")
    write(pf, "clients.cidr", "10.0.0.0/8 OK\n")
    postfix_config(
        pf,
        f"""\
        compatibility_level = 3.6
        mydestination = localhost
        mynetworks = 127.0.0.0/8
        relayhost = [ex16.contoso.com]:25
        relay_domains = {pf}/relay_domains.list
        transport_maps = {transport}
        virtual_mailbox_domains = pop.contoso.com
        virtual_mailbox_maps = ldap:{pf}/ldap-mailboxes.cf
        virtual_alias_maps = mysql:{pf}/mysql-aliases.cf, inline:{{ a@pop.contoso.com=b@pop.contoso.com }}
        smtp_sasl_auth_enable = yes
        smtp_sasl_password_maps = {sasl}
        smtpd_client_restrictions = check_client_access cidr:{pf}/clients.cidr
        """,
    )
    dc = tmp_path / "dovecot"
    dc.mkdir()
    write(
        dc,
        "dovecot-ldap.conf.ext",
        f"uris = ldap://dc1.contoso.com\ndn = cn=svc\ndnpass = {SECRET}\nauth_bind = yes\n",
    )
    write(
        dc,
        "dovecot-sql.conf.ext",
        f"driver = pgsql\nconnect = host=db1 dbname=mail user=dovecot password={SECRET}\n",
    )
    write(dc, "users", f"alice:{{PLAIN}}{SECRET}::::::\n")
    conf = write(
        dc,
        "dovecot.conf",
        f"""\
        protocols = pop3
        ssl = no
        passdb {{
          driver = ldap
          args = {dc}/dovecot-ldap.conf.ext
        }}
        passdb {{
          driver = sql
          args = {dc}/dovecot-sql.conf.ext
        }}
        passdb {{
          driver = passwd-file
          args = scheme=PLAIN {dc}/users
        }}
        userdb {{
          driver = ldap
          args = {dc}/dovecot-ldap.conf.ext
        }}
        """,
    )
    return pf, conf


def all_text(folder: Path) -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in sorted(folder.rglob("*")) if p.is_file())


def test_the_export_holds_every_file_and_no_secret(tmp_path: Path, host_config: tuple[Path, Path]) -> None:
    pf, conf = host_config
    out = tmp_path / "lnx01"
    run_export(out, postfix=pf, dovecot=conf)
    names = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert {
        "postconf-x.txt",
        "postconf-n.txt",
        "postconf-M.txt",
        "postconf-Px.txt",
        "doveconf-n.txt",
        "EXPORT-INFO.txt",
        "maps/INDEX.tsv",
        "dovecot-ext/dovecot-ldap.conf.ext",
        "dovecot-ext/dovecot-sql.conf.ext",
    } <= set(names)
    assert not any("users" in n for n in names if n != "doveadm-users.txt")
    assert SECRET not in all_text(out)
    export = read_linux_export(out)
    assert export.maps[f"hash:{pf}/sasl_passwd"].entries == {"[ex16.contoso.com]:25": "<redacted>"}
    assert export.maps[f"hash:{pf}/transport"].entries == {"northwindtraders.com": "smtp:[ex16.contoso.com]"}
    assert export.maps[f"ldap:{pf}/ldap-mailboxes.cf"].config == {
        "server_host": "ldaps://dc1.contoso.com",
        "bind_pw": "<redacted>",
        "search_base": "dc=contoso,dc=com",
    }
    mysql = export.maps[f"mysql:{pf}/mysql-aliases.cf"].config
    assert mysql is not None
    assert mysql["password"] == "<redacted>"
    assert export.maps[f"{pf}/relay_domains.list"].lines == ("relay.contoso.com", "# a comment")
    assert export.maps[f"cidr:{pf}/clients.cidr"].form == "source"
    assert export.ext_files["dovecot-ldap.conf.ext"]["dnpass"] == "<redacted>"
    assert (
        export.ext_files["dovecot-sql.conf.ext"]["connect"]
        == "host=db1 dbname=mail user=dovecot password=<redacted>"
    )
    assert export.exported_at is not None
    assert not any(key.startswith("inline:") for key in export.maps)


def test_a_second_export_replaces_the_first_whole(tmp_path: Path, host_config: tuple[Path, Path]) -> None:
    pf, conf = host_config
    out = tmp_path / "lnx01"
    run_export(out, postfix=pf, dovecot=conf)
    (out / "stale-file.txt").write_text("from before", encoding="utf-8")
    run_export(out, postfix=pf, dovecot=tmp_path / "no-such-dovecot.conf")
    assert not (out / "stale-file.txt").exists()
    assert not (out / "doveconf-n.txt").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dovecot", "lnx01", "postfix"]
    assert read_linux_export(out).postconf_x is not None


def test_tar_mode_writes_the_same_files_on_stdout(tmp_path: Path, host_config: tuple[Path, Path]) -> None:
    pf, conf = host_config
    result = subprocess.run(
        ["sh", str(EXPORT_SCRIPT), "-t", "-c", str(pf), "-d", str(conf)],
        capture_output=True,
        check=True,
        timeout=120,
    )
    with tarfile.open(fileobj=io.BytesIO(result.stdout)) as archive:
        names = {m.name.removeprefix("./") for m in archive.getmembers() if m.isfile()}
        contents = [archive.extractfile(m) for m in archive.getmembers() if m.isfile()]
        assert SECRET.encode() not in b"".join(f.read() for f in contents if f is not None)
    assert {"postconf-x.txt", "doveconf-n.txt", "maps/INDEX.tsv"} <= names


def test_a_failing_doveadm_leaves_no_users_file(tmp_path: Path, host_config: tuple[Path, Path]) -> None:
    pf, conf = host_config
    out = tmp_path / "lnx01"
    result = run_export(out, postfix=pf, dovecot=conf)
    assert not (out / "doveadm-users.txt").exists()
    assert "doveadm-users.txt not exported" in result.stderr


def test_the_users_list_comes_from_a_running_dovecot(tmp_path: Path, dovecot_lab: Path) -> None:
    out = tmp_path / "lnx01"
    run_export(out, dovecot=dovecot_lab / "dovecot.conf")
    assert read_linux_export(out).users == ["alice", "bob@pop.contoso.com"]
    assert not (out / "postconf-x.txt").exists() or read_linux_export(out).postconf_x is not None


def test_bad_options_are_refused(tmp_path: Path) -> None:
    result = subprocess.run(
        ["sh", str(EXPORT_SCRIPT), "-t", "-o", str(tmp_path / "x")], capture_output=True, text=True
    )
    assert result.returncode == 2
    assert "usage" in result.stderr


def test_the_scripts_are_shellcheck_clean() -> None:
    shellcheck = shutil.which("shellcheck")
    assert shellcheck, "shellcheck is installed by deploy/lab/install-test-deps.sh"
    scripts = [
        EXPORT_SCRIPT,
        *(EXPORT_SCRIPT.parents[1] / "lab" / n for n in ("postfix.sh", "dovecot.sh", "sshd.sh")),
    ]
    result = subprocess.run([shellcheck, "-s", "sh", *map(str, scripts)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


def test_the_stock_master_cf_exports_unfolded(tmp_path: Path) -> None:
    out = tmp_path / "x"
    run_export(out, postfix=postfix_config(tmp_path / "pf", "compatibility_level = 3.6\n", STOCK_MASTER))
    text = (out / "postconf-M.txt").read_text(encoding="utf-8")
    assert "smtpd -o syslog_name=postfix/submission -o smtpd_tls_security_level=encrypt" in text


def test_a_userdb_that_cannot_list_users_leaves_no_users_file(tmp_path: Path) -> None:
    """Dovecot 2.3 answers `doveadm user '*'` with exit 75 and no output when the userdb cannot iterate."""
    from linuxlab import lab, lab_dir

    folder = lab_dir("dovecot-static")
    conf = write(
        folder,
        "dovecot.conf",
        f"""\
        base_dir = {folder}/run
        state_dir = {folder}/state
        log_path = {folder}/dovecot.log
        protocols =
        ssl = no
        passdb {{
          driver = static
          args = password=not-a-real-secret
        }}
        userdb {{
          driver = static
          args = uid=1000 gid=1000 home={folder}/%u
        }}
        """,
    )
    lab("dovecot.sh", "start", str(conf))
    try:
        listing = subprocess.run(["doveadm", "-c", str(conf), "user", "*"], capture_output=True, text=True)
        assert (listing.returncode, listing.stdout) == (75, "")
        out = tmp_path / "lnx01"
        result = run_export(out, dovecot=conf)
        assert (out / "doveconf-n.txt").exists()
        assert not (out / "doveadm-users.txt").exists()
        assert "doveadm-users.txt not exported" in result.stderr
        assert "not-a-real-secret" not in (out / "doveconf-n.txt").read_text(encoding="utf-8")
    finally:
        lab("dovecot.sh", "stop", str(conf))
        shutil.rmtree(folder, ignore_errors=True)
