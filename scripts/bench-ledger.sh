#!/usr/bin/env bash
# Ledger throughput beside its references, in one run on one machine:
#   - ledger postings/s (8 workers) over 1,000 tenants and over 1 hot tenant,
#     and the minimal raw usage statement on the same pool, interleaved
#     (go test -bench, ledger/; scripts/bench-batch.sh rotates the parts too);
#   - pgbench -M prepared -c 8 -j 2 tpcb-like on a scratch database;
#   - bulk LLM-call ingestion rows/s against raw pgx CopyFrom.
# Prints the figures and the ratios. Reports, never asserts.
#
# Environment: PGHOST (127.0.0.1), PGPORT (5432), PGUSER (postgres),
# POSTINGS (5000 per posting benchmark), BATCHES (20 batches of 10k rows
# per ingestion benchmark), PGBENCH_SCALE (10), PGBENCH_SECONDS (20).
set -euo pipefail
cd "$(dirname "$0")/.."
export PGHOST=${PGHOST:-127.0.0.1} PGPORT=${PGPORT:-5432} PGUSER=${PGUSER:-postgres}
POSTINGS=${POSTINGS:-5000}
BATCHES=${BATCHES:-20}
SCALE=${PGBENCH_SCALE:-10}
SECONDS_=${PGBENCH_SECONDS:-20}
PGBIN=${PGBIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | tail -1)}
SCRATCH=ledger_bench_pgbench
export TEST_DATABASE_URL=${TEST_DATABASE_URL:-postgres://$PGUSER@$PGHOST:$PGPORT/postgres?sslmode=disable}

echo "== go test -run '^\$' -bench Post -benchtime ${POSTINGS}x ./ledger/"
gobench=$(go test -run '^$' -bench 'Post$' -benchtime "${POSTINGS}x" -count 1 ./ledger/ | grep '^Benchmark' | tee /dev/stderr)
echo "== go test -run '^\$' -bench IngestLLMCalls -benchtime ${BATCHES}x ./ledger/"
gobench+=$'\n'$(go test -run '^$' -bench IngestLLMCalls -benchtime "${BATCHES}x" -count 1 ./ledger/ | grep '^Benchmark' | tee /dev/stderr)

echo "== pgbench -M prepared -c 8 -j 2 -T $SECONDS_ (tpcb-like, scale $SCALE)"
"$PGBIN/psql" -q -d postgres -c "DROP DATABASE IF EXISTS $SCRATCH" -c "CREATE DATABASE $SCRATCH"
trap '"$PGBIN/psql" -q -d postgres -c "DROP DATABASE IF EXISTS $SCRATCH"' EXIT
"$PGBIN/pgbench" -i -q -s "$SCALE" "$SCRATCH" >/dev/null 2>&1
pgb=$("$PGBIN/pgbench" -M prepared -c 8 -j 2 -T "$SECONDS_" -n "$SCRATCH" 2>/dev/null)
tps=$(echo "$pgb" | awk '/^tps = / {print $3; exit}')
echo "tps = $tps"

metric() { echo "$gobench" | awk -v name="$1" -v unit="$2" '$1 ~ name { for (i = 1; i < NF; i++) if ($(i+1) == unit) print $i }'; }
ledger_many=$(metric 'Post/tenants=1000' post-postings/s)
raw_many=$(metric 'Post/tenants=1000' min-postings/s)
ledger_hot=$(metric 'Post/tenants=1-' post-postings/s)
raw_hot=$(metric 'Post/tenants=1-' min-postings/s)
ingest=$(metric 'IngestLLMCalls/ledger' rows/s)
copyfrom=$(metric 'IngestLLMCalls/copyfrom' rows/s)
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2fx", a / b }'; }

cat <<REPORT

| measure | ledger | reference | ratio | target |
|---|---|---|---|---|
| postings/s, 8 workers, 1,000 tenants | $ledger_many | raw pgx $raw_many | $(ratio "$ledger_many" "$raw_many") | >= 0.8x |
| postings/s, 8 workers, 1 hot tenant | $ledger_hot | raw pgx $raw_hot | $(ratio "$ledger_hot" "$raw_hot") | >= 0.8x |
| postings/s vs pgbench tpcb-like tps, 1,000 tenants | $ledger_many | pgbench $tps | $(ratio "$ledger_many" "$tps") | >= 1.5x |
| postings/s vs pgbench tpcb-like tps, 1 hot tenant | $ledger_hot | pgbench $tps | $(ratio "$ledger_hot" "$tps") | (none) |
| LLM-call ingestion rows/s (10k-row batches) | $ingest | CopyFrom $copyfrom | $(ratio "$ingest" "$copyfrom") | >= 0.9x |
REPORT
