package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	entsql "entgo.io/ent/dialect/sql"

	"github.com/leadmetrics/db/ent"
	"github.com/leadmetrics/db/internal/testing/clitest"
	"github.com/leadmetrics/db/internal/testing/suitedb"
	"github.com/leadmetrics/db/privacy"
)

// datactlBin is the datactl binary built once for the CLI tests.
var datactlBin string

func TestMain(m *testing.M) {
	bin, cleanup, err := clitest.Build("datactl")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	datactlBin = bin
	code := m.Run()
	cleanup()
	os.Exit(code)
}

// datactl runs the binary at the repository root with args.
func datactl(t *testing.T, args ...string) clitest.Result {
	t.Helper()
	return clitest.Run(t, "../..", nil, datactlBin, args...)
}

// TestDemoRefusesForeignTenants: a database with a tenant the demo did not
// write is left alone unless --force.
func TestDemoRefusesForeignTenants(t *testing.T) {
	url := suitedb.URL(t)
	sqlDB := suitedb.Open(t, url)
	client := ent.NewClient(ent.Driver(entsql.OpenDB("postgres", sqlDB)))
	sys := privacy.WithSystem(context.Background())
	// A real tenant, and one that takes a demo slug but not the demo's ref.
	for _, slug := range []string{"real-customer", "acme-bakery"} {
		if _, err := client.Tenant.Create().SetID("t-" + slug).SetTenantID("t-" + slug).SetRefID("crm-" + slug).
			SetName(slug).SetSlug(slug).Save(sys); err != nil {
			t.Fatal(err)
		}
	}
	before := snapshot(t, sqlDB)
	r := datactl(t, "demo", "--url", url)
	r.Want(t, 1, "demo")
	if !strings.Contains(r.Stderr, "tenants the demo did not create (acme-bakery, real-customer)") || !strings.Contains(r.Stderr, "--force") {
		t.Fatalf("stderr:\n%s", r.Stderr)
	}
	after := snapshot(t, sqlDB)
	for table, sum := range before {
		if after[table] != sum {
			t.Errorf("refused demo changed %s", table)
		}
	}
	if _, err := sqlDB.Exec(`DELETE FROM tenants`); err != nil {
		t.Fatal(err)
	}
	if _, err := client.Tenant.Create().SetID("t-real").SetTenantID("t-real").SetRefID("crm-real").
		SetName("Real").SetSlug("real-customer").Save(sys); err != nil {
		t.Fatal(err)
	}
	r = datactl(t, "demo", "--url", url, "--force")
	r.Want(t, 0, "demo", "--force")
}
