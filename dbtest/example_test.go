package dbtest_test

import (
	"strings"
	"testing"

	"github.com/leadmetrics/db/dbtest"
	"github.com/leadmetrics/db/ent"
	"github.com/leadmetrics/db/ent/campaign"
)

// TestServiceExample is how a service tests its code: a database of its
// own, two tenants, writes as one, reads as the other.
func TestServiceExample(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t)
	acme, globex := d.NewTenant(t, "Acme Bakery"), d.NewTenant(t, "Globex")

	c, err := d.Client.Campaign.Create().SetTenantID(acme.ID).SetRefID("spring").SetName("Spring sale").Save(acme.Ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n := d.Client.Campaign.Query().CountX(acme.Ctx); n != 1 {
		t.Fatalf("acme sees %d campaigns, want 1", n)
	}
	// Another tenant neither sees nor finds it.
	if n := d.Client.Campaign.Query().Where(campaign.ID(c.ID)).CountX(globex.Ctx); n != 0 {
		t.Fatalf("globex sees acme's campaign")
	}
	if _, err := d.Client.Campaign.Get(globex.Ctx, c.ID); !ent.IsNotFound(err) {
		t.Fatalf("globex Get: %v, want not found", err)
	}
	// The system sees every tenant's rows; raw SQL checks what was stored.
	var tenantID string
	if err := d.SQL.QueryRow(`SELECT tenant_id FROM campaigns WHERE id = $1`, c.ID).Scan(&tenantID); err != nil || tenantID != acme.ID {
		t.Fatalf("stored tenant %q, %v", tenantID, err)
	}
	if n := d.Client.Campaign.Query().CountX(dbtest.System(t)); n != 1 {
		t.Fatalf("system sees %d campaigns", n)
	}
}

// TestFreshDatabasePerTest: each New is a database of its own, dropped
// when its test ends.
func TestFreshDatabasePerTest(t *testing.T) {
	var first *dbtest.DB
	t.Run("first", func(t *testing.T) {
		first = dbtest.New(t)
		first.NewTenant(t, "Only here")
	})
	second := dbtest.New(t)
	if n := second.Client.Tenant.Query().CountX(dbtest.System(t)); n != 0 {
		t.Fatalf("a new database has %d tenants", n)
	}
	if err := first.SQL.Ping(); err == nil {
		t.Fatal("the first test's pool is still open after it ended")
	}
	var exists bool
	name := first.URL[strings.LastIndex(first.URL, "/")+1:]
	name, _, _ = strings.Cut(name, "?")
	if err := second.SQL.QueryRow(`SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil || exists {
		t.Fatalf("database %s still exists (%v)", name, err)
	}
}
