# promptbundle: `make build` sets up .venv on first use and builds dist/; `make test` runs every gate.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SHARED := ../shared

.PHONY: build test snapshots fidelity lint clean package check conformance bench wheel

$(STAMP): requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

build: $(STAMP)
	$(BIN)/promptbundle build

test: build
	$(BIN)/pytest -q
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy --strict src
	$(BIN)/lint-imports
	$(BIN)/promptbundle check --strict
	$(MAKE) --no-print-directory fidelity

fidelity: build
	@if [ -f $(SHARED)/tools/seed_fidelity.py ]; then \
	  $(BIN)/python $(SHARED)/tools/seed_fidelity.py $(SHARED)/seeds dist; \
	else \
	  echo "fidelity: skipped, $(SHARED)/tools/seed_fidelity.py is absent"; \
	fi

check: $(STAMP)
	$(BIN)/promptbundle check --strict

# The real clients (pinned, under .clients/) read every output of dist/, offline.
conformance: build
	$(BIN)/python tools/conformance.py install
	$(BIN)/pytest -q -m conformance
	$(BIN)/python tools/conformance.py check dist

# Release archives + SHA256SUMS in dist/release/ (VERSION=1.2.3, SINCE=v1.2.2, ALLOW_DIRTY=1 optional).
package: $(STAMP)
	$(BIN)/promptbundle package $(if $(VERSION),--version $(VERSION)) $(if $(SINCE),--since $(SINCE)) $(if $(ALLOW_DIRTY),--allow-dirty)

# The Python package: wheel + sdist of promptbundle itself (not the bundle). Under dist/release/,
# which `promptbundle build` leaves alone (anything else in dist/ is an orphan it deletes).
wheel: $(STAMP)
	$(BIN)/python -m build --no-isolation --outdir dist/release/python .

snapshots: $(STAMP)
	$(BIN)/pytest -q tests/test_snapshots.py --snapshot-update

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy --strict src
	$(BIN)/lint-imports

clean:
	rm -rf dist .promptbundle-cache .pytest_cache .mypy_cache .ruff_cache

# promptbundle against rulesync 17.0.0 (installed into bench/node_modules); writes bench/README.md.
bench: $(STAMP)
	$(BIN)/python bench/run.py
