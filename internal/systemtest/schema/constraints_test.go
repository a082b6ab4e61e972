package schema_test

import (
	"errors"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/leadmetrics/db/internal/testing/suitedb"
)

// TestDatabaseGuards proves the constraints hold for writers that bypass
// Ent (raw SQL, other tools): each statement must fail with its SQLSTATE.
func TestDatabaseGuards(t *testing.T) {
	sqlDB := suitedb.DB(t)
	base := `'t1', now(), now()`
	mustExec := func(q string) {
		t.Helper()
		if _, err := sqlDB.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	mustExec(`INSERT INTO users (id, ref_id, tenant_id, created_at, updated_at, email, role, status)
		VALUES ('u1', 'r1', ` + base + `, 'ada@example.com', 'member', 'active')`)
	mustExec(`INSERT INTO notification_providers (id, ref_id, tenant_id, created_at, updated_at, channel, provider, enabled, is_default, deleted_at)
		VALUES ('n0', 'r0', ` + base + `, 'email', 'ses', true, true, now())`)
	mustExec(`INSERT INTO notification_providers (id, ref_id, tenant_id, created_at, updated_at, channel, provider, enabled, is_default)
		VALUES ('n1', 'r1', ` + base + `, 'email', 'ses', true, true)`)

	cases := []struct {
		name, sql, code string
	}{
		{"ref_id unique per tenant", `INSERT INTO users (id, ref_id, tenant_id, created_at, updated_at, email, role, status)
			VALUES ('u2', 'r1', ` + base + `, 'bob@example.com', 'member', 'active')`, "23505"},
		{"email unique per tenant", `INSERT INTO users (id, ref_id, tenant_id, created_at, updated_at, email, role, status)
			VALUES ('u3', 'r3', ` + base + `, 'ada@example.com', 'member', 'active')`, "23505"},
		{"email stored lower-case", `INSERT INTO users (id, ref_id, tenant_id, created_at, updated_at, email, role, status)
			VALUES ('u4', 'r4', ` + base + `, 'Eve@Example.com', 'member', 'active')`, "23514"},
		{"one live default provider per channel", `INSERT INTO notification_providers (id, ref_id, tenant_id, created_at, updated_at, channel, provider, enabled, is_default)
			VALUES ('n2', 'r2', ` + base + `, 'email', 'sendgrid', true, true)`, "23505"},
		{"ledger amount non-zero", `INSERT INTO credit_ledger_entries (id, ref_id, tenant_id, created_at, updated_at, kind, amount, balance_after, seq, idempotency_key)
			VALUES ('l1', 'r1', ` + base + `, 'grant', 0, 0, 1, 'k1')`, "23514"},
		{"non-usage debit never overdraws", `INSERT INTO credit_ledger_entries (id, ref_id, tenant_id, created_at, updated_at, kind, amount, balance_after, seq, idempotency_key)
			VALUES ('l2', 'r2', ` + base + `, 'adjustment', -5, -5, 2, 'k2')`, "23514"},
		{"tokens non-negative", `INSERT INTO llm_call_logs (id, ref_id, tenant_id, created_at, updated_at, provider, model, prompt_tokens, completion_tokens, cost, latency_ms, status)
			VALUES ('c1', 'r1', ` + base + `, 'openai', 'gpt', -1, 0, 0, 0, 'ok')`, "23514"},
		{"cost non-negative", `INSERT INTO llm_call_logs (id, ref_id, tenant_id, created_at, updated_at, provider, model, prompt_tokens, completion_tokens, cost, latency_ms, status)
			VALUES ('c2', 'r2', ` + base + `, 'openai', 'gpt', 0, 0, -3, 0, 'ok')`, "23514"},
		{"provider order id unique", `INSERT INTO topup_orders (id, ref_id, tenant_id, created_at, updated_at, paid_amount, paid_currency, provider, provider_order_id, credits, status)
			VALUES ('o2', 'r2', 't2', now(), now(), 100, 'USD', 'stripe', 'po_1', 10, 'created')`, "23505"},
		{"currency upper-case", `INSERT INTO topup_orders (id, ref_id, tenant_id, created_at, updated_at, paid_amount, paid_currency, provider, provider_order_id, credits, status)
			VALUES ('o4', 'r4', ` + base + `, 100, 'usd', 'stripe', 'po_4', 10, 'created')`, "23514"},
		{"currency three letters (char(3) pads)", `INSERT INTO plans (id, ref_id, tenant_id, created_at, updated_at, code, name, price_amount, price_currency, interval, included_credits, active)
			VALUES ('p1', 'r1', ` + base + `, 'p', 'p', 1, 'US', 'month', 0, true)`, "23514"},
		{"currency ASCII", `INSERT INTO campaigns (id, ref_id, tenant_id, created_at, updated_at, name, status, budget_amount, budget_currency, owner_id)
			VALUES ('c1', 'r1', ` + base + `, 'c', 'draft', 1, '€', 'u1')`, "23514"},
		{"topup credits positive", `INSERT INTO topup_orders (id, ref_id, tenant_id, created_at, updated_at, paid_amount, paid_currency, provider, provider_order_id, credits, status)
			VALUES ('o3', 'r3', ` + base + `, 100, 'USD', 'stripe', 'po_3', 0, 'created')`, "23514"},
	}
	mustExec(`INSERT INTO topup_orders (id, ref_id, tenant_id, created_at, updated_at, paid_amount, paid_currency, provider, provider_order_id, credits, status)
		VALUES ('o1', 'r1', ` + base + `, 100, 'USD', 'stripe', 'po_1', 10, 'created')`)
	for _, c := range cases {
		_, err := sqlDB.Exec(c.sql)
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != c.code {
			t.Errorf("%s: got %v, want SQLSTATE %s", c.name, err, c.code)
		}
	}
	// Usage already incurred may overdraw: the one exception the ledger allows.
	mustExec(`INSERT INTO credit_ledger_entries (id, ref_id, tenant_id, created_at, updated_at, kind, amount, balance_after, seq, idempotency_key)
		VALUES ('l3', 'r3', ` + base + `, 'usage', -5, -5, 3, 'k3')`)
}
