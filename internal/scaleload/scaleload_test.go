package scaleload_test

import (
	"context"
	"testing"

	entsql "entgo.io/ent/dialect/sql"

	"github.com/leadmetrics/db/ent"
	_ "github.com/leadmetrics/db/ent/runtime"
	"github.com/leadmetrics/db/internal/scaleload"
	"github.com/leadmetrics/db/internal/testing/suitedb"
	"github.com/leadmetrics/db/ledger"
	"github.com/leadmetrics/db/privacy"
)

// loadSmall loads the CI data set into a new migrated database.
func loadSmall(t *testing.T) (*ent.Client, *ledger.Ledger, *scaleload.Result) {
	t.Helper()
	sqlDB := suitedb.DB(t)
	res, err := scaleload.Load(context.Background(), sqlDB, scaleload.Small)
	if err != nil {
		t.Fatal(err)
	}
	client := ent.NewClient(ent.Driver(entsql.OpenDB("postgres", sqlDB)))
	return client, ledger.New(client, sqlDB), res
}

func TestLoadIsSkewedAndReconciles(t *testing.T) {
	client, l, res := loadSmall(t)
	ctx := context.Background()
	for _, table := range scaleload.Tables {
		want := float64(scaleload.Full[table]) * scaleload.Small.Fraction
		if got := float64(res.Rows[table]); got < 0.9*want || got > 1.2*want {
			t.Errorf("%s: %v rows, want about %v", table, got, want)
		}
	}
	big, err := client.LlmCallLog.Query().Count(privacy.WithTenant(ctx, scaleload.TenantID(1)))
	if err != nil {
		t.Fatal(err)
	}
	small, err := client.LlmCallLog.Query().Count(privacy.WithTenant(ctx, scaleload.TenantID(100)))
	if err != nil {
		t.Fatal(err)
	}
	if big < 90*small || small == 0 {
		t.Errorf("LLM calls: rank 1 has %d, rank 100 has %d: want a 1/rank skew", big, small)
	}
	rep, err := l.ReconcileAll(privacy.WithSystem(ctx))
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || rep.Tenants != scaleload.Small.Tenants {
		t.Fatalf("loaded ledgers: %s (want %d tenants)", rep, scaleload.Small.Tenants)
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]float64{"1%": 0.01, "10%": 0.1, "0.5%": 0.005, "0.2": 0.2} {
		if got, err := scaleload.ParseSize(in); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "0%", "101%", "x"} {
		if _, err := scaleload.ParseSize(in); err == nil {
			t.Errorf("ParseSize(%q): no error", in)
		}
	}
}
