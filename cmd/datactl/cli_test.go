package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	entsql "entgo.io/ent/dialect/sql"

	"github.com/leadmetrics/db/ent"
	"github.com/leadmetrics/db/internal/testdb"
	"github.com/leadmetrics/db/privacy"
)

// datactlBin is the datactl binary built once for the CLI tests.
var datactlBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "datactl-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	datactlBin = filepath.Join(dir, "datactl")
	if out, err := exec.Command("go", "build", "-o", datactlBin, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build datactl: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type result struct {
	stdout, stderr string
	code           int
}

// datactl runs the binary at the repository root with args.
func datactl(t *testing.T, args ...string) result {
	t.Helper()
	cmd := exec.Command(datactlBin, args...)
	cmd.Dir = "../.."
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := cmd.ProcessState.ExitCode()
	if err != nil && code < 0 {
		t.Fatalf("datactl %q: %v", args, err)
	}
	return result{stdout.String(), stderr.String(), code}
}

func (r result) want(t *testing.T, code int, args ...string) {
	t.Helper()
	if r.code != code {
		t.Fatalf("datactl %q: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", args, r.code, code, r.stdout, r.stderr)
	}
}

// TestDemoRefusesForeignTenants: a database with a tenant the demo did not
// write is left alone unless --force.
func TestDemoRefusesForeignTenants(t *testing.T) {
	url := testdb.URL(t)
	sqlDB := testdb.Open(t, url)
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
	r.want(t, 1, "demo")
	if !strings.Contains(r.stderr, "tenants the demo did not create (acme-bakery, real-customer)") || !strings.Contains(r.stderr, "--force") {
		t.Fatalf("stderr:\n%s", r.stderr)
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
	r.want(t, 0, "demo", "--force")
}
