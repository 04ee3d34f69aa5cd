# dstack-gov: one command for the demo, one for the tests.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup test demo lint contracts bench clean

$(STAMP): pyproject.toml requirements.lock package-lock.json
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c requirements.lock -e '.[dev]'
	# `npm ci` installs exactly what package-lock.json pins (every platform's anvil/cast entry is listed).
	npm ci --no-audit --no-fund --loglevel=error
	touch $(STAMP)

## setup: create the virtualenv and install the pinned Python and npm tools
setup: $(STAMP)

## test: lint, type-check and run the whole test suite
test: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	bash .ci/with-postgres $(BIN)/pytest -q

## demo: start a local devnet and run the dstack admin sequence against it
demo: setup
	$(BIN)/dstack-gov demo

## lint: ruff and mypy only
lint: setup
	$(BIN)/ruff check .
	$(BIN)/mypy

## contracts: recompile the Solidity sources into contracts/artifacts
contracts: setup
	node contracts/build.mjs

## bench: every measurement in bench/ (each prints ratios measured in one run)
bench: setup
	PYTHONPATH=$(CURDIR) $(BIN)/python bench/gas.py
	PYTHONPATH=$(CURDIR) $(BIN)/python bench/multisend_gas.py
	PYTHONPATH=$(CURDIR) $(BIN)/python bench/signatures.py
	PYTHONPATH=$(CURDIR) $(BIN)/python bench/store.py
	PYTHONPATH=$(CURDIR) $(BIN)/python bench/latency.py
	PYTHONPATH=$(CURDIR) $(BIN)/python bench/rpc_count.py
	PYTHONPATH=$(CURDIR) $(BIN)/python bench/authapi/run.py
	PYTHONPATH=$(CURDIR) $(BIN)/python bench/bot_latency.py
	PYTHONPATH=$(CURDIR) $(BIN)/python bench/bot_rss.py
	PYTHONPATH=$(CURDIR) $(BIN)/python bench/signing_page.py
	PYTHONPATH=$(CURDIR) $(BIN)/python bench/policy_plan.py
	PYTHONPATH=$(CURDIR) $(BIN)/python bench/slow_rpc.py
	PYTHONPATH=$(CURDIR) $(BIN)/python -m bench.tx_service_sync
	PYTHONPATH=$(CURDIR) bash .ci/with-postgres $(BIN)/python bench/failover.py

clean:
	rm -rf $(VENV) node_modules .pytest_cache .mypy_cache .ruff_cache
