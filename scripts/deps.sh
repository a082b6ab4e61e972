#!/usr/bin/env bash
# Install, once per machine, what the full test run needs beyond the local
# PostgreSQL: gcc for cgo (internal/runtime/scope builds PostgreSQL's parser,
# pg_query), PgBouncer, pg_auto_failover and Chromium (the studio's browser
# test runs it headless) from Debian, Citus built from the vendored source
# (scripts/citus.sh install). A no-op when all are there.
# Installing PostgreSQL packages may upgrade and restart the server on 5432:
# run it before anything connects; it waits for the server afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."

major="${PG_MAJOR:-15}"
pkgs=(gcc libc6-dev pgbouncer "postgresql-$major-auto-failover" pg-auto-failover-cli chromium)
missing=()
for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if ((${#missing[@]})); then
  echo "deps: installing ${missing[*]}" >&2
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2
fi
./scripts/citus.sh install >&2

# The packages' post-install scripts may have restarted the server.
if ! pg_isready -q -h 127.0.0.1 -p 5432; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start >&2 || true
fi
for _ in $(seq 1 60); do pg_isready -q -h 127.0.0.1 -p 5432 && exit 0; sleep 1; done
echo "deps: the server on 5432 is not ready" >&2
exit 1
