#!/usr/bin/env bash
# A local high-availability formation with pg_auto_failover (Debian's
# postgresql-15-auto-failover and pg-auto-failover-cli): a monitor and two
# data nodes with synchronous replication, for the failover and standby-read
# tests (docs/OPERATIONS.md). Idempotent: start on a running formation only
# prints its URL; stop on a stopped one does nothing.
#
#   scripts/ha.sh start    # prints the multi-host URL (read-write)
#   scripts/ha.sh stop
#   scripts/ha.sh status   # each node's state; exit 0 when a primary and a secondary run
#   scripts/ha.sh url      # the multi-host URL
#   scripts/ha.sh primary  # host:port of the current primary
#   scripts/ha.sh stop-standby  # stop the secondary node (start brings it back)
#
# HA_DIR (/tmp/leadmetrics-ha), HA_PORT (5500: the monitor; the nodes take
# the next two ports) override the defaults; HA_FAILOVER=default puts the
# formation back on pg_auto_failover's own timing (the "before" figures in
# docs/OPERATIONS.md). Trust authentication, no TLS: a test setup on
# 127.0.0.1 only.
set -euo pipefail

dir="${HA_DIR:-/tmp/leadmetrics-ha}"
mport="${HA_PORT:-5500}"
ports=("$((mport + 1))" "$((mport + 2))")
db=leadmetrics
bindir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)"
monitor_uri="postgres://autoctl_node@127.0.0.1:$mport/pg_auto_failover?sslmode=disable"
url="postgres://postgres@127.0.0.1:${ports[0]},127.0.0.1:${ports[1]}/$db?sslmode=disable&target_session_attrs=read-write"

# pg_autoctl keeps its configuration, state and pid files under XDG dirs: all in $dir.
xdg=(PATH="$bindir:$PATH" XDG_RUNTIME_DIR="$dir/run" XDG_CONFIG_HOME="$dir/config" XDG_DATA_HOME="$dir/data")

# as runs a command as the postgres user (pg_autoctl and PostgreSQL refuse root).
as() {
  if [[ "$(id -u)" == 0 ]]; then
    runuser -u postgres -- env "${xdg[@]}" "$@"
  else
    env "${xdg[@]}" "$@"
  fi
}

running() { as pg_autoctl status --pgdata "$1" >/dev/null 2>&1; }

# launch DIR LOG CREATE-ARGS...: runs an existing node, or creates and runs a new one, in the background.
launch() {
  local pgdata="$1" log="$2"; shift 2
  running "$pgdata" && return 0
  if [[ -f "$pgdata/PG_VERSION" ]]; then
    as setsid pg_autoctl run --pgdata "$pgdata" >>"$log" 2>&1 </dev/null &
  else
    as setsid pg_autoctl create "$@" --pgdata "$pgdata" --run >>"$log" 2>&1 </dev/null &
  fi
}

# states prints "name host:port state settled|moving" for each data node, from the monitor.
states() {
  as psql -XAtq -F ' ' -h 127.0.0.1 -p "$mport" -d pg_auto_failover -U autoctl_node \
    -c "SELECT nodename, nodehost || ':' || nodeport, reportedstate,
          CASE WHEN reportedstate = goalstate AND health = 1 THEN 'settled' ELSE 'moving' END
        FROM pgautofailover.node ORDER BY nodeid" 2>/dev/null
}

# healthy: a primary and a secondary, both where the monitor wants them
# and passing its health checks (a failover can happen again).
healthy() {
  local s; s="$(states)" || return 1
  grep -Eq ' primary settled$' <<<"$s" && grep -Eq ' secondary settled$' <<<"$s"
}

# Failover timing (docs/OPERATIONS.md, "Failover time"). pg_auto_failover's
# defaults (health checks every 5 s, a node unhealthy after 20 s without a
# report, 30 s for the old primary to demote) take about 50 s from a dead
# primary to a writable standby. The monitor here acts after 5 s and
# promotes 5 s later; the keeper of a primary that can reach neither the
# monitor nor its standby demotes itself after 5 s (network_partition_timeout),
# before the monitor promotes the standby, so two primaries never take
# writes. Synchronous replication stays on: a primary cut off from its
# standby cannot acknowledge a commit anyway.
monitor_settings=(
  pgautofailover.health_check_period=1000
  pgautofailover.health_check_timeout=2000
  pgautofailover.health_check_max_retries=2
  pgautofailover.health_check_retry_delay=500
  pgautofailover.node_considered_unhealthy_timeout=5000
  pgautofailover.primary_demote_timeout=5000
)
keeper_settings=(timeout.network_partition_timeout=5)
if [[ "${HA_FAILOVER:-}" == default ]]; then
  monitor_settings=("${monitor_settings[@]%%=*}") # RESET: the extension's defaults
  keeper_settings=(timeout.network_partition_timeout=20)
fi

# tune_monitor applies monitor_settings (ALTER SYSTEM, kept across restarts).
tune_monitor() {
  local kv args=()
  for kv in "${monitor_settings[@]}"; do
    if [[ "$kv" == *=* ]]; then args+=(-c "ALTER SYSTEM SET ${kv%%=*} = ${kv#*=}"); else args+=(-c "ALTER SYSTEM RESET $kv"); fi
  done
  as psql -XAtq -h 127.0.0.1 -p "$mport" -d pg_auto_failover "${args[@]}" -c "SELECT pg_reload_conf()" >/dev/null
}

# tune_node DIR applies keeper_settings to a node's pg_autoctl.cfg and has
# its running keeper reload them when one changed.
tune_node() {
  local kv changed=0
  for kv in "${keeper_settings[@]}"; do
    if [[ "$(as pg_autoctl config get --pgdata "$1" "${kv%%=*}" 2>/dev/null)" != "${kv#*=}" ]]; then
      as pg_autoctl config set --pgdata "$1" "${kv%%=*}" "${kv#*=}" >/dev/null
      changed=1
    fi
  done
  if (( changed )) && running "$1"; then as pg_autoctl reload --pgdata "$1" >/dev/null; fi
  return 0
}

# monitor_ready: the monitor's database and extension exist.
monitor_ready() {
  [[ "$(as psql -XAtq -h 127.0.0.1 -p "$mport" -d pg_auto_failover \
    -c "SELECT 1 FROM pg_extension WHERE extname = 'pgautofailover'" 2>/dev/null)" == 1 ]]
}

# up: every process of the formation runs here and the monitor is content.
up() { running "$dir/monitor" && running "$dir/node1" && running "$dir/node2" && healthy; }

# ready tunes a running formation (a no-op when it is already) and prints its URL.
ready() { tune_monitor; tune_node "$dir/node1"; tune_node "$dir/node2"; echo "$url"; }

start() {
  if up; then ready; return; fi
  mkdir -p "$dir/run" "$dir/config" "$dir/data"
  [[ "$(id -u)" == 0 ]] && chown -R postgres "$dir"
  launch "$dir/monitor" "$dir/monitor.log" monitor --pgport "$mport" --hostname 127.0.0.1 --auth trust --no-ssl
  # Not pg_isready: a new monitor's server answers before pg_autoctl has
  # created its database and extension (CI: tune_monitor failed there).
  local n
  for n in $(seq 1 1200); do monitor_ready && break; sleep 0.1; done
  monitor_ready || { echo "ha.sh: the monitor did not come up in 120 s" >&2; tail -n 20 "$dir/monitor.log" >&2; exit 1; }
  tune_monitor
  # Both data nodes at once: the first to register becomes primary, the
  # other waits for it and clones it.
  local i
  for i in 0 1; do
    launch "$dir/node$((i + 1))" "$dir/node$((i + 1)).log" postgres --name "node$((i + 1))" --pgport "${ports[$i]}" \
      --hostname 127.0.0.1 --auth trust --no-ssl --monitor "$monitor_uri" --dbname "$db"
  done
  for n in $(seq 1 1800); do
    if up; then ready; return; fi
    # pg_basebackup waits for a spread checkpoint (minutes on a busy
    # machine); an explicit CHECKPOINT on the primary finishes it now.
    if (( n % 20 == 0 )); then
      for i in 0 1; do as psql -XAtq -h 127.0.0.1 -p "${ports[$i]}" -d postgres -c CHECKPOINT >/dev/null 2>&1 || true; done
    fi
    sleep 0.1
  done
  echo "ha.sh: the formation did not reach primary + secondary in 180 s; logs in $dir" >&2
  states >&2 || true
  tail -n 20 "$dir"/*.log >&2 || true
  exit 1
}

stop() {
  local d pids=()
  for d in node1 node2 monitor; do
    [[ -d "$dir/$d" ]] || continue
    if running "$dir/$d"; then as pg_autoctl stop --pgdata "$dir/$d" >/dev/null 2>&1 & pids+=($!); fi
    # the monitor last: the nodes report to it while they stop
    [[ "$d" == node2 ]] && { [[ ${#pids[@]} -gt 0 ]] && wait "${pids[@]}"; pids=(); }
  done
  [[ ${#pids[@]} -gt 0 ]] && wait "${pids[@]}"
  for d in node1 node2 monitor; do
    for _ in $(seq 1 100); do running "$dir/$d" || break; sleep 0.1; done
  done
}

status() {
  states || { echo "monitor not running"; return 1; }
  up
}

primary() {
  states | awk '$3 == "primary" || $3 == "wait_primary" { print $2; found=1; exit } END { exit !found }'
}

# stop_standby stops the secondary's node (pg_autoctl and PostgreSQL), for
# the read-fallback test; start brings it back.
stop_standby() {
  local name; name="$(states | awk '$3 == "secondary" { print $1; exit }')"
  [[ -n "$name" ]] || { echo "ha.sh: no secondary" >&2; exit 1; }
  as pg_autoctl stop --pgdata "$dir/$name"
  for _ in $(seq 1 100); do running "$dir/$name" || return 0; sleep 0.1; done
}

case "${1:-}" in
  stop-standby) stop_standby ;;
  start) start ;;
  stop) stop ;;
  status) status ;;
  url) echo "$url" ;;
  primary) primary ;;
  *) echo "usage: $0 start|stop|status|url|primary|stop-standby" >&2; exit 2 ;;
esac
