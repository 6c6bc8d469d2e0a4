# Two commands for a fresh machine with Python 3.11+ and make: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev
BENCH_STAMP := $(VENV)/.installed-bench
PYTEST_ARGS ?=

.PHONY: demo test lint pytest bench clean action-lock

$(STAMP): pyproject.toml requirements.lock
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "snail-images needs Python 3.11 or newer: set PYTHON=python3.11")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[dev,embedded]'
	@touch $@

$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[dev,embedded,bench]'
	@touch $@

demo: $(STAMP)
	$(BIN)/snail-images demo --out demo-output

# Each linter runs here once; the tests do not run them again.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/cfn-lint cloudformation/template.yaml
	$(BIN)/check-jsonschema --builtin-schema vendor.github-actions action.yml
	$(BIN)/check-jsonschema --builtin-schema vendor.github-workflows examples/workflows/*.yml .github/workflows/*.yml
	$(BIN)/zizmor --offline --no-progress action.yml examples/workflows/*.yml .github/workflows/*.yml

pytest: $(STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadfile $(PYTEST_ARGS)

test: lint pytest

bench: $(BENCH_STAMP)
	@for b in bench/*_bench.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

# The action's runtime set, hash-locked: pyproject.toml's dependencies (and the setuptools that builds the
# project), at the versions requirements.lock pins where it pins them. Run after changing either file;
# tests/test_action_lock.py fails while requirements-action.txt is stale.
action-lock: $(STAMP)
	$(BIN)/pip-compile --quiet --generate-hashes --strip-extras --allow-unsafe --no-emit-index-url \
		--no-emit-find-links --build-deps-for wheel --constraint requirements.lock \
		--output-file requirements-action.txt pyproject.toml

clean:
	rm -rf $(VENV) build demo-output .pytest_cache

include cloudformation/cloudformation.mk
