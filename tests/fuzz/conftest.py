"""Hypothesis profiles of the fuzzing habit (tests/fuzz/harness.py says what is checked).

* `auditor-ci` (the default, part of `make test`): a few hundred examples per parser, a few
  seconds each, no example database (nothing written into the checkout).
* `auditor-fuzz` (`make fuzz`, or HYPOTHESIS_PROFILE=auditor-fuzz): tens of thousands of examples
  per parser, failures remembered in .hypothesis/ and replayed first next time.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

_QUIET = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]

settings.register_profile(
    "auditor-ci",
    max_examples=250,
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=_QUIET,
)
settings.register_profile(
    "auditor-fuzz",
    max_examples=int(os.environ.get("AUDITOR_FUZZ_EXAMPLES", "20000")),
    deadline=None,
    print_blob=True,
    suppress_health_check=_QUIET,
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "auditor-ci"))
