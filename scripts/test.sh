#!/usr/bin/env bash
# The test command: every package against a real PostgreSQL, race detector on.
set -euo pipefail
cd "$(dirname "$0")/.."
exec go test -race -count=1 -timeout 20m "$@" ./...
