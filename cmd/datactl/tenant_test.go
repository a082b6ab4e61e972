package main

import (
	"strings"
	"testing"

	"github.com/leadmetrics/db/cuid"
	"github.com/leadmetrics/db/internal/testing/suitedb"
)

// TestTenantStatusCommands: suspend, close and activate move the tenant's
// status and say so; the same status again changes nothing; an unknown or
// deleted tenant and a bad id fail with exit 1 and write nothing; a
// missing id is a usage error.
func TestTenantStatusCommands(t *testing.T) {
	url := suitedb.URL(t)
	sqlDB := suitedb.Open(t, url)
	id, deleted := cuid.New(), cuid.New()
	suitedb.Tenants(t, sqlDB, id, deleted)
	if _, err := sqlDB.Exec(`UPDATE tenants SET deleted_at = now() WHERE id = $1`, deleted); err != nil {
		t.Fatal(err)
	}
	status := func() (s, updated string) {
		t.Helper()
		if err := sqlDB.QueryRow(`SELECT status, updated_at::text FROM tenants WHERE id = $1`, id).Scan(&s, &updated); err != nil {
			t.Fatal(err)
		}
		return s, updated
	}
	for _, step := range []struct{ verb, want, says string }{
		{"suspend", "suspended", "active -> suspended"},
		{"suspend", "suspended", "already suspended"},
		{"close", "closed", "suspended -> closed"},
		{"activate", "active", "closed -> active"},
	} {
		_, before := status()
		r := datactl(t, "tenant", step.verb, id, "--url", url)
		r.Want(t, 0, step.verb)
		got, after := status()
		if got != step.want || !strings.Contains(r.Stdout, step.says) || !strings.Contains(r.Stdout, id) {
			t.Fatalf("tenant %s: status %s, output %q", step.verb, got, r.Stdout)
		}
		if strings.Contains(step.says, "already") && after != before {
			t.Fatalf("tenant %s again: the row was rewritten", step.verb)
		}
	}
	before := suitedb.Fingerprint(t, sqlDB, "tenants")
	for _, bad := range []string{cuid.New(), deleted, "bad\xffid"} {
		r := datactl(t, "tenant", "suspend", bad, "--url", url)
		r.Want(t, 1, bad)
		if r.Stderr == "" {
			t.Fatalf("tenant suspend %q: no error printed", bad)
		}
	}
	if suitedb.Fingerprint(t, sqlDB, "tenants") != before {
		t.Fatal("a refused tenant command wrote something")
	}
	datactl(t, "tenant", "suspend", "--url", url).Want(t, 2)
}
