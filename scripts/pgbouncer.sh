#!/usr/bin/env bash
# Start or stop a local PgBouncer (Debian's) in transaction pooling mode in
# front of the local PostgreSQL, for DATABASE_POOLER=pgbouncer and the
# pooler test run. Idempotent: start on a running instance prints its URL,
# stop on a stopped one does nothing.
#
#   scripts/pgbouncer.sh start   # prints postgres://postgres@127.0.0.1:6432/?sslmode=disable
#   scripts/pgbouncer.sh stop
#   scripts/pgbouncer.sh url
#   scripts/pgbouncer.sh status  # exit 0 when running
#
# PGBOUNCER_PORT (6432), PGBOUNCER_DIR (/tmp/leadmetrics-pgbouncer-PORT),
# PGBOUNCER_SERVER_HOST/PORT (127.0.0.1:5432) override the defaults. Every
# database of the server is reachable under its own name; authentication is
# the server's (trust on the project machine).
set -euo pipefail

port="${PGBOUNCER_PORT:-6432}"
dir="${PGBOUNCER_DIR:-/tmp/leadmetrics-pgbouncer-$port}"
server_host="${PGBOUNCER_SERVER_HOST:-127.0.0.1}"
server_port="${PGBOUNCER_SERVER_PORT:-5432}"
bin="$(command -v pgbouncer || echo /usr/sbin/pgbouncer)"
pidfile="$dir/pgbouncer.pid"
url="postgres://postgres@127.0.0.1:$port/?sslmode=disable"

running() { [[ -f "$pidfile" ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }

start() {
  if running; then echo "$url"; return; fi
  mkdir -p "$dir"
  # The users the project connects as: postgres and pgtestdb's role.
  printf '"postgres" ""\n"pgtdbuser" ""\n' > "$dir/userlist.txt"
  cat > "$dir/pgbouncer.ini" <<INI
[databases]
* = host=$server_host port=$server_port

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $port
unix_socket_dir =
auth_type = trust
auth_file = $dir/userlist.txt
pool_mode = transaction
default_pool_size = 20
max_client_conn = 500
server_reset_query =
ignore_startup_parameters = extra_float_digits
logfile = $dir/pgbouncer.log
pidfile = $pidfile
admin_users = postgres
INI
  local as=()
  # PgBouncer refuses to run as root: drop to the server's user.
  if [[ "$(id -u)" == 0 ]]; then chown -R postgres "$dir"; as=(-u postgres); fi
  "$bin" -d "${as[@]}" "$dir/pgbouncer.ini" >&2 # stdout is the URL alone
  for _ in $(seq 1 50); do
    if running && pg_isready -q -h 127.0.0.1 -p "$port" -d postgres; then echo "$url"; return; fi
    sleep 0.1
  done
  echo "pgbouncer did not start; log: $dir/pgbouncer.log" >&2
  tail -n 20 "$dir/pgbouncer.log" >&2 || true
  exit 1
}

stop() {
  running || return 0
  local pid; pid="$(cat "$pidfile")"
  kill "$pid"
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  echo "pgbouncer (pid $pid) did not stop" >&2
  exit 1
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  url) echo "$url" ;;
  status) running ;;
  *) echo "usage: $0 start|stop|url|status" >&2; exit 2 ;;
esac
