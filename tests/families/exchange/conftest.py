"""Security descriptors for the decoder tests, made by Samba's own code (never by auditor's).

`samba_sd(command, items)` runs deploy/lab/samba_sd.py under the Debian interpreter that has
python3-samba (installed by deploy/lab/install-test-deps.sh): `encode` packs SDDL strings into
self-relative descriptors with Samba's NDR code, `decode` unpacks descriptors into Samba's view of
their ACEs. Tests compare auditor's decoder with that view, so it is never checked against itself.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[3]
SAMBA_SD = REPO / "deploy" / "lab" / "samba_sd.py"
SAMBA_PYTHON = os.environ.get("LAB_SAMBA_PYTHON", "/usr/bin/python3")
DOMAIN_SID = "S-1-5-21-1004336348-1177238915-682003330"

SambaSd = Callable[[str, Sequence[str]], list[Any]]


def run_samba_sd(command: str, items: Sequence[str], domain_sid: str = DOMAIN_SID) -> list[Any]:
    done = subprocess.run(
        [SAMBA_PYTHON, str(SAMBA_SD), command, domain_sid],
        input=json.dumps(list(items)),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if done.returncode != 0:
        pytest.fail(
            f"deploy/lab/samba_sd.py {command} failed under {SAMBA_PYTHON} (python3-samba installed?):\n"
            f"{done.stderr}",
            pytrace=False,
        )
    result = json.loads(done.stdout)
    assert isinstance(result, list)
    return result


@pytest.fixture(scope="session")
def samba_sd() -> SambaSd:
    return run_samba_sd


def pack(sddls: Sequence[str]) -> list[bytes]:
    """SDDL strings as binary descriptors, packed by Samba."""
    return [base64.b64decode(blob) for blob in run_samba_sd("encode", sddls)]
