"""Pack SDDL into binary security descriptors with Samba's own encoder, from auditor's venv.

deploy/lab/samba_sd.py needs python3-samba, which lives in the Debian interpreter, not in the venv:
this runs it there (`LAB_SAMBA_PYTHON`, default /usr/bin/python3). The lab loader, the modern sample
generator (tools/make_sample_modern.py) and the check tests use it, so descriptors are never made
by the decoder they test.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
from collections.abc import Sequence
from pathlib import Path

__all__ = ["SAMBA_PYTHON", "SambaSdError", "pack_sddl"]

SAMBA_SD = Path(__file__).resolve().parent / "samba_sd.py"
SAMBA_PYTHON = os.environ.get("LAB_SAMBA_PYTHON", "/usr/bin/python3")
# Any domain SID will do for descriptors that name only well-known SIDs (no DA, DU, ... aliases).
DEFAULT_DOMAIN_SID = "S-1-5-21-1004336348-1177238915-682003330"


class SambaSdError(RuntimeError):
    """samba_sd.py failed (python3-samba missing, or an SDDL string Samba refuses)."""


def run(command: str, items: Sequence[str], domain_sid: str = DEFAULT_DOMAIN_SID) -> list[object]:
    done = subprocess.run(
        [SAMBA_PYTHON, str(SAMBA_SD), command, domain_sid],
        input=json.dumps(list(items)),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        raise SambaSdError(
            f"deploy/lab/samba_sd.py {command} failed under {SAMBA_PYTHON} (python3-samba installed?): "
            f"{done.stderr.strip()}"
        )
    result = json.loads(done.stdout)
    if not isinstance(result, list):
        raise SambaSdError(f"deploy/lab/samba_sd.py {command} returned {type(result).__name__}, not a list")
    return result


def pack_sddl(sddls: Sequence[str], domain_sid: str = DEFAULT_DOMAIN_SID) -> list[bytes]:
    """Each SDDL string as a self-relative descriptor, packed by Samba's NDR code."""
    return [base64.b64decode(str(blob)) for blob in run("encode", sddls, domain_sid)]
