package dbtest_test

// A service's test as the package doc describes it, whole.
import (
	"context"
	"testing"

	db "github.com/leadmetrics/db"
	"github.com/leadmetrics/db/dbtest"
	"github.com/leadmetrics/db/ent/campaign"
)

func TestMyService(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t)                // a migrated database of this test's own: d.Client, d.SQL, d.WithTx, d.URL
	acme := d.NewTenant(t, "Acme")    // an active tenant; acme.Ctx acts as it
	other := d.NewTenant(t, "Globex") // another one, to check isolation
	err := d.WithTx(acme.Ctx, func(ctx context.Context, tx *db.Tx) error {
		_, err := tx.Campaign.Create().SetTenantID(acme.ID).SetRefID("c1").SetName("Spring sale").Save(ctx)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := d.Campaign.Query().Where(campaign.RefID("c1")).CountX(other.Ctx); n != 0 {
		t.Fatalf("another tenant sees %d campaigns", n)
	}
}
