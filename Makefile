# The two set-up commands: `make dev` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: dev test venv chromium lint package bench soak clean

$(STAMP): requirements.txt requirements-dev.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "Python 3.10 or newer is required")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check -r requirements.txt -r requirements-dev.txt
	@touch $@

venv: $(STAMP)

chromium:
	@bash scripts/ensure-chromium.sh

dev: venv
	$(BIN)/python -m localcloud

test: venv chromium
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
	rm -rf $(VENV) .localcloud test-output build
