# Every target installs what it needs itself, so each works on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Three installs, each a superset of the one before: the stub alone (core dependencies, what
# `make serve` needs: a light first run), plus the conformance suite (`.[check]`), plus
# everything the tests drive (`.[test]`: the Graph SDKs, generators, linters).
SERVE_STAMP := $(VENV)/.installed-serve-stamp
CHECK_STAMP := $(VENV)/.installed-check-stamp
STAMP := $(VENV)/.installed-stamp
NODE_STAMP := node_modules/.installed-stamp

.PHONY: typecheck install serve check test lint fuzz bench bench-smoke bench-suite bench-tools postgres-server browser clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(SERVE_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(CHECK_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[check]'
	touch $@

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	@# .[test] holds .[check] and the core: the lighter installs are done too.
	touch $(SERVE_STAMP) $(CHECK_STAMP) $@

$(NODE_STAMP): package.json
	npm install --no-audit --no-fund --no-package-lock --loglevel=error
	touch $@

install: $(STAMP) $(NODE_STAMP)

## The main job: serve the stub on 127.0.0.1:8080 (SQLite store in ./vevents.db).
serve: $(SERVE_STAMP)
	$(BIN)/vevents serve

## Check the bundled stub (or BASE_URL=... TOKEN=...) against the contract.
check: $(CHECK_STAMP)
	$(BIN)/vevents check $(if $(BASE_URL),--base-url $(BASE_URL)) $(if $(TOKEN),--token $(TOKEN))

## The tests: lint, then the whole pytest suite, on several workers (pytest-xdist). Much of the
## suite waits on sockets, subprocesses or Retry-After rather than computes, so more workers than
## cores pay: one worker per core plus one (at most 8). No test may depend on another having run
## in the same process before it (xdist's grouping, --dist loadgroup, does not work with pytest
## 9.2). `make test PYTEST_WORKERS=` runs them one after the other.
PYTEST_WORKERS ?= -n $(shell n=$$(nproc 2>/dev/null || echo 2); echo $$(( n + 1 > 8 ? 8 : n + 1 )))
## Line coverage of the product, opt-in: `make test COVERAGE=1` (pytest-cov over the xdist workers;
## settings in pyproject.toml's [tool.coverage]) prints the total and the files not fully covered at
## the end, and fails below COVERAGE_FLOOR percent. Not on by default: on Python 3.11 (no
## sys.monitoring) the tracer cost 60 % more CPU on the server tests (42 s -> 67 s of CPU for
## test_server_lifecycle, test_subresources and test_control_faults on 2 workers).
COVERAGE ?=
COVERAGE_FLOOR ?= 0
COVERAGE_ARGS := $(if $(COVERAGE),--cov --cov-report=term --cov-fail-under=$(COVERAGE_FLOOR))
test: $(STAMP) $(NODE_STAMP)
	@# The benchmark's smoke test needs wrk and Prism: required in CI, optional (skipped) elsewhere.
	@$(MAKE) --no-print-directory bench-tools || [ -z "$$CI" ]
	@# The PostgreSQL store's tests start their own server: required in CI, skipped elsewhere.
	@$(MAKE) --no-print-directory postgres-server || [ -z "$$CI" ]
	@# The HTML report's test opens it in headless Chromium: required in CI, skipped elsewhere.
	@$(MAKE) --no-print-directory browser || [ -z "$$CI" ]
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	@$(MAKE) --no-print-directory typecheck
	@# PYTHONDONTWRITEBYTECODE (set in some CI images) would make every pytest process - each worker,
	@# each pytest a test starts - redo the assertion rewriting of the plugins' packages (~2.6 s of
	@# CPU each); the cache it writes goes to .venv and git-ignored __pycache__ folders.
	PYTHONDONTWRITEBYTECODE= $(BIN)/python -m pytest $(PYTEST_WORKERS) $(COVERAGE_ARGS)

## mypy --strict on the package as it installs (vevents, vevents.spec, vevents.server,
## vevents.conformance) and on the tests: the package's folders sit apart in the repository, so
## mypy reads them through a tree of links in build/typecheck (the editable install's import hook
## is invisible to it). Its cache (build/mypy-cache) outlives the tree of links.
typecheck: $(STAMP)
	@rm -rf build/typecheck && mkdir -p build/typecheck/vevents
	@ln -s $(CURDIR)/vevents/*.py build/typecheck/vevents/
	@for part in spec server conformance; do ln -s $(CURDIR)/$$part build/typecheck/vevents/$$part; done
	cd build/typecheck && $(CURDIR)/$(BIN)/mypy --config-file $(CURDIR)/pyproject.toml --cache-dir $(CURDIR)/build/mypy-cache vevents $(CURDIR)/tests

lint: $(STAMP) $(NODE_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	@$(MAKE) --no-print-directory typecheck
	node_modules/.bin/spectral lint --ruleset .spectral.yaml --fail-severity=hint spec/virtual-events.yaml
	node_modules/.bin/spectral lint --ruleset .spectral-control.yaml --fail-severity=hint spec/control.yaml

## The PostgreSQL server binaries the store's tests start on 127.0.0.1 (Debian/Ubuntu, as root).
postgres-server:
	@if ! command -v pg_ctl >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql; \
		else \
			echo "PostgreSQL is missing: install it as root (apt-get install postgresql) or from your package manager" >&2; exit 1; \
		fi; \
	fi

## The headless browser tests/test_html_report.py opens the HTML report in (Debian/Ubuntu, as root).
browser:
	@if ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
		else \
			echo "chromium is missing: install it as root (apt-get install chromium) or from your package manager" >&2; exit 1; \
		fi; \
	fi

## The load generator and the mock server the benchmark compares against: wrk from apt
## (Debian/Ubuntu, as root), Prism from npm (package.json devDependencies).
bench-tools: $(NODE_STAMP)
	@if ! command -v wrk >/dev/null 2>&1; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; \
		else \
			echo "wrk is missing: install it as root (apt-get install wrk) or from your package manager" >&2; exit 1; \
		fi; \
	fi
	@test -x node_modules/.bin/prism || { echo "node_modules/.bin/prism is missing after npm install" >&2; exit 1; }

## The benchmark (docs/benchmarks.md): stub vs Prism vs a bare Starlette app; several minutes.
bench: $(STAMP) bench-tools
	$(BIN)/python bench/run.py $(BENCH_ARGS)

## The benchmark in smoke mode (a few seconds): proves the harness works, measures nothing.
bench-smoke: $(STAMP) bench-tools
	$(BIN)/python bench/run.py --smoke

## What the conformance suite itself costs: `vevents check` wall time vs --max-examples.
bench-suite: $(STAMP)
	$(BIN)/python bench/suite_cost.py $(BENCH_ARGS)

## The long fuzz run (docs/reliability.md): the Schemathesis runs of tests/test_fuzz.py with
## 1000 examples per operation and 20 stateful steps; stops after 15 minutes at the latest.
## Figures in reports/fuzz.json.
FUZZ_EXAMPLES ?= 1000
FUZZ_STEPS ?= 20
FUZZ_SEED ?= 20261124
fuzz: $(STAMP)
	mkdir -p reports && rm -f reports/fuzz.json
	VEVENTS_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) VEVENTS_FUZZ_STEPS=$(FUZZ_STEPS) VEVENTS_FUZZ_SEED=$(FUZZ_SEED) \
	VEVENTS_FUZZ_REPORT=$(CURDIR)/reports/fuzz.json timeout 900 $(BIN)/python -m pytest tests/test_fuzz.py -s -q

clean:
	rm -rf $(VENV) node_modules build *.egg-info
