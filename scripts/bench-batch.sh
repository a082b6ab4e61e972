#!/usr/bin/env bash
# Batched postings beside their references, on one machine, in alternating
# rounds (ROUNDS=N) so that the machine's drift hits every measure alike:
#   - go test -bench ./ledger/: ledger.Post and the raw pgx single-statement
#     posting (8 workers), ledger.PostBatch (8 workers, batches of 100 and
#     1,000), RecordLLMCall through the Batcher and unbatched (64 callers),
#     each over 1,000 tenants and over 1 hot tenant;
#   - pgbench -M prepared -c 8 -j 2 tpcb-like on a scratch database.
# Prints one table: each round's figures and ratios, and their median.
# Reports, never asserts.
#
# Environment: PGHOST (127.0.0.1), PGPORT (5432), PGUSER (postgres),
# ROUNDS (1), POSTINGS (5000 per Post benchmark), BATCHED (20000 postings
# per PostBatch benchmark), CALLS (10000 per RecordLLMCall benchmark),
# PGBENCH_SCALE (10), PGBENCH_SECONDS (20).
set -euo pipefail
cd "$(dirname "$0")/.."
export PGHOST=${PGHOST:-127.0.0.1} PGPORT=${PGPORT:-5432} PGUSER=${PGUSER:-postgres}
ROUNDS=${ROUNDS:-1}
POSTINGS=${POSTINGS:-5000}
BATCHED=${BATCHED:-20000}
CALLS=${CALLS:-10000}
SCALE=${PGBENCH_SCALE:-10}
SECONDS_=${PGBENCH_SECONDS:-20}
PGBIN=${PGBIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | tail -1)}
SCRATCH=ledger_bench_batch_pgbench
export TEST_DATABASE_URL=${TEST_DATABASE_URL:-postgres://$PGUSER@$PGHOST:$PGPORT/postgres?sslmode=disable}

"$PGBIN/psql" -q -d postgres -c "DROP DATABASE IF EXISTS $SCRATCH" -c "CREATE DATABASE $SCRATCH"
trap '"$PGBIN/psql" -q -d postgres -c "DROP DATABASE IF EXISTS $SCRATCH"' EXIT
"$PGBIN/pgbench" -i -q -s "$SCALE" "$SCRATCH" >/dev/null 2>&1

# rows: "key|label|kind" where kind is a metric (name unit) or a ratio (a / b).
rows=(
  "pgbench|pgbench tpcb-like tps (-M prepared -c 8 -j 2, scale $SCALE)|"
  "post_many|ledger.Post postings/s, 1,000 tenants|^BenchmarkPost/ledger/tenants=1000- postings/s"
  "raw_many|raw pgx single statement postings/s, 1,000 tenants|^BenchmarkPost/rawpgx/tenants=1000- postings/s"
  "post_hot|ledger.Post postings/s, 1 hot tenant|^BenchmarkPost/ledger/tenants=1- postings/s"
  "raw_hot|raw pgx single statement postings/s, 1 hot tenant|^BenchmarkPost/rawpgx/tenants=1- postings/s"
  "b100_many|PostBatch (100/batch) postings/s, 1,000 tenants|^BenchmarkPostBatch/size=100/tenants=1000- postings/s"
  "b100_hot|PostBatch (100/batch) postings/s, 1 hot tenant|^BenchmarkPostBatch/size=100/tenants=1- postings/s"
  "b1000_many|PostBatch (1,000/batch) postings/s, 1,000 tenants|^BenchmarkPostBatch/size=1000/tenants=1000- postings/s"
  "b1000_hot|PostBatch (1,000/batch) postings/s, 1 hot tenant|^BenchmarkPostBatch/size=1000/tenants=1- postings/s"
  "llm_b_many|RecordLLMCall batched calls/s, 1,000 tenants|^BenchmarkRecordLLMCall/batched/tenants=1000- calls/s"
  "llm_u_many|RecordLLMCall unbatched calls/s, 1,000 tenants|^BenchmarkRecordLLMCall/unbatched/tenants=1000- calls/s"
  "llm_b_hot|RecordLLMCall batched calls/s, 1 hot tenant|^BenchmarkRecordLLMCall/batched/tenants=1- calls/s"
  "llm_u_hot|RecordLLMCall unbatched calls/s, 1 hot tenant|^BenchmarkRecordLLMCall/unbatched/tenants=1- calls/s"
  "llm_size_many|RecordLLMCall batched: calls per batch, 1,000 tenants|^BenchmarkRecordLLMCall/batched/tenants=1000- calls/batch"
  "llm_size_hot|RecordLLMCall batched: calls per batch, 1 hot tenant|^BenchmarkRecordLLMCall/batched/tenants=1- calls/batch"
  "r_post_many|**Post / raw, 1,000 tenants** (target >= 0.9x)|post_many / raw_many"
  "r_post_hot|**Post / raw, 1 hot tenant** (target >= 0.9x)|post_hot / raw_hot"
  "r_b100_many|**PostBatch 100 / pgbench, 1,000 tenants** (target >= 5x)|b100_many / pgbench"
  "r_b100_hot|**PostBatch 100 / pgbench, 1 hot tenant** (target >= 5x)|b100_hot / pgbench"
  "r_b1000_many|**PostBatch 1,000 / pgbench, 1,000 tenants** (target >= 5x)|b1000_many / pgbench"
  "r_b1000_hot|**PostBatch 1,000 / pgbench, 1 hot tenant** (target >= 5x)|b1000_hot / pgbench"
  "r_llm_many|RecordLLMCall batched / unbatched, 1,000 tenants|llm_b_many / llm_u_many"
  "r_llm_hot|RecordLLMCall batched / unbatched, 1 hot tenant|llm_b_hot / llm_u_hot"
  "r_llmpg_many|RecordLLMCall batched / pgbench, 1,000 tenants|llm_b_many / pgbench"
  "r_llmpg_hot|RecordLLMCall batched / pgbench, 1 hot tenant|llm_b_hot / pgbench"
)
declare -A val # key,round -> value

for round in $(seq 1 "$ROUNDS"); do
  echo "== round $round of $ROUNDS" >&2
  out=$(go test -run '^$' -bench 'Post$' -benchtime "${POSTINGS}x" -count 1 ./ledger/ | grep '^Benchmark' | tee -a /dev/stderr)
  out+=$'\n'$(go test -run '^$' -bench 'PostBatch' -benchtime "${BATCHED}x" -count 1 ./ledger/ | grep '^Benchmark' | tee -a /dev/stderr)
  out+=$'\n'$(go test -run '^$' -bench 'RecordLLMCall' -benchtime "${CALLS}x" -count 1 ./ledger/ | grep '^Benchmark' | tee -a /dev/stderr)
  pgb=$("$PGBIN/pgbench" -M prepared -c 8 -j 2 -T "$SECONDS_" -n "$SCRATCH" 2>/dev/null)
  val[pgbench,$round]=$(echo "$pgb" | awk '/^tps = / {printf "%.0f", $3; exit}')
  echo "pgbench tps = ${val[pgbench,$round]}" >&2
  for row in "${rows[@]}"; do
    IFS='|' read -r key _ kind <<<"$row"
    case "$kind" in
      "") ;;
      *" / "*)
        a=${val[${kind%% / *},$round]:-} b=${val[${kind##* / },$round]:-}
        val[$key,$round]=$(awk -v a="$a" -v b="$b" 'BEGIN { if (a != "" && b > 0) printf "%.2fx", a / b }') ;;
      *)
        read -r name unit <<<"$kind"
        val[$key,$round]=$(echo "$out" | awk -v name="$name" -v unit="$unit" \
          '$1 ~ name { for (i = 1; i < NF; i++) if ($(i+1) == unit) { printf (unit == "calls/batch" ? "%.1f" : "%.0f"), $i; exit } }') ;;
    esac
  done
done

median() { tr ' ' '\n' | grep -v '^$' | sed 's/x$//' | sort -g | awk '{ v[NR] = $1 } END { if (NR) printf "%s", (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }

header="| measure |" sep="|---|"
for round in $(seq 1 "$ROUNDS"); do header+=" round $round |" sep+="---|"; done
echo
echo "$header median |"
echo "$sep---|"
for row in "${rows[@]}"; do
  IFS='|' read -r key label kind <<<"$row"
  line="| $label |" all=""
  for round in $(seq 1 "$ROUNDS"); do
    line+=" ${val[$key,$round]:-} |"
    all+=" ${val[$key,$round]:-}"
  done
  m=$(echo "$all" | median)
  case "$kind" in *" / "*) [ -n "$m" ] && m=$(awk -v m="$m" 'BEGIN { printf "%.2fx", m }') ;; esac
  echo "$line $m |"
done
