# Both main targets set themselves up: a fresh machine needs only python3, pip and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint types unit ts chromium docs docs-serve bench bench-dashboard bench-peers clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The Node examples of the docs (EventSource) need their npm packages.
NODE_EXAMPLES := docs/examples/node/node_modules/.installed
$(NODE_EXAMPLES): docs/examples/node/package.json docs/examples/node/package-lock.json
	cd docs/examples/node && npm ci --no-audit --no-fund --silent
	touch $@

demo: $(STAMP)
	$(BIN)/runstream demo

test: lint types unit ts docs

lint: $(STAMP)
	$(BIN)/ruff check src tests bench docs/examples docs/hooks
	$(BIN)/ruff format --check src tests bench docs/examples docs/hooks

types: $(STAMP)
	$(BIN)/mypy

# Two test processes (pytest-xdist): the suite mostly waits on servers and subprocesses.
unit: $(STAMP) $(NODE_EXAMPLES) chromium
	$(BIN)/pytest -n 2

# The docs site (MkDocs Material) in site/; strict: a broken link or a missing page fails.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet

docs-serve: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs serve

# The TypeScript client's tests (clients/typescript) against a real `runstream serve`.
TS := clients/typescript
$(TS)/node_modules/.installed: $(TS)/package.json $(TS)/package-lock.json
	cd $(TS) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

ts: $(STAMP) $(TS)/node_modules/.installed
	cd $(TS) && RUNSTREAM_BIN=$(abspath $(BIN))/runstream npm test --silent

# The dashboard's browser tests drive Debian's Chromium (never Playwright's download).
chromium:
	@command -v chromium >/dev/null || (apt-get update -q && apt-get install -y -q chromium)

# Benchmarks against a real `runstream serve` on 127.0.0.1 (bench/README.md); < 10 minutes.
bench: $(STAMP)
	$(BIN)/python bench/run.py

# Dashboard responsiveness: 200 executions listed, a workflow streaming 2,000 tokens/s.
bench-dashboard: $(STAMP) chromium
	$(BIN)/python bench/dashboard.py

# The same workflow shapes on a Temporal dev server and DBOS (SQLite), side by side.
PEERS := .venv-peers
$(PEERS)/.installed: bench/peers/requirements.txt
	$(PYTHON) -m venv $(PEERS)
	$(PEERS)/bin/pip install --quiet -r bench/peers/requirements.txt
	touch $(PEERS)/.installed

bench-peers: $(STAMP) $(PEERS)/.installed
	$(BIN)/python bench/compare_peers.py --peers-python $(PEERS)/bin/python

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache site docs/examples/node/node_modules \
		$(TS)/node_modules $(TS)/build $(TS)/dist
