# The README's two commands: `make run` (the whole product on embedded defaults)
# and `make test` (installs everything it needs, then runs every suite).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.deps-$(shell cat requirements.txt requirements-dev.txt | sha1sum | cut -c1-12)
PYTEST_ARGS ?= -q -n 2

.PHONY: run test lint test-sqlite test-postgres deps system-deps node-deps bench clean

run: deps node-deps
	@scripts/run-local.sh

test: system-deps deps node-deps
	$(MAKE) lint
	$(MAKE) test-sqlite
	$(MAKE) test-postgres

# The house rules: import layers and boundaries (.importlinter), Python lint and
# format (ruff.toml), and the add-in's JavaScript (eslint.config.js). A new import
# cycle, layer break or lint error fails here, before the suites run.
lint:
	$(VENV)/bin/lint-imports
	$(VENV)/bin/ruff check server emulator bench tests
	$(VENV)/bin/ruff format --check server emulator bench tests
	npm run --silent lint

# The whole suite on the embedded default database (SQLite).
test-sqlite:
	$(PY) -m pytest $(PYTEST_ARGS)

# Everything that touches the database, again on a throwaway PostgreSQL cluster
# (the emulator's own tests and the browser tests don't depend on the database).
test-postgres:
	@scripts/with-postgres.sh $(PY) -m pytest --ignore=tests/emulator --ignore=tests/browser \
	  --ignore=tests/addin $(PYTEST_ARGS)

system-deps:
	@scripts/install-system-deps.sh

deps: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -r requirements-dev.txt
	@rm -f $(VENV)/.deps-* && touch $@

node-deps:
	@if [ -f package.json ]; then \
	  if [ ! -d node_modules ] || [ package-lock.json -nt node_modules ]; then \
	    npm ci --no-audit --no-fund --loglevel=error && touch node_modules; \
	  fi; \
	fi

bench: deps
	$(PY) -m bench

clean:
	rm -rf $(VENV) node_modules instance .pytest_cache
