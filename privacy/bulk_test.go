package privacy_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"

	"github.com/leadmetrics/db/ent"
	"github.com/leadmetrics/db/internal/testing/tenancytest"
	"github.com/leadmetrics/db/privacy"
)

// countingDriver counts the statements that contain a substring (every
// statement when match is empty).
type countingDriver struct {
	dialect.Driver
	match string
	n     atomic.Int64
}

func (d *countingDriver) Query(ctx context.Context, query string, args, v any) error {
	if strings.Contains(query, d.match) {
		d.n.Add(1)
	}
	return d.Driver.Query(ctx, query, args, v)
}

func (d *countingDriver) Exec(ctx context.Context, query string, args, v any) error {
	if strings.Contains(query, d.match) {
		d.n.Add(1)
	}
	return d.Driver.Exec(ctx, query, args, v)
}

// TestBulkCreateChecksOncePerEdge: a CreateBulk of 50 rows that all link to
// one parent checks that parent's tenant in one query, not one per row
// (the create_bulk template carries the batch to the rows' hooks).
func TestBulkCreateChecksOncePerEdge(t *testing.T) {
	env := tenancytest.New(t, 1)
	ctx := privacy.WithTenant(context.Background(), env.Tenants[0])
	camp := env.Client.Campaign.Create().SetName("c").SaveX(ctx)
	drv := &countingDriver{Driver: entsql.OpenDB(dialect.Postgres, env.DB), match: `FROM "campaigns"`}
	client := ent.NewClient(ent.Driver(drv))
	builders := make([]*ent.ActivityCreate, 50)
	for i := range builders {
		builders[i] = client.Activity.Create().SetType("t").SetTitle("x").SetCampaignID(camp.ID)
	}
	if err := client.Activity.CreateBulk(builders...).Exec(ctx); err != nil {
		t.Fatal(err)
	}
	if n := drv.n.Load(); n != 1 {
		t.Fatalf("%d cross-tenant checks on campaigns for one bulk, want 1", n)
	}
}
