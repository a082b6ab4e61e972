package ledger_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/leadmetrics/db/ent/tenant"
	"github.com/leadmetrics/db/internal/testing/ledgertest"
	"github.com/leadmetrics/db/ledger"
	"github.com/leadmetrics/db/privacy"
)

var sysCtx = privacy.WithSystem(context.Background())

// A grant for a period after now is refused, whatever the distance: 24
// future months give nothing. A time within GrantClockSkew is accepted.
func TestGrantPlanRefusesFuturePeriods(t *testing.T) {
	env := ledgertest.New(t)
	id, ctx := env.Tenant(t, env.Plan(t, "pro", 1_000))
	before := env.Fingerprint(t)
	now := time.Now()
	for m := 1; m <= 24; m++ {
		if _, err := env.Ledger.GrantPlan(sysCtx, id, now.AddDate(0, m, 0)); !errors.Is(err, ledger.ErrFuturePeriod) {
			t.Fatalf("%d months ahead: %v", m, err)
		}
	}
	for _, at := range []time.Time{now.Add(ledger.GrantClockSkew + time.Minute), now.AddDate(0, 0, 1)} {
		if _, err := env.Ledger.GrantPlan(sysCtx, id, at); !errors.Is(err, ledger.ErrFuturePeriod) {
			t.Fatalf("%s ahead: %v", at.Sub(now), err)
		}
	}
	if _, err := env.Ledger.GrantAll(sysCtx, now.AddDate(0, 1, 0)); !errors.Is(err, ledger.ErrFuturePeriod) {
		t.Fatalf("grant all next month: %v", err)
	}
	if _, err := env.Ledger.GrantPlan(sysCtx, id, time.Time{}); !errors.Is(err, ledger.ErrInvalidInput) {
		t.Fatalf("zero time: %v", err)
	}
	if env.Fingerprint(t) != before {
		t.Fatal("a refused grant wrote something")
	}
	if e, err := env.Ledger.GrantPlan(sysCtx, id, now.Add(ledger.GrantClockSkew/2)); err != nil || e == nil {
		t.Fatalf("within the clock skew: %v %v", e, err)
	}
	if e, err := env.Ledger.GrantPlan(sysCtx, id, now.AddDate(-1, 0, 0)); err != nil || e == nil || e.Replayed {
		t.Fatalf("a past period: %v %v", e, err)
	}
	if env.Balance(t, ctx) != 2_000 {
		t.Fatalf("balance %d", env.Balance(t, ctx))
	}
}

// A plan that is soft-deleted or inactive grants nothing (ErrPlanInactive);
// the job skips its tenants. A suspended tenant receives no grant.
func TestGrantPlanRefusesInactivePlansAndTenants(t *testing.T) {
	env := ledgertest.New(t)
	inactive, deleted := env.Plan(t, "old", 1_000), env.Plan(t, "gone", 1_000)
	a, _ := env.Tenant(t, inactive)
	b, _ := env.Tenant(t, deleted)
	c, _ := env.Tenant(t, env.Plan(t, "pro", 1_000))
	if err := env.Client.Plan.UpdateOneID(inactive).SetActive(false).Exec(sysCtx); err != nil {
		t.Fatal(err)
	}
	if err := env.Client.Plan.DeleteOneID(deleted).Exec(sysCtx); err != nil {
		t.Fatal(err)
	}
	if err := env.Client.Tenant.UpdateOneID(c).SetStatus(tenant.StatusSuspended).Exec(sysCtx); err != nil {
		t.Fatal(err)
	}
	at := time.Now().AddDate(0, -1, 0)
	before := env.Fingerprint(t)
	for id, want := range map[string]error{a: ledger.ErrPlanInactive, b: ledger.ErrPlanInactive, c: privacy.ErrTenantInactive,
		"no-such-tenant": privacy.ErrTenantInactive} {
		if _, err := env.Ledger.GrantPlan(sysCtx, id, at); !errors.Is(err, want) {
			t.Errorf("tenant %s: %v, want %v", id, err, want)
		}
	}
	if n, err := env.Ledger.GrantAll(sysCtx, at); err != nil || n != 0 {
		t.Fatalf("grant all: %d %v", n, err)
	}
	if env.Fingerprint(t) != before {
		t.Fatal("a refused grant wrote something")
	}
	// Reactivated, the plan grants again.
	if err := env.Client.Plan.UpdateOneID(inactive).SetActive(true).Exec(sysCtx); err != nil {
		t.Fatal(err)
	}
	if n, err := env.Ledger.GrantAll(sysCtx, at); err != nil || n != 1 {
		t.Fatalf("grant all after reactivation: %d %v", n, err)
	}
}
