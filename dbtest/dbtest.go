// Package dbtest gives services' tests their own Leadmetrics database: a
// fresh copy of a template on which the real migration files ran once,
// with tenant and viewer helpers, dropped when the test ends.
//
// The server is TEST_DATABASE_URL, else DATABASE_URL, else the local
// default (postgres@127.0.0.1:5432); with none answering and Docker
// available, a throwaway PostgreSQL container. Each call costs one
// CREATE DATABASE ... TEMPLATE (milliseconds), so tests can run in
// parallel, each on its own database.
package dbtest

import (
	"context"
	"database/sql"
	"strings"
	"testing"

	entsql "entgo.io/ent/dialect/sql"

	"github.com/leadmetrics/db/cuid"
	"github.com/leadmetrics/db/ent"
	_ "github.com/leadmetrics/db/ent/runtime" // policies, hooks and defaults, as db.Open has them
	"github.com/leadmetrics/db/internal/testdb"
	"github.com/leadmetrics/db/privacy"
)

// DB is one test's database.
type DB struct {
	URL    string      // its connection URL
	SQL    *sql.DB     // raw handle, for assertions in SQL
	Client *ent.Client // the Ent client, with the tenancy policies
}

// New returns a fresh migrated database for t; the pool is closed and the
// database dropped when t ends.
func New(t testing.TB) *DB {
	t.Helper()
	url := testdb.URL(t)
	sqlDB := testdb.Open(t, url)
	return &DB{URL: url, SQL: sqlDB, Client: ent.NewClient(ent.Driver(entsql.OpenDB("postgres", sqlDB)))}
}

// EmptyURL returns the URL of a new database with no schema at all (for
// tests of migrations themselves), dropped when t ends.
func EmptyURL(t testing.TB) string {
	t.Helper()
	return testdb.EmptyURL(t)
}

// Tenant is a tenant created for a test, with a context acting as it.
type Tenant struct {
	*ent.Tenant
	// Ctx carries the tenant's viewer (derived from t.Context(), so it is
	// cancelled when the test ends).
	Ctx context.Context
}

// NewTenant creates an active tenant named name (its slug derived from
// it, made unique) as the system, and returns it with its viewer.
func (d *DB) NewTenant(t testing.TB, name string) *Tenant {
	t.Helper()
	id := cuid.New()
	slug := strings.Trim(strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			return r
		case r >= 'A' && r <= 'Z':
			return r + ('a' - 'A')
		}
		return '-'
	}, name), "-") + "-" + id[len(id)-6:]
	tn, err := d.Client.Tenant.Create().SetID(id).SetTenantID(id).SetRefID("dbtest-" + id).
		SetName(name).SetSlug(slug).Save(System(t))
	if err != nil {
		t.Fatalf("dbtest: create tenant %q: %v", name, err)
	}
	return &Tenant{Tenant: tn, Ctx: privacy.WithTenant(t.Context(), id)}
}

// System returns a context acting as the platform itself (creating
// tenants, the plan catalog, webhook intake), cancelled when t ends.
func System(t testing.TB) context.Context { return privacy.WithSystem(t.Context()) }

// AsTenant returns a context acting as tenantID, cancelled when t ends.
func AsTenant(t testing.TB, tenantID string) context.Context {
	return privacy.WithTenant(t.Context(), tenantID)
}
