"""The `[[pop3_server]]` keys of a Linux host and `[checks] relay_allowlist`, validated at load."""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.config import AuditorConfig, load_config
from auditor.errors import ConfigError


def load(tmp_path: Path, text: str) -> AuditorConfig:
    path = tmp_path / "auditor.toml"
    path.write_text(text, encoding="utf-8")
    return load_config(path)


def test_a_linux_host_with_every_key(tmp_path: Path) -> None:
    config = load(
        tmp_path,
        '[[pop3_server]]\nname = "LNX01"\nkind = "postfix-dovecot"\nfqdn = "lnx01.contoso.com"\n'
        'addresses = ["10.0.0.25"]\nssh = "ssh://auditor@lnx01.contoso.com:2222"\nknown_hosts = "keys/known_hosts"\n'
        'ssh_key = "keys/id_ed25519"\nmax_age = "2d"\n\n[checks]\nrelay_allowlist = ["10.0.5.10/32", "10.0.6.0/24"]\n',
    )
    (server,) = config.pop3_server
    assert server.kind == "postfix-dovecot"
    assert server.known_hosts == tmp_path.resolve() / "keys" / "known_hosts"
    assert server.max_age_delta is not None and server.max_age_delta.days == 2
    assert config.checks.relay_allowlist == ["10.0.5.10/32", "10.0.6.0/24"]


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ('kind = "exchange"', "pop3_server[0].kind"),
        ('ssh = "-oProxyCommand=evil"', "ssh must be"),
        ('ssh = "a@b c"', "ssh must be"),
        ('max_age = "soon"', "invalid duration"),
        ('export = "x"\nssh = "a@b"', "not both"),
        ('kind = "windows"\nssh = "a@b"', 'kind = "postfix-dovecot"'),
        ('known_hosts = "kh"', "need ssh"),
    ],
)
def test_bad_linux_keys_are_one_line_naming_the_key(tmp_path: Path, body: str, problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, f'[[pop3_server]]\nname = "LNX01"\n{body}\n')
    assert problem in str(caught.value)
    assert str(caught.value).startswith(str((tmp_path / "auditor.toml").resolve()))
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("entry", ["10.0.5.10/24", "not-a-network", "10.0.0.0/33"])
def test_a_bad_relay_allowlist_entry_is_named(tmp_path: Path, entry: str) -> None:
    with pytest.raises(ConfigError, match="relay_allowlist"):
        load(tmp_path, f'[[pop3_server]]\nname = "P"\n[checks]\nrelay_allowlist = ["{entry}"]\n')
