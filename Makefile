# The two commands of README.md: `make run` (the whole system on its embedded defaults) and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)

.PHONY: run test install system-deps services openapi bench lint clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	@rm -f $(VENV)/.installed-* && touch $(STAMP)

install: $(STAMP) system-deps

# Debian packages the PDFs (DejaVu fonts with Vietnamese glyphs) and the browser tests (chromium) need.
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

bench: install services
	$(PY) -m bench.run_all

lint: $(STAMP)
	$(PY) -m ruff check .

clean:
	rm -rf $(VENV) var .pytest_cache
