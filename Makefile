# The front door: `make demo` and `make test` set everything up and run.
# Three environments, each built from a committed lock file:
#   .venv            Python 3.10, TFX 1.16, TF 2.16, Beam, kfp: the main stack
#   .venv-reference  Python 3.10, TF 2.15 + tensorflow-estimator 2.15: the real SavedModelEstimator
#   .venv-tf-latest  Python 3.11, TF 2.21: the core on the newest TensorFlow
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON_3_10 ?= $(shell tools/find-python 3.10)
PYTHON_3_11 ?= $(shell tools/find-python 3.11)
UV_VERSION := 0.13.9
PYTEST_ARGS ?=

export TF_CPP_MIN_LOG_LEVEL ?= 2

# venv_install(dir, python, lock): make a venv, install uv into it, sync the lock.
# The .installed stamp is written last, so an interrupted install is redone from scratch next time.
# Bytecode is compiled at install: Python then starts TensorFlow in ~5 s instead of ~10 s in every
# process, also where PYTHONDONTWRITEBYTECODE is set (it stops writing bytecode, not reading it).
define venv_install
	@test -n "$(2)" || { echo "make: no Python found for $(1); see the message above." >&2; exit 1; }
	rm -rf $(1)
	$(2) -m venv $(1)
	$(1)/bin/python -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"
	$(1)/bin/uv pip sync --quiet --compile-bytecode --python $(1)/bin/python $(3)
	touch $(1)/.installed
endef

# package_install(dir): install this project (editable) into a venv; redone when pyproject changes.
define package_install
	$(1)/bin/uv pip install --quiet --python $(1)/bin/python --no-deps -e .
	touch $(1)/.package
endef

.PHONY: help setup demo demo-core bench test test-main test-reference test-tf-latest lint typecheck clean

help:
	@echo "make demo   set up and run the pipeline (sme run) on a bundled Estimator export"
	@echo "make test   set up and run every test suite in all three environments"

.venv/.installed: requirements/main.lock
	$(call venv_install,.venv,$(PYTHON_3_10),requirements/main.lock)

.venv-reference/.installed: requirements/reference.lock
	$(call venv_install,.venv-reference,$(PYTHON_3_10),requirements/reference.lock)

.venv-tf-latest/.installed: requirements/tf-latest.lock
	$(call venv_install,.venv-tf-latest,$(PYTHON_3_11),requirements/tf-latest.lock)

%/.package: %/.installed pyproject.toml
	$(call package_install,$*)

setup: .venv/.package .venv-reference/.package .venv-tf-latest/.package

demo: .venv/.package
	.venv/bin/sme run --config examples/demo/config.json

demo-core: .venv/.package
	.venv/bin/python examples/core_demo.py demo-output/core

lint: .venv/.package
	.venv/bin/ruff check savedmodel_estimator components pipelines schemas tests tools examples benchmarks
	.venv/bin/ruff format --check savedmodel_estimator components pipelines schemas tests tools examples benchmarks
	
typecheck: .venv/.package
	.venv/bin/mypy savedmodel_estimator

test-main: .venv/.package .venv-reference/.package  # the seed example exports in .venv-reference
	tools/install-mariadb  # ML Metadata on a MySQL-compatible server: the e2e tests start one
	.venv/bin/python -m pytest -m "not reference" $(PYTEST_ARGS)

test-reference: .venv-reference/.package .venv/.package
	.venv-reference/bin/python -m pytest -m "reference or core" $(PYTEST_ARGS)

test-tf-latest: .venv-tf-latest/.package
	.venv-tf-latest/bin/python -m pytest -m core $(PYTEST_ARGS)

test: lint typecheck test-main test-tf-latest test-reference
	.venv/bin/python tools/conformance_report.py

# Side-by-side measurements, not part of `make test` (~15-20 min); BENCH_ARGS=--quick for a smoke run.
bench: .venv/.package .venv-reference/.package .venv-tf-latest/.package
	.venv/bin/python -m benchmarks.run $(BENCH_ARGS)

clean:
	rm -rf .venv .venv-reference .venv-tf-latest build *.egg-info .pytest_cache .mypy_cache .ruff_cache
