"""auditor: compliance auditing and drift detection for Exchange / POP3 coexistence in one AD forest.

The pipeline (`auditor.run`) collects a snapshot from every configured source, stores what changed
in the history store, runs the checks, diffs against the last complete snapshot and reports.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
