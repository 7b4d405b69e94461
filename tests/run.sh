#!/usr/bin/env bash
# Starts PostgreSQL (standing in for Redshift), the local AWS endpoint (moto) and tributary-local on test ports (so a `make up` may
# keep running), waits until the API answers, runs the integration tests, and stops
# everything it started. tributary-local runs under a loop that starts it again when it
# exits, so that tests can restart it (TRIBUTARY_LOCAL_PIDFILE) while AWS's state stays.
set -uo pipefail
cd "$(dirname "$0")/.."

export TRIBUTARY_API_PORT=${TRIBUTARY_API_PORT:-3100}
export TRIBUTARY_AWS_PORT=${TRIBUTARY_AWS_PORT:-4666}
export TRIBUTARY_MOTO_PORT=${TRIBUTARY_MOTO_PORT:-4699}
# Tenants of their own for tests that reach a limit (tests/test_quotas.py: quotas, the request rate).
export TRIBUTARY_TOKENS=${TRIBUTARY_TOKENS:-dev-token=dev,other-token=other,limits-token=limits,fuzz-token=fuzz,qfresh-token=qfresh,qstreams-token=qstreams,qshards-token=qshards,qscale-token=qscale,qdatasets-token=qdatasets,flood-token=flood,steady-token=steady}
# Who may sign in at the local issuer: the console's browser tests sign in as either tenant.
export TRIBUTARY_USERS=${TRIBUTARY_USERS:-dev:dev=dev,other:other=other}
export TRIBUTARY_API_URL="http://127.0.0.1:${TRIBUTARY_API_PORT}"
export TRIBUTARY_AWS_ENDPOINT="http://127.0.0.1:${TRIBUTARY_AWS_PORT}"
# The default test ports keep .local; a stack on other ports (tests run beside it) keeps its own folder.
if [ "$TRIBUTARY_API_PORT" = 3100 ]; then state=.local; else state=.local/stack-$TRIBUTARY_API_PORT; export TRIBUTARY_STATE_DIR="$PWD/$state"; fi
export TRIBUTARY_LOCAL_PIDFILE="$PWD/$state/tributary-local-test.pid"
export TRIBUTARY_TEST_PG_PORT=${TRIBUTARY_TEST_PG_PORT:-5499}
# Template parameters, shortened so that a test sees a scale-down within minutes (as
# `sam deploy --parameter-overrides` would set them).
export TRIBUTARY_PARAMETER_ScaleUpLookbackMinutes=${TRIBUTARY_PARAMETER_ScaleUpLookbackMinutes:-2}
export TRIBUTARY_PARAMETER_ScaleDownWindowMinutes=${TRIBUTARY_PARAMETER_ScaleDownWindowMinutes:-1}
export TRIBUTARY_PARAMETER_ScaleDownCooloffSeconds=${TRIBUTARY_PARAMETER_ScaleDownCooloffSeconds:-60}

bash infra/local/postgres.sh start "$TRIBUTARY_TEST_PG_PORT" || exit 1

mkdir -p "$state/logs"
log=$state/logs/tributary-local-test.log
: > "$log"
MOTO_PORT=$TRIBUTARY_AWS_PORT .venv/bin/python infra/local/moto_server.py -H 127.0.0.1 -p "$TRIBUTARY_MOTO_PORT" > "$state/logs/moto-test.log" 2>&1 &
moto_pid=$!
for _ in $(seq 1 120); do
  .venv/bin/python -c "import sys, requests; requests.get(sys.argv[1], timeout=1)" "http://127.0.0.1:${TRIBUTARY_MOTO_PORT}/moto-api/config" 2>/dev/null && break
  sleep 0.25
done
stop_file=$(mktemp -u)
( while [ ! -e "$stop_file" ]; do ./target/debug/tributary-local >> "$log" 2>&1; sleep 0.2; done ) &
loop_pid=$!
stop() {
  touch "$stop_file"
  [ -f "$TRIBUTARY_LOCAL_PIDFILE" ] && kill "$(cat "$TRIBUTARY_LOCAL_PIDFILE")" 2>/dev/null
  wait "$loop_pid" 2>/dev/null
  kill "$moto_pid" 2>/dev/null; wait "$moto_pid" 2>/dev/null
  rm -f "$stop_file" "$TRIBUTARY_LOCAL_PIDFILE"
  bash infra/local/postgres.sh stop "$TRIBUTARY_TEST_PG_PORT"
}
trap stop EXIT

for _ in $(seq 1 240); do
  if .venv/bin/python -c "import sys, requests; sys.exit(requests.get(sys.argv[1] + '/streams', headers={'Authorization': 'Bearer dev-token'}, timeout=2).status_code != 200)" "$TRIBUTARY_API_URL" 2>/dev/null; then
    break
  fi
  if ! kill -0 "$moto_pid" 2>/dev/null; then
    echo "moto exited:"; cat "$state/logs/moto-test.log"; exit 1
  fi
  sleep 0.5
done

# Test files or options given (`bash tests/run.sh tests/test_x.py -x`) run instead of the
# whole suite, `--e2e` only the console's browser tests (`npm run e2e` in console/, against
# this stack: TRIBUTARY_API_URL); the whole suite ends with them.
e2e=no
if [ $# -eq 0 ]; then
  set -- tests; e2e=yes
elif [ "$*" = --e2e ]; then
  set --; e2e=yes
fi
status=0
if [ $# -gt 0 ]; then
  .venv/bin/python -m pytest -q "$@" || status=$?
fi
has_e2e() {
  [ -f console/package.json ] && .venv/bin/python -c 'import json, sys; sys.exit("e2e" not in json.load(open(sys.argv[1])).get("scripts", {}))' console/package.json
}
if [ $e2e = yes ] && has_e2e; then
  (cd console && npm run e2e) || status=1
fi
if [ $status -ne 0 ]; then
  echo "---- tributary-local log (tail) ----"; tail -n 50 "$log"
fi
exit $status
