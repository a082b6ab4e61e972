package ledger_test

import (
	"context"
	"database/sql"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5"

	db "github.com/leadmetrics/db"
	"github.com/leadmetrics/db/cuid"
	"github.com/leadmetrics/db/ent"
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
// tenant viewer, on one node and on the cluster, in interleaved rounds.
// Each of 100 tenants has 50 entries.
func BenchmarkCitusReads(b *testing.B) {
	if !suitedb.OnCitus() {
		b.Skip("needs TEST_CITUS_URL")
	}
	type side struct {
		client *ent.Client
		ctxs   []context.Context
		ids    []string // an entry of each tenant
	}
	setup := func(rawURL string) side {
		l, pool, tenants := benchDBAt(b, rawURL, 100)
		s := side{client: db.NewClient(suitedb.Open(b, rawURL)), ctxs: tenantCtxs(tenants)}
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
	node, cluster := setup(suitedb.LocalURL(b)), setup(suitedb.CitusURL(b))
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
	for _, r := range []struct {
		name string
		op   func(side) func(_, i int) error
	}{{"get", get}, {"list", list}} {
		b.Run(r.name, func(b *testing.B) {
			rs := paired.Run(b, 1, 10, []paired.Variant{{Name: "node", Op: r.op(node)}, {Name: "cluster", Op: r.op(cluster)}})
			paired.Report(b, rs, 0)
		})
	}
}
