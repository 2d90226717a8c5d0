"""The configuration file: contract keys, relative paths, secrets, and one-line errors."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from auditor.config import find_config, load_config
from auditor.errors import ConfigError
from auditor.registry import Severity

FULL = """
organization = "Contoso"

[store]
url = "sqlite:///state/auditor.db"

[directory]
url = "ldaps://dc1.contoso.com"
bind_dn = "CN=svc-audit,OU=Service Accounts,DC=contoso,DC=com"
password_env = "AUDITOR_TEST_BIND_PASSWORD"
ca_file = "certs/ca.pem"

[[pop3_server]]
name = "POP01"
fqdn = "pop01.contoso.com"
addresses = ["10.0.0.25"]
export = "pop01"

[[exchange_server]]
name = "EX01"
addresses = ["10.0.0.10"]

[checks]
fail_on = "high"
disabled = ["COEX-302"]
[[checks.waiver]]
check = "COEX-403"
subject = "CN=Room 1,OU=Resources,DC=contoso,DC=com"
reason = "resource mailbox, hidden on purpose"
expires = 2027-03-31

[schedule]
check = "0 */4 * * *"
report = "0 7 * * mon"
tz = "Europe/Paris"

[report]
email_to = ["mail-admins@contoso.com"]
email_from = "auditor@contoso.com"
smtp_url = "smtp://mail.contoso.com:587"
starttls = "require"
smtp_username = "auditor"
smtp_password_file = "secrets/smtp"

[telemetry]
exporter = "none"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "auditor.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_every_contract_key_parses_and_relative_paths_resolve_against_the_config_folder(
    tmp_path: Path,
) -> None:
    config = load_config(write(tmp_path, FULL))
    assert config.organization == "Contoso"
    assert config.store.url == f"sqlite:///{tmp_path}/state/auditor.db"
    assert config.directory is not None
    assert config.directory.ca_file == tmp_path / "certs" / "ca.pem"
    assert config.pop3_server[0].export == tmp_path / "pop01"
    assert config.checks.fail_on is Severity.HIGH
    assert config.checks.waiver[0].expires == date(2027, 3, 31)
    assert config.report.smtp_password_file == tmp_path / "secrets" / "smtp"
    assert config.schedule.tz == "Europe/Paris"


def test_default_store_is_sqlite_next_to_the_config(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, '[directory]\nldif = ["d.ldf"]\n'))
    assert config.store.url == f"sqlite:///{tmp_path}/auditor.db"
    assert config.directory is not None and config.directory.ldif == [tmp_path / "d.ldf"]


def test_secrets_come_from_env_or_file_and_errors_name_the_variable_not_a_value(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = load_config(write(tmp_path, FULL))
    assert config.directory is not None
    monkeypatch.delenv("AUDITOR_TEST_BIND_PASSWORD", raising=False)
    with pytest.raises(ConfigError, match="AUDITOR_TEST_BIND_PASSWORD is not set"):
        config.directory.password()
    monkeypatch.setenv("AUDITOR_TEST_BIND_PASSWORD", "s3cret-bind")
    assert config.directory.password() == "s3cret-bind"
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "smtp").write_text("mail-pass\n")
    assert config.report.smtp_password() == "mail-pass"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[directory]\nldif = ["a.ldf"]\nbogus = 1\n', r"directory\.bogus: unknown key"),
        ('[directory]\nldif = "a.ldf"\n', r"directory\.ldif: "),
        ("[store]\nurl = 'sqlite:///x.db'\n", "nothing to audit"),
        ('[directory]\nurl = "http://dc1"\n', "must start with ldap:// or ldaps://"),
        ('[directory]\nurl = "ldap://dc1"\ntls = "none"\n', "needs allow_insecure = true"),
        ('[directory]\nurl = "ldap://dc1"\npassword = "inline"\n', r"directory\.password: unknown key"),
        ('[directory]\nldif = ["a.ldf"]\n[checks]\nfail_on = "severe"\n', r"checks\.fail_on: "),
        (
            '[directory]\nldif = ["a.ldf"]\n[[checks.waiver]]\ncheck = "COEX-403"\nsubject = "x"\nexpires = 2027-01-01\n',
            r"checks\.waiver\[0\]\.reason: required key is missing",
        ),
        ('[[pop3_server]]\nname = "POP01"\n[[pop3_server]]\nname = "pop01"\n', "names must be unique"),
        ("[directory\nldif = 1\n", r"invalid TOML: .*line 1"),
    ],
)
def test_a_wrong_key_or_value_is_one_line_naming_file_and_key(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError, match=expected) as caught:
        load_config(path)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(str(path))


def test_config_lookup_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("AUDITOR_CONFIG", raising=False)
    with pytest.raises(ConfigError, match="no config file"):
        find_config(None)
    local = write(tmp_path, '[directory]\nldif = ["a.ldf"]\n')
    assert find_config(None) == Path("auditor.toml")
    other = tmp_path / "other.toml"
    other.write_text(local.read_text())
    monkeypatch.setenv("AUDITOR_CONFIG", str(other))
    assert find_config(None) == other
    with pytest.raises(ConfigError, match="config file not found"):
        find_config(tmp_path / "missing.toml")


def test_schedule_is_validated_when_the_config_loads(tmp_path: Path) -> None:
    path = write(tmp_path, '[directory]\nldif = ["a.ldf"]\n[schedule]\ncheck = "61 * * * *"\n')
    with pytest.raises(ConfigError, match=r"schedule\.check: "):
        load_config(path)
    path = write(tmp_path, '[directory]\nldif = ["a.ldf"]\n[schedule]\ntz = "Mars/Olympus"\n')
    with pytest.raises(ConfigError, match=r"schedule\.tz: unknown time zone"):
        load_config(path)


def test_report_period_is_validated_when_the_config_loads(tmp_path: Path) -> None:
    path = write(tmp_path, '[directory]\nldif = ["a.ldf"]\n[report]\nsince = "a week"\n')
    with pytest.raises(ConfigError, match=r"report\.since: invalid duration 'a week'"):
        load_config(path)
    assert (
        load_config(write(tmp_path, '[directory]\nldif = ["a.ldf"]\n[report]\nsince = "2w"\n')).report.since
        == "2w"
    )
