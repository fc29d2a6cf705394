# Two commands on a fresh machine with python3 and make:
#   make run   - create .venv, install, migrate the SQLite database, serve on 127.0.0.1:8000
#   make test  - create .venv with the dev tools, run the whole test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip --disable-pip-version-check

.PHONY: run test lint typecheck migrate bench-ingest clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	@echo "Installing the service and its dependencies into $(VENV) (about a minute the first time)..."
	$(PIP) install --progress-bar on -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	@echo "Installing the service with its test and development tools into $(VENV) (a minute or two the first time)..."
	$(PIP) install --progress-bar on -e ".[dev]"
	touch $@ $(VENV)/.installed

run: $(VENV)/.installed
	$(BIN)/mrd serve

migrate: $(VENV)/.installed
	$(BIN)/mrd migrate

test: $(VENV)/.installed-dev
	$(BIN)/ruff check app tests bench alembic docs
	$(BIN)/mypy app
	$(BIN)/lint-imports
	$(BIN)/pytest

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check app tests bench alembic docs
	$(BIN)/ruff format --check app tests bench alembic docs
	$(BIN)/lint-imports

typecheck: $(VENV)/.installed-dev
	$(BIN)/mypy app

# Against a service started with `make run` (set MRD_API_KEY to an ingest key).
bench-ingest: $(VENV)/.installed
	$(BIN)/python bench/ingest.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
