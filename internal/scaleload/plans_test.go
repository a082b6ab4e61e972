package scaleload_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"entgo.io/ent/dialect"

	db "github.com/leadmetrics/db"
	"github.com/leadmetrics/db/ent"
	"github.com/leadmetrics/db/internal/runtime/entpgx"
	"github.com/leadmetrics/db/internal/scaleload"
	"github.com/leadmetrics/db/internal/testing/suitedb"
	"github.com/leadmetrics/db/ledger"
	"github.com/leadmetrics/db/page"
	"github.com/leadmetrics/db/privacy"
)

// capture records the statements Ent sends, with their arguments.
type capture struct {
	dialect.Driver
	mu    sync.Mutex
	query string
	args  []any
}

func (c *capture) Query(ctx context.Context, query string, args, v any) error {
	c.mu.Lock()
	c.query, c.args = query, args.([]any)
	c.mu.Unlock()
	return c.Driver.Query(ctx, query, args, v)
}

func (c *capture) last() (string, []any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.query, c.args
}

// TestSkewedPlansStayBounded runs the layer's frequent queries more than
// five times on one pooled connection (where PostgreSQL would switch a
// prepared statement to a generic plan), checks that the statement was not
// kept as a named prepared statement (so every execution was planned for
// its own tenant), then explains the very statement the layer sent, with
// the largest tenant's values, and bounds the buffers it touches: a plan
// that reads the tenant's rows, or sorts them, fails. The layer's
// statements by unique key, whose plans cannot depend on a tenant's size,
// are the other way round: kept prepared, planned once (TestPointPlansAreCached).
func TestSkewedPlansStayBounded(t *testing.T) {
	ctx := context.Background()
	sqlDB, client, rec, sent := oneConnection(t)
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
			conn, err := sqlDB.Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			query, args := rec.last()
			if c.raw != "" {
				query, args = sent.find(t, c.raw), []any{scaleload.TenantID(c.rank)}
			}
			if n := prepared(t, conn, query); n != 0 {
				t.Fatalf("kept as a named prepared statement (%d): a generic plan could serve every tenant\n%s", n, query)
			}
			out := explain(t, conn, query, args)
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

// TestPointPlansAreCached: the layer's lookups by unique key and its
// posting statement run as named prepared statements on a direct
// connection, so after five executions PostgreSQL plans them no more.
func TestPointPlansAreCached(t *testing.T) {
	ctx := context.Background()
	sqlDB, client, rec, sent := oneConnection(t)
	l := ledger.New(client, sqlDB)
	sys := privacy.WithSystem(ctx)
	acts, err := client.Activity.Query().Limit(8).All(sys)
	if err != nil || len(acts) < 8 {
		t.Fatalf("activities: %d, %v", len(acts), err)
	}
	var get string
	for _, a := range acts {
		if _, err := client.Activity.Get(privacy.WithTenant(ctx, a.TenantID), a.ID); err != nil {
			t.Fatal(err)
		}
		get, _ = rec.last()
		if _, err := l.Post(privacy.WithTenant(ctx, a.TenantID), ledger.Posting{Kind: "usage", Amount: -1, IdempotencyKey: "point-" + a.ID}); err != nil {
			t.Fatal(err)
		}
	}
	conn, err := sqlDB.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for name, query := range map[string]string{"get by id": get, "posting": sent.find(t, "INSERT INTO credit_ledger_entries")} {
		var custom, generic int64
		err := conn.QueryRowContext(ctx, `SELECT custom_plans, generic_plans FROM pg_prepared_statements WHERE statement = $1`, query).Scan(&custom, &generic)
		if err != nil {
			t.Fatalf("%s: not a named prepared statement: %v\n%s", name, err, query)
		}
		if generic == 0 {
			t.Errorf("%s: %d custom plans and no generic one after 8 executions: still planned every time", name, custom)
		}
	}
}

// oneConnection loads scaleload.Small and returns the layer's pool held to
// one connection (every statement reuses it, as a busy pooled connection
// does), the layer's Ent client on it, what that client sends, and the
// text of every statement the pool ran (its query log).
func oneConnection(t *testing.T) (*sql.DB, *ent.Client, *capture, *statements) {
	ctx := context.Background()
	sent := &statements{}
	cfg := db.DefaultConfig()
	cfg.URL, cfg.PoolMin, cfg.PoolMax = suitedb.URL(t), 1, 1
	cfg.LogQueries, cfg.Logger = true, slog.New(sent)
	sqlDB, err := db.OpenDB(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sqlDB.Close() })
	if _, err := scaleload.Load(ctx, sqlDB, scaleload.Small); err != nil {
		t.Fatal(err)
	}
	drv, ok := entpgx.ForDB(sqlDB)
	if !ok {
		t.Fatal("db.OpenDB's pool is not registered for the pgx Ent driver")
	}
	rec := &capture{Driver: drv}
	return sqlDB, ent.NewClient(ent.Driver(rec)), rec, sent
}

// statements is a slog handler that keeps the "sql" of every query logged.
type statements struct {
	mu   sync.Mutex
	list []string
}

func (s *statements) Enabled(context.Context, slog.Level) bool { return true }
func (s *statements) WithAttrs([]slog.Attr) slog.Handler       { return s }
func (s *statements) WithGroup(string) slog.Handler            { return s }
func (s *statements) Handle(_ context.Context, r slog.Record) error {
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "sql" {
			s.mu.Lock()
			s.list = append(s.list, a.Value.String())
			s.mu.Unlock()
		}
		return true
	})
	return nil
}

// find returns the last statement run that contains part.
func (s *statements) find(t *testing.T, part string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := len(s.list) - 1; i >= 0; i-- {
		if strings.Contains(s.list[i], part) {
			return s.list[i]
		}
	}
	t.Fatalf("no statement containing %q was run", part)
	return ""
}

// prepared counts the session's named prepared statements with query's text.
func prepared(t *testing.T, conn *sql.Conn, query string) int {
	var n int
	if err := conn.QueryRowContext(context.Background(), `SELECT count(*) FROM pg_prepared_statements WHERE statement = $1`, query).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// explain runs EXPLAIN ANALYZE of query with args as the layer sends it:
// an unnamed statement, planned for these values.
func explain(t *testing.T, conn *sql.Conn, query string, args []any) string {
	var out string
	if err := conn.QueryRowContext(context.Background(), `EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) `+query, args...).Scan(&out); err != nil {
		t.Fatalf("%v\n%s", err, query)
	}
	return out
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

// TestBalanceUpdatesStayHOT: credit_balances leaves room on each page
// (fillfactor 50), so updating every balance row once, as postings do, is a
// HOT update that writes no index entry. With full pages, most would not be.
func TestBalanceUpdatesStayHOT(t *testing.T) {
	ctx := context.Background()
	sqlDB := suitedb.DB(t)
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
