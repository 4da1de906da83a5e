# Two commands for a newcomer: `make run` and `make test`. Each builds the venv it needs.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: run test lint bench simulate clean

$(STAMP): requirements.txt requirements-dev.txt
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required"'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

run: $(STAMP)
	$(PY) -m devstack run

test: $(STAMP)
	bash scripts/install-browser.sh
	$(VENV)/bin/ruff check .
	$(PY) -m pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check .

# Benchmarks print numbers and ratios against a baseline measured in the same run.
bench: $(STAMP)
	$(PY) -m benchmarks.ingest
	$(PY) -m benchmarks.readers
	$(PY) -m benchmarks.things_listing
	$(PY) -m benchmarks.e2e_latency

# A device simulator (AWS IoT Device SDK v2): make simulate ARGS="--thing-id ... --thing-key ... --channel ..."
simulate: $(STAMP)
	$(PY) -m devstack.simulator $(ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache

# -- AWS deployment (DEPLOY.md): STAGE=dev|prod ------------------------------------------------
STAGE ?= dev
.PHONY: wheelhouse package deploy teardown

wheelhouse: $(STAMP)
	$(PY) -m deploy wheelhouse --stage $(STAGE)

package: $(STAMP)
	$(PY) -m deploy package --stage $(STAGE)

deploy: $(STAMP)
	$(PY) -m deploy deploy --stage $(STAGE) $(if $(PARAMS),$(foreach p,$(PARAMS),--param $(p)))

teardown: $(STAMP)
	$(PY) -m deploy teardown --stage $(STAGE) $(if $(YES),--yes)
$(STAMP): deploy/requirements.txt
