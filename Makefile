# The two commands of the README: `make demo` (offline main job) and `make test`.
# Each creates the virtual environment on first use and installs only what it needs: the demo
# the runtime and the emulator's certificate authority, the tests the test and lint tools too.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
DEMO_STAMP := $(VENV)/.installed-demo
DEV_STAMP := $(VENV)/.installed-dev
# The Azure CLI for tests/azcli, apart: it pins SDK versions of its own.
AZ_VENV ?= .venv-az
AZ_STAMP := $(AZ_VENV)/.installed

.PHONY: demo test lint bench clean az-cli

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(DEMO_STAMP): requirements.txt requirements-demo.txt | $(PY)
	$(PY) -m pip install --quiet -r requirements-demo.txt
	touch $@

$(DEV_STAMP): $(DEMO_STAMP) requirements-dev.txt pyproject.toml
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

$(AZ_STAMP): requirements-az.txt
	$(PYTHON) -m venv $(AZ_VENV)
	$(AZ_VENV)/bin/python -m pip install --quiet -r requirements-az.txt
	touch $@

az-cli: $(AZ_STAMP)

demo: $(DEMO_STAMP)
	$(PY) -m sync demo

test: $(DEV_STAMP)
	$(PY) -m pytest

bench: $(DEV_STAMP)
	$(PY) -m bench

lint: $(DEV_STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy sync armemu bench

clean:
	rm -rf $(VENV) $(AZ_VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
