#!/usr/bin/env bash
# Starts tributary-local on test ports (so a `make up` may keep running), waits until the
# API answers, runs the integration tests, and stops everything it started.
set -uo pipefail
cd "$(dirname "$0")/.."

export TRIBUTARY_API_PORT=${TRIBUTARY_API_PORT:-3100}
export TRIBUTARY_AWS_PORT=${TRIBUTARY_AWS_PORT:-4666}
export TRIBUTARY_MOTO_PORT=${TRIBUTARY_MOTO_PORT:-4699}
export TRIBUTARY_TOKENS=${TRIBUTARY_TOKENS:-dev-token=dev,other-token=other,limits-token=limits}
export TRIBUTARY_API_URL="http://127.0.0.1:${TRIBUTARY_API_PORT}"
export TRIBUTARY_AWS_ENDPOINT="http://127.0.0.1:${TRIBUTARY_AWS_PORT}"

mkdir -p .local/logs
./target/debug/tributary-local > .local/logs/tributary-local-test.log 2>&1 &
local_pid=$!
stop() { kill "$local_pid" 2>/dev/null; wait "$local_pid" 2>/dev/null; }
trap stop EXIT

for _ in $(seq 1 120); do
  if .venv/bin/python -c "import sys, requests; sys.exit(requests.get(sys.argv[1] + '/streams', headers={'Authorization': 'Bearer dev-token'}, timeout=2).status_code != 200)" "$TRIBUTARY_API_URL" 2>/dev/null; then
    break
  fi
  if ! kill -0 "$local_pid" 2>/dev/null; then
    echo "tributary-local exited:"; cat .local/logs/tributary-local-test.log; exit 1
  fi
  sleep 0.5
done

.venv/bin/python -m pytest tests -q "$@"
status=$?
if [ $status -ne 0 ]; then
  echo "---- tributary-local log (tail) ----"; tail -n 50 .local/logs/tributary-local-test.log
fi
exit $status
