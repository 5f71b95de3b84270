# The two set-up commands: `make dev` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NODE_STAMP := tests/node/node_modules/.installed

.PHONY: dev test venv chromium node-deps lint package bench soak clean

$(STAMP): requirements.txt requirements-dev.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "Python 3.10 or newer is required")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check -r requirements.txt -r requirements-dev.txt
	@touch $@

venv: $(STAMP)

chromium:
	@bash scripts/ensure-chromium.sh

# Node.js and ali-oss for the tests that run tests/node/*.mjs (npm registry).
$(NODE_STAMP): tests/node/package.json tests/node/package-lock.json tests/node/ensure-node.sh
	@bash tests/node/ensure-node.sh
	@touch $@

node-deps: $(NODE_STAMP)

dev: venv
	$(BIN)/python -m localcloud

test: venv chromium node-deps
	$(BIN)/python -m pytest

# The zip FC receives (CPython 3.10, manylinux x86_64 deps); needs PyPI.
package: venv
	$(BIN)/python -m deploy.package --out build/oss-upload-signer.zip

lint: venv
	$(BIN)/ruff check functions localcloud tests bench scripts
	$(BIN)/mypy

# One table of measured figures; also written to bench/RESULTS.md.
bench: venv
	@bash bench/ensure-wrk.sh
	$(BIN)/python bench/run.py

# The long reliability runs (pytest -m slow); `make test` runs the bounded ones.
soak: venv
	$(BIN)/python -m pytest -m slow tests/reliability

clean:
	rm -rf $(VENV) .localcloud test-output build tests/node/node_modules
