#!/usr/bin/env bash
# PostgreSQL on loopback, standing in for a Redshift cluster on one machine (Redshift speaks
# PostgreSQL's protocol). Installs Debian's package when it is missing, keeps one server per
# port under /tmp, and creates the user and database the README and the tests use.
#   infra/local/postgres.sh start|stop|status [port]
# Environment: TRIBUTARY_PG_USER (tributary), TRIBUTARY_PG_PASSWORD (tributary),
# TRIBUTARY_PG_DATABASE (dev). The server runs as `postgres` when started by root.
set -euo pipefail

command=${1:-start}
port=${2:-5439}
dir=/tmp/tributary-postgres-$port
user=${TRIBUTARY_PG_USER:-tributary}
password=${TRIBUTARY_PG_PASSWORD:-tributary}
database=${TRIBUTARY_PG_DATABASE:-dev}

bin_dir() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

install() {
  [ -n "$(bin_dir)" ] && return 0
  echo "postgres.sh: installing PostgreSQL (Debian package postgresql)" >&2
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq postgresql > /dev/null
}

# PostgreSQL refuses to run as root.
as_owner() {
  if [ "$(id -u)" = 0 ]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi
}

running() { [ -n "$(bin_dir)" ] && as_owner "$(bin_dir)/pg_ctl" -D "$dir" status > /dev/null 2>&1; }

start() {
  install
  local bin
  bin=$(bin_dir)
  if ! running; then
    if [ ! -f "$dir/PG_VERSION" ]; then
      rm -rf "$dir"
      mkdir -p "$dir"
      [ "$(id -u)" = 0 ] && chown postgres: "$dir"
      chmod 700 "$dir"
      local pwfile
      pwfile=$(mktemp)
      printf '%s\n' "$password" > "$pwfile"
      chmod 644 "$pwfile"
      as_owner "$bin/initdb" -D "$dir" -U "$user" --pwfile="$pwfile" --auth-local=trust --auth-host=scram-sha-256 -E UTF8 > "$dir.initdb.log" 2>&1 \
        || { rm -f "$pwfile"; cat "$dir.initdb.log" >&2; exit 1; }
      rm -f "$pwfile"
    fi
    as_owner "$bin/pg_ctl" -D "$dir" -l "$dir/server.log" -w -t 60 \
      -o "-p $port -k $dir -c listen_addresses=127.0.0.1" start > /dev/null \
      || { tail -n 20 "$dir/server.log" >&2; exit 1; }
  fi
  if ! as_owner "$bin/psql" -h "$dir" -p "$port" -U "$user" -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$database'" | grep -q 1; then
    as_owner "$bin/createdb" -h "$dir" -p "$port" -U "$user" "$database"
  fi
  echo "postgres.sh: PostgreSQL on 127.0.0.1:$port (user $user, database $database)"
}

stop() {
  running || return 0
  as_owner "$(bin_dir)/pg_ctl" -D "$dir" -m fast -w stop > /dev/null
}

case "$command" in
  start) start ;;
  stop) stop ;;
  status) running ;;
  *) echo "usage: $0 start|stop|status [port]" >&2; exit 2 ;;
esac
