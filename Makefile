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
.PHONY: policy-venv bandit audit secret-scan site-builds

# The policy pack runs in its own virtualenv, the `venv` that infra/policy/PulumiPolicy.yaml names.
POLICY_VENV := infra/policy/venv
POLICY_STAMP := $(POLICY_VENV)/.installed-$(shell sha256sum infra/policy/requirements.txt | cut -c1-16)
# Security scans: reports land in build/security (CI keeps them as artifacts).
SECURITY_REPORTS := build/security
BANDIT := $(VENV)/bin/bandit -q -r components infra services scripts -x $(POLICY_VENV) \
	-b .github/security/bandit-baseline.json
AUDIT_VENV := build/tools/pip-audit
AUDIT_STAMP := $(AUDIT_VENV)/.installed-$(shell sha256sum .github/security/pip-audit-requirements.txt | cut -c1-16)
AUDITED_REQUIREMENTS := requirements-dev.txt $(DEPLOYABLE_INS:.in=.txt) .github/security/pip-audit-requirements.txt
# gitleaks is a Go module: `go run` builds the pinned release, checked against the Go checksum database.
GITLEAKS := github.com/zricethezav/gitleaks/v8@v8.30.1

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

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

lint: venv  ## ruff lint and format check, bandit against its reviewed baseline
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(BANDIT) -f txt

typecheck: venv  ## pyright (strict on components/ and infra/)
	$(VENV)/bin/pyright

pytest: venv
	$(VENV)/bin/pytest $(PYTEST_ARGS)

plan: venv  ## offline plan of a stack under mocks: make plan STACK=production [CONFIG="key=value ..."]
	$(PY) -m infra plan --stack $(STACK) $(foreach kv,$(CONFIG),--config $(kv))

bench: venv  ## run every benchmark in bench/ and print its figures
	@for b in bench/bench_*.py; do echo "== $$b"; $(PY) $$b; done

site-builds:  ## fetch each site's build output into build/sites/<site> (from <SITE>_BUILD_URL; before preview/up)
	$(PYTHON_BOOT) scripts/fetch_site_builds.py

smoke: venv  ## smoke-test a deployed API: make smoke URL=https://staging-api.example.com
	@test -n "$(URL)" || { echo "make smoke: set URL=<the API's base URL>" >&2; exit 2; }
	$(PY) scripts/smoke.py $(URL)

lock: venv  ## recompile every requirements file with hashes (no index URLs recorded)
	$(PIP_COMPILE) --output-file requirements-dev.txt requirements-dev.in $(DEPLOYABLE_INS)
	@for in in $(DEPLOYABLE_INS); do \
		echo "pip-compile $$in"; \
		$(PIP_COMPILE) --constraint requirements-dev.txt --output-file "$${in%.in}.txt" "$$in"; \
	done

$(POLICY_STAMP): infra/policy/requirements.txt
	@test -x $(POLICY_VENV)/bin/python || $(PYTHON_BOOT) -m venv $(POLICY_VENV)
	$(POLICY_VENV)/bin/python -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps \
		-r infra/policy/requirements.txt
	@rm -f $(POLICY_VENV)/.installed-* && touch $@

policy-venv: $(POLICY_STAMP)  ## create or refresh infra/policy/venv, the policy pack's environment

bandit: venv  ## bandit over the code; fails on a finding not in the reviewed baseline
	@mkdir -p $(SECURITY_REPORTS)
	$(BANDIT) -f json -o $(SECURITY_REPORTS)/bandit.json || { $(BANDIT) -f txt; exit 1; }

$(AUDIT_STAMP): .github/security/pip-audit-requirements.txt
	@test -x $(AUDIT_VENV)/bin/python || $(PYTHON_BOOT) -m venv $(AUDIT_VENV)
	$(AUDIT_VENV)/bin/python -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps \
		-r .github/security/pip-audit-requirements.txt
	@rm -f $(AUDIT_VENV)/.installed-* && touch $@

audit: $(AUDIT_STAMP)  ## pip-audit every requirements file against the advisory database (needs the network)
	@mkdir -p $(SECURITY_REPORTS)
	@status=0; for req in $(AUDITED_REQUIREMENTS); do \
		report="$(SECURITY_REPORTS)/pip-audit-$$(echo "$${req%.txt}" | tr / -).json"; \
		echo "pip-audit $$req"; \
		$(AUDIT_VENV)/bin/pip-audit --disable-pip --require-hashes --progress-spinner off -r "$$req" \
			--format json --output "$$report" \
		|| { status=1; $(AUDIT_VENV)/bin/pip-audit --disable-pip --require-hashes --progress-spinner off -r "$$req"; }; \
	done; exit $$status

secret-scan:  ## gitleaks over the whole git history (needs the Go toolchain and a full clone)
	@command -v go >/dev/null || { echo "make secret-scan: the Go toolchain is required (go on PATH)" >&2; exit 2; }
	@mkdir -p $(SECURITY_REPORTS)
	go run $(GITLEAKS) git --config .github/security/gitleaks.toml --no-banner --redact --report-format json --report-path $(SECURITY_REPORTS)/gitleaks.json .

clean:  ## remove the venv, caches and local stack state
	rm -rf $(VENV) .local .pytest_cache .ruff_cache .hypothesis build
