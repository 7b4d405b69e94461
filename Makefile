# Tributary: `make up` runs the whole system on this machine, `make test` runs every test.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
CARGO ?= cargo

.PHONY: up test unit-test integration-test bench build venv lint clean

$(VENV)/.installed: requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r requirements-dev.txt
	touch $@

venv: $(VENV)/.installed

build:
	$(CARGO) build --workspace --bins

## The whole system on one machine: API on :3000, AWS endpoint on :4566. Ctrl-C stops it.
up: venv build
	./target/debug/tributary-local

## Unit tests, then the integration tests against a stack of their own (other ports).
test: venv build lint unit-test integration-test

unit-test:
	$(CARGO) test --workspace

integration-test: venv build
	bash tests/run.sh

lint: venv
	$(VENV)/bin/cfn-lint infra/template.yaml

## Benchmarks (results go to BENCHMARKS.md by hand, with the command).
bench: venv build
	bash bench/run.sh

clean:
	rm -rf .local
