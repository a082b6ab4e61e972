package citus_test

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/leadmetrics/db/cuid"
	"github.com/leadmetrics/db/internal/runtime/entpgx"
	"github.com/leadmetrics/db/internal/testing/suitedb"
)

// TestCitusTenantListRunsNamedAndPlansPerTenant: on Citus the layer runs a
// statement pinned to one tenant as a named prepared statement (plans.Mode
// Citus), which is safe for a list because the coordinator's cached plan
// only routes: the worker still receives the tenant's value and plans the
// shard query for it on every execution. Checked with the list statement
// prepared on the coordinator, run past PostgreSQL's five custom plans
// (the generic plan is used), then explained for another tenant: one task,
// and the worker's plan names that tenant's value.
func TestCitusTenantListRunsNamedAndPlansPerTenant(t *testing.T) {
	url := citusURL(t)
	sqlDB := suitedb.Open(t, url)
	p, ok := entpgx.Lookup(sqlDB)
	if !ok || !p.Mode.Citus {
		t.Fatalf("the layer's pool on Citus: mode %+v, want Citus", p.Mode)
	}
	a, b := cuid.New(), cuid.New()
	suitedb.Tenants(t, sqlDB, a, b)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	const list = `SELECT "id" FROM "credit_ledger_entries" WHERE "credit_ledger_entries"."tenant_id" = $1 ORDER BY "created_at" DESC, "id" DESC LIMIT 21`
	if _, err := conn.Exec(ctx, `PREPARE list(text) AS `+list); err != nil {
		t.Fatal(err)
	}
	for range 7 {
		if _, err := conn.Exec(ctx, `EXECUTE list('`+a+`')`); err != nil {
			t.Fatal(err)
		}
	}
	var generic int64
	if err := conn.QueryRow(ctx, `SELECT generic_plans FROM pg_prepared_statements WHERE name = 'list'`).Scan(&generic); err != nil {
		t.Fatal(err)
	}
	if generic == 0 {
		t.Fatal("the coordinator never used the generic plan: naming the statement saves nothing")
	}
	rows, err := conn.Query(ctx, `EXPLAIN EXECUTE list('`+b+`')`)
	if err != nil {
		t.Fatal(err)
	}
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	plan := strings.Join(lines, "\n")
	if !strings.Contains(plan, "Task Count: 1") || !strings.Contains(plan, "'"+b+"'") {
		t.Fatalf("the cached list plan for tenant %s: want one task whose worker plan names the tenant:\n%s", b, plan)
	}
}
