package ledger_test

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/leadmetrics/db/ent/creditledgerentry"
	"github.com/leadmetrics/db/internal/testing/ledgertest"
	"github.com/leadmetrics/db/ledger"
	"github.com/leadmetrics/db/privacy"
)

type kind = creditledgerentry.Kind

const (
	topup      = creditledgerentry.KindTopup
	grant      = creditledgerentry.KindGrant
	usage      = creditledgerentry.KindUsage
	refund     = creditledgerentry.KindRefund
	adjustment = creditledgerentry.KindAdjustment
	expiry     = creditledgerentry.KindExpiry
	reversal   = creditledgerentry.KindReversal
)

func post(t *testing.T, env *ledgertest.Env, ctx context.Context, k kind, amount int64, key string) *ledger.Entry {
	t.Helper()
	e, err := env.Post(ctx, ledger.Posting{Kind: k, Amount: amount, IdempotencyKey: key})
	if err != nil {
		t.Fatalf("post %s %d %q: %v", k, amount, key, err)
	}
	return e
}

// The seed's "Credit ledger balance reconciliation": several ledger
// events, then the balance matches their sum and the newest entry.
func TestCreditLedgerBalanceReconciliation(t *testing.T) {
	env := ledgertest.New(t)
	tenant, ctx := env.Tenant(t, "")
	events := []struct {
		k      kind
		amount int64
	}{{topup, 10_000}, {grant, 5_000}, {usage, -1_250}, {refund, 250}, {adjustment, -1_000}, {expiry, -2_000}, {usage, -999}, {reversal, -1}}
	var want int64
	for i, ev := range events {
		want += ev.amount
		e := post(t, env, ctx, ev.k, ev.amount, "event-"+string(rune('a'+i)))
		if e.BalanceAfter != want || e.Seq != int64(i+1) || e.Replayed {
			t.Fatalf("entry %d: balance_after %d seq %d replayed %v, want %d %d false", i, e.BalanceAfter, e.Seq, e.Replayed, want, i+1)
		}
	}
	if got := env.Balance(t, ctx); got != want {
		t.Fatalf("balance %d, want %d", got, want)
	}
	var sum, newest int64
	if err := env.DB.QueryRow(`SELECT sum(amount) FROM credit_ledger_entries WHERE tenant_id = $1`, tenant).Scan(&sum); err != nil {
		t.Fatal(err)
	}
	if err := env.DB.QueryRow(`SELECT balance_after FROM credit_ledger_entries WHERE tenant_id = $1 ORDER BY seq DESC LIMIT 1`,
		tenant).Scan(&newest); err != nil {
		t.Fatal(err)
	}
	if sum != want || newest != want {
		t.Fatalf("sum %d newest %d, want %d", sum, newest, want)
	}
	env.MustReconcile(t, ctx)
}

func TestReplayReturnsOriginalAndConflictIsRefused(t *testing.T) {
	env := ledgertest.New(t)
	_, ctx := env.Tenant(t, "")
	first, err := env.Post(ctx, ledger.Posting{Kind: topup, Amount: 500, IdempotencyKey: "order-1",
		Description: "first", Metadata: map[string]any{"n": 1}})
	if err != nil {
		t.Fatal(err)
	}
	before := env.Fingerprint(t)
	again, err := env.Post(ctx, ledger.Posting{Kind: topup, Amount: 500, IdempotencyKey: "order-1", Description: "retry"})
	if err != nil {
		t.Fatal(err)
	}
	if !again.Replayed || again.ID != first.ID || again.Description != "first" || again.Metadata["n"] != float64(1) {
		t.Fatalf("replay returned %+v, want the original %+v", again.CreditLedgerEntry, first.CreditLedgerEntry)
	}
	for _, p := range []ledger.Posting{
		{Kind: topup, Amount: 501, IdempotencyKey: "order-1"},
		{Kind: grant, Amount: 500, IdempotencyKey: "order-1"},
	} {
		if _, err := env.Post(ctx, p); !errors.Is(err, ledger.ErrIdempotencyConflict) {
			t.Errorf("%s %d on a used key: %v, want ErrIdempotencyConflict", p.Kind, p.Amount, err)
		}
	}
	if after := env.Fingerprint(t); after != before {
		t.Fatal("a replay or a conflict wrote something")
	}
	// The same key in another tenant is another entry.
	_, other := env.Tenant(t, "")
	if e := post(t, env, other, topup, 7, "order-1"); e.Replayed || e.BalanceAfter != 7 {
		t.Fatalf("other tenant's posting: %+v", e)
	}
}

func TestBadInputIsTypedAndWritesNothing(t *testing.T) {
	env := ledgertest.New(t)
	_, ctx := env.Tenant(t, "")
	_, otherCtx := env.Tenant(t, "")
	post(t, env, ctx, topup, 100, "seed")
	post(t, env, otherCtx, topup, 100, "seed")
	var otherOrder, otherActivity string
	if err := env.DB.QueryRow(`INSERT INTO topup_orders (id, ref_id, tenant_id, created_at, updated_at, paid_amount, paid_currency,
			provider, provider_order_id, credits) VALUES ('order-other', 'o', $1, now(), now(), 100, 'USD', 'stripe', 'pi_1', 100)
			RETURNING id`, mustTenant(otherCtx)).Scan(&otherOrder); err != nil {
		t.Fatal(err)
	}
	if err := env.DB.QueryRow(`INSERT INTO activities (id, ref_id, tenant_id, created_at, updated_at, type, title)
			VALUES ('act-other', 'a', $1, now(), now(), 't', 't') RETURNING id`, mustTenant(otherCtx)).Scan(&otherActivity); err != nil {
		t.Fatal(err)
	}
	if _, err := env.DB.Exec(`INSERT INTO llm_call_logs (id, ref_id, tenant_id, created_at, updated_at, provider, model,
			prompt_tokens, completion_tokens, cost, latency_ms, status) VALUES ('call-other', 'c', $1, now(), now(), 'p', 'm', 0, 0, 0, 0, 'ok')`,
		mustTenant(otherCtx)); err != nil {
		t.Fatal(err)
	}
	// A third tenant at the int64 limit, for the overflow case.
	_, fullCtx := env.Tenant(t, "")
	post(t, env, fullCtx, topup, math.MaxInt64, "max")
	before := env.Fingerprint(t)
	cases := []struct {
		name string
		ctx  context.Context
		p    ledger.Posting
		want error
	}{
		{"zero amount", ctx, ledger.Posting{Kind: topup, Amount: 0, IdempotencyKey: "k"}, ledger.ErrInvalidAmount},
		{"negative topup", ctx, ledger.Posting{Kind: topup, Amount: -5, IdempotencyKey: "k"}, ledger.ErrInvalidAmount},
		{"positive usage", ctx, ledger.Posting{Kind: usage, Amount: 5, IdempotencyKey: "k"}, ledger.ErrInvalidAmount},
		{"min int64", ctx, ledger.Posting{Kind: adjustment, Amount: math.MinInt64, IdempotencyKey: "k"}, ledger.ErrInvalidAmount},
		{"balance overflow", fullCtx, ledger.Posting{Kind: topup, Amount: 1, IdempotencyKey: "k"}, ledger.ErrInvalidAmount},
		{"empty key", ctx, ledger.Posting{Kind: topup, Amount: 5}, ledger.ErrInvalidKey},
		{"long key", ctx, ledger.Posting{Kind: topup, Amount: 5, IdempotencyKey: strings.Repeat("k", 129)}, ledger.ErrInvalidKey},
		{"unknown kind", ctx, ledger.Posting{Kind: "gift", Amount: 5, IdempotencyKey: "k"}, ledger.ErrInvalidKind},
		{"empty kind", ctx, ledger.Posting{Amount: 5, IdempotencyKey: "k"}, ledger.ErrInvalidKind},
		{"long description", ctx, ledger.Posting{Kind: topup, Amount: 5, IdempotencyKey: "k", Description: strings.Repeat("d", 501)}, ledger.ErrInvalidInput},
		{"another tenant's order", ctx, ledger.Posting{Kind: topup, Amount: 5, IdempotencyKey: "k", TopupOrderID: otherOrder}, privacy.ErrCrossTenantRef},
		{"another tenant's activity", ctx, ledger.Posting{Kind: usage, Amount: -5, IdempotencyKey: "k", ActivityID: otherActivity}, ledger.ErrInvalidLink},
		{"another tenant's LLM call", ctx, ledger.Posting{Kind: usage, Amount: -5, IdempotencyKey: "k", LLMCallID: "call-other"}, privacy.ErrCrossTenantRef},
		{"missing LLM call", ctx, ledger.Posting{Kind: usage, Amount: -5, IdempotencyKey: "k", LLMCallID: "nope"}, ledger.ErrInvalidLink},
		{"no viewer", context.Background(), ledger.Posting{Kind: topup, Amount: 5, IdempotencyKey: "k"}, privacy.ErrNoViewer},
		{"system viewer without a tenant", privacy.WithSystem(context.Background()), ledger.Posting{Kind: topup, Amount: 5, IdempotencyKey: "k"}, ledger.ErrInvalidInput},
		{"system viewer for the platform", privacy.WithSystem(context.Background()), ledger.Posting{Kind: topup, Amount: 5, IdempotencyKey: "k", TenantID: privacy.PlatformTenantID}, ledger.ErrInvalidInput},
		{"platform viewer", privacy.WithTenant(context.Background(), privacy.PlatformTenantID), ledger.Posting{Kind: usage, Amount: -5, IdempotencyKey: "k"}, privacy.ErrNoViewer},
		{"blank tenant", privacy.WithTenant(context.Background(), " "), ledger.Posting{Kind: topup, Amount: 5, IdempotencyKey: "k"}, privacy.ErrNoViewer},
	}
	for _, c := range cases {
		if _, err := env.Post(c.ctx, c.p); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	if after := env.Fingerprint(t); after != before {
		t.Fatalf("refused postings wrote something:\n%s\n%s", before, after)
	}
	env.MustReconcile(t, ctx)
}

func mustTenant(ctx context.Context) string {
	v, _ := privacy.FromContext(ctx)
	return v.TenantID
}

// Overdraft policy: only usage may take the balance below zero.
func TestOnlyUsageMayOverdraw(t *testing.T) {
	env := ledgertest.New(t)
	_, ctx := env.Tenant(t, "")
	post(t, env, ctx, topup, 100, "t")
	for _, k := range []kind{expiry, reversal, adjustment} {
		before := env.Fingerprint(t)
		_, err := env.Post(ctx, ledger.Posting{Kind: k, Amount: -101, IdempotencyKey: "over-" + string(k)})
		var ie *ledger.InsufficientError
		if !errors.Is(err, ledger.ErrInsufficientCredits) || !errors.As(err, &ie) || ie.Balance != 100 {
			t.Fatalf("%s over the balance: %v, want InsufficientError with balance 100", k, err)
		}
		if env.Fingerprint(t) != before {
			t.Fatalf("refused %s wrote something", k)
		}
	}
	post(t, env, ctx, expiry, -100, "exact") // down to exactly zero is fine
	if ok, err := env.Ledger.CanSpend(ctx, 1); ok || err != nil {
		t.Fatalf("CanSpend(1) at zero: %v %v", ok, err)
	}
	e := post(t, env, ctx, usage, -40, "incurred")
	if e.BalanceAfter != -40 || env.Balance(t, ctx) != -40 {
		t.Fatalf("usage already incurred must be recorded: balance_after %d", e.BalanceAfter)
	}
	if ok, _ := env.Ledger.CanSpend(ctx, 0); ok {
		t.Fatal("CanSpend(0) with a negative balance")
	}
	// A credit repays the debt first.
	if e := post(t, env, ctx, topup, 50, "repay"); e.BalanceAfter != 10 {
		t.Fatalf("after topup: %d", e.BalanceAfter)
	}
	if ok, _ := env.Ledger.CanSpend(ctx, 10); !ok {
		t.Fatal("CanSpend(10) with 10")
	}
	env.MustReconcile(t, ctx)
}
