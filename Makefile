# The two commands of the README: `make demo` (offline main job) and `make test`.
# Each creates the virtual environment on first use and installs only what it needs: the demo
# the runtime and the emulator's certificate authority, the tests the test and lint tools too.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
DEMO_STAMP := $(VENV)/.installed-demo
DEV_STAMP := $(VENV)/.installed-dev

.PHONY: demo test lint bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(DEMO_STAMP): requirements.txt requirements-demo.txt | $(PY)
	$(PY) -m pip install --quiet -r requirements-demo.txt
	touch $@

$(DEV_STAMP): $(DEMO_STAMP) requirements-dev.txt pyproject.toml
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

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
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
