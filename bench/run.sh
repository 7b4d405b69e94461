#!/usr/bin/env bash
# `make bench`: cold starts of the handler binaries against a bare lambda_runtime echo
# binary, then AWS requests per API operation, peak RSS, transforms and delivery against a
# stack of its own (bench ports: the local AWS endpoint started apart, tributary-local under
# a loop that starts it again unless held, for the backlog-drain benchmark; PostgreSQL on
# :5599 for the drain into a Redshift dataset). Prints Markdown
# tables for BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
profile=${BENCH_PROFILE:-debug}   # `make bench-release` sets release
echo "## Cold start ($profile build, 20 rounds each)"
./target/$profile/lambda-cold-start 20
echo
echo "## AWS set-up and first call over TLS ($profile build, 20 processes each)"
./target/$profile/aws-first-call 20
echo

export TRIBUTARY_API_PORT=3200 TRIBUTARY_AWS_PORT=4766 TRIBUTARY_MOTO_PORT=4799
export TRIBUTARY_API_URL=http://127.0.0.1:3200 TRIBUTARY_AWS_ENDPOINT=http://127.0.0.1:4766
export TRIBUTARY_MOTO_URL=http://127.0.0.1:4799
export TRIBUTARY_LOCAL_PIDFILE="$PWD/.local/tributary-local-bench.pid"
export TRIBUTARY_LOCAL_HOLD="$PWD/.local/tributary-local-bench.hold"
export TRIBUTARY_BENCH_PG_PORT=5599
# The schedule is held off: the automation benchmark invokes one run itself and counts it alone.
export TRIBUTARY_SCHEDULE_SECONDS=86400
# The load benchmark's ten tenants; the console benchmark's two (bench/console.py).
export TRIBUTARY_TOKENS="dev-token=dev,console-bench-token=console-bench,console-1k-token=console1k,$(for i in $(seq 0 9); do printf 'load-%d-token=load%d,' "$i" "$i"; done | sed 's/,$//')"
bash infra/local/postgres.sh start $TRIBUTARY_BENCH_PG_PORT
mkdir -p .local/logs
rm -f "$TRIBUTARY_LOCAL_HOLD"
MOTO_PORT=$TRIBUTARY_AWS_PORT .venv/bin/python infra/local/moto_server.py -H 127.0.0.1 -p $TRIBUTARY_MOTO_PORT > .local/logs/moto-bench.log 2>&1 &
moto_pid=$!
for _ in $(seq 1 120); do
  .venv/bin/python -c "import requests; requests.get('$TRIBUTARY_MOTO_URL/moto-api/config', timeout=1)" 2>/dev/null && break
  sleep 0.25
done
stop_file=$(mktemp -u)
( while [ ! -e "$stop_file" ]; do
    while [ -e "$TRIBUTARY_LOCAL_HOLD" ]; do sleep 0.05; done
    ./target/$profile/tributary-local >> .local/logs/tributary-local-bench.log 2>&1
  done ) &
loop_pid=$!
stop() {
  touch "$stop_file"; rm -f "$TRIBUTARY_LOCAL_HOLD"
  [ -f "$TRIBUTARY_LOCAL_PIDFILE" ] && kill "$(cat "$TRIBUTARY_LOCAL_PIDFILE")" 2>/dev/null
  wait "$loop_pid" 2>/dev/null
  kill "$moto_pid" 2>/dev/null; wait "$moto_pid" 2>/dev/null
  rm -f "$stop_file" "$TRIBUTARY_LOCAL_PIDFILE"
  bash infra/local/postgres.sh stop $TRIBUTARY_BENCH_PG_PORT
}
trap stop EXIT
for _ in $(seq 1 240); do
  .venv/bin/python -c "import requests,sys; sys.exit(requests.get('$TRIBUTARY_API_URL/streams', headers={'Authorization': 'Bearer dev-token'}).status_code != 200)" 2>/dev/null && break
  sleep 0.5
done
echo "## Requests per API operation and peak RSS"
.venv/bin/python bench/aws_calls.py
echo
echo "## Per-tenant request rate: what a token costs"
.venv/bin/python bench/request_rate.py
echo
echo "## Producer gate"
./target/$profile/producer-gate-cost
.venv/bin/python bench/producer_gate.py
echo
echo "## Consumer status: one call against the raw calls"
.venv/bin/python bench/status.py
echo
echo "## Routes for people: metrics over time, the data viewer, tests on a sample"
.venv/bin/python bench/routes_for_people.py
echo
echo "## Console: first load, Lighthouse, a list of 1,000 streams"
# Lighthouse 12 (13 needs Node 22) in a folder of the bench's own, never console/; it drives
# Debian's Chromium through its puppeteer-core, which downloads no browser.
PUPPETEER_SKIP_DOWNLOAD=1 npm install --prefix .local/bench-tools --no-audit --no-fund --loglevel=error lighthouse@12 > /dev/null
.venv/bin/python bench/console.py || echo "(the console benchmark did not finish: see above)"
echo
echo "## Redrive and replay"
.venv/bin/python bench/recovery.py
echo
echo "## Automation: one scheduled run over 1,000 resources"
.venv/bin/python bench/automation.py
echo
echo "## Control plane under load (20 clients, 10 tenants, 5 minutes)"
.venv/bin/python bench/load.py || echo "(the load benchmark found 5xx answers, stuck jobs or resources left: see above)"
echo
echo "## Transforms"
.venv/bin/python bench/transforms.py
echo
echo "## Delivery (Kinesis -> S3)"
.venv/bin/python bench/delivery.py
