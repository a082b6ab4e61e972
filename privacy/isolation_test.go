package privacy_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/leadmetrics/db/ent"
	"github.com/leadmetrics/db/ent/campaign"
	"github.com/leadmetrics/db/ent/user"
	"github.com/leadmetrics/db/internal/testing/tenancytest"
	"github.com/leadmetrics/db/privacy"
)

// The seed's "Row-level tenant isolation": rows for two tenants; querying
// as A never returns B's, whatever the query shape.
func TestRowLevelTenantIsolation(t *testing.T) {
	env := tenancytest.New(t, 2)
	a, b := env.Tenants[0], env.Tenants[1]
	ctxA := privacy.WithTenant(context.Background(), a)
	ctxB := privacy.WithTenant(context.Background(), b)
	c := env.Client

	ua := c.User.Create().SetEmail("Ann@Example.com").SaveX(ctxA)
	ub := c.User.Create().SetEmail("bob@example.com").SaveX(ctxB)
	ca := c.Campaign.Create().SetName("A launch").SetOwner(ua).SaveX(ctxA)
	cb := c.Campaign.Create().SetName("B launch").SetOwner(ub).SaveX(ctxB)
	if ua.TenantID != a || cb.TenantID != b {
		t.Fatalf("tenant_id not stamped from the viewer: %q %q", ua.TenantID, cb.TenantID)
	}

	users := c.User.Query().AllX(ctxA)
	if len(users) != 1 || users[0].ID != ua.ID {
		t.Fatalf("A lists users %v, want only its own", users)
	}
	if n := c.Campaign.Query().CountX(ctxA); n != 1 {
		t.Fatalf("A counts %d campaigns, want 1", n)
	}
	if ids := c.Campaign.Query().IDsX(ctxA); !slices.Equal(ids, []string{ca.ID}) {
		t.Fatalf("A's campaign ids %v", ids)
	}
	if _, err := c.Campaign.Get(ctxA, cb.ID); !ent.IsNotFound(err) {
		t.Fatalf("A gets B's campaign by id: err=%v", err)
	}
	if ok := c.Campaign.Query().Where(campaign.ID(cb.ID)).ExistX(ctxA); ok {
		t.Fatal("A sees B's campaign exist")
	}
	if _, err := c.Campaign.Query().Where(campaign.ID(cb.ID)).Only(ctxA); !ent.IsNotFound(err) {
		t.Fatalf("Only: %v", err)
	}
	var names []string
	c.Campaign.Query().Select(campaign.FieldName).ScanX(ctxA, &names)
	if !slices.Equal(names, []string{"A launch"}) {
		t.Fatalf("Select names %v", names)
	}
	if n := c.Campaign.Query().Aggregate(ent.Count()).IntX(ctxA); n != 1 {
		t.Fatalf("aggregate count %d", n)
	}
	// Traversal from B's user, eager loading, and edge predicates.
	if n := c.User.Query().Where(user.ID(ub.ID)).QueryOwnedCampaigns().CountX(ctxA); n != 0 {
		t.Fatalf("A traverses from B's user: %d", n)
	}
	if n := c.User.Query().Where(user.HasOwnedCampaignsWith(campaign.Name("B launch"))).CountX(ctxA); n != 0 {
		t.Fatalf("A matches B's campaign through HasXWith: %d", n)
	}
	if n := c.User.Query().Where(user.HasOwnedCampaignsWith(campaign.Name("A launch"))).CountX(ctxA); n != 1 {
		t.Fatalf("HasXWith lost A's own match: %d", n)
	}
	got := c.User.Query().WithOwnedCampaigns().AllX(ctxA)
	if len(got) != 1 || len(got[0].Edges.OwnedCampaigns) != 1 || got[0].Edges.OwnedCampaigns[0].ID != ca.ID {
		t.Fatalf("eager loading: %+v", got)
	}
	// Tenant entity: own row only.
	if ts := c.Tenant.Query().IDsX(ctxA); !slices.Equal(ts, []string{a}) {
		t.Fatalf("A reads tenants %v", ts)
	}
	// No viewer: nothing.
	if _, err := c.User.Query().All(context.Background()); !errors.Is(err, privacy.ErrNoViewer) {
		t.Fatalf("no viewer read: %v", err)
	}
	if _, err := c.User.Create().SetEmail("x@y.z").Save(context.Background()); !errors.Is(err, privacy.ErrNoViewer) {
		t.Fatalf("no viewer create: %v", err)
	}
}
