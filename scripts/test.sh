#!/usr/bin/env bash
# The test command: every package against a real PostgreSQL, race detector
# on. gotestsum (pinned below) runs go test -json and prints go test's own
# lines ("ok  <pkg>  12.3s", failures with their output) as each package
# finishes, then a summary ("DONE 612 tests, 3 skipped in 301s") and, on
# failure, the failed tests again. It fails when any test or build fails.
# Extra arguments go to go test (e.g. -run TestX); GOTESTSUM_FORMAT=testname
# prints one line per test instead.
set -euo pipefail
cd "$(dirname "$0")/.."
# The tests use the local server unless told otherwise: start it when it is
# down (a project machine after a restart); a no-op when it runs.
if [ -z "${TEST_DATABASE_URL:-}${DATABASE_URL:-}" ] && command -v pg_isready >/dev/null &&
  ! pg_isready -h 127.0.0.1 -p 5432 -q; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start
  for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 1; done
fi
gotestsum=gotest.tools/gotestsum@v1.13.0
if ! go run "$gotestsum" --version >/dev/null 2>&1; then
  echo "test.sh: $gotestsum unavailable (no module proxy?): plain go test" >&2
  exec go test -race -count=1 -timeout 20m "$@" ./...
fi
exec go run "$gotestsum" --format "${GOTESTSUM_FORMAT:-standard-quiet}" -- -race -count=1 -timeout 20m "$@" ./...
