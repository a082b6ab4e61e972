package db_test

import (
	"context"
	"fmt"
	"os"
	"testing"

	db "github.com/leadmetrics/db"
	"github.com/leadmetrics/db/ent/campaign"
	"github.com/leadmetrics/db/ent/creditledgerentry"
	"github.com/leadmetrics/db/internal/testing/suitedb"
	"github.com/leadmetrics/db/ledger"
	"github.com/leadmetrics/db/migrations"
	"github.com/leadmetrics/db/privacy"
)

// TestMain drops the examples' database after the run (examples have no
// *testing.T to do it).
func TestMain(m *testing.M) { os.Exit(suitedb.RunExamples(m)) }

// A service opens one pool at start-up and brings the schema up to the
// migrations embedded in its binary.
func ExampleOpen() {
	ctx := context.Background()
	// A service reads its configuration from the environment:
	// cfg, err := db.ConfigFromEnv(). This example runs on a test database.
	cfg := suitedb.ExampleConfig()
	h, err := db.Open(ctx, cfg)
	if err != nil {
		fmt.Println(err) // *db.ConfigError or *db.ConnectError, no password in it
		return
	}
	defer h.Close()
	// AllowAhead: during a rolling deploy an old pod may start on a schema
	// a newer release already migrated (expand/contract, MIGRATIONS.md).
	if _, err := migrations.Apply(ctx, h.SQL, migrations.Options{AllowAhead: true}); err != nil {
		fmt.Println(err)
		return
	}
	health, err := h.Check(ctx) // the readiness probe
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("pending migrations:", len(health.Schema.Pending))
	// Output: pending migrations: 0
}

// One transaction across Ent and the ledger: a campaign and the credits it
// reserves commit together, or neither does.
func ExampleDB_WithTx() {
	h := suitedb.ExampleHandle() // a service: db.Open, as in ExampleOpen
	ctx := context.Background()
	tenantID := suitedb.ExampleTenant("Acme") // as the system viewer
	l := ledger.New(h.Client, h.SQL)
	if _, err := l.Post(privacy.WithSystem(ctx), ledger.Posting{TenantID: tenantID,
		Kind: creditledgerentry.KindTopup, Amount: 1000, IdempotencyKey: "welcome"}); err != nil {
		fmt.Println(err)
		return
	}

	acme := privacy.WithTenant(ctx, tenantID) // every call carries a viewer
	err := h.WithTx(acme, func(ctx context.Context, tx *db.Tx) error {
		c, err := tx.Campaign.Create().SetRefID("spring").SetName("Spring sale").Save(ctx)
		if err != nil {
			return err // rolls back
		}
		_, err = l.PostTx(ctx, tx.SQL, ledger.Posting{Kind: creditledgerentry.KindUsage, Amount: -300,
			IdempotencyKey: "campaign:" + c.ID, Description: "launch " + c.Name})
		return err // nil commits both
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	n, _ := h.Campaign.Query().Where(campaign.RefID("spring")).Count(acme)
	balance, _ := l.Balance(acme)
	fmt.Println("campaigns:", n, "balance:", balance)
	// Output: campaigns: 1 balance: 700
}
