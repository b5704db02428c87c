# One entry point for developers and CI, in two lanes:
# - `make check`: the fast lane, a few minutes and no cluster: format, lint, types, the
#   import contracts, shellcheck on hack/, and the unit tests;
# - `make test`: everything, what CI runs (.ci/run): the fast lane's checks, then every
#   test tier (unit, integration against a real API server, end to end with real pods),
#   the disruptive ones last.

SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell sha256sum pyproject.toml | cut -c1-12)
PYTEST_ARGS ?=

.PHONY: all setup venv check test unit lint shellcheck fmt types crds demo demo-down bench clean

all: check

$(STAMP): pyproject.toml
	hack/setup
	@touch $@

venv setup: $(STAMP)

fmt: $(STAMP)
	$(VENV)/bin/ruff format src tests bench examples

lint: $(STAMP)
	$(VENV)/bin/ruff format --check src tests bench examples
	$(VENV)/bin/ruff check src tests bench examples
	$(VENV)/bin/lint-imports

types: $(STAMP)
	$(VENV)/bin/mypy

# Every script under hack/, following what it sources (hack/lib/*.sh) as one program, so
# a variable set in one file and read in another is not "unused"; the scripts carry their
# own `# shellcheck` directives. (hack/setup installs shellcheck.)
shellcheck: $(STAMP)
	shellcheck -x -P SCRIPTDIR $$(grep -rlE '^#!/usr/bin/env bash' hack)

unit: $(STAMP)
	$(PY) -m pytest tests/unit -q $(PYTEST_ARGS)

# The fast lane: no cluster, a few minutes.
check: lint types shellcheck unit

# Everything: what CI runs. Without a KUBECONFIG, the local cluster and the test image are
# made first (on a fresh machine that is ~20 minutes of builds, which no single test's
# timeout should have to absorb).
test: lint types shellcheck
	@if [ -z "$${KUBECONFIG:-}" ]; then hack/cluster up && hack/e2e-image >/dev/null; fi
	$(PY) -m pytest tests -q -m "not disruptive" $(PYTEST_ARGS)
	$(PY) -m pytest tests -q -m disruptive $(PYTEST_ARGS)

crds: $(STAMP)
	$(PY) -m kasset.resources crds/
	hack/sync-chart-crds

demo: $(STAMP)
	hack/demo up

demo-down:
	hack/demo down

# The benchmarks side by side with Dagster, which lives only in bench/.venv; the bench
# checks its Dagster side first. About 40 minutes; writes bench/RESULTS.md.
bench: $(STAMP)
	hack/bench-env
	bench/.venv/bin/python -m pytest -q -p no:cacheprovider bench/test_dagster_side.py
	nice -n 5 bench/.venv/bin/python -m bench

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache artifacts
