# Two entry points for a fresh machine: `make demo` and `make test`. Both build .venv from the lock
# file first, so nothing but Python 3.11 has to be installed beforehand.

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
RUNTIME := $(VENV)/.runtime-installed
STAMP := $(VENV)/.installed
PG_URL ?= postgresql://root@127.0.0.1:5432/test
export USM_DATA_DIR ?= $(CURDIR)/var

.PHONY: demo test test-sqlite test-postgres lint venv clean

# What the application itself runs on: the project and its dependencies, at the versions of the
# lock (given as constraints, so they are the very versions the suite runs against). The test
# tools (pm4py with pandas and scipy, playwright, schemathesis...) take most of the lock's install
# time and the demo needs none of them. The pip a venv comes with installs the lock's wheels;
# upgrading it first only fetched an unpinned pip. Nothing is byte-compiled at install: Python
# compiles what the application imports when it first imports it, not every module installed.
$(RUNTIME): requirements.lock pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "make: $(PYTHON) is needed (Python 3.11)"; exit 2; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-compile \
		-c requirements.lock -e .
	touch $(RUNTIME)

# Everything in the lock: the test tools on top of the runtime.
$(STAMP): $(RUNTIME)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	touch $(STAMP)

venv: $(STAMP)

demo: $(RUNTIME)
	$(BIN)/usm demo

lint: venv
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

test-sqlite: venv
	USM_DATA_DIR=$$(mktemp -d) $(BIN)/pytest

# The same suite against PostgreSQL; pytest-django creates and drops its own test database there.
test-postgres: venv
	USM_DATA_DIR=$$(mktemp -d) USM_DATABASE_URL=$(PG_URL) $(BIN)/pytest -m "not slow"

test: lint test-sqlite test-postgres

clean:
	rm -rf $(VENV) var .pytest_cache
