package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/leadmetrics/db/internal/testing/suitedb"
)

// The ledger part of the demo credits, spends, reconciles, and a second
// run changes no row.
func TestLedgerDemoIsIdempotentAndReconciles(t *testing.T) {
	client, sqlDB := suitedb.Client(t)
	var out bytes.Buffer
	env := &demoEnv{client: client, db: sqlDB, out: &out}
	ctx := context.Background()
	if err := env.seed(ctx); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := env.ledgerDemo(ctx); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	before := snapshot(t, sqlDB)
	first := out.String()
	out.Reset()
	if err := env.ledgerDemo(ctx); err != nil {
		t.Fatal(err)
	}
	if after := snapshot(t, sqlDB); len(after) != len(before) {
		t.Fatal("tables changed")
	} else {
		for table, sum := range before {
			if after[table] != sum {
				t.Errorf("second run changed %s", table)
			}
		}
	}
	if out.String() != first {
		t.Errorf("second report differs:\n%s\n%s", first, out.String())
	}
	// starter: 100000 topup + 50000 grant - 7500 spent; growth: 250000 grant.
	for _, want := range []string{"acme-bakery", "142500", "342500", "all tenants: reconciled"} {
		if !strings.Contains(first, want) {
			t.Errorf("report lacks %q:\n%s", want, first)
		}
	}
	if strings.Contains(first, "DRIFT") {
		t.Errorf("drift in the demo:\n%s", first)
	}
}
