# Tributary: `make up` runs the whole system on this machine, `make test` runs every test.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
CARGO ?= cargo

.PHONY: up aws postgres demo test unit-test integration-test bench bench-release build console chromium jq deploy-console venv lint lambdas clean

$(VENV)/.installed: requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r requirements-dev.txt
	touch $@

venv: $(VENV)/.installed

build: console
	$(CARGO) build --workspace --bins

## The console (console/, Vite + Preact): its packages as the lock file pins them (again only
## when the lock file is newer than node_modules/.package-lock.json, npm's record of what it
## installed), then its build in console/dist (again only when its sources changed);
## nothing without console/package.json.
HAS_CONSOLE := $(wildcard console/package.json)
CONSOLE_PACKAGES := console/node_modules/.package-lock.json
CONSOLE_SOURCES := $(shell find console/src console/public -type f 2>/dev/null) $(wildcard console/index.html console/vite.config.* console/tsconfig*.json)

console: $(if $(HAS_CONSOLE),console/dist/index.html)

$(CONSOLE_PACKAGES): console/package-lock.json
	cd console && npm ci
	touch $@

console/dist/index.html: $(CONSOLE_PACKAGES) $(CONSOLE_SOURCES) console/package.json
	cd console && npm run build

## Debian's Chromium and a font for the console's browser tests, when missing (apt-get, as
## root or through sudo); never a browser from anywhere else.
chromium:
	@if [ ! -x /usr/bin/chromium ] || [ ! -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ]; then \
	  echo "installing Debian's chromium and fonts-dejavu-core"; \
	  sudo=; [ "$$(id -u)" = 0 ] || sudo=sudo; \
	  $$sudo apt-get update -qq && $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-dejavu-core > /dev/null; \
	fi

## Debian's jq 1.6, the oracle of the jq partition keys' differential unit tests (Firehose
## runs JQ-1.6), when missing.
jq:
	@if [ ! -x /usr/bin/jq ]; then \
	  echo "installing Debian's jq"; \
	  sudo=; [ "$$(id -u)" = 0 ] || sudo=sudo; \
	  $$sudo apt-get update -qq && $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq jq > /dev/null; \
	fi

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

unit-test: jq $(if $(HAS_CONSOLE),$(CONSOLE_PACKAGES))
	$(CARGO) test --workspace
	$(if $(HAS_CONSOLE),cd console && npm test)

integration-test: venv build $(if $(HAS_CONSOLE),chromium)
	bash tests/run.sh

## cfn-lint, then checkov (every finding fixed, or skipped in the template with its reason).
## checkov pins boto3 and packaging below the tests' own, so it has a venv of its own.
CHECKOV_VENV := $(VENV)/checkov
$(CHECKOV_VENV)/.installed: requirements-checkov.txt
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --upgrade pip
	$(CHECKOV_VENV)/bin/pip install --quiet -r requirements-checkov.txt
	touch $@

lint: venv $(CHECKOV_VENV)/.installed
	$(VENV)/bin/cfn-lint infra/template.yaml
	$(CHECKOV_VENV)/bin/checkov --quiet --compact --skip-download --framework cloudformation -f infra/template.yaml

## The built console into a deployed stack (AWS CLI and credentials): its bucket, its
## config.json from the stack's outputs, an invalidation; see scripts/deploy-console.sh.
deploy-console: console
	@[ -n "$(STACK)" ] || { echo "usage: make deploy-console STACK=<stack> [CONSOLE_CLIENT_ID=<id>, with JwtIssuer]"; exit 2; }
	bash scripts/deploy-console.sh "$(STACK)"

## Benchmarks (results go to BENCHMARKS.md by hand, with the command).
bench: venv build $(if $(HAS_CONSOLE),chromium)
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
