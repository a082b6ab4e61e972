package scaleload

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/leadmetrics/db/internal/runtime/plans"
	"github.com/leadmetrics/db/ledger"
)

// BeforeSQL turns a database migrated on this branch back into the index
// set of main before issue 13, for the before/after table, and puts back
// the ledger's foreign key to the LLM call logs with its old ON DELETE SET
// NULL (on the call id only: the key is tenant-leading now), the one that
// rewrote ledger entries when calls were deleted.
const BeforeSQL = `DROP INDEX activity_live, activity_work_queue, dispatchlog_failed, hitlapproval_pending;
CREATE UNIQUE INDEX creditledgerentry_tenant_id_idempotency_key ON credit_ledger_entries (tenant_id, idempotency_key);
ALTER TABLE credit_ledger_entries ADD CONSTRAINT credit_ledger_entries_llm_call_logs_ledger_entry
	FOREIGN KEY (tenant_id, llm_call_id) REFERENCES llm_call_logs (tenant_id, id) ON DELETE SET NULL (llm_call_id)`

// mainReconcileSQL is the reconcile statement of main before issue 13: one
// statement for one tenant ($1) or all (NULL).
const mainReconcileSQL = `
WITH b AS (
	SELECT tenant_id, balance, last_seq FROM credit_balances WHERE $1::varchar IS NULL OR tenant_id = $1
), w AS (
	SELECT tenant_id, seq, amount, balance_after,
		balance_after <> coalesce(lag(balance_after) OVER t, 0)::numeric + amount AS bad_link,
		seq <> coalesce(lag(seq) OVER t, 0) + 1 AS bad_seq,
		row_number() OVER (PARTITION BY tenant_id ORDER BY seq DESC) AS from_newest
	FROM credit_ledger_entries WHERE $1::varchar IS NULL OR tenant_id = $1
	WINDOW t AS (PARTITION BY tenant_id ORDER BY seq)
), e AS (
	SELECT tenant_id, sum(amount) AS total, count(*) AS n, max(seq) AS max_seq,
		max(balance_after) FILTER (WHERE from_newest = 1) AS newest,
		count(*) FILTER (WHERE bad_link) AS bad_links, min(seq) FILTER (WHERE bad_link) AS first_bad_link,
		count(*) FILTER (WHERE bad_seq) AS bad_seqs
	FROM w GROUP BY tenant_id
)
SELECT coalesce(b.tenant_id, e.tenant_id), b.balance IS NOT NULL, coalesce(b.balance, 0), coalesce(b.last_seq, 0),
	coalesce(e.total, 0)::text, coalesce(e.n, 0), coalesce(e.max_seq, 0), e.newest,
	coalesce(e.bad_links, 0), e.first_bad_link, coalesce(e.bad_seqs, 0)
FROM b FULL JOIN e ON e.tenant_id = b.tenant_id
ORDER BY 1`

// probe is one statement of the scale table: its SQL and arguments for the
// tenant of rank r.
type probe struct {
	name string
	sql  string
	args func(r int) []any
	rank int // the tenant explained
}

// Stat is one statement of the scale table, explained for one tenant.
type Stat struct {
	Name           string
	Buffers, Temp  int64 // shared blocks hit or read; temp blocks written
	ExecMs, PlanMs float64
	Shape, Plans   string // scan and sort nodes; custom and generic plans so far
}

// Insert is the write cost of a table's indexes: rows per second of a
// 20k-row insert (best of 3, rolled back).
type Insert struct {
	Table      string
	RowsPerSec float64
}

// connect opens the variant's connection: before, pgx's defaults (every
// statement prepared, plan_cache_mode auto); after, the layer's (db.Open):
// unnamed statements planned for their values unless the statement is of
// the Point class (internal/runtime/plans).
func connect(ctx context.Context, url string, before bool) (*pgx.Conn, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, err
	}
	if !before {
		cfg.DefaultQueryExecMode = plans.Default
	}
	return pgx.ConnectConfig(ctx, cfg)
}

func withParam(url, kv string) string {
	if strings.Contains(url, "?") {
		return url + "&" + kv
	}
	return url + "?" + kv
}

// Bench returns, for the database at url, the buffers, execution and
// planning time of each frequent statement for the largest tenant (or a
// small one), each explained as the 7th execution of a statement prepared
// on one connection as the variant runs it, then of the reconciliation of
// every tenant, then the insert rates. before: main's statements and pgx's
// defaults (every statement prepared, plan_cache_mode auto); otherwise
// this branch's statements as the layer runs them (plans per statement
// class: these are all Custom, unnamed and planned for their values).
func Bench(ctx context.Context, url string, before bool, tenants int) ([]Stat, []Insert, error) {
	conn, err := connect(ctx, url, before)
	if err != nil {
		return nil, nil, err
	}
	defer conn.Close(ctx)
	tenant := func(r int) any { return TenantID(r) }
	one := func(r int) []any { return []any{tenant(r)} }
	// The deep page: the key of the tenant's 10,000th newest LLM call (or
	// its oldest page when it has fewer).
	deep := func(r int) (time.Time, string, int) {
		var at time.Time
		var id string
		var off int
		_ = conn.QueryRow(ctx, `SELECT created_at, id, o FROM (SELECT created_at, id, greatest(least(10000, count(*) OVER () - 51), 0)::int AS o,
			row_number() OVER (ORDER BY created_at DESC, id DESC) AS n FROM llm_call_logs WHERE tenant_id = $1 AND deleted_at IS NULL) x
			WHERE n = greatest(o, 1)`, TenantID(r)).Scan(&at, &id, &off)
		return at, id, off
	}
	small := max(tenants/2, 1)
	var probes []probe
	if before {
		probes = []probe{
			{"llm calls page at offset 10k", `SELECT * FROM llm_call_logs WHERE tenant_id = $1 AND deleted_at IS NULL ORDER BY created_at DESC LIMIT 50 OFFSET $2`,
				func(r int) []any { _, _, o := deep(r); return []any{tenant(r), o} }, 1},
			{"failed dispatches, 50", `SELECT * FROM dispatch_logs WHERE tenant_id = $1 AND status = 'failed' AND deleted_at IS NULL ORDER BY created_at DESC LIMIT 50`, one, 1},
			{"pending approvals (unbounded)", `SELECT * FROM hitl_approvals WHERE tenant_id = $1 AND status = 'pending' AND deleted_at IS NULL ORDER BY expires_at`, one, 1},
			{"reconcile one tenant", mainReconcileSQL, one, small},
		}
	} else {
		probes = []probe{
			{"llm calls page at offset 10k", `SELECT * FROM llm_call_logs WHERE tenant_id = $1 AND deleted_at IS NULL
				AND created_at <= $2 AND (created_at < $2 OR id < $3) ORDER BY created_at DESC, id DESC LIMIT 51`,
				func(r int) []any { at, id, _ := deep(r); return []any{tenant(r), at, id} }, 1},
			{"failed dispatches, 50", `SELECT * FROM dispatch_logs WHERE tenant_id = $1 AND status = 'failed' AND deleted_at IS NULL ORDER BY created_at DESC, id DESC LIMIT 51`, one, 1},
			{"pending approvals, 50", `SELECT * FROM hitl_approvals WHERE tenant_id = $1 AND status = 'pending' AND deleted_at IS NULL ORDER BY requested_at, id LIMIT 51`, one, 1},
			{"reconcile one tenant", ledger.ReconcileSQL(false), one, small},
		}
	}
	probes = append(probes,
		probe{"work queue, due 50", `SELECT * FROM activities WHERE tenant_id = $1 AND status IN ('pending', 'queued') AND deleted_at IS NULL
			AND scheduled_at <= now() ORDER BY scheduled_at LIMIT 50`, one, 1},
		probe{"count activities", `SELECT count(*) FROM activities WHERE tenant_id = $1 AND deleted_at IS NULL`, one, 1},
		probe{"llm calls newest 50", `SELECT * FROM llm_call_logs WHERE tenant_id = $1 AND deleted_at IS NULL ORDER BY created_at DESC LIMIT 50`, one, 1},
	)
	var stats []Stat
	mode := plans.Mode{Pgx: !before}
	for _, p := range probes {
		for _, r := range []int{2, small, 3, small / 2, 5, small / 4} {
			rows, err := conn.Query(ctx, p.sql, mode.Args(p.sql, p.args(r))...)
			if err != nil {
				return nil, nil, fmt.Errorf("%s: %w", p.name, err)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return nil, nil, fmt.Errorf("%s: %w", p.name, err)
			}
		}
		args := p.args(p.rank)
		var name string
		if err := conn.QueryRow(ctx, `SELECT name FROM pg_prepared_statements WHERE statement = $1`, p.sql).Scan(&name); err != nil {
			if before || !errors.Is(err, pgx.ErrNoRows) {
				return nil, nil, fmt.Errorf("%s: prepared statement: %w", p.name, err)
			}
			// Unnamed, as the layer sent it: planned for these values.
			st, err := explain(ctx, conn, p.sql, args...)
			if err != nil {
				return nil, nil, fmt.Errorf("%s: %w", p.name, err)
			}
			st.Name, st.Plans = p.name+" "+TenantID(p.rank), "unnamed: planned per execution"
			stats = append(stats, st)
			continue
		}
		lits := make([]string, len(args))
		for i, a := range args {
			switch v := a.(type) {
			case time.Time:
				lits[i] = "'" + v.Format(time.RFC3339Nano) + "'"
			case string:
				lits[i] = "'" + v + "'"
			default:
				lits[i] = fmt.Sprint(v)
			}
		}
		st, err := explain(ctx, conn, `EXECUTE `+name+`(`+strings.Join(lits, ", ")+`)`)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", p.name, err)
		}
		st.Name, st.Plans = p.name+" "+TenantID(p.rank), planKind(conn, ctx, name)
		stats = append(stats, st)
	}
	// Every tenant's ledger in one statement: time and temp files, in a
	// transaction with the settings ReconcileAll uses.
	all, arg, settings := ledger.ReconcileSQL(true), []any{}, ledger.ReconcileAllSettings
	if before {
		all, arg, settings = mainReconcileSQL, []any{nil}, nil
	}
	tx, err := conn.Begin(ctx)
	if err != nil {
		return nil, nil, err
	}
	defer tx.Rollback(ctx)
	for _, set := range settings {
		if _, err := tx.Exec(ctx, set); err != nil {
			return nil, nil, err
		}
	}
	st, err := explain(ctx, tx, all, arg...)
	if err != nil {
		return nil, nil, fmt.Errorf("reconcile all: %w", err)
	}
	st.Name = "reconcile all tenants"
	stats = append(stats, st)
	if err := tx.Rollback(ctx); err != nil {
		return nil, nil, err
	}
	ins, err := benchWrites(ctx, conn)
	return stats, ins, err
}

// explain runs EXPLAIN (ANALYZE, BUFFERS) of query.
func explain(ctx context.Context, conn interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}, query string, args ...any) (Stat, error) {
	var out string
	if err := conn.QueryRow(ctx, `EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) `+query, args...).Scan(&out); err != nil {
		return Stat{}, err
	}
	var ex []struct {
		Plan     benchNode `json:"Plan"`
		Planning float64   `json:"Planning Time"`
		Exec     float64   `json:"Execution Time"`
	}
	if err := json.Unmarshal([]byte(out), &ex); err != nil {
		return Stat{}, err
	}
	e := ex[0]
	return Stat{Buffers: e.Plan.Hit + e.Plan.Read, Temp: e.Plan.TempWritten, ExecMs: e.Exec, PlanMs: e.Planning, Shape: e.Plan.shape()}, nil
}

// planKind says whether the prepared statement's last plans were custom
// or generic.
func planKind(conn *pgx.Conn, ctx context.Context, name string) string {
	var c, g int64
	_ = conn.QueryRow(ctx, `SELECT custom_plans, generic_plans FROM pg_prepared_statements WHERE name = $1`, name).Scan(&c, &g)
	return fmt.Sprintf("%d custom, %d generic", c, g)
}

// benchWrites measures inserts per second into the indexed tables (rolled
// back), the write cost of the indexes.
func benchWrites(ctx context.Context, conn *pgx.Conn) ([]Insert, error) {
	var out []Insert
	for _, s := range []struct{ name, sql string }{
		{"activities", `INSERT INTO activities (id, ref_id, tenant_id, created_at, updated_at, type, title, status, priority, scheduled_at, attempts)
			SELECT 'bench' || g, 'bench' || g, 't000001', now(), now(), 'research', 'x', (ARRAY['pending','queued','completed'])[1 + g % 3], 0, now(), 0
			FROM generate_series(1, 20000) g`},
		{"credit_ledger_entries", `INSERT INTO credit_ledger_entries (id, ref_id, tenant_id, created_at, updated_at, kind, amount, balance_after, seq, idempotency_key)
			SELECT 'bench' || g, 'bench' || g, 'bench', now(), now(), 'topup', 1, g, g, 'bench' || g FROM generate_series(1, 20000) g`},
	} {
		best := time.Duration(1 << 62)
		for i := 0; i < 3; i++ {
			tx, err := conn.Begin(ctx)
			if err != nil {
				return nil, err
			}
			start := time.Now()
			_, err = tx.Exec(ctx, s.sql)
			best = min(best, time.Since(start))
			_ = tx.Rollback(ctx)
			if err != nil {
				return nil, fmt.Errorf("insert %s: %w", s.name, err)
			}
		}
		out = append(out, Insert{s.name, 20000 / best.Seconds()})
	}
	return out, nil
}

type benchNode struct {
	Type        string      `json:"Node Type"`
	Index       string      `json:"Index Name"`
	Hit         int64       `json:"Shared Hit Blocks"`
	Read        int64       `json:"Shared Read Blocks"`
	TempWritten int64       `json:"Temp Written Blocks"`
	Plans       []benchNode `json:"Plans"`
}

// shape is the plan's scan and sort nodes, outermost first.
func (n benchNode) shape() string {
	var parts []string
	var walk func(benchNode)
	walk = func(n benchNode) {
		switch {
		case strings.Contains(n.Type, "Scan") && n.Index != "":
			parts = append(parts, n.Type+" "+n.Index)
		case strings.Contains(n.Type, "Scan") && !strings.Contains(n.Type, "CTE") && !strings.Contains(n.Type, "WorkTable") && !strings.Contains(n.Type, "Subquery"),
			strings.Contains(n.Type, "Sort"):
			parts = append(parts, n.Type)
		}
		for _, c := range n.Plans {
			walk(c)
		}
	}
	walk(n)
	if len(parts) > 4 {
		parts = append(parts[:4], "...")
	}
	return strings.Join(parts, ", ")
}
