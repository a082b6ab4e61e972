package billing_test

import (
	"context"
	"errors"
	"testing"

	"github.com/leadmetrics/db"
	"github.com/leadmetrics/db/billing"
	"github.com/leadmetrics/db/ent/topuporder"
	"github.com/leadmetrics/db/internal/testing/suitedb"
	"github.com/leadmetrics/db/ledger"
	"github.com/leadmetrics/db/privacy"
	"github.com/leadmetrics/db/retry"
)

// wantUnknown fails unless err is an OutcomeUnknownError of op.
func wantUnknown(t *testing.T, what string, err error, op string) {
	t.Helper()
	var ue *retry.OutcomeUnknownError
	if !errors.Is(err, retry.ErrOutcomeUnknown) || !errors.As(err, &ue) || ue.Op != op {
		t.Fatalf("%s: %v; want an OutcomeUnknownError of %s", what, err, op)
	}
}

// Creating an order and moving one by hand are not rerun by the layer:
// when the backend dies while they commit, the error says the outcome is
// unknown. Creating the order again with the same RefID is the check (the
// same order comes back, or it is created now); a move is checked by
// reading the order.
func TestOrderWritesKilledAtCommitAreOutcomeUnknown(t *testing.T) {
	f := setup(t)
	_, ctx := f.Tenant(t, "")
	req := billing.OrderRequest{RefID: "o1", Provider: topuporder.ProviderStripe, PackID: f.pack(t, 10)}

	fired := suitedb.KillAtCommit(t, f.DB, "topup_orders", 1)
	_, err := f.b.CreateOrder(ctx, req)
	wantUnknown(t, "CreateOrder", err, "INSERT")
	if fired() != 1 {
		t.Fatalf("CreateOrder ran %d times, want once", fired())
	}
	o, err := f.b.CreateOrder(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if again, err := f.b.CreateOrder(ctx, req); err != nil || again.ID != o.ID {
		t.Fatalf("the same RefID again: %v, %v; want order %s", again, err, o.ID)
	}

	fired = suitedb.KillAtCommit(t, f.DB, "topup_orders", 1)
	_, err = f.b.Transition(sys, o.ID, topuporder.StatusPaid)
	wantUnknown(t, "Transition", err, "COMMIT")
	if fired() != 1 || f.orderStatus(t, o.ID) != "created" || f.Balance(t, ctx) != 0 {
		t.Fatalf("Transition ran %d times; order %s, balance %d: want once, rolled back", fired(), f.orderStatus(t, o.ID), f.Balance(t, ctx))
	}
	if e, err := f.b.Transition(sys, o.ID, topuporder.StatusPaid); err != nil || e == nil || f.Balance(t, ctx) != 10 {
		t.Fatalf("paying after the check: %v, %v, balance %d", e, err, f.Balance(t, ctx))
	}
}

// A webhook is idempotent: its delivery is rerun when the backend dies
// while it commits (applied once), and when the COMMIT was applied but its
// answer lost the rerun reports a duplicate; the order is credited once.
func TestWebhookConnectionLossIsRerun(t *testing.T) {
	rawURL := suitedb.URL(t)
	direct := suitedb.Open(t, rawURL)
	px := suitedb.NewCutProxy(t, rawURL)
	proxied := suitedb.Open(t, px.URL)
	l := ledger.New(db.NewClient(direct), direct)
	b := billing.New(db.NewClient(direct), direct, l)
	viaProxy := billing.New(db.NewClient(proxied), proxied, ledger.New(db.NewClient(proxied), proxied))
	suitedb.Tenants(t, direct, "tenant-w")
	ctx := privacy.WithTenant(context.Background(), "tenant-w")
	pack, err := db.NewClient(direct).CreditPack.Create().SetTenantID(privacy.PlatformTenantID).SetCode("ten").SetName("Ten").
		SetCredits(10).SetPriceAmount(orderPrice).SetPriceCurrency("USD").Save(sys)
	if err != nil {
		t.Fatal(err)
	}
	var orders []string
	for _, ref := range []string{"w1", "w2"} {
		orders = append(orders, placeOrder(t, b, ctx, ref, pack.ID))
	}

	// The trigger runs for the event's insert and its status update: once
	// in the killed attempt, twice in the rerun.
	fired := suitedb.KillAtCommit(t, direct, "billing_events", 1)
	out, err := b.HandleEvent(sys, event("evt_w1", billing.EventPaymentSucceeded, "w1"))
	if err != nil || out.Duplicate || out.Status != "processed" || fired() != 3 {
		t.Fatalf("killed at commit: %+v, %v after %d runs; want a rerun that processes it", out, err, fired())
	}

	if _, err := viaProxy.HandleEvent(sys, event("evt_warm", "warm.up", "w2")); err != nil {
		t.Fatal(err)
	}
	px.CutReplyTo("commit\x00")
	out, err = viaProxy.HandleEvent(sys, event("evt_w2", billing.EventPaymentSucceeded, "w2"))
	if err != nil || !out.Duplicate || out.OrderStatus != topuporder.StatusPaid {
		t.Fatalf("answer lost: %+v, %v; want the rerun to report the committed delivery as a duplicate", out, err)
	}

	for _, id := range orders {
		var credits int
		if err := direct.QueryRow(`SELECT count(*) FROM credit_ledger_entries WHERE idempotency_key = $1`,
			billing.TopupKey(id)).Scan(&credits); err != nil || credits != 1 {
			t.Fatalf("order %s credited %d times (%v)", id, credits, err)
		}
	}
	if b, err := l.Balance(ctx); err != nil || b != 20 {
		t.Fatalf("balance %d (%v), want 20", b, err)
	}
}
