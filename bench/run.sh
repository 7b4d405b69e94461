#!/usr/bin/env bash
# `make bench`: cold starts of the handler binaries against a bare lambda_runtime echo
# binary, then AWS requests per API operation and peak RSS of each handler against a
# tributary-local of its own (bench ports). Prints Markdown tables for BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
profile=${BENCH_PROFILE:-debug}   # `make bench-release` sets release
echo "## Cold start ($profile build, 20 rounds each)"
./target/$profile/lambda-cold-start 20
echo

export TRIBUTARY_API_PORT=3200 TRIBUTARY_AWS_PORT=4766 TRIBUTARY_MOTO_PORT=4799
export TRIBUTARY_API_URL=http://127.0.0.1:3200 TRIBUTARY_AWS_ENDPOINT=http://127.0.0.1:4766
mkdir -p .local/logs
./target/$profile/tributary-local > .local/logs/tributary-local-bench.log 2>&1 &
local_pid=$!
trap 'kill $local_pid 2>/dev/null; wait $local_pid 2>/dev/null' EXIT
for _ in $(seq 1 120); do
  .venv/bin/python -c "import requests,sys; sys.exit(requests.get('$TRIBUTARY_API_URL/streams', headers={'Authorization': 'Bearer dev-token'}).status_code != 200)" 2>/dev/null && break
  sleep 0.5
done
echo "## Requests per API operation and peak RSS"
.venv/bin/python bench/aws_calls.py
echo
echo "## Transforms"
.venv/bin/python bench/transforms.py
echo
echo "## Delivery (Kinesis -> S3)"
.venv/bin/python bench/delivery.py
