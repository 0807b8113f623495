# MIRROR STAGE developer commands. `make test` is exactly what CI runs.
SHELL := /bin/bash
.DEFAULT_GOAL := help
PYTHON ?= python3
export UV_PYTHON_DOWNLOADS := never
# uv from PATH when there is one, else bootstrapped with pip into .tools (never into the system Python).
UV := $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)
VENV := .venv
BIN := $(VENV)/bin

.PHONY: help install browser containers bench-tools up test test-unit test-integration test-e2e lint format docs bench clean

help: ## list the targets
	@grep -hE '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  \033[1m%-18s\033[0m %s\n", $$1, $$2}'

$(BIN)/.installed: pyproject.toml uv.lock $(wildcard */pyproject.toml */*/pyproject.toml)
	@$(UV) --version >/dev/null 2>&1 || { $(PYTHON) -m venv .tools && .tools/bin/pip install --quiet 'uv>=0.5'; }
	$(UV) sync --locked --all-packages --compile-bytecode --python $(PYTHON)
	@touch $@

install: $(BIN)/.installed ## create .venv with every workspace member and the dev tools (idempotent)

# The HUD's lint and format tools (ESLint, Prettier), pinned by package-lock.json; installed
# again only when the lock changes. --ignore-scripts: no package runs code of its own here.
node_modules/.installed: package.json package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund
	@touch $@

up: install ## run the whole stack on embedded NATS and PostgreSQL (Ctrl-C stops it)
	$(BIN)/mirror-stage up $(ARGS)

# Each missing tool of $(1) (command:package pairs) installed with apt-get when run as root,
# else named with its package for whoever runs $(2): `make test` and `make bench` alone prepare
# a fresh machine.
define require_tools
	@for tool in $(1); do \
	  command -v $${tool%%:*} >/dev/null 2>&1 && continue; \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && apt-get install -y -qq $${tool##*:} || exit 1; \
	  else \
	    echo "$(2) need $${tool%%:*}: install your distribution's $${tool##*:} package" >&2; exit 1; \
	  fi; \
	done
endef

# The HUD's browser tests drive the distribution's Chromium, and its unit tests run under Node.
# Its Korean needs a font with Hangul (fonts-nanum when fontconfig lists none), or the Korean
# screenshots show empty boxes.
browser: ## install the system's Chromium, Node.js and a Korean font for the HUD's tests when missing
	$(call require_tools,chromium:chromium node:nodejs,the HUD's tests)
	@fc-list :lang=ko family 2>/dev/null | grep -q . || \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && apt-get install -y -qq fonts-nanum; \
	  else \
	    echo "the HUD's tests need a font with Korean: install your distribution's fonts-nanum" >&2; exit 1; \
	  fi

# tests/e2e/test_compose_up.py runs deploy/compose.yaml under podman-compose on images it builds
# itself: its base images with debootstrap, containers under runc (the test's containers.conf
# says so: crun refuses hosts with hybrid cgroups).
containers: ## install podman, podman-compose, debootstrap and runc for the compose test when missing
	$(call require_tools,podman:podman podman-compose:podman-compose debootstrap:debootstrap runc:runc,tests/e2e/test_compose_up.py)

# tests/e2e/test_scrape.py reads a real node_exporter, Debian's, on loopback.
node-exporter: ## install Debian's prometheus-node-exporter for the scraper's tests when missing
	$(call require_tools,prometheus-node-exporter:prometheus-node-exporter,tests/e2e/test_scrape.py)

# The HTTP gateway's bench loads it with wrk, not with Python (which would share the CPU it
# measures at a fraction of the rate).
bench-tools: ## install wrk, the gateway bench's load generator, when it is missing
	$(call require_tools,wrk:wrk,bench/bench_ingest_http.py)

# The tests start hundreds of Python processes (pytest's workers, services, agents). The
# dependencies' bytecode is compiled at install; this lets the first process write the
# project's own and pytest's rewritten test modules (in git-ignored __pycache__ folders) for
# the rest to read, even where the environment sets PYTHONDONTWRITEBYTECODE: each worker
# otherwise spends ~5 s of CPU rewriting and compiling the tests before it runs one.
PYTEST := PYTHONDONTWRITEBYTECODE= $(BIN)/pytest

# Two workers more than cores (at most 6), each taking whole files so that a module's shared
# stack starts once (the tests spend much of their time waiting on their servers); the longest
# files first, in tests/conftest.py's order.
TEST_WORKERS := $(shell n=$$(nproc 2>/dev/null || echo 2); echo $$(( n + 2 < 6 ? n + 2 : 6 )))
test: install browser containers node-exporter ## run every test (unit, integration and e2e, on real servers); what CI runs
	$(PYTEST) --numprocesses $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder

test-unit: install browser ## run the unit tests only (seconds, no servers; the HUD's under Node too)
	$(PYTEST) -m unit

test-integration: install ## run the integration tests only (real nats-server and PostgreSQL)
	$(PYTEST) -m integration

test-e2e: install browser containers ## run the end-to-end tests only (the whole stack; the HUD in Chromium)
	$(PYTEST) -m e2e

lint: install node_modules/.installed ## ruff, mypy --strict; ESLint and Prettier on the HUD's JavaScript
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy libs/schema/src libs/derive/src libs/runtime/src agent/src services/*/src stack/src
	npx --no-install eslint eslint.config.js hud tests/unit/hud
	npx --no-install prettier --check eslint.config.js hud tests/unit/hud

format: install node_modules/.installed ## apply ruff's fixes and formatting; Prettier's to the JavaScript
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .
	npx --no-install prettier --write eslint.config.js hud tests/unit/hud

# Generated documents, one command each; a unit test fails when a checked-in one is stale. The
# configuration tables come from each part's settings declarations, the OpenAPI document from
# the API operations' declarations.
docs: install ## regenerate the generated docs (configuration tables, docs/openapi.json)
	$(BIN)/python -m mirror_stage.configuration_docs docs/configuration.md
	$(BIN)/python -m mirror_schema.openapi docs/openapi.json

bench: install browser bench-tools ## run the benchmarks (they print figures)
	@for b in bench/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean: ## remove the virtualenv, node_modules, test artifacts and caches (keeps .mirror-stage data)
	rm -rf $(VENV) .tools node_modules .mypy_cache .ruff_cache .pytest_cache .hypothesis .artifacts
