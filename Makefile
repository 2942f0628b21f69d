# `make mock` serves the mock (`make mock PORT=9090 ARGS='--seed seed.yaml'`), `make test` runs every
# test; both set up .venv/ on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 8080
ARGS ?=

.PHONY: venv mock test lint format bench bench-scale contract-bench clean lifecycle-svg screenshots mutation

venv: $(STAMP)

# Reinstalled when pyproject.toml changes; the stamp keeps later runs instant.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

mock: venv
	$(BIN)/tt-mock serve --port $(PORT) $(ARGS)

test: venv
	$(BIN)/python -m pytest -n auto --dist loadgroup

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: venv
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: venv
	$(BIN)/python -m bench

bench-scale: venv
	$(BIN)/python -m bench.scale

contract-bench: venv
	$(BIN)/python -m bench.contract_suite

# The README's lifecycle picture, drawn from spec/lifecycle.yaml (tests/test_diagram.py fails when stale).
lifecycle-svg: venv
	$(BIN)/python -m spec.diagram --output docs/img/lifecycle.svg

# The README's screenshots of /docs and /_mock/ui, taken by the browser tests (Debian's chromium).
screenshots: venv
	TT_README_SCREENSHOTS=1 $(BIN)/python -m pytest -q -m browser

# Mutation score of spec/, mockserver/ and contracts/ (tools/mutation.py): the modules changed since the
# merge base with main; MUTATION_ARGS='--all' for every module, '--since REF', '--per-module 0', '--budget MIN'.
MUTATION_ARGS ?=
mutation: venv
	$(BIN)/python -m tools.mutation $(MUTATION_ARGS)

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .ruff_cache .hypothesis reports .schemathesis mutants
