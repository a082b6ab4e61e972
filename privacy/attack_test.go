package privacy_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"entgo.io/ent/dialect/sql"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/leadmetrics/db/ent"
	"github.com/leadmetrics/db/ent/activity"
	"github.com/leadmetrics/db/ent/campaign"
	"github.com/leadmetrics/db/ent/tenant"
	"github.com/leadmetrics/db/internal/testing/suitedb"
	"github.com/leadmetrics/db/internal/testing/tenancytest"
	"github.com/leadmetrics/db/privacy"
)

// Attacks: tenant B's code controls every argument (ids, tenant_id,
// ref_id, predicates, conflict targets) but not the context. Each attempt
// gets a typed error or zero rows, and the database is unchanged.
func TestAttacks(t *testing.T) {
	env := tenancytest.New(t, 2)
	a, b := env.Tenants[0], env.Tenants[1]
	ctxA := privacy.WithTenant(context.Background(), a)
	ctxB := privacy.WithTenant(context.Background(), b)
	sys := privacy.WithSystem(context.Background())
	c := env.Client
	campA := c.Campaign.Create().SetName("A secret").SaveX(ctxA)
	actA := c.Activity.Create().SetType("t").SetTitle("A work").SetCampaign(campA).SaveX(ctxA)
	campB := c.Campaign.Create().SetName("B").SaveX(ctxB)
	actB := c.Activity.Create().SetType("t").SetTitle("B work").SaveX(ctxB)
	plan := c.Plan.Create().SetCode("pro").SetName("Pro").SetPriceAmount(100).SetPriceCurrency("USD").SaveX(sys)
	c.CreditBalance.Create().SetTenantID(a).SaveX(sys)
	balB := c.CreditBalance.Create().SetTenantID(b).SaveX(sys)

	type attack struct {
		name string
		want error // nil: must succeed without touching A (checked by the snapshot)
		run  func() error
	}
	notFound := errors.New("not found")
	// On Citus ids are unique per tenant only (no unique key on id alone
	// on a distributed table, docs/SCALE.md): an upsert cannot name id as
	// its conflict target, the cluster refuses the statement (42P10) and
	// nothing is written. onCitus replaces want there.
	noIDKey := errors.New("no unique key on id alone")
	onCitus := map[string]error{
		"upsert conflicting on A's id":      noIDKey,
		"bulk upsert conflicting on A's id": noIDKey,
		"upsert whose SET moves a row":      noIDKey,
	}
	attacks := []attack{
		{"create into A", privacy.ErrTenantMismatch, func() error {
			return c.Campaign.Create().SetName("x").SetTenantID(a).Exec(ctxB)
		}},
		{"bulk create with one row into A", privacy.ErrTenantMismatch, func() error {
			return c.Campaign.CreateBulk(c.Campaign.Create().SetName("ok"), c.Campaign.Create().SetName("x").SetTenantID(a)).Exec(ctxB)
		}},
		{"create linking to A's row", privacy.ErrCrossTenantRef, func() error {
			return c.Activity.Create().SetType("t").SetTitle("x").SetCampaignID(campA.ID).Exec(ctxB)
		}},
		{"bulk create with one row linking to A", privacy.ErrCrossTenantRef, func() error {
			return c.Activity.CreateBulk(
				c.Activity.Create().SetType("t").SetTitle("ok").SetCampaignID(campB.ID),
				c.Activity.Create().SetType("t").SetTitle("x").SetCampaignID(campA.ID),
			).Exec(ctxB)
		}},
		{"add A's row to own edge (O2M)", privacy.ErrCrossTenantRef, func() error {
			return c.Campaign.UpdateOne(campB).AddActivityIDs(actA.ID).Exec(ctxB)
		}},
		{"update own row to link A's", privacy.ErrCrossTenantRef, func() error {
			return c.Activity.UpdateOne(actB).SetCampaignID(campA.ID).Exec(ctxB)
		}},
		{"update A's row by id", notFound, func() error {
			return c.Campaign.UpdateOneID(campA.ID).SetName("pwned").Exec(ctxB)
		}},
		{"bulk update filtered on A's id", nil, func() error {
			n, err := c.Campaign.Update().Where(campaign.ID(campA.ID)).SetName("pwned").Save(ctxB)
			if n != 0 {
				return errors.New("updated A's row")
			}
			return err
		}},
		{"move own row to A", privacy.ErrImmutable, func() error {
			u := c.Campaign.UpdateOne(campB)
			u.Mutation().SetTenantID(a)
			return u.Exec(ctxB)
		}},
		{"delete A's row by id", notFound, func() error {
			return c.Campaign.DeleteOneID(campA.ID).Exec(ctxB)
		}},
		{"bulk delete filtered on A's ids", nil, func() error {
			n, err := c.Activity.Delete().Where(activity.IDIn(actA.ID)).Exec(ctxB)
			if n != 0 {
				return errors.New("deleted A's row")
			}
			return err
		}},
		{"read A's row by id", notFound, func() error {
			_, err := c.Campaign.Get(ctxB, campA.ID)
			return err
		}},
		{"OR predicate naming A's tenant", nil, func() error {
			n, err := c.Campaign.Query().Where(campaign.Or(campaign.TenantID(a), campaign.ID(campA.ID))).Count(ctxB)
			if n != 0 {
				return errors.New("read A's rows")
			}
			return err
		}},
		{"upsert with A's ref_id", nil, func() error {
			id, err := c.Campaign.Create().SetName("B's own").SetRefID(campA.RefID).
				OnConflictColumns(campaign.FieldTenantID, campaign.FieldRefID).UpdateNewValues().ID(ctxB)
			if err == nil && id == campA.ID {
				return errors.New("upsert reached A's row")
			}
			return err
		}},
		{"upsert conflicting on A's id", privacy.ErrCrossTenantRef, func() error {
			return c.Campaign.Create().SetID(campA.ID).SetName("pwned").
				OnConflictColumns(campaign.FieldID).UpdateNewValues().Exec(ctxB)
		}},
		{"bulk upsert conflicting on A's id", privacy.ErrCrossTenantRef, func() error {
			return c.Campaign.CreateBulk(c.Campaign.Create().SetName("ok"), c.Campaign.Create().SetID(campA.ID).SetName("pwned")).
				OnConflictColumns(campaign.FieldID).UpdateNewValues().Exec(ctxB)
		}},
		{"upsert whose SET moves a row", privacy.ErrCrossTenantRef, func() error {
			return c.Campaign.Create().SetID(campA.ID).SetName("pwned").
				OnConflict(sql.ConflictColumns(campaign.FieldID), sql.ResolveWith(func(u *sql.UpdateSet) {
					u.Set(campaign.FieldTenantID, b)
				})).Exec(ctxB)
		}},
		{"write the plan catalog", privacy.ErrSystemOnly, func() error {
			return c.Plan.UpdateOne(plan).SetName("free").Exec(ctxB)
		}},
		{"create a tenant", privacy.ErrSystemOnly, func() error {
			return c.Tenant.Create().SetName("x").SetSlug("x").Exec(ctxB)
		}},
		{"change own tenant's plan", privacy.ErrSystemOnly, func() error {
			return c.Tenant.UpdateOneID(b).SetPlanID(plan.ID).Exec(ctxB)
		}},
		{"rename A's tenant", nil, func() error {
			n, err := c.Tenant.Update().Where(tenant.ID(a)).SetName("pwned").Save(ctxB)
			if n != 0 {
				return errors.New("renamed A")
			}
			return err
		}},
		{"set own credit balance", privacy.ErrSystemOnly, func() error {
			return c.CreditBalance.UpdateOne(balB).SetBalance(1 << 40).Exec(ctxB)
		}},
		{"upsert own row with a SET linking to A", nil, func() error {
			// The conflict's SET is not a create edge the hook checks: the
			// guard must keep the inserted (checked) value.
			return c.Activity.Create().SetType("t").SetTitle("B work").SetRefID(actB.RefID).
				OnConflict(sql.ConflictColumns(activity.FieldTenantID, activity.FieldRefID),
					sql.ResolveWith(func(u *sql.UpdateSet) { u.Set(activity.FieldCampaignID, campA.ID) })).
				Exec(ctxB)
		}},
		{"soft-delete own tenant row", privacy.ErrSystemOnly, func() error {
			return c.Tenant.UpdateOneID(b).SetDeletedAt(time.Now()).Exec(ctxB)
		}},
		{"restore own tenant row", privacy.ErrSystemOnly, func() error {
			return c.Tenant.UpdateOneID(b).ClearDeletedAt().Exec(privacy.WithDeleted(ctxB))
		}},
		{"no viewer", privacy.ErrNoViewer, func() error {
			_, err := c.Campaign.Query().Count(context.Background())
			return err
		}},
		{"blank tenant id", privacy.ErrNoViewer, func() error {
			_, err := c.Campaign.Query().Count(privacy.WithTenant(context.Background(), " "))
			return err
		}},
	}
	for _, at := range attacks {
		t.Run(at.name, func(t *testing.T) {
			before := env.TenantSnapshot(a)
			err := at.run()
			want := at.want
			if w, ok := onCitus[at.name]; ok && suitedb.OnCitus() {
				want = w
			}
			var pgErr *pgconn.PgError
			switch {
			case want == noIDKey:
				if !errors.As(err, &pgErr) || pgErr.Code != "42P10" {
					t.Fatalf("got %v, want the cluster's refusal of ON CONFLICT (id) (42P10)", err)
				}
			case want == notFound:
				if !ent.IsNotFound(err) {
					t.Fatalf("got %v, want not found", err)
				}
			case want != nil:
				if !errors.Is(err, want) {
					t.Fatalf("got %v, want %v", err, want)
				}
			case err != nil:
				t.Fatalf("got %v", err)
			}
			if after := env.TenantSnapshot(a); after != before {
				t.Fatalf("tenant A's data changed")
			}
			if bad := env.CrossTenantLinks(); len(bad) > 0 {
				t.Fatalf("cross-tenant links stored: %v", bad)
			}
		})
	}
}
