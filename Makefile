# The two commands of README.md: `make run` (the whole system on its embedded defaults) and `make test`;
# `make bench` runs the benchmarks of docs/benchmarks.md (BENCH_ARGS=--quick for a smoke run).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)
BENCH_STAMP := $(VENV)/.bench-$(shell cat pyproject.toml | sha1sum | cut -c1-12)

.PHONY: run test install system-deps services openapi bench lint clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	@rm -f $(VENV)/.installed-* && touch $(STAMP)

install: $(STAMP) system-deps

# Debian packages the PDFs (DejaVu fonts with Vietnamese glyphs), the browser tests (chromium) and the benchmarks'
# load generator (wrk) need.
system-deps:
	@bash .ci/system-deps.sh

services:
	@bash .ci/services.sh

run: install
	$(PY) -m gateway run

test: install services
	$(PY) -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)

openapi: $(STAMP)
	$(PY) -m gateway openapi --output openapi/openapi.json

# The benchmarks' own extras: a pooled HTTP client for the floors, py-spy for flame graphs (bench/profile.py).
$(BENCH_STAMP): $(STAMP)
	$(PY) -m pip install -q -e '.[test,bench]'
	@rm -f $(VENV)/.bench-* && touch $(BENCH_STAMP)

bench: install services $(BENCH_STAMP)
	$(PY) -m bench.run_all $(BENCH_ARGS)

lint: $(STAMP)
	$(PY) -m ruff check .

clean:
	rm -rf $(VENV) var .pytest_cache
