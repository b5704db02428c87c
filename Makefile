# One entry point for developers and CI. `make test` is the README's test command:
# it installs what the tests need, checks format, lint and types, then runs every test
# tier (unit, integration against a real API server, end to end with real pods).

SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell sha256sum pyproject.toml | cut -c1-12)
PYTEST_ARGS ?=

.PHONY: all setup venv check test unit lint fmt types compat crds demo demo-down bench clean

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

unit: $(STAMP)
	$(PY) -m pytest tests/unit -q $(PYTEST_ARGS)

# Everything: what CI runs. Without a KUBECONFIG, the local cluster and the test image are
# made first (on a fresh machine that is ~20 minutes of builds, which no single test's
# timeout should have to absorb).
check test: lint types compat
	@if [ -z "$${KUBECONFIG:-}" ]; then hack/cluster up && hack/e2e-image >/dev/null; fi
	$(PY) -m pytest tests -q -m "not disruptive" --ignore=tests/compat $(PYTEST_ARGS)
	$(PY) -m pytest tests -q -m disruptive --ignore=tests/compat $(PYTEST_ARGS)

# Side by side with Dagster (key lists, windows, mapped keys): needs Dagster, which lives
# only in bench/.venv, so these run with that interpreter.
compat: $(STAMP)
	hack/bench-env >/dev/null
	bench/.venv/bin/python -m pytest tests/compat -q -p no:cacheprovider

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
