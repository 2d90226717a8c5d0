"""The bundled modern sample: Contoso on Exchange 2016 and Subscription Edition, after a 2003 migration,
with its POP3 hosts: LNX01 and LNX02 (Postfix + Dovecot) and POP01 (Windows, being replaced).

`auditor check --once --sample modern` audits it (store: ./auditor-sample-modern.db). The data
files are written in the source repository (`make sample-data`; the generators are not installed):
the directory and POP01's export by `tools/make_sample_modern.py`, with receive connector
descriptors packed by Samba's encoder; the Linux hosts' export folders by
`tools/make_linux_sample.py`, which runs the real Postfix and Dovecot. README.md beside this module
lists every deliberate misconfiguration.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

__all__ = ["sample_config_path"]


def sample_config_path() -> Path:
    """The bundled `auditor.toml`; its relative paths resolve against the folder it is in."""
    return Path(str(resources.files(__name__).joinpath("auditor.toml")))
