# tributary: `make demo` and `make test` are the two entry points; both start with an idempotent `make setup`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# The venv's Python is the one the installed python3-rpm is built for (3.11 on Debian 12, 3.13 on Debian 13),
# read off the package by packaging/rpm-python.sh; PYTHON may name another build of that same version.
PYTHON ?=
VENV := .venv
BIN := $(VENV)/bin
APT_PACKAGES := $(shell grep -v '^\#' packaging/apt-packages.txt)
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# The kernel VM images are boot-tested with (Debian's cloud kernel, unpacked by `make kernel`).
TEST_KERNEL := .cache/test-kernel
export TRIB_TEST_KERNEL ?= $(CURDIR)/$(TEST_KERNEL)/current

# Checked with mypy --strict on top of the whole package's default settings.
STRICT_PACKAGES := src/tributary/spec src/tributary/overlays src/tributary/tools

.PHONY: help setup apt venv kernel demo test test-fast lint ruff mypy bench clean

help:
	@echo "make demo   set up, then run the whole pipeline on examples/distro"
	@echo "make test   set up, then run every test"
	@echo "make test-fast  only the pure tests: nothing that builds, boots, serves, makes git repositories or opens a browser"
	@echo "make lint   ruff and mypy (rules in pyproject.toml); CI runs it before the tests"
	@echo "make setup  install apt packages and the .venv (idempotent)"
	@echo "make bench  run the benchmarks in benchmarks/"

setup: apt venv kernel

# Install only what is missing, so a second run touches nothing and needs no network.
apt:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "apt: installing$$(echo ' '$$missing)"; \
	  $(SUDO) apt-get update -q && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q --no-install-recommends $$missing; \
	fi

kernel: apt
	@SUDO=$(SUDO) bash packaging/fetch-test-kernel.sh $(TEST_KERNEL)

# python3-rpm decides the venv's Python, so apt comes first.
venv: apt
	@python=$$(bash packaging/rpm-python.sh $(PYTHON)) && bash packaging/venv.sh $(VENV) "$$python"
	@$(BIN)/python -c 'import rpm' || { echo "setup: $(VENV) cannot import rpm through the rpm shim" >&2; exit 1; }

demo: setup
	bash examples/demo.sh

test: setup
	$(BIN)/python -m pytest -q

# Pure tests only: nothing that builds packages or images, boots, serves or makes git repositories
# (markers in pyproject.toml, applied in tests/conftest.py).
test-fast: venv
	$(BIN)/python -m pytest -q -n auto --dist worksteal -m "not builds and not boots and not serves and not git and not browser"

lint: ruff mypy

ruff: venv
	$(BIN)/ruff check .

mypy: venv
	$(BIN)/mypy
	$(BIN)/mypy --strict --follow-imports=silent $(STRICT_PACKAGES)

bench: setup
	$(BIN)/python benchmarks/config_load.py
	$(BIN)/python benchmarks/render_scale.py
	$(BIN)/python benchmarks/build_parallel.py
	$(BIN)/python benchmarks/release_loop.py
	$(BIN)/python benchmarks/upstream_scale.py
	$(BIN)/python benchmarks/site_scale.py
	$(BIN)/python benchmarks/provenance_check.py

clean:
	rm -rf $(VENV) $(TEST_KERNEL) examples/distro/out examples/distro/build
