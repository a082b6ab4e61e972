package billing_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/leadmetrics/db/billing"
	"github.com/leadmetrics/db/ent"
	"github.com/leadmetrics/db/ent/billingevent"
	"github.com/leadmetrics/db/ent/topuporder"
	"github.com/leadmetrics/db/privacy"
)

// TestTenantCannotChooseOrderTerms (issue 18, finding 5): a tenant viewer
// that names its own credits or price (a fortune for a dollar, credits for
// nothing) is refused and writes nothing, and the provider's payment of
// that price credits nothing.
func TestTenantCannotChooseOrderTerms(t *testing.T) {
	f := setup(t)
	_, ctx := f.Tenant(t, "")
	for name, r := range map[string]billing.OrderRequest{
		"credits of its choice": {RefID: "mint", Provider: topuporder.ProviderStripe, ProviderOrderID: "pi_mint",
			Credits: 1 << 62, PaidAmount: 100, PaidCurrency: "USD"},
		"free credits": {RefID: "free", Provider: topuporder.ProviderStripe, ProviderOrderID: "pi_free",
			Credits: 1_000, PaidAmount: 0, PaidCurrency: "USD"},
	} {
		before := f.Fingerprint(t)
		if _, err := f.b.CreateOrder(ctx, r); !errors.Is(err, privacy.ErrSystemOnly) {
			t.Errorf("%s: %v, want ErrSystemOnly", name, err)
		}
		if f.Fingerprint(t) != before {
			t.Errorf("%s: refused but wrote something", name)
		}
		f.b.HandleEvent(sys, billing.Event{Provider: r.Provider, EventID: "evt_" + r.RefID, Type: billing.EventPaymentSucceeded,
			ProviderOrderID: r.ProviderOrderID, Amount: r.PaidAmount, Currency: "usd"})
		if b := f.Balance(t, ctx); b != 0 {
			t.Errorf("%s: the payment credited %d", name, b)
		}
	}
}

// TestTenantCannotClaimAProviderOrderID (issue 18, finding 6): tenant B
// cannot put a provider order id (here the one tenant A's payment will
// carry) on an order: refused, nothing written, and that payment never
// credits B.
func TestTenantCannotClaimAProviderOrderID(t *testing.T) {
	f := setup(t)
	_, ctxB := f.Tenant(t, "")
	before := f.Fingerprint(t)
	_, err := f.b.CreateOrder(ctxB, billing.OrderRequest{RefID: "claim", Provider: topuporder.ProviderStripe,
		ProviderOrderID: "pi_of_a", Credits: 10, PaidAmount: orderPrice, PaidCurrency: "USD"})
	if !errors.Is(err, privacy.ErrSystemOnly) {
		t.Errorf("B claims a provider order id: %v, want ErrSystemOnly", err)
	}
	if f.Fingerprint(t) != before {
		t.Error("refused but wrote something")
	}
	f.b.HandleEvent(sys, event("evt_a_paid", billing.EventPaymentSucceeded, "of_a"))
	if b := f.Balance(t, ctxB); b != 0 {
		t.Fatalf("A's payment credited B %d", b)
	}
}

// TestOrderTermsComeFromThePack: a tenant orders a pack by id; the order
// copies the pack's price and credits, and paying that price credits
// exactly the pack's credits. Packs off sale are refused; a pack's terms
// cannot change; the database refuses free packs and free orders whoever
// writes them.
func TestOrderTermsComeFromThePack(t *testing.T) {
	f := setup(t)
	_, ctx := f.Tenant(t, "")
	pack := f.Pack(t, "pro-5k", 5_000, 1_999)
	o, err := f.b.CreateOrder(ctx, billing.OrderRequest{RefID: "o1", Provider: topuporder.ProviderStripe, PackID: pack})
	if err != nil {
		t.Fatal(err)
	}
	if o.Credits != 5_000 || o.PaidAmount != 1_999 || o.PaidCurrency != "USD" || o.CreditPackID == nil || *o.CreditPackID != pack ||
		o.ProviderOrderID != nil || o.Status != topuporder.StatusCreated {
		t.Fatalf("order %+v does not carry the pack's terms", o)
	}
	// Raised behind the layer's back, the pack does not change the order,
	// nor what the same request returns.
	if _, err := f.DB.Exec(`UPDATE credit_packs SET credits = 1000000000 WHERE id = $1`, pack); err != nil {
		t.Fatal(err)
	}
	if again, err := f.b.CreateOrder(ctx, billing.OrderRequest{RefID: "o1", Provider: topuporder.ProviderStripe, PackID: pack}); err != nil ||
		again.ID != o.ID || again.Credits != 5_000 {
		t.Fatalf("the same request again: %+v %v", again, err)
	}
	if _, err := f.b.BindProviderOrder(sys, o.ID, "pi_o1"); err != nil {
		t.Fatal(err)
	}
	out, err := f.b.HandleEvent(sys, billing.Event{Provider: topuporder.ProviderStripe, EventID: "evt_o1",
		Type: billing.EventPaymentSucceeded, ProviderOrderID: "pi_o1", Amount: 1_999, Currency: "usd"})
	if err != nil || out.Status != billingevent.StatusProcessed || f.Balance(t, ctx) != 5_000 {
		t.Fatalf("paying the pack's price: %+v %v, balance %d", out, err, f.Balance(t, ctx))
	}

	inactive, deleted := f.Pack(t, "old", 10, 1), f.Pack(t, "gone", 10, 1)
	if err := f.Client.CreditPack.UpdateOneID(inactive).SetActive(false).Exec(sys); err != nil {
		t.Fatal(err)
	}
	if err := f.Client.CreditPack.DeleteOneID(deleted).Exec(sys); err != nil {
		t.Fatal(err)
	}
	plan := f.Plan(t, "plan", 1)
	before := f.Fingerprint(t)
	for name, id := range map[string]string{"inactive": inactive, "deleted": deleted, "unknown": "cnosuchpack0000000000000",
		"a plan's id": plan} {
		_, err := f.b.CreateOrder(ctx, billing.OrderRequest{RefID: "x-" + name, Provider: topuporder.ProviderStripe, PackID: id})
		if !errors.Is(err, billing.ErrPackUnavailable) {
			t.Errorf("%s pack: %v, want ErrPackUnavailable", name, err)
		}
		if f.Fingerprint(t) != before {
			t.Errorf("%s pack: refused but wrote something", name)
		}
	}
	for _, typ := range []reflect.Type{reflect.TypeOf(&ent.CreditPackUpdate{}), reflect.TypeOf(&ent.CreditPackUpdateOne{})} {
		for _, m := range []string{"SetCredits", "AddCredits", "SetPriceAmount", "AddPriceAmount", "SetPriceCurrency"} {
			if _, ok := typ.MethodByName(m); ok {
				t.Errorf("%s has %s: a pack's terms can change", typ, m)
			}
		}
	}
	for name, write := range map[string]func() error{
		"free pack through Ent": func() error {
			return f.Client.CreditPack.Create().SetTenantID(privacy.PlatformTenantID).SetCode("free").SetName("free").
				SetCredits(1_000).SetPriceAmount(0).SetPriceCurrency("USD").Exec(sys)
		},
		"free pack by SQL": func() error {
			_, err := f.DB.Exec(`INSERT INTO credit_packs (id, ref_id, tenant_id, created_at, updated_at, price_amount, price_currency, code, name, credits)
				VALUES ('cfreepack000000000000000', 'free', 'platform', now(), now(), 0, 'USD', 'free', 'free', 1000)`)
			return err
		},
		"free order through Ent": func() error {
			return f.Client.TopupOrder.Create().SetTenantID(o.TenantID).SetProvider("manual").SetCredits(1_000).
				SetPaidAmount(0).SetPaidCurrency("USD").Exec(sys)
		},
		"free order by SQL": func() error {
			_, err := f.DB.Exec(`INSERT INTO topup_orders (id, ref_id, tenant_id, created_at, updated_at, paid_amount, paid_currency, provider, credits)
				VALUES ('cfreeorder00000000000000', 'free', $1, now(), now(), 0, 'USD', 'manual', 1000)`, o.TenantID)
			return err
		},
	} {
		if err := write(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestProviderOrderIDBoundToItsOrder: the system binds the provider's id to
// an order once; a tenant can neither claim an id nor learn whether one is
// in use (the same refusal either way, naming no constraint); the payment
// credits the order's tenant only.
func TestProviderOrderIDBoundToItsOrder(t *testing.T) {
	f := setup(t)
	_, ctxA := f.Tenant(t, "")
	_, ctxB := f.Tenant(t, "")
	pack := f.pack(t, 700)
	a, err := f.b.CreateOrder(ctxA, billing.OrderRequest{RefID: "a1", Provider: topuporder.ProviderStripe, PackID: pack})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.b.BindProviderOrder(sys, a.ID, "pi_a"); err != nil {
		t.Fatal(err)
	}
	before := f.Fingerprint(t)
	var refusals []string
	for _, pid := range []string{"pi_a", "pi_never_used"} {
		_, err := f.b.CreateOrder(ctxB, billing.OrderRequest{RefID: "b1", Provider: topuporder.ProviderStripe, PackID: pack, ProviderOrderID: pid})
		if !errors.Is(err, privacy.ErrSystemOnly) {
			t.Fatalf("B names provider order id %s: %v, want ErrSystemOnly", pid, err)
		}
		refusals = append(refusals, err.Error())
	}
	if refusals[0] != refusals[1] {
		t.Errorf("the refusal tells a bound id from a free one:\n%s\n%s", refusals[0], refusals[1])
	}
	for name, ctx := range map[string]context.Context{"B": ctxB, "A": ctxA, "no viewer": context.Background()} {
		if _, err := f.b.BindProviderOrder(ctx, a.ID, "pi_other"); !errors.Is(err, privacy.ErrSystemOnly) && !errors.Is(err, privacy.ErrNoViewer) {
			t.Errorf("bind as %s: %v", name, err)
		}
	}
	if f.Fingerprint(t) != before {
		t.Fatal("a refused call wrote something")
	}
	// B's own order; B's ref ids are its own (A's "a1" too).
	b, err := f.b.CreateOrder(ctxB, billing.OrderRequest{RefID: "a1", Provider: topuporder.ProviderStripe, PackID: pack})
	if err != nil || b.ID == a.ID {
		t.Fatalf("B's order under A's ref id: %+v %v", b, err)
	}
	_, err = f.b.CreateOrder(ctxB, billing.OrderRequest{RefID: "a1", Provider: topuporder.ProviderRazorpay, PackID: pack})
	if !errors.Is(err, billing.ErrOrderConflict) {
		t.Fatalf("B's ref id reused for another order: %v", err)
	}
	refusals = append(refusals, err.Error())
	for _, r := range refusals {
		for _, leak := range []string{"topuporder", "topup_orders", "constraint", "SQLSTATE", "unique", "pi_a"} {
			if strings.Contains(r, leak) {
				t.Errorf("a tenant's refusal says %q: %s", leak, r)
			}
		}
	}
	// The system binds once: A's id to B's order, another id to A's, and
	// an unknown order are refused; the same binding again is a no-op.
	for name, c := range map[string]struct {
		order, pid string
		want       error
	}{
		"A's id to B's order": {b.ID, "pi_a", billing.ErrOrderConflict},
		"another id to A's":   {a.ID, "pi_a2", billing.ErrOrderConflict},
		"an unknown order":    {"cnosuchorder000000000000", "pi_z", billing.ErrUnknownOrder},
		"an empty id":         {b.ID, "", billing.ErrInvalidOrder},
		"A's again":           {a.ID, "pi_a", nil},
	} {
		if _, err := f.b.BindProviderOrder(sys, c.order, c.pid); !errors.Is(err, c.want) {
			t.Errorf("bind %s: %v, want %v", name, err, c.want)
		}
	}
	// A payment before its order is bound finds no order: kept as failed
	// for operators, nothing credited; once bound, the next event credits.
	early := event("evt_b_early", billing.EventPaymentSucceeded, "b")
	if out, err := f.b.HandleEvent(sys, early); err != nil || out.Status != billingevent.StatusFailed {
		t.Fatalf("payment before the binding: %+v %v", out, err)
	}
	if _, err := f.b.BindProviderOrder(sys, b.ID, "pi_b"); err != nil {
		t.Fatal(err)
	}
	f.deliver(t, sys, event("evt_a", billing.EventPaymentSucceeded, "a"))
	f.deliver(t, sys, event("evt_b", billing.EventPaymentSucceeded, "b"))
	if f.Balance(t, ctxA) != 700 || f.Balance(t, ctxB) != 700 {
		t.Fatalf("balances A %d, B %d; want 700 each", f.Balance(t, ctxA), f.Balance(t, ctxB))
	}
}
