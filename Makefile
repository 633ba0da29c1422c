# The Makefile is the project's interface: every target works from a fresh clone and is safe to rerun.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON_BOOT ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
# The stamp records which requirements-dev.txt the venv was installed from, so a changed pin refreshes it.
STAMP := $(VENV)/.installed-$(shell sha256sum requirements-dev.txt | cut -c1-16)
STACK ?= production
PIP_COMPILE := $(VENV)/bin/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras \
	--no-emit-index-url --no-emit-find-links --no-emit-trusted-host --resolver=backtracking
# Every deployable has a requirements.in beside its code, found here (never listed by hand); the dev set
# is requirements-dev.in (the tools) compiled together with all of them.
DEPLOYABLE_INS := requirements.in $(sort $(wildcard services/*/requirements.in infra/policy/requirements.in))

.PHONY: help venv dev test lint typecheck pytest plan bench smoke lock clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): requirements-dev.txt
	@test -x $(PY) || $(PYTHON_BOOT) -m venv $(VENV)
	@$(PY) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11 or newer is required"'
	$(PY) -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps -r requirements-dev.txt
	@rm -f $(VENV)/.installed-* && touch $@

venv: $(STAMP)  ## create or refresh .venv from the pinned dev set

dev: venv  ## run the local stack: PostgreSQL, R2 stand-in, token issuer and the API
	$(PY) -m services.local

test: venv  ## lint, type check and run the whole test suite
	$(MAKE) --no-print-directory lint typecheck pytest

lint: venv  ## ruff lint and format check
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: venv  ## pyright (strict on components/ and infra/)
	$(VENV)/bin/pyright

pytest: venv
	$(VENV)/bin/pytest $(PYTEST_ARGS)

plan: venv  ## offline plan of a stack under mocks: make plan STACK=production [CONFIG="key=value ..."]
	$(PY) -m infra plan --stack $(STACK) $(foreach kv,$(CONFIG),--config $(kv))

bench: venv  ## run every benchmark in bench/ and print its figures
	@for b in bench/bench_*.py; do echo "== $$b"; $(PY) $$b; done

smoke: venv  ## smoke-test a deployed API: make smoke URL=https://staging-api.example.com
	@test -n "$(URL)" || { echo "make smoke: set URL=<the API's base URL>" >&2; exit 2; }
	$(PY) scripts/smoke.py $(URL)

lock: venv  ## recompile every requirements file with hashes (no index URLs recorded)
	$(PIP_COMPILE) --output-file requirements-dev.txt requirements-dev.in $(DEPLOYABLE_INS)
	@for in in $(DEPLOYABLE_INS); do \
		echo "pip-compile $$in"; \
		$(PIP_COMPILE) --constraint requirements-dev.txt --output-file "$${in%.in}.txt" "$$in"; \
	done

clean:  ## remove the venv, caches and local stack state
	rm -rf $(VENV) .local .pytest_cache .ruff_cache .hypothesis build
