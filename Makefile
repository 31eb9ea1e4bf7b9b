# revlib workspace. `make help` lists the targets.
# Every target that needs Python creates (or reuses) the local virtual environment .venv first.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
ARGS   ?=

.DEFAULT_GOAL := help
.PHONY: help setup report test test-fast lint format lab sample bench clean

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "revlib needs Python 3.11+, found " + sys.version.split()[0])'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "installing revlib and its pinned dependencies into $(VENV) ..."
	@$(BIN)/python -m pip install -q --disable-pip-version-check uv \
	  && $(BIN)/uv pip install -q --python $(BIN)/python -c constraints.txt -e ".[dev]" \
	  || $(BIN)/python -m pip install -q --disable-pip-version-check -c constraints.txt -e ".[dev]"
	@touch $(STAMP)

setup: $(STAMP) ## create or update the virtual environment .venv

report: $(STAMP) ## run every report notebook on the sample data into reports/<timestamp>/ (ARGS="..." for revlib run options)
	$(BIN)/revlib run $(ARGS)

test: $(STAMP) ## the whole suite: nbval over every notebook, then unit, property, recovery, runner and report tests
	$(BIN)/python -m pytest notebooks tests --nbval-lax --nbval-current-env --nbval-cell-timeout=900 $(ARGS)

test-fast: $(STAMP) ## unit tests only (no notebooks, no slow tests)
	$(BIN)/python -m pytest tests -m "not slow and not notebooks" $(ARGS)

lint: $(STAMP) ## ruff lint + format check (code and notebooks), mypy on revlib, notebooks committed without outputs
	$(BIN)/ruff check revlib tests benchmarks notebooks
	$(BIN)/ruff format --check revlib tests benchmarks notebooks
	$(BIN)/python -m mypy
	$(BIN)/python -m pytest -q tests/test_notebooks.py

format: $(STAMP) ## ruff fix + format
	$(BIN)/ruff check --fix revlib tests benchmarks notebooks
	$(BIN)/ruff format revlib tests benchmarks notebooks

lab: $(STAMP) ## open JupyterLab on notebooks/
	$(BIN)/jupyter lab notebooks

sample: $(STAMP) ## regenerate the bundled sample company in data/sample
	$(BIN)/revlib synth --out data/sample

bench: $(STAMP) ## run the benchmarks (results printed and written under benchmarks/results/)
	$(BIN)/python -m benchmarks $(ARGS)

clean: ## remove the virtual environment and caches (reports are kept)
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
