# Quick start: `make run` starts torchx-tui (setting up .venv first), `make test` runs every test.
# `make test-fast` is the quick subset, `make lint` the static checks (CI runs both lint and test).
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test test-fast lint bench
run: $(STAMP)
	$(VENV)/bin/torchx-tui

test: $(STAMP)
	$(PY) -m pytest -q

# The developer's loop: logic and pilot tests, no multi-epoch training, no Slurm cluster.
test-fast: $(STAMP)
	$(PY) -m pytest -q -m "not slow" --ignore=tests/slurm

# ruff; import-linter's contracts (pyproject.toml: the layering); mypy on torchx/ and tui/.
lint: $(STAMP)
	$(PY) -m ruff check torchx tui tests bench scripts
	$(VENV)/bin/lint-imports
	$(PY) -m mypy

bench: $(STAMP)
	$(PY) bench/overhead.py

# pip, not uv: pip takes torch and torchvision from this machine's local wheels.
$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)
