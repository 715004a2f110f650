# pmbot developer entry points. `make run` and `make test` work on a fresh
# Debian machine: they create .venv, install pmbot with its dev extras, and
# (for tests) the Debian packages the browser and deployment tests need.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
PYTEST_ARGS ?=

.PHONY: install run test lint fmt bench demo system-deps

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/python -m pmbot serve

# chromium drives the UI tests (Playwright uses /usr/bin/chromium, never a
# downloaded browser); docker-compose validates the compose file; wrk loads the
# API benchmark; sqlite3 is the CLI the runbook uses; git keeps and tests the mirrors.
system-deps:
	@if ! command -v chromium >/dev/null || ! command -v docker-compose >/dev/null \
	    || ! command -v wrk >/dev/null || ! command -v sqlite3 >/dev/null \
	    || ! command -v git >/dev/null; then \
	  $(SUDO) apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	    chromium docker-compose wrk sqlite3 git >/dev/null; \
	fi

test: install system-deps
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

fmt: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: install system-deps
	@for script in bench/bench_*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

demo: install
	$(BIN)/python -m tests.fake_github.demo
