# Every target installs what it needs itself, so each works on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
NODE_STAMP := node_modules/.installed-stamp

.PHONY: install serve check test lint fuzz bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

$(NODE_STAMP): package.json
	npm install --no-audit --no-fund --no-package-lock --loglevel=error
	touch $@

install: $(STAMP) $(NODE_STAMP)

## The main job: serve the stub on 127.0.0.1:8080 (SQLite store in ./vevents.db).
serve: $(STAMP)
	$(BIN)/vevents serve

## Check the bundled stub (or BASE_URL=... TOKEN=...) against the contract.
check: $(STAMP)
	$(BIN)/vevents check $(if $(BASE_URL),--base-url $(BASE_URL)) $(if $(TOKEN),--token $(TOKEN))

## The tests: lint, then the whole pytest suite.
test: $(STAMP) $(NODE_STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

lint: $(STAMP) $(NODE_STAMP)
	$(BIN)/ruff check .
	node_modules/.bin/spectral lint --ruleset .spectral.yaml --fail-severity=hint spec/virtual-events.yaml

clean:
	rm -rf $(VENV) node_modules build *.egg-info
