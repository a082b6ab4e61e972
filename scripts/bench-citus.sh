#!/usr/bin/env bash
# The ledger on the local Citus cluster beside one node, in one run on one
# machine (docs/SCALE.md, "Efficiency on the cluster"):
#   - BenchmarkCitusPost: postings/s, 8 workers, 1,000 tenants: Post on one
#     node, Post on the cluster (delegated ledger_post), and the posting
#     statement on the cluster (the path before issue 20), interleaved;
#     with the Citus executions per posting (citus_stat_counters);
#   - BenchmarkPostBatch on the cluster and pgbench -M prepared -c 8 -j 2
#     tpcb-like on a scratch database of the coordinator;
#   - BenchmarkCitusReads: a get by id and a list page, cluster vs one node,
#     with the cluster in the modes before issue 20's reads and the same
#     statement raw on the worker's shard (the coordinator's hop).
# Needs the cluster (scripts/citus.sh start). Prints the figures and the
# ratios. Reports, never asserts.
#
# Environment: POSTINGS (4000 per posting benchmark), BATCHED (20000
# postings per batch benchmark), READS (2000), PGBENCH_SCALE (10),
# PGBENCH_SECONDS (20); PGHOST/PGUSER as for bench-ledger.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
export PGHOST=${PGHOST:-127.0.0.1} PGUSER=${PGUSER:-postgres}
POSTINGS=${POSTINGS:-4000}
BATCHED=${BATCHED:-20000}
READS=${READS:-2000}
SCALE=${PGBENCH_SCALE:-10}
SECONDS_=${PGBENCH_SECONDS:-20}
PGBIN=${PGBIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | tail -1)}
SCRATCH=ledger_bench_citus_pgbench
citus_url="$(./scripts/citus.sh url)"
coord_port="$(echo "$citus_url" | sed -E 's|.*:([0-9]+)/.*|\1|')"
export TEST_CITUS_URL="$citus_url"
export TEST_DATABASE_URL=${TEST_DATABASE_URL:-postgres://$PGUSER@$PGHOST:5432/postgres?sslmode=disable}

echo "== go test -run '^\$' -bench CitusPost -benchtime ${POSTINGS}x ./ledger/"
gobench=$(go test -run '^$' -bench 'CitusPost$' -benchtime "${POSTINGS}x" -count 1 -timeout 30m ./ledger/ | grep '^Benchmark' | tee /dev/stderr)
echo "== go test -run '^\$' -bench 'PostBatch\$/size=1000' -benchtime ${BATCHED}x ./ledger/ (on the cluster)"
gobench+=$'\n'$(go test -run '^$' -bench 'PostBatch$/size=1000' -benchtime "${BATCHED}x" -count 1 -timeout 30m ./ledger/ | grep '^Benchmark' | tee /dev/stderr)
echo "== go test -run '^\$' -bench CitusReads -benchtime ${READS}x ./ledger/"
gobench+=$'\n'$(go test -run '^$' -bench 'CitusReads' -benchtime "${READS}x" -count 1 -timeout 30m ./ledger/ | grep '^Benchmark' | tee /dev/stderr)

echo "== pgbench -M prepared -c 8 -j 2 -T $SECONDS_ (tpcb-like, scale $SCALE) on the coordinator (port $coord_port)"
"$PGBIN/psql" -q -p "$coord_port" -d postgres -c "DROP DATABASE IF EXISTS $SCRATCH" -c "CREATE DATABASE $SCRATCH"
trap '"$PGBIN/psql" -q -p "$coord_port" -d postgres -c "DROP DATABASE IF EXISTS $SCRATCH"' EXIT
"$PGBIN/pgbench" -p "$coord_port" -i -q -s "$SCALE" "$SCRATCH" >/dev/null 2>&1
pgb=$("$PGBIN/pgbench" -p "$coord_port" -M prepared -c 8 -j 2 -T "$SECONDS_" -n "$SCRATCH" 2>/dev/null)
tps=$(echo "$pgb" | awk '/^tps = / {print $3; exit}')
echo "tps = $tps"

metric() { echo "$gobench" | awk -v name="$1" -v unit="$2" '$1 ~ name { for (i = 1; i < NF; i++) if ($(i+1) == unit) print $i }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2fx", a / b }'; }
node=$(metric 'CitusPost' node-postings/s)
cluster=$(metric 'CitusPost' cluster-postings/s)
stmt=$(metric 'CitusPost' cluster_stmt-postings/s)
execs=$(metric 'CitusPost' cluster-executions/posting)
stmt_execs=$(metric 'CitusPost' cluster_stmt-executions/posting)
batch_many=$(metric 'PostBatch/size=1000/tenants=1000' postings/s)
batch_hot=$(metric 'PostBatch/size=1000/tenants=1-' postings/s)
get=$(metric 'CitusReads/get' cluster/node)
list=$(metric 'CitusReads/list' cluster/node)
get_node=$(metric 'CitusReads/get' node-ns/op)
get_cluster=$(metric 'CitusReads/get' cluster-ns/op)
list_node=$(metric 'CitusReads/list' node-ns/op)
list_cluster=$(metric 'CitusReads/list' cluster-ns/op)
get_before=$(metric 'CitusReads/get' cluster_before-ns/op)
list_before=$(metric 'CitusReads/list' cluster_before-ns/op)
get_shard=$(metric 'CitusReads/get' shard-ns/op)
list_shard=$(metric 'CitusReads/list' shard-ns/op)

cat <<REPORT

| measure | cluster | reference | ratio | target |
|---|---|---|---|---|
| Post postings/s, 8 workers, 1,000 tenants | $cluster | one node $node | $(ratio "$cluster" "$node") | >= 0.5x |
| the posting statement on the cluster (before), postings/s | $stmt | one node $node | $(ratio "$stmt" "$node") | |
| Citus executions per posting (Post / the statement) | $execs | $stmt_execs | | 1 |
| PostBatch 1,000 postings/s, 1,000 tenants | $batch_many | pgbench on the coordinator $tps | $(ratio "$batch_many" "$tps") | >= 3x |
| PostBatch 1,000 postings/s, 1 hot tenant | $batch_hot | pgbench on the coordinator $tps | $(ratio "$batch_hot" "$tps") | |
| get by id, ns (one worker) | $get_cluster | one node $get_node | ${get}x | <= 2x |
| list page of 20, ns (one worker) | $list_cluster | one node $list_node | ${list}x | <= 2x |
| get by id before (modes of main), ns | $get_before | one node $get_node | $(ratio "$get_before" "$get_node") | |
| list page before (modes of main), ns | $list_before | one node $list_node | $(ratio "$list_before" "$list_node") | |
| get by id raw on the worker's shard, ns | $get_shard | one node $get_node | $(ratio "$get_shard" "$get_node") | |
| list page raw on the worker's shard, ns | $list_shard | one node $list_node | $(ratio "$list_shard" "$list_node") | |
REPORT
