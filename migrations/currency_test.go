package migrations_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	atlasmigrate "ariga.io/atlas/sql/migrate"

	"github.com/leadmetrics/db/internal/testing/suitedb"
	"github.com/leadmetrics/db/migrations"
)

// The currency check migration upper-cases codes stored lower-case before
// it, and fails whole (nothing applied) on a code no case fix repairs.
func TestCurrencyMigrationFixesOldRows(t *testing.T) {
	ctx := context.Background()
	const file = "20261130125741_currency_iso4217.sql"
	// The file and every later one are held back, then restored in order.
	later, err := filepath.Glob("*.sql")
	if err != nil {
		t.Fatal(err)
	}
	bodies := map[string][]byte{}
	for _, f := range later {
		if f >= file {
			if bodies[f], err = os.ReadFile(f); err != nil {
				t.Fatal(err)
			}
		}
	}
	insert := `INSERT INTO topup_orders (id, ref_id, tenant_id, created_at, updated_at, paid_amount, paid_currency,
		provider, provider_order_id, credits, status) VALUES ($1, $1, 't', now(), now(), 1, $2, 'stripe', $1, 1, 'created')`
	for _, c := range []struct {
		name, currency, want string
		fails                bool
	}{
		{"lower-case", "usd", "USD", false},
		{"not a code", "€", "", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := copyDir(t)
			dir, _ := atlasmigrate.NewLocalDir(path)
			for f := range bodies {
				if err := os.Remove(filepath.Join(path, f)); err != nil {
					t.Fatal(err)
				}
			}
			rehash(t, dir)
			db := suitedb.Open(t, suitedb.EmptyURL(t))
			if _, err := migrations.Apply(ctx, db, migrations.Options{Dir: dir}); err != nil {
				t.Fatal(err)
			}
			if _, err := db.Exec(insert, "o1", c.currency); err != nil {
				t.Fatal(err)
			}
			for f, body := range bodies {
				if err := dir.WriteFile(f, body); err != nil {
					t.Fatal(err)
				}
			}
			rehash(t, dir)
			_, err := migrations.Apply(ctx, db, migrations.Options{Dir: dir})
			var got string
			if qerr := db.QueryRow(`SELECT paid_currency FROM topup_orders WHERE id = 'o1'`).Scan(&got); qerr != nil {
				t.Fatal(qerr)
			}
			var fe *migrations.FileError
			switch {
			case c.fails && !errors.As(err, &fe):
				t.Fatalf("applied over %q: %v", c.currency, err)
			case c.fails && strings.TrimRight(got, " ") != c.currency: // char(3) pads
				t.Fatalf("the failed file changed the row: %q", got)
			case !c.fails && (err != nil || got != c.want):
				t.Fatalf("apply: %v, currency %q, want %q", err, got, c.want)
			}
		})
	}
}
