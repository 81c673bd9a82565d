# Two entry points for a fresh machine: `make demo` and `make test`. Both build .venv from the lock
# file first, so nothing but Python 3.11 has to be installed beforehand.

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PG_URL ?= postgresql://root@127.0.0.1:5432/test
export USM_DATA_DIR ?= $(CURDIR)/var

.PHONY: demo test test-sqlite test-postgres lint venv clean

venv: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "make: $(PYTHON) is needed (Python 3.11)"; exit 2; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

demo: venv
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
