# The two commands of the README:
#   make sample   audit the bundled sample organization into ./auditor-sample.db and print the findings
#   make test     install what the tests need (Samba AD DC, PostgreSQL, Chromium), lint, type-check, run pytest
# Everything else here is a building block of those two.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: sample sample-data test venv lab-deps lint typecheck pytest fuzz bench screenshot clean

$(BIN)/auditor: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(BIN)/auditor

venv: $(BIN)/auditor

# Exit 1 only means "the sample has findings" (it is built to have them): that is success here.
sample: venv
	$(BIN)/auditor check --once --sample; status=$$?; [ $$status -le 1 ] || exit $$status

# Rewrite the bundled samples' data files (auditor/sample/, auditor/sample_modern/) from tools/;
# deterministic. The Linux hosts of the modern sample run the real Postfix / Dovecot programs
# (tools/make_linux_sample.py: needs the lab packages, deploy/lab/install-test-deps.sh).
sample-data: venv
	$(BIN)/python tools/make_sample.py
	$(BIN)/python tools/make_sample_modern.py
	$(BIN)/python tools/make_linux_sample.py

lab-deps:
	sh deploy/lab/install-test-deps.sh

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: venv
	$(BIN)/mypy

# pytest exits 5 when it collected no test: that is a failure here, as any non-zero status is.
pytest: venv
	$(BIN)/pytest -q -p no:cacheprovider

test: venv lab-deps lint typecheck pytest

# The long run of the parsers' property tests (tests/fuzz, and the security descriptor, IP range and
# Postfix / Dovecot property tests of the families; `make test` runs a short one).
# FUZZ_EXAMPLES per parser; failures are remembered in .hypothesis/ and replayed first next time.
FUZZ_EXAMPLES ?= 20000
fuzz: venv
	HYPOTHESIS_PROFILE=auditor-fuzz AUDITOR_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/pytest -q -p no:cacheprovider tests/fuzz \
		tests/families/exchange/test_properties.py tests/families/linux/test_properties.py

bench: venv
	$(BIN)/python bench/run_all.py

screenshot: venv
	sh scripts/screenshot-report.sh

clean:
	rm -rf $(VENV) build *.egg-info auditor-sample.db .lab
