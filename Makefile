# The two commands of the README: `make demo` (offline main job) and `make test`.
# Each creates the virtual environment on first use and installs only what it needs: the demo
# the runtime, the emulator's certificate authority and the project itself (editable, so
# `ipsync`, `python -m sync` and `python -m armemu` work from any folder), the tests the test
# and lint tools too. `make help` lists the targets.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
DEMO_STAMP := $(VENV)/.installed-demo
DEV_STAMP := $(VENV)/.installed-dev
# The Azure CLI for tests/azcli, apart: it pins SDK versions of its own.
AZ_VENV ?= .venv-az
AZ_STAMP := $(AZ_VENV)/.installed

.PHONY: help demo test lint docs bench clean az-cli

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# The project goes in editable (the `ipsync` command; setuptools' one-time notice on editable
# installs silenced), and the checkout on the path: the emulator (armemu) is not part of the
# package, yet runs from any folder with this venv.
$(DEMO_STAMP): requirements.txt requirements-demo.txt pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -r requirements-demo.txt
	PYTHONWARNINGS=ignore::UserWarning $(PY) -m pip install --quiet --no-deps --editable .
	$(PY) -c 'import pathlib, sysconfig; pathlib.Path(sysconfig.get_path("purelib"), \
	  "ipsync-checkout.pth").write_text(str(pathlib.Path.cwd()) + "\n")'
	touch $@

$(DEV_STAMP): $(DEMO_STAMP) requirements-dev.txt pyproject.toml
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

$(AZ_STAMP): requirements-az.txt
	$(PYTHON) -m venv $(AZ_VENV)
	$(AZ_VENV)/bin/python -m pip install --quiet -r requirements-az.txt
	touch $@

help:  ## this list
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 10

az-cli: $(AZ_STAMP)  ## the Azure CLI in .venv-az, for tests/azcli

demo: $(DEMO_STAMP)  ## the main job, offline: the embedded ARM emulator and bundled releases
	$(PY) -m sync demo

test: $(DEV_STAMP)  ## the whole test suite (Azurite needs Node.js and npm)
	$(PY) -m pytest

bench: $(DEV_STAMP)  ## regenerate the benchmarks (BENCHMARKS.md)
	$(PY) -m bench

lint: $(DEV_STAMP)  ## ruff check, ruff format --check, mypy strict
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy sync armemu bench

docs: $(DEV_STAMP)  ## build the reference site into site/ (mkdocs serve: read it live)
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --quiet --site-dir site
	@echo "site/index.html"

clean:  ## remove the virtual environments and tool caches
	rm -rf $(VENV) $(AZ_VENV) site ipsync.egg-info .mypy_cache .ruff_cache .pytest_cache .hypothesis
