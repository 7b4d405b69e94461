# Tributary: `make up` runs the whole system on this machine, `make test` runs every test.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
CARGO ?= cargo

.PHONY: up aws postgres demo test unit-test integration-test bench bench-release build venv lint lambdas clean

$(VENV)/.installed: requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r requirements-dev.txt
	touch $@

venv: $(VENV)/.installed

build:
	$(CARGO) build --workspace --bins

## The whole system on one machine: API on :3000, AWS endpoint on :4566, and PostgreSQL on
## :5439 standing in for Redshift (it keeps running). Ctrl-C stops the rest.
up: venv build postgres
	./target/debug/tributary-local

## PostgreSQL on 127.0.0.1:5439 (user tributary, password tributary, database dev);
## installs Debian's package when missing.
postgres:
	bash infra/local/postgres.sh start 5439

## The local AWS endpoint alone (moto on :4599 calling back to :4566). tributary-local
## reuses one that is running, so `make up` can be stopped and started again while the
## AWS state (streams, delivery streams, data) stays.
aws: venv
	MOTO_PORT=4566 $(VENV)/bin/python infra/local/moto_server.py -H 127.0.0.1 -p 4599

## The seed's use case against a running `make up`; prints its datasets and the Redshift table.
demo: venv
	$(VENV)/bin/python scripts/demo.py

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

## The same with release builds of every binary (as deployed; about 22 minutes to build on 2 cores: one codegen unit, thin LTO).
bench-release: venv
	$(CARGO) build --release --workspace --bins
	BENCH_PROFILE=release bash bench/run.sh

## The four deployment zips (arm64, release, cargo-lambda + Zig from PyPI); slow, so not in `make test`.
LAMBDAS := tributary-api tributary-worker tributary-status tributary-automation
$(VENV)/.lambda-tools: $(VENV)/.installed
	$(VENV)/bin/pip install --quiet cargo-lambda==1.9.2 ziglang==0.13.0.post1
	rustup target add aarch64-unknown-linux-gnu
	touch $@

lambdas: $(VENV)/.lambda-tools
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" cargo lambda build --release --arm64 --output-format zip $(addprefix --bin ,$(LAMBDAS))
	$(VENV)/bin/python infra/check_lambdas.py $(LAMBDAS)

clean:
	bash infra/local/postgres.sh stop 5439
	rm -rf .local /tmp/tributary-postgres-5439
