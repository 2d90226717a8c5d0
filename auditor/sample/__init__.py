"""The bundled sample organization: made-up Contoso data that exercises every check.

`auditor check --once --sample` audits it, so a first run needs no Active Directory and no POP3
server. The data files are written by `tools/make_sample.py` in the source repository (`make
sample-data`; the generator is not installed); README.md beside this module lists every deliberate
misconfiguration.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

__all__ = ["sample_config_path"]


def sample_config_path() -> Path:
    """The bundled `auditor.toml`; its relative paths resolve against the folder it is in.

    The package is installed as plain files (a wheel or an editable install), so the resource is
    a real path on disk; the folder may be read-only, which is why the config names no store.
    """
    return Path(str(resources.files(__name__).joinpath("auditor.toml")))
