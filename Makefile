# The front door: `make demo` and `make test` set everything up and run.
# Two lanes of the main stack, plus two environments for the core, each built from a committed lock:
#   .venv-latest     Python 3.11, TFX 1.21, TF 2.21, Beam, kfp 2.16, protobuf 6: the latest lane
#                    (glibc >= 2.39: native on Debian 13, else in a Debian 13 userland, see tools/lane)
#   .venv-legacy     Python 3.10, TFX 1.16, TF 2.16, Beam, kfp 2.5: the legacy lane (glibc 2.36 hosts)
#   .venv-reference  Python 3.10, TF 2.15 + tensorflow-estimator 2.15: the real SavedModelEstimator
#   .venv-tf-latest  Python 3.11, TF 2.21 alone: the core on the newest TensorFlow, natively
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON_3_10 ?= $(shell tools/find-python 3.10)
PYTHON_3_11 ?= $(shell tools/find-python 3.11)
export PYTHON_3_10 PYTHON_3_11  # tools/userland binds their installations into the userland
PYTEST_ARGS ?=
# Lanes this host cannot run, skipped on purpose (only `latest` can be): make test SKIP_LANES=latest
SKIP_LANES ?=

export TF_CPP_MIN_LOG_LEVEL ?= 2

LATEST := tools/lane latest
# The command prefix that runs a venv's programs on its lane.
RUN_.venv-latest := $(LATEST)
# The lane `make demo` and `sme` use: latest where this host installs it natively, else legacy.
DEMO_LANE := $(shell tools/lane latest --native && echo latest || echo legacy)
TIMED := tools/timed

.PHONY: help setup demo demo-core bench test test-legacy test-latest test-reference test-tf-latest \
	test-image lint typecheck clean

help:
	@echo "make demo   set up and run the pipeline (sme run) on a bundled Estimator export"
	@echo "make test   set up and run every test suite: both lanes, the core on TF 2.15 and 2.21"
	@echo "make test-image  build the image (buildah, root) and run a component in it (CI runs it)"

.venv-legacy/.installed: requirements/legacy.lock tools/make-venv
	tools/make-venv .venv-legacy "$(PYTHON_3_10)" requirements/legacy.lock

.venv-latest/.installed: requirements/latest.lock tools/make-venv tools/userland
	$(LATEST) tools/make-venv .venv-latest "$(PYTHON_3_11)" requirements/latest.lock

.venv-reference/.installed: requirements/reference.lock tools/make-venv
	tools/make-venv .venv-reference "$(PYTHON_3_10)" requirements/reference.lock

.venv-tf-latest/.installed: requirements/tf-latest.lock tools/make-venv
	tools/make-venv .venv-tf-latest "$(PYTHON_3_11)" requirements/tf-latest.lock

# This project, editable, into a venv; redone when pyproject changes.
%/.package: %/.installed pyproject.toml setup.py
	$(RUN_$*) $*/bin/uv pip install --quiet --python $*/bin/python --no-deps -e .
	touch $@

setup: .venv-$(DEMO_LANE)/.package .venv-legacy/.package .venv-reference/.package .venv-tf-latest/.package

demo: .venv-$(DEMO_LANE)/.package
	@echo "make demo: the $(DEMO_LANE) lane ($$(.venv-$(DEMO_LANE)/bin/python -c 'import tfx, tensorflow as tf, sys; print(f"TFX {tfx.__version__}, TensorFlow {tf.__version__}, Python {sys.version.split()[0]}")' 2>/dev/null))"
	.venv-$(DEMO_LANE)/bin/sme run --config examples/demo/config.json

demo-core: .venv-$(DEMO_LANE)/.package
	.venv-$(DEMO_LANE)/bin/python examples/core_demo.py demo-output/core

LINTED := savedmodel_estimator components pipelines schemas tests tools examples benchmarks
lint: .venv-legacy/.package
	.venv-legacy/bin/ruff check $(LINTED)
	.venv-legacy/bin/ruff format --check $(LINTED)

typecheck: .venv-legacy/.package
	.venv-legacy/bin/mypy savedmodel_estimator

# Each suite records its time and outcomes in tests/.lanes/; tools/suite_report.py checks them
# against tests/suites.json (what each must run) at the end.
test-legacy: .venv-legacy/.package .venv-reference/.package  # the seed example exports in .venv-reference
	tools/install-mariadb  # ML Metadata on a MySQL-compatible server: the e2e tests start one
	$(TIMED) legacy -- .venv-legacy/bin/python -m pytest -m "not reference" $(PYTEST_ARGS)

test-latest: .venv-reference/.package
	@if [[ " $(SKIP_LANES) " == *" latest "* ]]; then \
	    tools/timed latest --skipped "SKIP_LANES=latest: $$($(LATEST) --where)"; \
	else \
	    $(MAKE) --no-print-directory .venv-latest/.package && \
	    $(LATEST) tools/install-mariadb && \
	    $(TIMED) latest -- $(LATEST) .venv-latest/bin/python -m pytest -m "not reference" $(PYTEST_ARGS); \
	fi

test-reference: .venv-reference/.package .venv-legacy/.package
	$(TIMED) reference -- .venv-reference/bin/python -m pytest -m "reference or core" $(PYTEST_ARGS)

test-tf-latest: .venv-tf-latest/.package
	$(TIMED) tf-latest -- .venv-tf-latest/bin/python -m pytest -m core $(PYTEST_ARGS)

# Every suite runs even when one fails (-k); the end says which passed, where, and how long each took.
test: lint typecheck
	@tools/timed --reset
	@$(MAKE) --no-print-directory -k test-legacy test-latest test-tf-latest test-reference; rc=$$?; \
	    .venv-legacy/bin/python tools/conformance_report.py || rc=1; \
	    .venv-legacy/bin/python tools/suite_report.py || rc=1; \
	    exit $$rc

# Side-by-side measurements, not part of `make test` (~25 min); BENCH_ARGS=--quick for a smoke run.
# The orchestrator runs on the latest lane (in the userland where glibc < 2.39), where every
# environment's Python runs, so both lanes and the original are measured on the same system.
bench: .venv-legacy/.package .venv-reference/.package
	@if [[ " $(SKIP_LANES) " == *" latest "* ]]; then \
	    .venv-legacy/bin/python -m benchmarks.run --lanes legacy $(BENCH_ARGS); \
	else \
	    $(MAKE) --no-print-directory .venv-latest/.package && \
	    $(LATEST) .venv-legacy/bin/python -m benchmarks.run $(BENCH_ARGS); \
	fi

# The image from the Dockerfile, built here with buildah on a local stand-in for its base, and a
# component run in it through TFX's container entry point (root; ~9-10 min, ~13 the first time).
test-image: Dockerfile .dockerignore requirements/latest.lock tools/test-image tools/userland
	tools/test-image

clean:
	rm -rf .venv-legacy .venv-latest .venv-reference .venv-tf-latest build *.egg-info .pytest_cache \
		.mypy_cache .ruff_cache tests/.lanes
