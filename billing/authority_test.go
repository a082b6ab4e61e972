package billing_test

import (
	"context"
	"database/sql"
	"errors"
	"testing"
	"time"

	"github.com/leadmetrics/db/billing"
	"github.com/leadmetrics/db/ent/billingevent"
	"github.com/leadmetrics/db/ent/creditledgerentry"
	"github.com/leadmetrics/db/ent/migrate"
	"github.com/leadmetrics/db/ent/topuporder"
	"github.com/leadmetrics/db/ledger"
	"github.com/leadmetrics/db/privacy"
)

// viewer kinds of the authority matrix.
type viewerKind string

const (
	asTenant viewerKind = "tenant viewer"
	asSystem viewerKind = "system viewer"
	asNone   viewerKind = "no viewer"
)

// moneyOp is one public entry point of ledger or billing, called with the
// same arguments under each viewer: only the context differs, as when
// tenant code controls every argument but not the context.
type moneyOp struct {
	name    string
	allowed []viewerKind
	run     func(ctx context.Context) error
}

// refusal is the error a viewer not allowed to call an entry point gets:
// a tenant viewer is refused what only the system may do; the system
// viewer is refused what needs a tenant's own viewer.
var refusal = map[viewerKind]error{asTenant: privacy.ErrSystemOnly, asSystem: privacy.ErrNoViewer, asNone: privacy.ErrNoViewer}

var (
	tenantOnly = []viewerKind{asTenant}
	systemOnly = []viewerKind{asSystem}
	both       = []viewerKind{asTenant, asSystem}
)

// TestMoneyAuthorityMatrix calls every money entry point under a tenant
// viewer, the system viewer and no viewer: each refusal has its typed
// error and leaves the ledger and billing tables (and tenants) unchanged;
// each allowed call succeeds. The authority table is docs/LEDGER.md's.
func TestMoneyAuthorityMatrix(t *testing.T) {
	f := setup(t)
	planID := f.Plan(t, "pro", 1_000)
	tid, tctx := f.Tenant(t, planID)
	// Orders in the states the operations start from, created by the
	// tenant and moved by the system.
	order := func(ref string, to ...billing.Status) string {
		id := f.order(t, tctx, ref, 500)
		for _, s := range to {
			if _, err := f.b.Transition(sys, id, s); err != nil {
				t.Fatal(err)
			}
		}
		return id
	}
	order("ev-paid")
	order("ev-refund", topuporder.StatusPaid)
	toPay, toFail, toCancel, toPending := order("tr-paid"), order("tr-failed"), order("tr-cancelled"), order("tr-pending")
	toRefund := order("tr-refunded", topuporder.StatusPaid)
	linked := order("linked")
	past := time.Now().AddDate(0, -1, 0)
	pack := f.pack(t, 9)
	unbound, err := f.b.CreateOrder(tctx, billing.OrderRequest{RefID: "unbound", Provider: topuporder.ProviderStripe, PackID: pack})
	if err != nil {
		t.Fatal(err)
	}

	var ops []moneyOp
	amounts := map[creditledgerentry.Kind]int64{"topup": 50, "grant": 50, "refund": 50, "adjustment": 50,
		"usage": -5, "expiry": -5, "reversal": -5}
	for _, k := range kinds(t) {
		allowed := systemOnly
		if k == creditledgerentry.KindUsage {
			allowed = both
		}
		p := ledger.Posting{Kind: k, Amount: amounts[k], IdempotencyKey: "m-" + string(k), TenantID: tid}
		ops = append(ops,
			moneyOp{"ledger.Post " + string(k), allowed, func(ctx context.Context) error {
				_, err := f.Ledger.Post(ctx, p)
				return err
			}},
			moneyOp{"ledger.PostTx " + string(k), allowed, func(ctx context.Context) error {
				p := p
				p.IdempotencyKey += "-tx"
				return inTx(f.DB, func(tx *sql.Tx) error { _, err := f.Ledger.PostTx(ctx, tx, p); return err })
			}},
		)
	}
	ops = append(ops,
		moneyOp{"ledger.Post negative adjustment", systemOnly, func(ctx context.Context) error {
			_, err := f.Ledger.Post(ctx, ledger.Posting{Kind: creditledgerentry.KindAdjustment, Amount: -1, IdempotencyKey: "adj-neg", TenantID: tid})
			return err
		}},
		moneyOp{"ledger.Post usage linked to an order", systemOnly, func(ctx context.Context) error {
			_, err := f.Ledger.Post(ctx, ledger.Posting{Kind: creditledgerentry.KindUsage, Amount: -1, IdempotencyKey: "linked", TopupOrderID: linked, TenantID: tid})
			return err
		}},
		moneyOp{"ledger.Post usage under an order's reversal key", systemOnly, func(ctx context.Context) error {
			_, err := f.Ledger.Post(ctx, ledger.Posting{Kind: creditledgerentry.KindUsage, Amount: -1, IdempotencyKey: billing.ReversalKey(linked), TenantID: tid})
			return err
		}},
		moneyOp{"ledger.Post usage under a grant key", systemOnly, func(ctx context.Context) error {
			_, err := f.Ledger.Post(ctx, ledger.Posting{Kind: creditledgerentry.KindUsage, Amount: -1, IdempotencyKey: ledger.GrantKey("pro", "2099-01"), TenantID: tid})
			return err
		}},
		moneyOp{"ledger.RecordLLMCall", tenantOnly, func(ctx context.Context) error {
			_, _, err := f.Ledger.RecordLLMCall(ctx, ledger.LLMCall{RefID: "call", Provider: "p", Model: "m", Cost: 3, TenantID: tid})
			return err
		}},
		moneyOp{"ledger.RecordLLMCall free", tenantOnly, func(ctx context.Context) error {
			_, _, err := f.Ledger.RecordLLMCall(ctx, ledger.LLMCall{RefID: "free", Provider: "p", Model: "m", TenantID: tid})
			return err
		}},
		moneyOp{"ledger.IngestLLMCalls", tenantOnly, func(ctx context.Context) error {
			_, err := f.Ledger.IngestLLMCalls(ctx, []ledger.LLMCall{{RefID: "ingested", Provider: "p", Model: "m", Cost: 3, TenantID: tid}})
			return err
		}},
		moneyOp{"ledger.EnsureBalance", tenantOnly, func(ctx context.Context) error { return f.Ledger.EnsureBalance(ctx) }},
		moneyOp{"ledger.Balance", tenantOnly, func(ctx context.Context) error { _, err := f.Ledger.Balance(ctx); return err }},
		moneyOp{"ledger.CanSpend", tenantOnly, func(ctx context.Context) error { _, err := f.Ledger.CanSpend(ctx, 1); return err }},
		moneyOp{"ledger.Reconcile", tenantOnly, func(ctx context.Context) error { _, err := f.Ledger.Reconcile(ctx); return err }},
		moneyOp{"ledger.ReconcileAll", systemOnly, func(ctx context.Context) error { _, err := f.Ledger.ReconcileAll(ctx); return err }},
		moneyOp{"ledger.GrantPlan", systemOnly, func(ctx context.Context) error { _, err := f.Ledger.GrantPlan(ctx, tid, past); return err }},
		moneyOp{"ledger.GrantAll", systemOnly, func(ctx context.Context) error { _, err := f.Ledger.GrantAll(ctx, past); return err }},
		moneyOp{"billing.CreateOrder of a pack", both, func(ctx context.Context) error {
			_, err := f.b.CreateOrder(ctx, billing.OrderRequest{RefID: "new", Provider: topuporder.ProviderStripe, PackID: pack, TenantID: tid})
			return err
		}},
		moneyOp{"billing.CreateOrder with its own terms", systemOnly, func(ctx context.Context) error {
			_, err := f.b.CreateOrder(ctx, billing.OrderRequest{RefID: "custom", Provider: topuporder.ProviderManual, TenantID: tid,
				Credits: 9, PaidAmount: orderPrice, PaidCurrency: "USD"})
			return err
		}},
		moneyOp{"billing.CreateOrder with a provider order id", systemOnly, func(ctx context.Context) error {
			_, err := f.b.CreateOrder(ctx, billing.OrderRequest{RefID: "bound", Provider: topuporder.ProviderStripe, PackID: pack, TenantID: tid,
				ProviderOrderID: "pi_bound"})
			return err
		}},
		moneyOp{"billing.BindProviderOrder", systemOnly, func(ctx context.Context) error {
			_, err := f.b.BindProviderOrder(ctx, unbound.ID, "pi_unbound")
			return err
		}},
		moneyOp{"billing.HandleEvent payment.succeeded", systemOnly, func(ctx context.Context) error {
			_, err := f.b.HandleEvent(ctx, event("e-paid", billing.EventPaymentSucceeded, "ev-paid"))
			return err
		}},
		moneyOp{"billing.HandleEvent payment.refunded", systemOnly, func(ctx context.Context) error {
			_, err := f.b.HandleEvent(ctx, event("e-refund", billing.EventPaymentRefunded, "ev-refund"))
			return err
		}},
		moneyOp{"billing.HandleEvent order.cancelled", systemOnly, func(ctx context.Context) error {
			_, err := f.b.HandleEvent(ctx, event("e-other", billing.EventOrderCancelled, "ghost"))
			return err
		}},
	)
	for _, tr := range []struct {
		id string
		to billing.Status
	}{{toPay, topuporder.StatusPaid}, {toFail, topuporder.StatusFailed}, {toCancel, topuporder.StatusCancelled},
		{toPending, topuporder.StatusPending}, {toRefund, topuporder.StatusRefunded}} {
		ops = append(ops, moneyOp{"billing.Transition " + string(tr.to), systemOnly, func(ctx context.Context) error {
			_, err := f.b.Transition(ctx, tr.id, tr.to)
			return err
		}})
	}

	ctxs := map[viewerKind]context.Context{asTenant: tctx, asSystem: sys, asNone: context.Background()}
	for _, op := range ops {
		for _, vk := range []viewerKind{asTenant, asSystem, asNone} {
			if contains(op.allowed, vk) {
				continue
			}
			before := f.Fingerprint(t)
			if err := op.run(ctxs[vk]); !errors.Is(err, refusal[vk]) {
				t.Errorf("%s as %s: %v, want %v", op.name, vk, err, refusal[vk])
			}
			if f.Fingerprint(t) != before {
				t.Errorf("%s as %s: refused but wrote something", op.name, vk)
			}
		}
		for _, vk := range op.allowed {
			if err := op.run(ctxs[vk]); err != nil {
				t.Errorf("%s as %s: %v", op.name, vk, err)
			}
		}
	}
	f.MustReconcile(t, tctx)
}

// A tenant viewer cannot post for another tenant, even the kind it may
// post for itself.
func TestTenantCannotPostForAnotherTenant(t *testing.T) {
	f := setup(t)
	_, ctx := f.Tenant(t, "")
	other, _ := f.Tenant(t, "")
	before := f.Fingerprint(t)
	_, err := f.Ledger.Post(ctx, ledger.Posting{Kind: creditledgerentry.KindUsage, Amount: -1, IdempotencyKey: "k", TenantID: other})
	if !errors.Is(err, privacy.ErrTenantMismatch) || f.Fingerprint(t) != before {
		t.Fatalf("usage for another tenant: %v", err)
	}
}

// A payment or refund whose amount or currency is not the order's is kept
// as a failed event with its error and moves no credit; the right one
// afterwards still credits once.
func TestEventAmountMismatchIsAFailedEvent(t *testing.T) {
	f := setup(t)
	_, ctx := f.Tenant(t, "")
	id := f.order(t, ctx, "o1", 5_000)
	for _, c := range []struct {
		name string
		mod  func(*billing.Event)
	}{
		{"amount", func(e *billing.Event) { e.Amount = orderPrice * 10 }},
		{"zero amount", func(e *billing.Event) { e.Amount = 0 }},
		{"currency", func(e *billing.Event) { e.Currency = "eur" }},
	} {
		ev := event("bad-"+c.name, billing.EventPaymentSucceeded, "o1")
		c.mod(&ev)
		for range 2 { // a redelivery is a duplicate of the failed event
			out, err := f.b.HandleEvent(sys, ev)
			if out == nil || out.Status != billingevent.StatusFailed {
				t.Fatalf("%s: %+v %v", c.name, out, err)
			}
			if !out.Duplicate && !errors.Is(err, billing.ErrAmountMismatch) {
				t.Fatalf("%s: %v, want ErrAmountMismatch", c.name, err)
			}
		}
		var status, reason, currency string
		var amount int64
		if err := f.DB.QueryRow(`SELECT status, error, paid_amount, paid_currency FROM billing_events WHERE provider_event_id = $1`,
			ev.EventID).Scan(&status, &reason, &amount, &currency); err != nil {
			t.Fatal(err)
		}
		if status != "failed" || reason == "" || amount != ev.Amount || currency != "USD" && currency != "EUR" {
			t.Fatalf("%s: stored %s %q %d %s", c.name, status, reason, amount, currency)
		}
		if f.Balance(t, ctx) != 0 || f.orderStatus(t, id) != "created" {
			t.Fatalf("%s: balance %d, order %s", c.name, f.Balance(t, ctx), f.orderStatus(t, id))
		}
	}
	f.deliver(t, sys, event("good", billing.EventPaymentSucceeded, "o1"))
	// A refund of another amount does not take the credits back.
	refund := event("partial-refund", billing.EventPaymentRefunded, "o1")
	refund.Amount = orderPrice / 2
	if out, err := f.b.HandleEvent(sys, refund); !errors.Is(err, billing.ErrAmountMismatch) || out.Status != billingevent.StatusFailed {
		t.Fatalf("partial refund: %+v %v", out, err)
	}
	if f.Balance(t, ctx) != 5_000 || f.orderStatus(t, id) != "paid" {
		t.Fatalf("balance %d, order %s", f.Balance(t, ctx), f.orderStatus(t, id))
	}
	f.MustReconcile(t, ctx)
}

func contains(vs []viewerKind, v viewerKind) bool {
	for _, x := range vs {
		if x == v {
			return true
		}
	}
	return false
}

func inTx(db *sql.DB, fn func(*sql.Tx) error) error {
	tx, err := db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// kinds are the ledger entry kinds, read from the schema: a new kind joins
// the matrix and, until amounts gives it a sign and the authority table a
// row, fails it.
func kinds(t *testing.T) []creditledgerentry.Kind {
	for _, c := range migrate.CreditLedgerEntriesTable.Columns {
		if c.Name == creditledgerentry.FieldKind {
			var ks []creditledgerentry.Kind
			for _, e := range c.Enums {
				ks = append(ks, creditledgerentry.Kind(e))
			}
			return ks
		}
	}
	t.Fatal("no kind column")
	return nil
}

// The system still settles a suspended tenant's order (it was placed, and
// perhaps paid, before the suspension); a deleted tenant's payment is kept
// as a failed event and credits nothing.
func TestPaymentsOfInactiveTenants(t *testing.T) {
	f := setup(t)
	suspended, sctx := f.Tenant(t, "")
	deleted, dctx := f.Tenant(t, "")
	f.order(t, sctx, "s1", 700)
	f.order(t, dctx, "d1", 700)
	if err := f.Client.Tenant.UpdateOneID(suspended).SetStatus("suspended").Exec(sys); err != nil {
		t.Fatal(err)
	}
	if err := f.Client.Tenant.DeleteOneID(deleted).Exec(sys); err != nil {
		t.Fatal(err)
	}
	if out := f.deliver(t, sys, event("e-s1", billing.EventPaymentSucceeded, "s1")); out.Status != billingevent.StatusProcessed || f.Balance(t, sctx) != 700 {
		t.Fatalf("suspended tenant's payment: %+v, balance %d", out, f.Balance(t, sctx))
	}
	out, err := f.b.HandleEvent(sys, event("e-d1", billing.EventPaymentSucceeded, "d1"))
	if !errors.Is(err, privacy.ErrTenantInactive) || out == nil || out.Status != billingevent.StatusFailed || f.Balance(t, dctx) != 0 {
		t.Fatalf("deleted tenant's payment: %+v %v", out, err)
	}
	// The suspended tenant itself cannot order more; the system still
	// can (a debt to settle), not for the deleted one.
	_, err = f.b.CreateOrder(sctx, billing.OrderRequest{RefID: "s2", Provider: topuporder.ProviderStripe, PackID: f.pack(t, 1)})
	if !errors.Is(err, privacy.ErrTenantInactive) {
		t.Fatalf("suspended tenant's new order: %v", err)
	}
	for id, want := range map[string]error{suspended: nil, deleted: privacy.ErrTenantInactive} {
		_, err = f.b.CreateOrder(sys, billing.OrderRequest{RefID: "s3", Provider: topuporder.ProviderManual, TenantID: id, PackID: f.pack(t, 1)})
		if !errors.Is(err, want) {
			t.Fatalf("system order for an inactive tenant: %v, want %v", err, want)
		}
	}
}

// Through Ent, a tenant viewer cannot write money either: balances, ledger
// entries, orders and events are written by the system (and the ledger's
// own statements) only.
func TestTenantCannotWriteMoneyThroughEnt(t *testing.T) {
	f := setup(t)
	tid, ctx := f.Tenant(t, "")
	oid := f.order(t, ctx, "o1", 100)
	pack := f.pack(t, 5)
	if err := f.Ledger.EnsureBalance(ctx); err != nil {
		t.Fatal(err)
	}
	before := f.Fingerprint(t)
	for name, write := range map[string]func() error{
		"credit balance update": func() error { _, err := f.Client.CreditBalance.Update().SetBalance(1_000_000).Save(ctx); return err },
		"ledger entry create": func() error {
			return f.Client.CreditLedgerEntry.Create().SetTenantID(tid).SetKind("topup").SetAmount(1_000_000).
				SetBalanceAfter(1_000_000).SetSeq(1).SetIdempotencyKey("mint").Exec(ctx)
		},
		"order marked paid": func() error { return f.Client.TopupOrder.UpdateOneID(oid).SetStatus("paid").Exec(ctx) },
		"order credits raised": func() error {
			return f.Client.TopupOrder.UpdateOneID(oid).SetCredits(1_000_000).Exec(ctx)
		},
		"order bound to a provider id": func() error {
			return f.Client.TopupOrder.UpdateOneID(oid).SetProviderOrderID("pi_claimed").Exec(ctx)
		},
		"pack created": func() error {
			return f.Client.CreditPack.Create().SetCode("cheap").SetName("cheap").SetCredits(1_000_000).
				SetPriceAmount(1).SetPriceCurrency("USD").Exec(ctx)
		},
		"pack deactivated": func() error {
			return f.Client.CreditPack.UpdateOneID(pack).SetActive(false).Exec(ctx)
		},
		"event create": func() error {
			return f.Client.BillingEvent.Create().SetTenantID(tid).SetProvider("stripe").SetProviderEventID("forged").
				SetType(billing.EventPaymentSucceeded).SetTopupOrderID(oid).Exec(ctx)
		},
	} {
		if err := write(); !errors.Is(err, privacy.ErrSystemOnly) {
			t.Errorf("%s: %v, want ErrSystemOnly", name, err)
		}
	}
	if f.Fingerprint(t) != before {
		t.Fatal("a refused Ent write changed money tables")
	}
}
