package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	entsql "entgo.io/ent/dialect/sql"

	"github.com/leadmetrics/db/ent"
	"github.com/leadmetrics/db/internal/testing/suitedb"
)

func TestIsolationReport(t *testing.T) {
	client, sqlDB := suitedb.Client(t)
	var out bytes.Buffer
	env := &demoEnv{client: ent.NewClient(ent.Driver(entsql.OpenDB("postgres", sqlDB))), db: sqlDB, out: &out}
	_ = client
	ctx := context.Background()
	if err := env.seed(ctx); err != nil {
		t.Fatal(err)
	}
	if err := env.isolationReport(ctx); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	report := out.String()
	for _, want := range []string{"not found (isolated)", "with no viewer           -> refused", "acme-bakery"} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q:\n%s", want, report)
		}
	}
	t.Log("\n" + report)
}
