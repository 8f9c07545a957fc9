# Quick start: `make run` starts torchx-tui (setting up .venv first), `make test` runs every test.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test lint bench
run: $(STAMP)
	$(VENV)/bin/torchx-tui

test: $(STAMP)
	$(PY) -m pytest -q

lint: $(STAMP)
	$(PY) -m ruff check torchx tui tests bench

bench: $(STAMP)
	$(PY) bench/overhead.py

# pip, not uv: pip takes torch and torchvision from this machine's local wheels.
$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)
