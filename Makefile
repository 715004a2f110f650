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

# bench_sync times the import of this code and of BENCH_BASELINE (the commit before issue
# 15, checked out beside it) in the same run, so the ratio holds whatever the machine's speed.
BENCH_BASELINE ?= d0a56bc
BASELINE_DIR := /tmp/pmbot-bench-baseline-$(BENCH_BASELINE)

bench: install system-deps
	@[ -d $(BASELINE_DIR) ] || git worktree add --detach $(BASELINE_DIR) $(BENCH_BASELINE) >/dev/null
	@for script in bench/bench_*.py; do echo "== $$script"; \
	  case $$script in bench/bench_sync.py) args="--baseline $(BASELINE_DIR)";; *) args="";; esac; \
	  $(BIN)/python $$script $$args || exit 1; done

demo: install
	$(BIN)/python -m tests.fake_github.demo
