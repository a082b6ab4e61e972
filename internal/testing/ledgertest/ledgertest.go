// Package ledgertest holds the fixtures the ledger and billing tests share.
package ledgertest

import (
	"context"
	"database/sql"
	"testing"

	"github.com/leadmetrics/db/cuid"
	"github.com/leadmetrics/db/ent"
	"github.com/leadmetrics/db/ent/creditledgerentry"
	"github.com/leadmetrics/db/internal/testing/suitedb"
	"github.com/leadmetrics/db/ledger"
	"github.com/leadmetrics/db/privacy"
)

// Env is a migrated database of its own with a ledger over it.
type Env struct {
	Client *ent.Client
	DB     *sql.DB
	Ledger *ledger.Ledger
}

// New returns an Env on a fresh database, dropped after the test.
func New(t testing.TB) *Env {
	t.Helper()
	client, db := suitedb.Client(t)
	return &Env{Client: client, DB: db, Ledger: ledger.New(client, db)}
}

// Tenant creates a tenant (on planID when not empty) and returns its id
// and a context whose viewer is that tenant.
func (e *Env) Tenant(t testing.TB, planID string) (string, context.Context) {
	t.Helper()
	id := cuid.New()
	c := e.Client.Tenant.Create().SetID(id).SetTenantID(id).SetRefID("tenant").
		SetName("Tenant " + id).SetSlug("t-" + id)
	if planID != "" {
		c.SetPlanID(planID)
	}
	if err := c.Exec(privacy.WithSystem(context.Background())); err != nil {
		t.Fatal(err)
	}
	return id, privacy.WithTenant(context.Background(), id)
}

// Post posts p for the tenant of ctx the way the platform would: usage
// under the tenant's own viewer, every other kind (system-only) as the
// system viewer naming that tenant. A ctx without a tenant viewer is
// passed through unchanged, for the refusal cases.
func (e *Env) Post(ctx context.Context, p ledger.Posting) (*ledger.Entry, error) {
	if v, ok := privacy.FromContext(ctx); ok && !v.System && p.Kind != creditledgerentry.KindUsage {
		p.TenantID = v.TenantID
		ctx = privacy.WithSystem(ctx)
	}
	return e.Ledger.Post(ctx, p)
}

// Plan creates a platform plan and returns its id.
func (e *Env) Plan(t testing.TB, code string, credits int64) string {
	t.Helper()
	p, err := e.Client.Plan.Create().SetTenantID(privacy.PlatformTenantID).SetRefID("plan-" + code).
		SetCode(code).SetName(code).SetPriceAmount(1000).SetPriceCurrency("USD").SetIncludedCredits(credits).
		Save(privacy.WithSystem(context.Background()))
	if err != nil {
		t.Fatal(err)
	}
	return p.ID
}

// Pack creates a credit pack of the platform's catalog (credits for price
// US cents) and returns its id.
func (e *Env) Pack(t testing.TB, code string, credits, price int64) string {
	t.Helper()
	p, err := e.Client.CreditPack.Create().SetTenantID(privacy.PlatformTenantID).SetRefID("pack-" + code).
		SetCode(code).SetName(code).SetCredits(credits).SetPriceAmount(price).SetPriceCurrency("USD").
		Save(privacy.WithSystem(context.Background()))
	if err != nil {
		t.Fatal(err)
	}
	return p.ID
}

// Fingerprint digests every row of the credit and billing tables and the
// catalogs, to
// assert that a refused call wrote nothing.
func (e *Env) Fingerprint(t testing.TB) string {
	t.Helper()
	return suitedb.Fingerprint(t, e.DB, "tenants", "plans", "credit_packs", "credit_balances", "credit_ledger_entries",
		"llm_call_logs", "topup_orders", "billing_events")
}

// MustReconcile fails the test when the tenant of ctx has any drift.
func (e *Env) MustReconcile(t testing.TB, ctx context.Context) {
	t.Helper()
	r, err := e.Ledger.Reconcile(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !r.OK() {
		t.Fatal(r)
	}
}

// Balance returns the tenant's balance, failing the test on error.
func (e *Env) Balance(t testing.TB, ctx context.Context) int64 {
	t.Helper()
	b, err := e.Ledger.Balance(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
