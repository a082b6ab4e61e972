#!/usr/bin/env bash
# Build, install, start and stop a local Citus 13.2 cluster (a coordinator and
# two workers, Debian's pg_createcluster on local ports) for the Citus test
# run and docs/SCALE.md. Every command is idempotent: install skips when the
# extension is installed, start on a running cluster prints its URL.
#
#   scripts/citus.sh install  # build Citus from the vendored source when missing
#   scripts/citus.sh start    # prints postgres://postgres@127.0.0.1:5441/leadmetrics?sslmode=disable
#   scripts/citus.sh reset    # drop and recreate the database on every node (a fresh run)
#   scripts/citus.sh stop
#   scripts/citus.sh url
#   scripts/citus.sh status   # exit 0 when every node runs
#
# CITUS_VENDOR_DIR (<repo>/../shared/vendor, or the nearest ancestor's), CITUS_PORT (5441; workers on the
# next two ports), CITUS_DB (leadmetrics), PG_MAJOR (15) override the defaults.
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
version=13.2.2
major="${PG_MAJOR:-15}"
# The vendored source sits in ../shared/vendor beside the repository (a
# worktree nests deeper: the nearest ancestor holding shared/vendor wins).
vendor_dir() {
  local d; d="$(dirname "$repo")"
  while [[ "$d" != / ]]; do
    [[ -d "$d/shared/vendor" ]] && { echo "$d/shared/vendor"; return; }
    d="$(dirname "$d")"
  done
  # Project machines mount it at /work/shared (a clone in /tmp has no
  # ancestor holding it).
  echo /work/shared/vendor
}
vendor="${CITUS_VENDOR_DIR:-$(vendor_dir)}"
port="${CITUS_PORT:-5441}"
ports=("$port" "$((port + 1))" "$((port + 2))")
names=(lm_citus_coord lm_citus_w1 lm_citus_w2)
db="${CITUS_DB:-leadmetrics}"
url="postgres://postgres@127.0.0.1:$port/$db?sslmode=disable"

as_postgres() { if [[ "$(id -u)" == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }
psql_at() { PGOPTIONS="-c client_min_messages=warning" as_postgres psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$1" -U postgres -d "$2" -tAc "$3"; }

installed() {
  [[ -f "/usr/lib/postgresql/$major/lib/citus.so" &&
     -f "/usr/share/postgresql/$major/extension/citus.control" ]]
}

install() {
  if installed; then echo "citus: installed"; return; fi
  local deps=(postgresql-server-dev-$major libcurl4-openssl-dev liblz4-dev libzstd-dev
    libkrb5-dev libselinux1-dev libxslt1-dev libpam0g-dev libreadline-dev build-essential)
  local missing=()
  for p in "${deps[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  if ((${#missing[@]})); then
    # Installing the server headers may upgrade and restart the server on
    # 5432: this runs before any test connects.
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
    for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
  fi
  local tarball="$vendor/citus-$version.tar.gz"
  [[ -f "$tarball" ]] || { echo "citus: $tarball missing (set CITUS_VENDOR_DIR)" >&2; exit 1; }
  local build; build="$(mktemp -d)"
  tar -xzf "$tarball" -C "$build"
  local src; src="$(find "$build" -mindepth 1 -maxdepth 1 -type d | head -n1)"
  # PostgreSQL 15.20 made have_createdb_privilege extern (docs/SCALE.md).
  for p in "$vendor"/citus-"$version"-pg*.patch; do
    [[ -f "$p" ]] && (cd "$src" && patch -p1 -s < "$p")
  done
  (cd "$src" && ./configure --quiet PG_CONFIG="/usr/lib/postgresql/$major/bin/pg_config" >/dev/null &&
    make -s -j2 >/dev/null && make -s install >/dev/null)
  rm -rf "$build"
  installed || { echo "citus: build finished but citus.so is missing" >&2; exit 1; }
  echo "citus: installed $version"
}

node_running() { pg_isready -q -h 127.0.0.1 -p "$1"; }

status() {
  for p in "${ports[@]}"; do node_running "$p" || return 1; done
}

# start_node runs in the background and reports on stderr: start's stdout is
# the URL alone (callers capture it; pg_ctlcluster may print notices such as
# a removed stale pid file).
start_node() {
  local name="$1" p="$2"
  exec >&2
  if ! pg_lsclusters -h | awk '{print $1" "$2}' | grep -qx "$major $name"; then
    pg_createcluster "$major" "$name" --port "$p" -- --auth=trust >/dev/null
  fi
  # The node's settings, in conf.d (included by Debian's postgresql.conf),
  # rewritten on every start so that a cluster created by an older version
  # of this script gets them too; a running node whose settings changed is
  # restarted. max_worker_processes: Citus's maintenance daemon takes a
  # background worker per database, and the tests create a database per test
  # (the default 8 ran out during the tenancy suite).
  local confd="/etc/postgresql/$major/$name/conf.d" settings
  settings="shared_preload_libraries = 'citus'
listen_addresses = '127.0.0.1'
max_connections = 200
max_worker_processes = 32
shared_buffers = 64MB
fsync = off
synchronous_commit = off
full_page_writes = off"
  mkdir -p "$confd"
  if [[ "$(cat "$confd/leadmetrics-citus.conf" 2>/dev/null)" != "$settings" ]]; then
    printf '%s\n' "$settings" >"$confd/leadmetrics-citus.conf"
    chown postgres:postgres "$confd/leadmetrics-citus.conf" 2>/dev/null || true
    node_running "$p" && pg_ctlcluster --skip-systemctl-redirect "$major" "$name" restart -m fast
  fi
  node_running "$p" || pg_ctlcluster --skip-systemctl-redirect "$major" "$name" start
  for _ in $(seq 1 60); do node_running "$p" && return; sleep 0.5; done
  echo "citus: node $name on $p did not start" >&2; exit 1
}

start() {
  installed || { echo "citus: not installed (scripts/citus.sh install)" >&2; exit 1; }
  local pids=()
  for i in 0 1 2; do start_node "${names[$i]}" "${ports[$i]}" & pids+=($!); done
  for pid in "${pids[@]}"; do wait "$pid"; done
  for p in "${ports[@]}"; do
    if [[ "$(psql_at "$p" postgres "SELECT 1 FROM pg_database WHERE datname = '$db'")" != 1 ]]; then
      psql_at "$p" postgres "CREATE DATABASE $db" >&2
    fi
    psql_at "$p" "$db" "CREATE EXTENSION IF NOT EXISTS citus" >&2
  done
  psql_at "$port" "$db" "SELECT citus_set_coordinator_host('127.0.0.1', $port)" >/dev/null
  for p in "${ports[@]:1}"; do
    psql_at "$port" "$db" "SELECT citus_add_node('127.0.0.1', $p) WHERE NOT EXISTS (SELECT 1 FROM pg_dist_node WHERE nodeport = $p)" >/dev/null
  done
  echo "$url"
}

# reset drops the database on every node and starts afresh: CI applies the
# migrations to a new database each run, as on a fresh machine.
reset() {
  installed || { echo "citus: not installed (scripts/citus.sh install)" >&2; exit 1; }
  for p in "${ports[@]}"; do
    if node_running "$p"; then psql_at "$p" postgres "DROP DATABASE IF EXISTS $db WITH (FORCE)" >&2; fi
  done
  start
}

stop() {
  for i in 0 1 2; do
    if node_running "${ports[$i]}"; then
      pg_ctlcluster --skip-systemctl-redirect "$major" "${names[$i]}" stop -m fast &
    fi
  done
  wait
}

case "${1:-}" in
  install) install ;;
  start) start ;;
  stop) stop ;;
  reset) reset ;;
  url) echo "$url" ;;
  status) status ;;
  *) echo "usage: $0 install|start|reset|stop|url|status" >&2; exit 2 ;;
esac
