# The two commands: `make run` (the whole system on this machine) and `make test`.
SHELL := /bin/bash
PY := .venv/bin/python
DATA_DIR ?= ./.data
# Test processes side by side (pytest-xdist): the suite waits on brokers and processes more than on CPU.
TEST_WORKERS ?= 2
export DATA_DIR

.PHONY: run test lint install deploy-tools unit e2e demo bench bench-ingest bench-volume schemas clean

run: install          ## install what is missing, start Kafka, SecantusDB, every service and demo data
	$(PY) -m jmo_local.run

test: lint deploy-tools ## install what is missing, check the code, run unit, integration, contract and e2e tests
	$(PY) -m pytest -q -p no:cacheprovider -n $(TEST_WORKERS) --dist loadfile

lint: install         ## ruff (lint and format) and mypy (strict on the domain packages), as configured in pyproject.toml
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

install:
	@scripts/install.sh

# The deploy tests' offline tools (kustomize, deploycheck, the schema validators), built once before the
# test workers start rather than by each worker at once. If they cannot be built, the tests that need
# them skip and give the reason.
deploy-tools: install
	@echo "==> deploy test tools (deploy/tests/tools.sh)"
	@deploy/tests/tools.sh >/dev/null || echo "deploy/tests/tools.sh failed: the deploy tests that need its tools will skip and say why"

unit: install
	$(PY) -m pytest -q -m "not integration and not e2e"

e2e: install
	$(PY) -m pytest -q tests/e2e

demo: install         ## walk one demo member through a JHT claim (make run first)
	$(PY) -m jmo_local.walkthrough

bench: install        ## claims at a fixed rate against the running system: latency, CPU/DB/Kafka per claim, DB ceiling (make run first)
	$(PY) -m jmo_local.bench $(BENCH_ARGS)

bench-ingest: install ## a bulk contribution posting: events/s until every balance is visible, cost per event (make run first)
	$(PY) -m jmo_local.ingest_bench $(BENCH_ARGS)

bench-volume: install ## fresh claims, then contributions and paid claims in bulk, then the same claims again (make run first)
	$(PY) -m jmo_local.volume_bench $(BENCH_ARGS)

schemas: install      ## regenerate shared/schemas and shared/asyncapi.yaml after an additive change
	$(PY) -m jmo_shared.contracts write

clean:
	rm -rf $(DATA_DIR)
