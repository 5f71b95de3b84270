# The two set-up commands: `make dev` and `make test` (see README.md); `make help` lists all.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NODE_STAMP := tests/node/node_modules/.installed

.PHONY: help dev test venv chromium redis node-deps lint package bench bench-record soak sdk-suite clean
.DEFAULT_GOAL := help

# Every target with a `## ` note on its line, one line each.
help: ## list the targets, one line each
	@awk 'BEGIN {FS = ":[^#]*## "} /^[a-z][a-z-]*:.*## / {printf "  make %-13s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(STAMP): requirements.txt requirements-dev.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "Python 3.10 or newer is required")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check -r requirements.txt -r requirements-dev.txt
	@touch $@

venv: $(STAMP) ## create or refresh .venv (requirements.txt, requirements-dev.txt)

chromium: ## install Debian's chromium for the browser tests when missing (as root)
	@bash scripts/ensure-chromium.sh

redis: ## install Debian's redis-server for the shared-limits tests when missing (as root)
	@bash scripts/ensure-redis.sh

# Node.js and ali-oss for the tests that run tests/node/*.mjs (npm registry).
$(NODE_STAMP): tests/node/package.json tests/node/package-lock.json tests/node/ensure-node.sh
	@bash tests/node/ensure-node.sh
	@touch $@

node-deps: $(NODE_STAMP) ## install Node.js and tests/node's pinned ali-oss (npm registry)

dev: venv ## run the local cloud in the foreground and print the page URL; Ctrl-C stops it
	$(BIN)/python -m localcloud

test: venv chromium redis node-deps ## run every test, browser tests included
	$(BIN)/python -m pytest

# The zips FC receives (CPython 3.10, manylinux x86_64 deps), one per instance model
# (README, "Instance model"): built-in runtime and custom runtime (adds gunicorn); needs PyPI.
package: venv ## build the FC deployment zips, build/oss-upload-signer{,-custom}.zip
	$(BIN)/python -m deploy.package --variant builtin --out build/oss-upload-signer.zip
	$(BIN)/python -m deploy.package --variant custom --out build/oss-upload-signer-custom.zip

lint: venv ## ruff and mypy (strict)
	$(BIN)/ruff check functions localcloud tests bench scripts deploy
	$(BIN)/mypy

# One table of measured figures, written to build/bench/RESULTS.md (untracked);
# BENCH_RECORD=1, or `make bench-record`, writes the tracked bench/RESULTS.md instead.
BENCH_OUT = $(if $(filter 1 yes true,$(BENCH_RECORD)),bench/RESULTS.md,build/bench/RESULTS.md)

bench: venv redis ## run the benchmarks: one table, written to build/bench/RESULTS.md
	@bash bench/ensure-wrk.sh
	$(BIN)/python bench/run.py --out $(BENCH_OUT)

bench-record: ## run the benchmarks and update the tracked bench/RESULTS.md
	@$(MAKE) --no-print-directory bench BENCH_RECORD=1

# The long reliability runs (pytest -m slow); `make test` runs the bounded ones.
soak: venv ## the long reliability runs (pytest -m slow)
	$(BIN)/python -m pytest -m slow tests/reliability

# The official Python SDK's object-level integration tests against a fresh local cloud;
# SUITE is a checkout of aliyun/alibabacloud-oss-python-sdk-v2 (nothing is fetched).
sdk-suite: venv ## run the SDK's integration tests (SUITE=/path/to/checkout): counts by file
	@test -n "$(SUITE)" || { echo "usage: make sdk-suite SUITE=/path/to/alibabacloud-oss-python-sdk-v2"; exit 2; }
	$(BIN)/python scripts/run_sdk_suite.py "$(SUITE)"

clean: ## remove .venv, .localcloud, test-output, build and tests/node/node_modules
	rm -rf $(VENV) .localcloud test-output build tests/node/node_modules
