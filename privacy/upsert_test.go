package privacy_test

import (
	"context"
	"testing"

	"github.com/leadmetrics/db/ent/campaign"
	"github.com/leadmetrics/db/internal/testing/tenancytest"
	"github.com/leadmetrics/db/privacy"
)

// Upserts on (tenant_id, ref_id): the same ref_id in two tenants is two
// rows; an upsert updates the viewer's own row; single and bulk.
func TestUpsertStaysInTenant(t *testing.T) {
	env := tenancytest.New(t, 2)
	ctxA := privacy.WithTenant(context.Background(), env.Tenants[0])
	ctxB := privacy.WithTenant(context.Background(), env.Tenants[1])
	c := env.Client
	upsert := func(ctx context.Context, name string) string {
		return c.Campaign.Create().SetRefID("spring").SetName(name).
			OnConflictColumns(campaign.FieldTenantID, campaign.FieldRefID).UpdateNewValues().IDX(ctx)
	}
	idA := upsert(ctxA, "A1")
	idB := upsert(ctxB, "B1")
	if idA == idB {
		t.Fatal("two tenants share a row")
	}
	if again := upsert(ctxA, "A2"); again != idA {
		t.Fatalf("upsert created %s, want update of %s", again, idA)
	}
	if got := c.Campaign.GetX(ctxA, idA).Name; got != "A2" {
		t.Fatalf("A's name %q", got)
	}
	if got := c.Campaign.GetX(ctxB, idB).Name; got != "B1" {
		t.Fatalf("B's row changed to %q", got)
	}
	c.Campaign.CreateBulk(
		c.Campaign.Create().SetRefID("spring").SetName("A3"),
		c.Campaign.Create().SetRefID("summer").SetName("A4"),
	).OnConflictColumns(campaign.FieldTenantID, campaign.FieldRefID).UpdateNewValues().ExecX(ctxA)
	if got := c.Campaign.GetX(ctxA, idA).Name; got != "A3" {
		t.Fatalf("bulk upsert: %q", got)
	}
	if got := c.Campaign.GetX(ctxB, idB).Name; got != "B1" {
		t.Fatalf("bulk upsert reached B: %q", got)
	}
}

// Decision: an upsert whose ref_id matches a soft-deleted row of the same
// tenant revives it (deleted_at cleared, new values applied, same id); an
// upsert means "make this row exist with these values".
func TestUpsertRevivesSoftDeletedRow(t *testing.T) {
	env := tenancytest.New(t, 1)
	ctx := privacy.WithTenant(context.Background(), env.Tenants[0])
	c := env.Client
	x := c.Campaign.Create().SetRefID("r1").SetName("old").SaveX(ctx)
	c.Campaign.DeleteOne(x).ExecX(ctx)
	id := c.Campaign.Create().SetRefID("r1").SetName("new").
		OnConflictColumns(campaign.FieldTenantID, campaign.FieldRefID).UpdateNewValues().IDX(ctx)
	if id != x.ID {
		t.Fatalf("upsert made %s, want the deleted row %s", id, x.ID)
	}
	got, err := c.Campaign.Get(ctx, id)
	if err != nil || got.Name != "new" || got.DeletedAt != nil {
		t.Fatalf("revived row: %+v %v", got, err)
	}
	if n := c.Campaign.Query().CountX(privacy.WithDeleted(ctx)); n != 1 {
		t.Fatalf("%d rows, want 1", n)
	}
}
