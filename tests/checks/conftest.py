"""Make `builders` importable from the check tests (pytest runs in importlib mode, no packages)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
