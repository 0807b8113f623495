# MIRROR STAGE developer commands. `make test` is exactly what CI runs.
SHELL := /bin/bash
.DEFAULT_GOAL := help
PYTHON ?= python3
export UV_PYTHON_DOWNLOADS := never
# uv from PATH when there is one, else bootstrapped with pip into .tools (never into the system Python).
UV := $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)
VENV := .venv
BIN := $(VENV)/bin

.PHONY: help install browser up test test-unit test-integration test-e2e lint format bench clean

help: ## list the targets
	@grep -hE '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  \033[1m%-18s\033[0m %s\n", $$1, $$2}'

$(BIN)/.installed: pyproject.toml uv.lock $(wildcard */pyproject.toml */*/pyproject.toml)
	@$(UV) --version >/dev/null 2>&1 || { $(PYTHON) -m venv .tools && .tools/bin/pip install --quiet 'uv>=0.5'; }
	$(UV) sync --locked --all-packages --python $(PYTHON)
	@touch $@

install: $(BIN)/.installed ## create .venv with every workspace member and the dev tools (idempotent)

up: install ## run the whole stack on embedded NATS and PostgreSQL (Ctrl-C stops it)
	$(BIN)/mirror-stage up $(ARGS)

# The HUD's browser tests drive the distribution's Chromium; installed here when missing (as
# root, with apt-get), so that `make test` alone prepares a fresh machine.
browser: ## install the system's Chromium for the HUD's tests when it is missing
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && apt-get install -y -qq chromium; \
	  else \
	    echo "the HUD's tests need Chromium: install your distribution's chromium package" >&2; exit 1; \
	  fi; }

test: install browser ## run every test (unit, integration and e2e, on real servers); what CI runs
	$(BIN)/pytest

test-unit: install ## run the unit tests only (seconds, no servers)
	$(BIN)/pytest -m unit

test-integration: install ## run the integration tests only (real nats-server and PostgreSQL)
	$(BIN)/pytest -m integration

test-e2e: install browser ## run the end-to-end tests only (the whole stack; the HUD in Chromium)
	$(BIN)/pytest -m e2e

lint: install ## ruff check, ruff format --check, mypy --strict
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy libs/schema/src libs/derive/src libs/runtime/src agent/src services/*/src stack/src

format: install ## apply ruff's fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: install ## run the benchmarks (they print figures)
	@for b in bench/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean: ## remove the virtualenv and caches (keeps .mirror-stage data)
	rm -rf $(VENV) .tools .mypy_cache .ruff_cache .pytest_cache .hypothesis .artifacts
