// Package dbtest gives services' tests their own Leadmetrics database: a
// fresh copy of a template on which the real migration files ran once,
// opened as services open it (*db.DB: Ent client, WithTx, the pool the
// ledger and billing take), with tenant and viewer helpers, dropped when
// the test ends.
//
// The server is TEST_DATABASE_URL, else DATABASE_URL, else the local
// default (postgres@127.0.0.1:5432). With none answering, a test binary
// that imports github.com/leadmetrics/db/dbtest/containers starts a
// throwaway PostgreSQL container; dbtest itself brings no testcontainers
// or Docker module into a service's go.mod. Each call costs one CREATE
// DATABASE ... TEMPLATE (milliseconds), so tests can run in parallel, each
// on its own database.
//
// What it leaves on the server, on purpose: the login role pgtdbuser
// (NOSUPERUSER NOCREATEDB NOCREATEROLE, the privileges a service has; it
// owns the test databases) and one template database per set of
// migration files, testdb_tpl_<hash>, which later runs clone instead of
// migrating again. A test that failed keeps its database (logged by name,
// never with a password) for inspection; a passing one's is dropped. Drop
// the templates with DROP DATABASE when the migrations they hold are gone.
package dbtest

import (
	"context"
	"strings"
	"testing"

	db "github.com/leadmetrics/db"
	"github.com/leadmetrics/db/cuid"
	"github.com/leadmetrics/db/ent"
	"github.com/leadmetrics/db/internal/testing/suitedb"
	"github.com/leadmetrics/db/privacy"
)

// DB is one test's database, opened with db.Open: d.Client (and d.User,
// d.Campaign...) is the Ent client with the tenancy policies, d.SQL the
// *sql.DB on the same pool, d.WithTx one transaction across both, as in a
// service (ledger.New(d.Client, d.SQL), billing.New(...)).
type DB struct {
	*db.DB
	URL string // its connection URL (with the test role's password: do not log it)
}

// New returns a fresh migrated database for t; the pool is closed and the
// database dropped when t ends.
func New(t testing.TB) *DB {
	t.Helper()
	url := suitedb.URL(t)
	h, err := db.Open(context.Background(), suitedb.Config(url))
	if err != nil {
		t.Fatalf("dbtest: %v", err)
	}
	t.Cleanup(func() { h.Close() })
	return &DB{DB: h, URL: url}
}

// EmptyURL returns the URL of a new database with no schema at all (for
// tests of migrations themselves), dropped when t ends.
func EmptyURL(t testing.TB) string {
	t.Helper()
	return suitedb.EmptyURL(t)
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
