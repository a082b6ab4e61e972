#!/usr/bin/env bash
# Postings beside their references, on one machine, in rounds (ROUNDS=N)
# whose parts run in an order rotated every round, so that the machine's
# drift hits every measure alike:
#   - go test -bench ./ledger/: ledger.Post, the very statement it sends raw
#     through pgx and the minimal usage posting raw, all three prepared on
#     the layer's pool and interleaved inside the benchmark (8 workers);
#     ledger.PostBatch (8 workers, batches of 100 and 1,000: postings/s and
#     commits/s); RecordLLMCall through the Batcher and unbatched (64
#     callers); each over 1,000 tenants and over 1 hot tenant;
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

tmp=$(mktemp -d)
"$PGBIN/psql" -q -d postgres -c "DROP DATABASE IF EXISTS $SCRATCH" -c "CREATE DATABASE $SCRATCH"
trap '"$PGBIN/psql" -q -d postgres -c "DROP DATABASE IF EXISTS $SCRATCH"; rm -rf "$tmp"' EXIT
"$PGBIN/pgbench" -i -q -s "$SCALE" "$SCRATCH" >/dev/null 2>&1

# rows: "key|label|kind" where kind is a metric (name unit) or a ratio (a / b).
rows=(
  "pgbench|pgbench tpcb-like tps (-M prepared -c 8 -j 2, scale $SCALE)|"
  "post_many|ledger.Post postings/s, 1,000 tenants|^BenchmarkPost/tenants=1000- post-postings/s"
  "same_many|its statement raw (pgx, prepared) postings/s, 1,000 tenants|^BenchmarkPost/tenants=1000- same-postings/s"
  "raw_many|minimal usage statement raw (pgx, prepared) postings/s, 1,000 tenants|^BenchmarkPost/tenants=1000- min-postings/s"
  "cpu_many|ledger.Post client CPU us/posting, 1,000 tenants|^BenchmarkPost/tenants=1000- post-cpu-ns/op"
  "post_hot|ledger.Post postings/s, 1 hot tenant|^BenchmarkPost/tenants=1- post-postings/s"
  "same_hot|its statement raw (pgx, prepared) postings/s, 1 hot tenant|^BenchmarkPost/tenants=1- same-postings/s"
  "raw_hot|minimal usage statement raw (pgx, prepared) postings/s, 1 hot tenant|^BenchmarkPost/tenants=1- min-postings/s"
  "b100_many|PostBatch (100/batch) postings/s, 1,000 tenants|^BenchmarkPostBatch/size=100/tenants=1000- postings/s"
  "c100_many|PostBatch (100/batch) commits/s, 1,000 tenants|^BenchmarkPostBatch/size=100/tenants=1000- commits/s"
  "b100_hot|PostBatch (100/batch) postings/s, 1 hot tenant|^BenchmarkPostBatch/size=100/tenants=1- postings/s"
  "c100_hot|PostBatch (100/batch) commits/s, 1 hot tenant|^BenchmarkPostBatch/size=100/tenants=1- commits/s"
  "b1000_many|PostBatch (1,000/batch) postings/s, 1,000 tenants|^BenchmarkPostBatch/size=1000/tenants=1000- postings/s"
  "c1000_many|PostBatch (1,000/batch) commits/s, 1,000 tenants|^BenchmarkPostBatch/size=1000/tenants=1000- commits/s"
  "b1000_hot|PostBatch (1,000/batch) postings/s, 1 hot tenant|^BenchmarkPostBatch/size=1000/tenants=1- postings/s"
  "c1000_hot|PostBatch (1,000/batch) commits/s, 1 hot tenant|^BenchmarkPostBatch/size=1000/tenants=1- commits/s"
  "llm_b_many|RecordLLMCall batched calls/s, 1,000 tenants|^BenchmarkRecordLLMCall/batched/tenants=1000- calls/s"
  "llm_u_many|RecordLLMCall unbatched calls/s, 1,000 tenants|^BenchmarkRecordLLMCall/unbatched/tenants=1000- calls/s"
  "llm_b_hot|RecordLLMCall batched calls/s, 1 hot tenant|^BenchmarkRecordLLMCall/batched/tenants=1- calls/s"
  "llm_u_hot|RecordLLMCall unbatched calls/s, 1 hot tenant|^BenchmarkRecordLLMCall/unbatched/tenants=1- calls/s"
  "llm_size_many|RecordLLMCall batched: calls per batch, 1,000 tenants|^BenchmarkRecordLLMCall/batched/tenants=1000- calls/batch"
  "llm_size_hot|RecordLLMCall batched: calls per batch, 1 hot tenant|^BenchmarkRecordLLMCall/batched/tenants=1- calls/batch"
  "r_post_many|**Post / minimal raw statement, 1,000 tenants** (target >= 0.8x)|post_many / raw_many"
  "r_post_hot|**Post / minimal raw statement, 1 hot tenant** (target >= 0.8x)|post_hot / raw_hot"
  "r_same_many|Post / its own statement raw, 1,000 tenants|post_many / same_many"
  "r_same_hot|Post / its own statement raw, 1 hot tenant|post_hot / same_hot"
  "r_pgb_many|**Post / pgbench, 1,000 tenants** (target >= 1.5x)|post_many / pgbench"
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

go test -c -o "$tmp/ledger.test" ./ledger/
parts=(post batch llm pgbench)
for round in $(seq 1 "$ROUNDS"); do
  echo "== round $round of $ROUNDS" >&2
  out=""
  for k in 0 1 2 3; do
    part=${parts[$(((k + round - 1) % 4))]}
    case $part in
      post) out+=$'\n'$("$tmp/ledger.test" -test.run '^$' -test.bench 'Post$' -test.benchtime "${POSTINGS}x" | grep '^Benchmark' | tee -a /dev/stderr) ;;
      batch) out+=$'\n'$("$tmp/ledger.test" -test.run '^$' -test.bench 'PostBatch' -test.benchtime "${BATCHED}x" | grep '^Benchmark' | tee -a /dev/stderr) ;;
      llm) out+=$'\n'$("$tmp/ledger.test" -test.run '^$' -test.bench 'RecordLLMCall' -test.benchtime "${CALLS}x" | grep '^Benchmark' | tee -a /dev/stderr) ;;
      pgbench)
        pgb=$("$PGBIN/pgbench" -M prepared -c 8 -j 2 -T "$SECONDS_" -n "$SCRATCH" 2>/dev/null)
        val[pgbench,$round]=$(echo "$pgb" | awk '/^tps = / {printf "%.0f", $3; exit}')
        echo "pgbench tps = ${val[pgbench,$round]}" >&2 ;;
    esac
  done
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
          '$1 ~ name { for (i = 1; i < NF; i++) if ($(i+1) == unit) { printf (unit == "calls/batch" ? "%.1f" : unit ~ /ns\/op/ ? "%.1f" : "%.0f"), (unit ~ /ns\/op/ ? $i / 1000 : $i); exit } }') ;;
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
