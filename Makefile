# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev
export FLASK_APP := app:create_app

.PHONY: run test install install-dev migrate seed lint contract bench-auth clean

$(STAMP): requirements.txt
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	touch $(STAMP)

$(DEV_STAMP): $(STAMP) requirements-dev.txt
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(DEV_STAMP)

install: $(STAMP)

install-dev: $(DEV_STAMP)

migrate: install
	mkdir -p instance
	$(BIN)/flask db upgrade

seed: migrate
	$(BIN)/flask seed-demo

run: seed
	$(BIN)/python wsgi.py

test: install-dev
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install-dev
	$(BIN)/ruff check app jobs admin_portal paypal_sandbox calendar_sandbox tests bench migrations/env.py
	$(BIN)/lint-imports

# The OpenAPI document validates, and a TypeScript client generated from it type-checks (contract/client.ts).
# Schemathesis runs in `make test` (tests/contract).
contract: install-dev
	mkdir -p contract/build
	FLASK_CONFIG=testing $(BIN)/flask openapi write --format=json contract/build/openapi.json
	$(BIN)/openapi-spec-validator contract/build/openapi.json
	cd contract && npm ci --no-audit --no-fund --loglevel=error && npm run --silent generate && npm run --silent typecheck

bench-auth: install-dev
	$(BIN)/python bench/auth.py

clean:
	rm -rf $(VENV) instance
