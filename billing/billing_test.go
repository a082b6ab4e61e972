package billing_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"

	"github.com/leadmetrics/db/billing"
	"github.com/leadmetrics/db/cuid"
	"github.com/leadmetrics/db/ent/billingevent"
	"github.com/leadmetrics/db/ent/creditledgerentry"
	"github.com/leadmetrics/db/ent/topuporder"
	"github.com/leadmetrics/db/internal/testing/ledgertest"
	"github.com/leadmetrics/db/ledger"
	"github.com/leadmetrics/db/privacy"
)

var sys = privacy.WithSystem(context.Background())

type fixture struct {
	*ledgertest.Env
	b     *billing.Billing
	packs map[int64]string // credits -> a pack of them at orderPrice
}

func setup(t *testing.T) *fixture {
	env := ledgertest.New(t)
	return &fixture{Env: env, b: billing.New(env.Client, env.DB, env.Ledger), packs: map[int64]string{}}
}

// pack returns a pack of credits at orderPrice, created on first use.
func (f *fixture) pack(t *testing.T, credits int64) string {
	t.Helper()
	if id, ok := f.packs[credits]; ok {
		return id
	}
	f.packs[credits] = f.Pack(t, fmt.Sprintf("credits-%d", credits), credits, orderPrice)
	return f.packs[credits]
}

// order places an order of credits for ref as the platform does and
// returns its id: the tenant of ctx orders the pack, the system binds the
// provider's id "pi_" + ref.
func (f *fixture) order(t *testing.T, ctx context.Context, ref string, credits int64) string {
	t.Helper()
	return placeOrder(t, f.b, ctx, ref, f.pack(t, credits))
}

// placeOrder orders pack for the tenant of ctx and binds "pi_" + ref.
func placeOrder(t *testing.T, b *billing.Billing, ctx context.Context, ref, pack string) string {
	t.Helper()
	o, err := b.CreateOrder(ctx, billing.OrderRequest{RefID: ref, Provider: topuporder.ProviderStripe, PackID: pack})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.BindProviderOrder(sys, o.ID, "pi_"+ref); err != nil {
		t.Fatal(err)
	}
	return o.ID
}

// orderPrice is what every test order costs, in US cents.
const orderPrice = 100

// event is a delivery for the order ref that carries the order's price
// (the provider's lower-case currency code, as Stripe sends it).
func event(id, typ, ref string) billing.Event {
	return billing.Event{Provider: topuporder.ProviderStripe, EventID: id, Type: typ, ProviderOrderID: "pi_" + ref,
		Amount: orderPrice, Currency: "usd", Payload: map[string]any{"id": id}}
}

func (f *fixture) deliver(t *testing.T, ctx context.Context, ev billing.Event) *billing.Outcome {
	t.Helper()
	out, err := f.b.HandleEvent(ctx, ev)
	if err != nil {
		t.Fatalf("%s %s: %v", ev.Type, ev.EventID, err)
	}
	return out
}

func (f *fixture) orderStatus(t *testing.T, id string) string {
	t.Helper()
	var s string
	if err := f.DB.QueryRow(`SELECT status FROM topup_orders WHERE id = $1`, id).Scan(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

// Ten concurrent deliveries of one "payment succeeded" credit once.
func TestConcurrentDuplicateWebhooksCreditOnce(t *testing.T) {
	f := setup(t)
	_, ctx := f.Tenant(t, "")
	id := f.order(t, ctx, "o1", 10_000)
	var wg sync.WaitGroup
	outs := make([]*billing.Outcome, 10)
	for i := range outs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, err := f.b.HandleEvent(sys, event("evt_paid", billing.EventPaymentSucceeded, "o1"))
			if err != nil {
				t.Error(err)
			}
			outs[i] = out
		}()
	}
	wg.Wait()
	processed := 0
	for _, o := range outs {
		if o == nil {
			t.FailNow()
		}
		if !o.Duplicate {
			processed++
			if o.Status != billingevent.StatusProcessed || o.Entry == nil || o.Entry.Amount != 10_000 {
				t.Fatalf("first delivery: %+v", o)
			}
		} else if o.Status != billingevent.StatusProcessed || o.OrderStatus != topuporder.StatusPaid || o.Entry != nil {
			t.Fatalf("duplicate: %+v", o)
		}
	}
	if processed != 1 {
		t.Fatalf("%d deliveries processed, want 1", processed)
	}
	var events, entries int
	f.DB.QueryRow(`SELECT (SELECT count(*) FROM billing_events), (SELECT count(*) FROM credit_ledger_entries)`).Scan(&events, &entries)
	if events != 1 || entries != 1 || f.Balance(t, ctx) != 10_000 || f.orderStatus(t, id) != "paid" {
		t.Fatalf("%d events, %d entries, balance %d, order %s", events, entries, f.Balance(t, ctx), f.orderStatus(t, id))
	}
	f.MustReconcile(t, ctx)
}

// Out-of-order and contradictory events never undo or repeat a credit;
// only a refund reverses it.
func TestOutOfOrderEvents(t *testing.T) {
	f := setup(t)
	_, ctx := f.Tenant(t, "")
	id := f.order(t, ctx, "o1", 5_000)
	steps := []struct {
		ev          billing.Event
		status      billingevent.Status
		order       string
		balance     int64
		transitionE bool // ignored because the state machine refuses it
	}{
		{event("e1", billing.EventPaymentSucceeded, "o1"), billingevent.StatusProcessed, "paid", 5_000, false},
		{event("e0", billing.EventPaymentPending, "o1"), billingevent.StatusIgnored, "paid", 5_000, true},    // late
		{event("e2", billing.EventPaymentFailed, "o1"), billingevent.StatusIgnored, "paid", 5_000, true},     // failed after paid
		{event("e3", billing.EventPaymentSucceeded, "o1"), billingevent.StatusIgnored, "paid", 5_000, false}, // another event id, same payment
		{event("e4", "customer.updated", "o1"), billingevent.StatusIgnored, "paid", 5_000, false},
		{event("e5", billing.EventPaymentRefunded, "o1"), billingevent.StatusProcessed, "refunded", 0, false},
		{event("e6", billing.EventPaymentSucceeded, "o1"), billingevent.StatusIgnored, "refunded", 0, true},
		{event("e7", billing.EventPaymentRefunded, "o1"), billingevent.StatusIgnored, "refunded", 0, false},
	}
	for _, s := range steps {
		out := f.deliver(t, sys, s.ev)
		if out.Status != s.status || string(out.OrderStatus) != s.order || f.Balance(t, ctx) != s.balance {
			t.Fatalf("%s (%s): %+v, balance %d; want %s, order %s, balance %d",
				s.ev.EventID, s.ev.Type, out, f.Balance(t, ctx), s.status, s.order, s.balance)
		}
		// A refused transition says so; the other ignored events do not.
		if s.transitionE != strings.Contains(out.Reason, "cannot go from") {
			t.Fatalf("%s: reason %q", s.ev.EventID, out.Reason)
		}
	}
	if again := f.deliver(t, sys, event("e5", billing.EventPaymentRefunded, "o1")); !again.Duplicate {
		t.Fatal("redelivered refund not reported as duplicate")
	}
	var kinds []string
	rows, _ := f.DB.Query(`SELECT kind || ':' || amount FROM credit_ledger_entries WHERE topup_order_id = $1 ORDER BY seq`, id)
	for rows.Next() {
		var k string
		rows.Scan(&k)
		kinds = append(kinds, k)
	}
	rows.Close()
	if fmt.Sprint(kinds) != "[topup:5000 reversal:-5000]" {
		t.Fatalf("order's entries %v", kinds)
	}
	f.MustReconcile(t, ctx)
}

// A refund of credits already spent would overdraw: the ledger refuses
// the reversal, the order stays paid, the event is stored as failed.
func TestRefundOfSpentCreditsIsRecordedAsFailed(t *testing.T) {
	f := setup(t)
	_, ctx := f.Tenant(t, "")
	id := f.order(t, ctx, "o1", 1_000)
	f.deliver(t, sys, event("e1", billing.EventPaymentSucceeded, "o1"))
	if _, _, err := f.Ledger.RecordLLMCall(ctx, ledger.LLMCall{RefID: "c", Provider: "p", Model: "m", Cost: 600}); err != nil {
		t.Fatal(err)
	}
	out, err := f.b.HandleEvent(sys, event("e2", billing.EventPaymentRefunded, "o1"))
	if !errors.Is(err, ledger.ErrInsufficientCredits) || out == nil || out.Status != billingevent.StatusFailed {
		t.Fatalf("refund of spent credits: %+v %v", out, err)
	}
	if f.orderStatus(t, id) != "paid" || f.Balance(t, ctx) != 400 {
		t.Fatalf("order %s balance %d", f.orderStatus(t, id), f.Balance(t, ctx))
	}
	if stored := f.eventStatus(t, "e2"); stored != "failed" {
		t.Fatalf("event stored as %q", stored)
	}
	f.MustReconcile(t, ctx)
}

func TestStateMachine(t *testing.T) {
	f := setup(t)
	_, ctx := f.Tenant(t, "")
	all := []billing.Status{topuporder.StatusCreated, topuporder.StatusPending, topuporder.StatusPaid,
		topuporder.StatusFailed, topuporder.StatusRefunded, topuporder.StatusCancelled}
	allowed := map[string]bool{
		"created>pending": true, "created>paid": true, "created>failed": true, "created>cancelled": true,
		"pending>paid": true, "pending>failed": true, "pending>cancelled": true,
		"failed>pending": true, "failed>paid": true, "failed>cancelled": true,
		"paid>refunded": true,
	}
	for _, from := range all {
		for _, to := range all {
			if got := billing.CanTransition(from, to); got != allowed[string(from)+">"+string(to)] {
				t.Errorf("%s -> %s: %v", from, to, got)
			}
		}
	}
	id := f.order(t, ctx, "o1", 100)
	if _, err := f.b.Transition(sys, id, topuporder.StatusRefunded); !errors.Is(err, billing.ErrInvalidTransition) {
		t.Fatalf("refund of an unpaid order: %v", err)
	}
	if _, err := f.b.Transition(sys, id, topuporder.StatusCancelled); err != nil {
		t.Fatal(err)
	}
	before := f.Fingerprint(t)
	_, err := f.b.Transition(sys, id, topuporder.StatusPaid)
	var te *billing.TransitionError
	if !errors.As(err, &te) || te.From != topuporder.StatusCancelled || te.To != topuporder.StatusPaid {
		t.Fatalf("paying a cancelled order: %v", err)
	}
	if f.Fingerprint(t) != before {
		t.Fatal("a refused transition wrote something")
	}
	// Manual payment credits like an event does, once.
	id2 := f.order(t, ctx, "o2", 300)
	for range 2 {
		if _, err := f.b.Transition(sys, id2, topuporder.StatusPaid); err != nil {
			t.Fatal(err)
		}
	}
	if f.Balance(t, ctx) != 300 {
		t.Fatalf("balance %d", f.Balance(t, ctx))
	}
}

func TestBillingBadInputWritesNothing(t *testing.T) {
	f := setup(t)
	tid, ctx := f.Tenant(t, "")
	other, otherCtx := f.Tenant(t, "")
	otherOrder := f.order(t, otherCtx, "theirs", 100)
	f.order(t, ctx, "mine", 100)
	pack, plan := f.pack(t, 1), f.Plan(t, "p", 1)
	before := f.Fingerprint(t)
	// A tenant's request: a pack, nothing else.
	good := billing.OrderRequest{RefID: "r", Provider: topuporder.ProviderStripe, PackID: pack}
	for name, c := range map[string]struct {
		mutate func(*billing.OrderRequest)
		want   error
	}{
		"unknown provider":      {func(r *billing.OrderRequest) { r.Provider = "paypal" }, billing.ErrInvalidOrder},
		"no ref":                {func(r *billing.OrderRequest) { r.RefID = "" }, billing.ErrInvalidOrder},
		"no pack":               {func(r *billing.OrderRequest) { r.PackID = "" }, billing.ErrInvalidOrder},
		"unknown pack":          {func(r *billing.OrderRequest) { r.PackID = cuid.New() }, billing.ErrPackUnavailable},
		"a plan's id as a pack": {func(r *billing.OrderRequest) { r.PackID = plan }, billing.ErrPackUnavailable},
		"ref reused":            {func(r *billing.OrderRequest) { r.RefID = "mine" }, billing.ErrOrderConflict},
		"another tenant":        {func(r *billing.OrderRequest) { r.TenantID = other }, privacy.ErrTenantMismatch},
		"own credits":           {func(r *billing.OrderRequest) { r.PackID, r.Credits = "", 1 }, privacy.ErrSystemOnly},
		"own price":             {func(r *billing.OrderRequest) { r.PaidAmount = 1 }, privacy.ErrSystemOnly},
		"own currency":          {func(r *billing.OrderRequest) { r.PaidCurrency = "EUR" }, privacy.ErrSystemOnly},
		"provider id":           {func(r *billing.OrderRequest) { r.ProviderOrderID = "pi_new" }, privacy.ErrSystemOnly},
	} {
		r := good
		c.mutate(&r)
		if _, err := f.b.CreateOrder(ctx, r); !errors.Is(err, c.want) {
			t.Errorf("order %s: %v, want %v", name, err, c.want)
		}
	}
	// The system's request: a tenant and terms of its own.
	custom := billing.OrderRequest{RefID: "s", Provider: topuporder.ProviderManual, TenantID: tid,
		Credits: 1, PaidAmount: orderPrice, PaidCurrency: "USD"}
	for name, c := range map[string]struct {
		mutate func(*billing.OrderRequest)
		want   error
	}{
		"zero credits":       {func(r *billing.OrderRequest) { r.Credits = 0 }, billing.ErrInvalidOrder},
		"zero price":         {func(r *billing.OrderRequest) { r.PaidAmount = 0 }, billing.ErrInvalidOrder},
		"negative price":     {func(r *billing.OrderRequest) { r.PaidAmount = -1 }, billing.ErrInvalidOrder},
		"no currency":        {func(r *billing.OrderRequest) { r.PaidCurrency = "" }, billing.ErrInvalidOrder},
		"bad currency":       {func(r *billing.OrderRequest) { r.PaidCurrency = "DOLLAR" }, billing.ErrInvalidOrder},
		"pack and terms":     {func(r *billing.OrderRequest) { r.PackID = pack }, billing.ErrInvalidOrder},
		"no tenant":          {func(r *billing.OrderRequest) { r.TenantID = "" }, billing.ErrInvalidOrder},
		"the platform":       {func(r *billing.OrderRequest) { r.TenantID = privacy.PlatformTenantID }, billing.ErrInvalidOrder},
		"unknown tenant":     {func(r *billing.OrderRequest) { r.TenantID = cuid.New() }, privacy.ErrTenantInactive},
		"provider id reused": {func(r *billing.OrderRequest) { r.Provider, r.ProviderOrderID = topuporder.ProviderStripe, "pi_theirs" }, billing.ErrOrderConflict},
	} {
		r := custom
		c.mutate(&r)
		if _, err := f.b.CreateOrder(sys, r); !errors.Is(err, c.want) {
			t.Errorf("system order %s: %v, want %v", name, err, c.want)
		}
	}
	if _, err := f.b.CreateOrder(context.Background(), good); !errors.Is(err, privacy.ErrNoViewer) {
		t.Errorf("order without a viewer: %v", err)
	}
	for name, c := range map[string]struct {
		ctx  context.Context
		ev   billing.Event
		want error
	}{
		"a tenant viewer": {ctx, event("x1", billing.EventPaymentSucceeded, "mine"), privacy.ErrSystemOnly},
		"no amount":       {sys, billing.Event{Provider: "stripe", EventID: "x5", Type: billing.EventPaymentSucceeded, ProviderOrderID: "pi_mine"}, billing.ErrInvalidEvent},
		"negative amount": {sys, billing.Event{Provider: "stripe", EventID: "x6", Type: billing.EventPaymentRefunded, ProviderOrderID: "pi_mine", Amount: -1, Currency: "USD"}, billing.ErrInvalidEvent},
		"no currency":     {sys, billing.Event{Provider: "stripe", EventID: "x8", Type: billing.EventPaymentPending, ProviderOrderID: "pi_mine", Amount: 100}, billing.ErrInvalidEvent},
		"bad currency":    {sys, billing.Event{Provider: "stripe", EventID: "x7", Type: billing.EventPaymentSucceeded, ProviderOrderID: "pi_mine", Amount: 100, Currency: "US$"}, billing.ErrInvalidEvent},
		"no event id":     {sys, event("", billing.EventPaymentSucceeded, "mine"), billing.ErrInvalidEvent},
		"no type":         {sys, event("x2", "", "mine"), billing.ErrInvalidEvent},
		"no viewer":       {context.Background(), event("x3", billing.EventPaymentSucceeded, "mine"), privacy.ErrNoViewer},
	} {
		if _, err := f.b.HandleEvent(c.ctx, c.ev); !errors.Is(err, c.want) {
			t.Errorf("event %s: %v, want %v", name, err, c.want)
		}
	}
	if _, err := f.b.Transition(ctx, otherOrder, topuporder.StatusPaid); !errors.Is(err, privacy.ErrSystemOnly) {
		t.Errorf("transition by a tenant viewer: %v", err)
	}
	if _, err := f.b.Transition(sys, "no-such-order", topuporder.StatusPaid); !errors.Is(err, billing.ErrUnknownOrder) {
		t.Errorf("transition of an unknown order: %v", err)
	}
	if f.Fingerprint(t) != before {
		t.Fatal("refused input wrote something")
	}
	// The same request again is the same order.
	if _, err := f.b.CreateOrder(ctx, billing.OrderRequest{RefID: "mine", Provider: topuporder.ProviderStripe, PackID: f.pack(t, 100)}); err != nil {
		t.Fatalf("same order again: %v", err)
	}
	// An event for an order nobody has is kept for operators.
	out, err := f.b.HandleEvent(sys, event("x4", billing.EventPaymentSucceeded, "ghost"))
	if err != nil || out.Status != billingevent.StatusFailed {
		t.Fatalf("unknown order: %+v %v", out, err)
	}
}

func (f *fixture) eventStatus(t *testing.T, providerEventID string) string {
	t.Helper()
	var s string
	if err := f.DB.QueryRow(`SELECT status FROM billing_events WHERE provider_event_id = $1`, providerEventID).Scan(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

// A posting that fails inside SQL (the balance would overflow int64) must
// not poison the webhook's transaction: the event is still stored as
// failed and the order keeps its state.
func TestPostingFailureInSQLStillRecordsTheEvent(t *testing.T) {
	f := setup(t)
	_, ctx := f.Tenant(t, "")
	if _, err := f.Post(ctx, ledger.Posting{Kind: creditledgerentry.KindTopup, Amount: math.MaxInt64, IdempotencyKey: "max"}); err != nil {
		t.Fatal(err)
	}
	id := f.order(t, ctx, "o1", 10)
	out, err := f.b.HandleEvent(sys, event("e1", billing.EventPaymentSucceeded, "o1"))
	if !errors.Is(err, ledger.ErrInvalidAmount) || out == nil || out.Status != billingevent.StatusFailed {
		t.Fatalf("overflowing credit: %+v %v", out, err)
	}
	if f.orderStatus(t, id) != "created" || f.eventStatus(t, "e1") != "failed" {
		t.Fatalf("order %s, event %s", f.orderStatus(t, id), f.eventStatus(t, "e1"))
	}
	f.MustReconcile(t, ctx)
}
