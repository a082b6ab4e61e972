package scaleload_test

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"

	db "github.com/leadmetrics/db"
	"github.com/leadmetrics/db/ent"
	"github.com/leadmetrics/db/internal/scaleload"
	"github.com/leadmetrics/db/internal/testdb"
	"github.com/leadmetrics/db/ledger"
	"github.com/leadmetrics/db/page"
	"github.com/leadmetrics/db/privacy"
)

// capture records the statements Ent sends, with their arguments.
type capture struct {
	dialect.Driver
	mu   sync.Mutex
	last struct {
		query string
		args  []any
	}
}

func (c *capture) Query(ctx context.Context, query string, args, v any) error {
	c.mu.Lock()
	c.last.query, c.last.args = query, args.([]any)
	c.mu.Unlock()
	return c.Driver.Query(ctx, query, args, v)
}

// TestSkewedPlansStayBounded runs the layer's frequent queries more than
// five times on one pooled connection (where PostgreSQL would switch a
// prepared statement to a generic plan), then explains the very prepared
// statement the layer used for the largest tenant and bounds the buffers it
// touches: a plan that reads the tenant's rows, or sorts them, fails.
func TestSkewedPlansStayBounded(t *testing.T) {
	ctx := context.Background()
	cfg := db.DefaultConfig()
	cfg.URL, cfg.PoolMin, cfg.PoolMax = testdb.URL(t), 1, 1 // one connection: every statement reuses it
	sqlDB, err := db.OpenDB(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer sqlDB.Close()
	if _, err := scaleload.Load(ctx, sqlDB, scaleload.Small); err != nil {
		t.Fatal(err)
	}
	rec := &capture{Driver: entsql.OpenDB(dialect.Postgres, sqlDB)}
	client := ent.NewClient(ent.Driver(rec))
	l := ledger.New(client, sqlDB)
	now := time.Now()
	const big = 1
	cases := []struct {
		name  string
		run   func(ctx context.Context) error
		rank  int    // the tenant explained: the largest, or a small one for per-tenant scans
		bound int64  // buffers: about twice what the intended plan touches on scaleload.Small
		uses  string // when set, the plan must scan this index
		only  bool   // and be an index-only scan of it without heap fetches
		raw   string // a statement the layer sends raw: a substring that finds it
	}{
		{name: "llm calls, newest 50", rank: big, bound: 12, run: func(ctx context.Context) error {
			_, err := page.LLMCalls(ctx, client, "", 50)
			return err
		}},
		{name: "llm calls, third page", rank: big, bound: 12, run: func(ctx context.Context) error {
			p, err := page.LLMCalls(ctx, client, "", 50)
			for i := 0; err == nil && i < 2; i++ {
				p, err = page.LLMCalls(ctx, client, p.Next, 50)
			}
			return err
		}},
		{name: "audit log, newest 50", rank: big, bound: 12, run: func(ctx context.Context) error {
			_, err := page.AuditLogs(ctx, client, "", 50)
			return err
		}},
		{name: "failed dispatches, newest 50", rank: big, bound: 40, uses: "dispatchlog_failed", run: func(ctx context.Context) error {
			_, err := page.FailedDispatches(ctx, client, "", 50)
			return err
		}},
		{name: "pending approvals, oldest 50", rank: big, bound: 10, uses: "hitlapproval_pending", run: func(ctx context.Context) error {
			_, err := page.PendingApprovals(ctx, client, "", 50)
			return err
		}},
		{name: "work queue, due 50", rank: big, bound: 10, uses: "activity_work_queue", run: func(ctx context.Context) error {
			_, err := page.WorkQueue(ctx, client, now, 50)
			return err
		}},
		{name: "count of activities", rank: big, bound: 10, uses: "activity_live", only: true, run: func(ctx context.Context) error {
			_, err := client.Activity.Query().Count(ctx)
			return err
		}},
		{name: "reconcile a small tenant", rank: 400, bound: 10, raw: "WHERE tenant_id = ids.id", run: func(ctx context.Context) error {
			rep, err := l.Reconcile(ctx)
			if err == nil && !rep.OK() {
				err = fmt.Errorf("drift: %s", rep)
			}
			return err
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// Six tenants of every size first, then the one explained.
			for _, r := range []int{2, 300, 3, 200, 5, 100, c.rank} {
				if err := c.run(privacy.WithTenant(ctx, scaleload.TenantID(r))); err != nil {
					t.Fatal(err)
				}
			}
			query, args := rec.last.query, rec.last.args
			if c.raw != "" {
				query, args = "", []any{scaleload.TenantID(c.rank)}
			}
			conn, err := sqlDB.Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			var mode string
			if err := conn.QueryRowContext(ctx, `SHOW plan_cache_mode`).Scan(&mode); err != nil || mode != "force_custom_plan" {
				t.Fatalf("plan_cache_mode on the layer's connection: %q, %v", mode, err)
			}
			var name string
			var custom, generic int64
			find := `SELECT name, custom_plans, generic_plans FROM pg_prepared_statements WHERE statement = $1`
			arg := query
			if c.raw != "" {
				find = `SELECT name, custom_plans, generic_plans FROM pg_prepared_statements WHERE strpos(statement, $1) > 0`
				arg = c.raw
			}
			if err := conn.QueryRowContext(ctx, find, arg).Scan(&name, &custom, &generic); err != nil {
				t.Fatalf("the layer's prepared statement: %v\n%s", err, query)
			}
			if custom < 6 || generic != 0 {
				t.Errorf("%d custom and %d generic plans: want every execution planned for its tenant", custom, generic)
			}
			lits := make([]string, len(args))
			for i, a := range args {
				lits[i] = literal(t, a)
			}
			var out string
			if err := conn.QueryRowContext(ctx, `EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) EXECUTE `+name+
				`(`+strings.Join(lits, ", ")+`)`).Scan(&out); err != nil {
				t.Fatal(err)
			}
			var plans []struct{ Plan planNode }
			if err := json.Unmarshal([]byte(out), &plans); err != nil {
				t.Fatal(err)
			}
			p := plans[0].Plan
			t.Logf("tenant %s: %d buffers (bound %d)", scaleload.TenantID(c.rank), p.SharedHit+p.SharedRead, c.bound)
			if got := p.SharedHit + p.SharedRead; got > c.bound {
				t.Errorf("tenant %s: %d buffers, want at most %d. Plan:\n%s", scaleload.TenantID(c.rank), got, c.bound, out)
			}
			if c.uses != "" {
				n := p.find(func(n planNode) bool { return n.IndexName == c.uses })
				switch {
				case n == nil:
					t.Errorf("want a scan of %s. Plan:\n%s", c.uses, out)
				case c.only && (n.NodeType != "Index Only Scan" || n.HeapFetches != 0):
					t.Errorf("want an index-only scan of %s without heap fetches. Plan:\n%s", c.uses, out)
				}
			}
		})
	}
}

type planNode struct {
	NodeType    string     `json:"Node Type"`
	IndexName   string     `json:"Index Name"`
	HeapFetches int64      `json:"Heap Fetches"`
	SharedHit   int64      `json:"Shared Hit Blocks"`
	SharedRead  int64      `json:"Shared Read Blocks"`
	Plans       []planNode `json:"Plans"`
}

func (n planNode) find(f func(planNode) bool) *planNode {
	if f(n) {
		return &n
	}
	for _, c := range n.Plans {
		if m := c.find(f); m != nil {
			return m
		}
	}
	return nil
}

// literal renders an argument the layer sent as an SQL literal for EXECUTE.
func literal(t *testing.T, a any) string {
	switch v := a.(type) {
	case string:
		return "'" + strings.ReplaceAll(v, "'", "''") + "'"
	case time.Time:
		return "'" + v.Format(time.RFC3339Nano) + "'"
	case int, int64, int32:
		return fmt.Sprint(v)
	case bool:
		return fmt.Sprint(v)
	}
	if rv := reflect.ValueOf(a); rv.Kind() == reflect.String { // Ent's enums
		return literal(t, rv.String())
	}
	t.Fatalf("no literal for %T", a)
	return ""
}

// TestBalanceUpdatesStayHOT: credit_balances leaves room on each page
// (fillfactor 50), so updating every balance row once, as postings do, is a
// HOT update that writes no index entry. With full pages, most would not be.
func TestBalanceUpdatesStayHOT(t *testing.T) {
	ctx := context.Background()
	sqlDB := testdb.DB(t)
	if _, err := scaleload.Load(ctx, sqlDB, scaleload.Small); err != nil {
		t.Fatal(err)
	}
	conn, err := sqlDB.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var upd, hot int64
	if _, err := conn.ExecContext(ctx, `UPDATE credit_balances SET balance = balance + 1, last_seq = last_seq, updated_at = now()`); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, `SELECT pg_stat_force_next_flush()`); err != nil {
		t.Fatal(err)
	}
	if err := conn.QueryRowContext(ctx, `SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables WHERE relname = 'credit_balances'`).Scan(&upd, &hot); err != nil {
		t.Fatal(err)
	}
	if upd < int64(scaleload.Small.Tenants) || hot < upd*9/10 {
		t.Fatalf("%d of %d balance updates were HOT, want at least 90%%", hot, upd)
	}
}
