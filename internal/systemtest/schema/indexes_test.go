package schema_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"

	"github.com/leadmetrics/db/ent"
	"github.com/leadmetrics/db/internal/systemtest"
	"github.com/leadmetrics/db/internal/testing/suitedb"
	"github.com/leadmetrics/db/privacy"
)

// recorder keeps the last query the client sent, with its arguments.
type recorder struct {
	dialect.Driver
	query string
	args  []any
}

func (r *recorder) Query(ctx context.Context, query string, args, v any) error {
	r.query, r.args = query, args.([]any)
	return r.Driver.Query(ctx, query, args, v)
}

// TestTenantQueriesUseTenantLeadingIndexes runs the queries the platform
// runs most, as a tenant viewer through the data layer, and checks with
// EXPLAIN that each reads its table through an index whose condition
// starts from the tenant: a missing index or a filter the layer adds in a
// form no index serves fails here.
func TestTenantQueriesUseTenantLeadingIndexes(t *testing.T) {
	sqlDB := suitedb.DB(t)
	seedForPlans(t, sqlDB)
	rec := &recorder{Driver: entsql.OpenDB(dialect.Postgres, sqlDB)}
	client := ent.NewClient(ent.Driver(rec))
	ctx := privacy.WithTenant(context.Background(), "t07")
	queries := systemtest.FrequentTenantQueries(ctx, client, "a07-17")
	for _, q := range queries {
		t.Run(q.Table, func(t *testing.T) {
			if err := q.Run(); err != nil {
				t.Fatal(err)
			}
			plan := explain(t, sqlDB, rec.query, rec.args)
			scans := scansOf(plan, q.Table)
			if len(scans) == 0 {
				t.Fatalf("plan never reads %s:\n%s\n%s", q.Table, rec.query, plan)
			}
			for _, s := range scans {
				t.Logf("%s", s)
				if !strings.Contains(s, "tenant_id") {
					t.Errorf("%s is read without a tenant-leading index condition (%s):\n%s", q.Table, s, rec.query)
				}
			}
		})
	}
}

// explain returns the JSON plan with sequential scans priced out, so a
// sequential scan in it means no index could serve the query.
func explain(t *testing.T, sqlDB *sql.DB, query string, args []any) json.RawMessage {
	t.Helper()
	tx, err := sqlDB.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.Exec("SET LOCAL enable_seqscan = off"); err != nil {
		t.Fatal(err)
	}
	var plan json.RawMessage
	if err := tx.QueryRow("EXPLAIN (FORMAT JSON) "+query, args...).Scan(&plan); err != nil {
		t.Fatalf("explain %s: %v", query, err)
	}
	return plan
}

// scansOf describes each plan node that reads table: its node type and
// index condition (a bitmap heap scan takes its child's condition).
func scansOf(plan json.RawMessage, table string) []string {
	var root []struct{ Plan map[string]any }
	if json.Unmarshal(plan, &root) != nil || len(root) == 0 {
		return nil
	}
	var out []string
	var walk func(n map[string]any)
	walk = func(n map[string]any) {
		if n["Relation Name"] == table {
			cond, _ := n["Index Cond"].(string)
			if n["Node Type"] == "Bitmap Heap Scan" {
				cond, _ = n["Recheck Cond"].(string)
			}
			if n["Node Type"] == "Seq Scan" {
				cond = ""
			}
			out = append(out, fmt.Sprintf("%v %v: %s", n["Node Type"], n["Index Name"], cond))
		}
		children, _ := n["Plans"].([]any)
		for _, c := range children {
			if m, ok := c.(map[string]any); ok {
				walk(m)
			}
		}
	}
	walk(root[0].Plan)
	return out
}

// seedForPlans writes 20 tenants' rows with raw SQL, then ANALYZE, so the
// planner sees a multi-tenant table.
func seedForPlans(t *testing.T, sqlDB *sql.DB) {
	t.Helper()
	const rows = `FROM generate_series(0, 19) tn, generate_series(0, 199) i, LATERAL (SELECT 't' || lpad(tn::text, 2, '0') AS tid,
		timestamptz '2026-11-01' + i * interval '1 hour' AS at) x`
	stmts := []string{
		`INSERT INTO users (id, ref_id, tenant_id, created_at, updated_at, email, role, status)
		 SELECT 'u' || tid || '-' || i, 'r' || i, tid, at, at, 'u' || i || '@x.example', 'member', 'active' ` + rows,
		`INSERT INTO activities (id, ref_id, tenant_id, created_at, updated_at, type, title, status, priority, scheduled_at, attempts)
		 SELECT 'a' || substr(tid, 2) || '-' || i, 'r' || i, tid, at, at, 'write', 'T', (ARRAY['pending','queued','completed'])[i % 3 + 1], 0, at, 0 ` + rows,
		`INSERT INTO deliverables (id, ref_id, tenant_id, created_at, updated_at, kind, title, status, version, activity_id)
		 SELECT 'd' || tid || '-' || i, 'r' || i, tid, at, at, 'email', 'T', 'draft', 1, 'a' || substr(tid, 2) || '-' || i ` + rows,
		`INSERT INTO llm_call_logs (id, ref_id, tenant_id, created_at, updated_at, provider, model, prompt_tokens, completion_tokens, cost, latency_ms, status)
		 SELECT 'l' || tid || '-' || i, 'r' || i, tid, at, at, 'openai', 'gpt', 1, 1, 1, 1, 'ok' ` + rows,
		`INSERT INTO credit_ledger_entries (id, ref_id, tenant_id, created_at, updated_at, kind, amount, balance_after, seq, idempotency_key)
		 SELECT 'e' || tid || '-' || i, 'r' || i, tid, at, at, 'grant', 1, i + 1, i + 1, 'k' || i ` + rows,
		`INSERT INTO dispatch_logs (id, ref_id, tenant_id, created_at, updated_at, provider, channel, recipient, status, attempts)
		 SELECT 'p' || tid || '-' || i, 'r' || i, tid, at, at, 'ses', 'email', 'x@y.example', (ARRAY['sent','failed'])[i % 2 + 1], 1 ` + rows,
		`INSERT INTO hitl_approvals (id, ref_id, tenant_id, created_at, updated_at, status, requested_at, expires_at)
		 SELECT 'h' || tid || '-' || i, 'r' || i, tid, at, at, 'pending', at, at + interval '3 days' ` + rows,
		`ANALYZE`,
	}
	for _, s := range stmts {
		if _, err := sqlDB.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}
