#!/usr/bin/env bash
# Starts stacks for the integration tests (each: PostgreSQL standing in for Redshift, the
# local AWS endpoint (moto) and tributary-local, on test ports, so a `make up` may keep
# running), waits until their APIs answer, runs the tests, and stops everything it started.
# tributary-local runs under a loop that starts it again when it exits, so that tests can
# restart it (TRIBUTARY_LOCAL_PIDFILE) while AWS's state stays.
#
# The whole suite runs on TRIBUTARY_TEST_STACKS stacks side by side (default 2), one pytest
# worker each (pytest-xdist hands a test file at a time to whichever worker is free; a
# worker's tests reach its own stack only: tests/conftest.py). Most of a test's time is
# spent waiting for delivery, so two stacks share two cores well. Test files or options
# given (`bash tests/run.sh tests/test_x.py -x`) run on one stack, unless
# TRIBUTARY_TEST_STACKS says otherwise.
set -uo pipefail
cd "$(dirname "$0")/.."

# Stack k listens on these ports + 100·k.
api_base=${TRIBUTARY_API_PORT:-3100}
aws_base=${TRIBUTARY_AWS_PORT:-4666}
moto_base=${TRIBUTARY_MOTO_PORT:-4699}
pg_base=${TRIBUTARY_TEST_PG_PORT:-5499}
# Tenants of their own for tests that reach a limit (tests/test_quotas.py: quotas, the request rate).
export TRIBUTARY_TOKENS=${TRIBUTARY_TOKENS:-dev-token=dev,other-token=other,limits-token=limits,fuzz-token=fuzz,qfresh-token=qfresh,qstreams-token=qstreams,qshards-token=qshards,qscale-token=qscale,qdatasets-token=qdatasets,flood-token=flood,steady-token=steady}
# Who may sign in at the local issuer: the console's browser tests sign in as either tenant.
export TRIBUTARY_USERS=${TRIBUTARY_USERS:-dev:dev=dev,other:other=other}
# Template parameters, shortened so that a test sees a scale-down within minutes (as
# `sam deploy --parameter-overrides` would set them).
export TRIBUTARY_PARAMETER_ScaleUpLookbackMinutes=${TRIBUTARY_PARAMETER_ScaleUpLookbackMinutes:-2}
export TRIBUTARY_PARAMETER_ScaleDownWindowMinutes=${TRIBUTARY_PARAMETER_ScaleDownWindowMinutes:-1}
export TRIBUTARY_PARAMETER_ScaleDownCooloffSeconds=${TRIBUTARY_PARAMETER_ScaleDownCooloffSeconds:-60}

e2e=no
if [ $# -eq 0 ]; then
  set -- tests; e2e=yes; stacks=${TRIBUTARY_TEST_STACKS:-2}
elif [ "$*" = --e2e ]; then
  set --; e2e=yes; stacks=1
else
  stacks=${TRIBUTARY_TEST_STACKS:-1}
fi

pids=() stop_files=() pg_ports=() logs=() pidfiles=() stacks_json=""
stop() {
  for f in "${stop_files[@]}"; do touch "$f"; done
  for p in "${pidfiles[@]}"; do [ -f "$p" ] && kill "$(cat "$p")" 2>/dev/null; done
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  rm -f "${stop_files[@]}" "${pidfiles[@]}"
  for port in "${pg_ports[@]}"; do bash infra/local/postgres.sh stop "$port"; done
}
trap stop EXIT

# Starts stack $1 (0, 1, …) in the background and adds what its tests need to stacks_json.
start_stack() {
  local k=$1
  local api=$((api_base + 100 * k)) aws=$((aws_base + 100 * k)) moto=$((moto_base + 100 * k)) pg=$((pg_base + 100 * k))
  # The default test ports keep .local; a stack on other ports keeps its own folder.
  local state=.local state_env=
  if [ "$api" != 3100 ]; then state=.local/stack-$api; state_env=$PWD/$state; fi
  local pidfile=$PWD/$state/tributary-local-test.pid log=$state/logs/tributary-local-test.log stop_file
  stop_file=$(mktemp -u)
  bash infra/local/postgres.sh start "$pg" || exit 1
  pg_ports+=("$pg")
  mkdir -p "$state/logs"
  : > "$log"
  MOTO_PORT=$aws .venv/bin/python infra/local/moto_server.py -H 127.0.0.1 -p "$moto" > "$state/logs/moto-test.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 120); do
    .venv/bin/python -c "import sys, requests; requests.get(sys.argv[1], timeout=1)" "http://127.0.0.1:$moto/moto-api/config" 2>/dev/null && break
    sleep 0.25
  done
  (
    export TRIBUTARY_API_PORT=$api TRIBUTARY_AWS_PORT=$aws TRIBUTARY_MOTO_PORT=$moto TRIBUTARY_LOCAL_PIDFILE=$pidfile
    [ -n "$state_env" ] && export TRIBUTARY_STATE_DIR=$state_env
    while [ ! -e "$stop_file" ]; do ./target/debug/tributary-local >> "$log" 2>&1; sleep 0.2; done
  ) &
  pids+=($!) stop_files+=("$stop_file") pidfiles+=("$pidfile") logs+=("$log")
  stacks_json+="${stacks_json:+,}{\"TRIBUTARY_API_URL\": \"http://127.0.0.1:$api\", \"TRIBUTARY_AWS_ENDPOINT\": \"http://127.0.0.1:$aws\", \"TRIBUTARY_TEST_PG_PORT\": \"$pg\", \"TRIBUTARY_STATE_DIR\": \"$PWD/$state\", \"TRIBUTARY_LOCAL_PIDFILE\": \"$pidfile\"}"
}

# Waits until the API on port $1 answers (or fails, with its AWS endpoint's log).
wait_for_api() {
  local url=http://127.0.0.1:$1
  for _ in $(seq 1 240); do
    if .venv/bin/python -c "import sys, requests; sys.exit(requests.get(sys.argv[1] + '/streams', headers={'Authorization': 'Bearer dev-token'}, timeout=2).status_code != 200)" "$url" 2>/dev/null; then
      return 0
    fi
    sleep 0.5
  done
  echo "the API at $url did not answer within 2 minutes"; return 1
}

for k in $(seq 0 $((stacks - 1))); do start_stack "$k"; done
for k in $(seq 0 $((stacks - 1))); do wait_for_api $((api_base + 100 * k)) || exit 1; done

# The first stack's addresses are the tests' defaults (and the console's browser tests');
# with several, each pytest worker takes its own from TRIBUTARY_TEST_STACKS_JSON.
export TRIBUTARY_API_URL="http://127.0.0.1:${api_base}"
export TRIBUTARY_AWS_ENDPOINT="http://127.0.0.1:${aws_base}"
export TRIBUTARY_TEST_PG_PORT=$pg_base
export TRIBUTARY_LOCAL_PIDFILE=${pidfiles[0]}
[ "$api_base" != 3100 ] && export TRIBUTARY_STATE_DIR="$PWD/.local/stack-$api_base"
export TRIBUTARY_TEST_STACKS_JSON="[$stacks_json]"

has_e2e() {
  [ -f console/package.json ] && .venv/bin/python -c 'import json, sys; sys.exit("e2e" not in json.load(open(sys.argv[1])).get("scripts", {}))' console/package.json
}
status=0
if [ $# -gt 0 ]; then
  workers=()
  [ "$stacks" -gt 1 ] && workers=(-n "$stacks" --dist loadfile)
  .venv/bin/python -m pytest -q "${workers[@]}" "$@" || status=$?
fi
if [ $e2e = yes ] && has_e2e; then
  (cd console && npm run e2e) || status=1
fi
if [ $status -ne 0 ]; then
  for log in "${logs[@]}"; do echo "---- $log (tail) ----"; tail -n 50 "$log"; done
fi
exit $status
