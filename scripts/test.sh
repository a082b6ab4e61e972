#!/usr/bin/env bash
# The test command (README). With no arguments, the whole run CI makes:
# install what is missing (scripts/deps.sh: once per machine, a no-op after),
# start the local server, PgBouncer, a Citus cluster on a new database and a
# pg_auto_failover formation (the last two in the background), then
#   1. every package against the local server, race detector on, then the
#      allocation guards without it;
#   2. the tenancy, ledger and billing suites through PgBouncer (transaction pooling);
#   3. failover, failback and standby reads on the formation;
#   4. the migrations, the cluster tests and the suites on Citus (tenancy,
#      ledger with its concurrency and fault tests, billing, retention, demo).
# Servers this run started are stopped when it ends. Fails on any failure.
#
# With arguments, only step 1, with them passed to go test
# (./scripts/test.sh -run TestX): the quick loop. TEST_EXTRAS=0 does the same
# without arguments. gotestsum (pinned below) prints go test's own lines as
# each package finishes, then a summary and, on failure, the failed tests
# again; GOTESTSUM_FORMAT=testname prints one line per test instead.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s  [%s, %d s in]\n' "$*" "$(date +%T)" "$SECONDS"; }
full=1
if (($#)) || [[ "${TEST_EXTRAS:-1}" == 0 ]]; then full=0; fi

if ((full)); then
  step "install what is missing (scripts/deps.sh)"
  ./scripts/deps.sh
  # deps.sh installed Chromium: the studio's browser test (internal/studio
  # TestBrowser) fails without it here instead of skipping.
  export STUDIO_BROWSER=required
fi

# The tests use the local server unless told otherwise: start it when it is
# down (a project machine after a restart); a no-op when it runs.
if [ -z "${TEST_DATABASE_URL:-}${DATABASE_URL:-}" ] && command -v pg_isready >/dev/null &&
  ! pg_isready -h 127.0.0.1 -p 5432 -q; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start
  for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 1; done
fi

gotestsum=gotest.tools/gotestsum@v1.13.0
suite() {
  if ! go run "$gotestsum" --version >/dev/null 2>&1; then
    echo "test.sh: $gotestsum unavailable (no module proxy?): plain go test" >&2
    go test -race -count=1 -timeout 20m "$@" ./...
    return
  fi
  go run "$gotestsum" --format "${GOTESTSUM_FORMAT:-standard-quiet}" -- -race -count=1 -timeout 20m "$@" ./...
}

# Allocation counts are deterministic but the race detector adds its own:
# the allocation guards (files built with !race) run without it.
allocs() { go test -count=1 -run 'Allocs|Allocates' ./bench/ ./cuid/; }

if ((!full)); then
  suite "$@"
  (($#)) || allocs
  exit
fi

# Servers this run starts are stopped when it ends, whatever happens.
cleanups=()
cleanup() { for c in "${cleanups[@]}"; do eval "$c" >/dev/null 2>&1 || true; done; }
trap cleanup EXIT
logs="$(mktemp -d)"

step "start Citus (new database) and the HA formation in the background"
./scripts/citus.sh status || cleanups+=('./scripts/citus.sh stop')
./scripts/citus.sh reset >"$logs/citus" 2>&1 &
citus_pid=$!
scripts/ha.sh status >/dev/null 2>&1 || cleanups+=('scripts/ha.sh stop')
scripts/ha.sh start >"$logs/ha" 2>&1 &
ha_pid=$!

step "1. every package on the local server (race detector), then the allocation guards"
suite
allocs

step "2. tenancy, ledger and billing through PgBouncer (transaction pooling)"
./scripts/pgbouncer.sh status || cleanups+=('./scripts/pgbouncer.sh stop')
./scripts/pgbouncer.sh start >/dev/null
pgbouncer_url="$(./scripts/pgbouncer.sh url)"
TEST_PGBOUNCER_URL="$pgbouncer_url" go test -count=1 ./privacy/ ./ledger/ ./billing/ ./internal/systemtest/pgbouncer/

# Kill the primary mid-burst (and again after failback), cut a COMMIT
# waiting for the standby, reads from the standby and their fallback;
# docs/OPERATIONS.md has the figures.
step "3. failover, failback and standby reads (pg_auto_failover)"
wait "$ha_pid" || { cat "$logs/ha"; exit 1; }
TEST_HA_URL="$(scripts/ha.sh url)" go test -count=1 -v -timeout 15m ./internal/systemtest/failover/

# The same migration files on the coordinator (every table placed), then
# placement, the routing test (one shard per tenant query, write, posting
# and reconciliation), raw cross-tenant links, the billing (webhooks), ledger
# (concurrency and faults included) and retention suites, the tenancy suite
# (attacks, hostile selectors, randomized, edges) and the demo; tests that
# cannot hold there skip, saying why (docs/SCALE.md). Each test database is
# created on every node (suitedb, TEST_CITUS_URL). Each command's wall time
# is printed.
step "4. on Citus"
timed() {
  local start=$SECONDS
  "$@"
  printf '   (%d s)\n' "$((SECONDS - start))"
}
wait "$citus_pid" || { cat "$logs/citus"; exit 1; }
citus_url="$(./scripts/citus.sh url)"
citus_start=$SECONDS
DATABASE_URL="$citus_url" go run ./cmd/dbctl migrate apply
DATABASE_URL="$citus_url" go run ./cmd/dbctl migrate status
TEST_CITUS_URL="$citus_url" timed go test -count=1 ./internal/systemtest/citus/
TEST_CITUS_URL="$citus_url" timed go test -count=1 -timeout 20m ./billing/ ./ledger/ ./retention/ ./privacy/
TEST_CITUS_URL="$citus_url" timed go test -count=1 -run 'Demo|Isolation' ./cmd/datactl/
printf '   (step 4: %d s)\n' "$((SECONDS - citus_start))"
