package ledger_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	db "github.com/leadmetrics/db"
	"github.com/leadmetrics/db/cuid"
	"github.com/leadmetrics/db/ent"
	"github.com/leadmetrics/db/internal/runtime/entpgx"
	"github.com/leadmetrics/db/internal/runtime/plans"
	"github.com/leadmetrics/db/internal/testing/paired"
	"github.com/leadmetrics/db/internal/testing/suitedb"
	"github.com/leadmetrics/db/ledger"
	"github.com/leadmetrics/db/page"
	"github.com/leadmetrics/db/privacy"
)

// The cluster beside one node, in one run: the Citus cluster of
// TEST_CITUS_URL and the tests' single server (suitedb.LocalURL) on the same
// machine. scripts/bench-citus.sh runs these with pgbench on the
// coordinator and prints the ratios (docs/SCALE.md).

// BenchmarkCitusPost: 8 workers post usage of 1,000 tenants, in 10
// interleaved rounds: Post on one node; Post on the cluster (the delegated
// function ledger_post); and the posting statement on the cluster, raw
// through pgx with Post's arguments (what Post sent there before). Reports
// postings/s of each, cluster/node, and the distributed executions the
// coordinator ran per posting (citus_stat_counters: each is a round of
// remote work sent to a worker).
func BenchmarkCitusPost(b *testing.B) {
	if !suitedb.OnCitus() {
		b.Skip("needs TEST_CITUS_URL")
	}
	clusterURL := suitedb.CitusURL(b)
	cl, clPool, ids := benchDBAt(b, clusterURL, 1000)
	node, _, nodeIDs := benchDBAt(b, suitedb.LocalURL(b), 1000)
	stmt, _ := ledger.PostStatements()
	ctxs, nodeCtxs := tenantCtxs(ids), tenantCtxs(nodeIDs)
	none := sql.NullString{}
	bg := context.Background()
	rs := paired.Run(b, benchWorkers, 10, []paired.Variant{
		{Name: "node", Op: func(_, i int) error {
			_, err := node.Post(nodeCtxs[i%len(nodeCtxs)], ledger.Posting{Kind: usage, Amount: -7, IdempotencyKey: fmt.Sprint("p", i)})
			return err
		}},
		{Name: "cluster", Op: func(_, i int) error {
			_, err := cl.Post(ctxs[i%len(ctxs)], ledger.Posting{Kind: usage, Amount: -7, IdempotencyKey: fmt.Sprint("p", i)})
			return err
		}},
		{Name: "cluster_stmt", Op: func(_, i int) error {
			rows, err := clPool.Query(bg, stmt, pgx.QueryExecModeCacheStatement, ids[i%len(ids)], fmt.Sprint("s", i), cuid.New(),
				"usage", int64(-7), none, none, none, none, none, none)
			if err != nil {
				return err
			}
			rows.Close()
			return rows.Err()
		}},
	})
	paired.Report(b, rs, 0)
	b.ReportMetric(rs[0].Throughput(), "node-postings/s")
	b.ReportMetric(rs[1].Throughput(), "cluster-postings/s")
	b.ReportMetric(rs[2].Throughput(), "cluster_stmt-postings/s")
	b.ReportMetric(rs[1].Throughput()/rs[0].Throughput(), "cluster/node-throughput")
	b.ReportMetric(rs[2].Throughput()/rs[0].Throughput(), "cluster_stmt/node-throughput")

	// Executions per posting, counted by Citus on a handle of its own
	// (the counters count only in sessions that enable them).
	counted := suitedb.Open(b, clusterURL+"&citus.enable_stat_counters=on")
	l := ledger.New(nil, counted)
	const n = 50
	b.ReportMetric(executions(b, counted, n, func(i int) error {
		_, err := l.Post(ctxs[i%len(ctxs)], ledger.Posting{Kind: usage, Amount: -7, IdempotencyKey: fmt.Sprint("c", i)})
		return err
	}), "cluster-executions/posting")
	b.ReportMetric(executions(b, counted, n, func(i int) error {
		_, err := counted.Exec(stmt, ids[i%len(ids)], fmt.Sprint("cs", i), cuid.New(), "usage", int64(-7), none, none, none, none, none, none)
		return err
	}), "cluster_stmt-executions/posting")
}

func tenantCtxs(ids []string) []context.Context {
	ctxs := make([]context.Context, len(ids))
	for i, id := range ids {
		ctxs[i] = privacy.WithTenant(context.Background(), id)
	}
	return ctxs
}

// executions runs op n times, one after the other, and returns the Citus
// executions (single- and multi-shard) the coordinator counted per op.
func executions(b *testing.B, q *sql.DB, n int, op func(i int) error) float64 {
	b.Helper()
	count := func() int64 { single, multi := citusExecutions(b, q); return single + multi }
	before := count()
	for i := range n {
		if err := op(i); err != nil {
			b.Fatal(err)
		}
	}
	return float64(count()-before) / float64(n)
}

// BenchmarkCitusReads: one worker's latency of a get by id and of a list
// page (20 newest ledger entries, page.LedgerEntries) through Ent under a
// tenant viewer, in interleaved rounds: on one node; on the cluster; on the
// cluster with the modes before issue 20's reads (a tenant's list unnamed,
// cluster_before); and the same statement raw through pgx on the worker's
// shard table directly, in the layer's mode (shard: the worker's own cost,
// so cluster minus shard is the coordinator's hop). Each of 100 tenants
// has 50 entries.
func BenchmarkCitusReads(b *testing.B) {
	if !suitedb.OnCitus() {
		b.Skip("needs TEST_CITUS_URL")
	}
	type side struct {
		client  *ent.Client
		ctxs    []context.Context
		tenants []string
		ids     []string // an entry of each tenant
		pool    *pgxpool.Pool
	}
	setup := func(rawURL string) side {
		l, pool, tenants := benchDBAt(b, rawURL, 100)
		s := side{client: db.NewClient(suitedb.Open(b, rawURL)), ctxs: tenantCtxs(tenants), tenants: tenants, pool: pool}
		sys := privacy.WithSystem(context.Background())
		var ps []ledger.Posting
		for _, t := range tenants {
			for k := range 50 {
				ps = append(ps, ledger.Posting{TenantID: t, Kind: topup, Amount: 1, IdempotencyKey: fmt.Sprint("g", k)})
			}
		}
		for from := 0; from < len(ps); from += ledger.MaxBatch {
			if _, err := l.PostBatch(sys, ps[from:min(from+ledger.MaxBatch, len(ps))]); err != nil {
				b.Fatal(err)
			}
		}
		for _, t := range tenants {
			var id string
			if err := pool.QueryRow(context.Background(), `SELECT id FROM credit_ledger_entries WHERE tenant_id = $1 AND seq = 25`, t).Scan(&id); err != nil {
				b.Fatal(err)
			}
			s.ids = append(s.ids, id)
		}
		return s
	}
	clusterURL := suitedb.CitusURL(b)
	node, cluster := setup(suitedb.LocalURL(b)), setup(clusterURL)
	// before: a handle on the same cluster database whose mode does not
	// know Citus (every tenant list unnamed, as before).
	beforeDB := suitedb.Open(b, clusterURL)
	bp, _ := entpgx.Lookup(beforeDB)
	entpgx.Register(beforeDB, bp.Pool, false, false)
	before := cluster
	before.client = db.NewClient(beforeDB)
	shardGet, shardList, shardPools := shardReads(b, cluster.pool, clusterURL, cluster.tenants)
	mode := plans.Mode{Pgx: true}
	get := func(s side) func(_, i int) error {
		return func(_, i int) error {
			_, err := s.client.CreditLedgerEntry.Get(s.ctxs[i%len(s.ctxs)], s.ids[i%len(s.ids)])
			return err
		}
	}
	list := func(s side) func(_, i int) error {
		return func(_, i int) error {
			p, err := page.LedgerEntries(s.ctxs[i%len(s.ctxs)], s.client, "", 20)
			if err == nil && len(p.Rows) != 20 {
				err = fmt.Errorf("a page of %d entries", len(p.Rows))
			}
			return err
		}
	}
	// shard runs the statement raw on the worker holding the tenant's
	// shard, with the mode one node gives it.
	shard := func(q func(i int) string, args func(i int) []any) func(_, i int) error {
		return func(_, i int) error {
			t := i % len(cluster.tenants)
			rows, err := shardPools[t].Query(context.Background(), q(t), mode.Args(q(t), args(i))...)
			if err != nil {
				return err
			}
			n := 0
			for rows.Next() {
				n++
			}
			rows.Close()
			if err == nil && n == 0 {
				err = fmt.Errorf("no rows")
			}
			return err
		}
	}
	for _, r := range []struct {
		name  string
		op    func(side) func(_, i int) error
		shard func(_, i int) error
	}{
		{"get", get, shard(func(t int) string { return shardGet[t] }, func(i int) []any {
			return []any{cluster.tenants[i%len(cluster.tenants)], cluster.ids[i%len(cluster.ids)]}
		})},
		{"list", list, shard(func(t int) string { return shardList[t] }, func(i int) []any {
			return []any{cluster.tenants[i%len(cluster.tenants)]}
		})},
	} {
		b.Run(r.name, func(b *testing.B) {
			rs := paired.Run(b, 1, 10, []paired.Variant{{Name: "node", Op: r.op(node)}, {Name: "cluster", Op: r.op(cluster)},
				{Name: "cluster_before", Op: r.op(before)}, {Name: "shard", Op: r.shard}})
			paired.Report(b, rs, 0)
		})
	}
}

// shardReads returns, per tenant, the get by id and the list page of
// credit_ledger_entries as the layer sends them but on the tenant's shard
// table (its name on the worker), and a pool on that worker's database.
func shardReads(b *testing.B, coord *pgxpool.Pool, clusterURL string, tenants []string) (get, list []string, pools []*pgxpool.Pool) {
	b.Helper()
	u, err := url.Parse(clusterURL)
	if err != nil {
		b.Fatal(err)
	}
	byPort := map[int]*pgxpool.Pool{}
	const cols = `"id", "ref_id", "tenant_id", "created_at", "updated_at", "deleted_at", "kind", "amount", "balance_after", "seq", "idempotency_key", "description", "actor", "metadata", "topup_order_id", "llm_call_id", "activity_id"`
	for _, t := range tenants {
		var shard string
		var port int
		if err := coord.QueryRow(context.Background(), `SELECT shard_name, nodeport FROM citus_shards
			WHERE table_name = 'credit_ledger_entries'::regclass AND shardid = get_shard_id_for_distribution_column('credit_ledger_entries', $1::text)`, t).Scan(&shard, &port); err != nil {
			b.Fatal(err)
		}
		if byPort[port] == nil {
			w := *u
			w.Host = fmt.Sprintf("%s:%d", u.Hostname(), port)
			p, err := pgxpool.New(context.Background(), w.String())
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(p.Close)
			byPort[port] = p
		}
		get = append(get, `SELECT `+cols+` FROM `+shard+` AS "credit_ledger_entries" WHERE "tenant_id" = $1 AND ("id" = $2) LIMIT 2`)
		list = append(list, `SELECT `+cols+` FROM `+shard+` AS "credit_ledger_entries" WHERE "tenant_id" = $1 ORDER BY "created_at" DESC, "id" DESC LIMIT 21`)
		pools = append(pools, byPort[port])
	}
	return get, list, pools
}
