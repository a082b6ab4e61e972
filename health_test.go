package db_test

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"testing"
	"time"

	db "github.com/leadmetrics/db"
	"github.com/leadmetrics/db/internal/testing/suitedb"
	"github.com/leadmetrics/db/migrations"
)

// openHandle opens a handle on url with a pool of one to start and what
// set changes, closed when the test ends.
func openHandle(tb testing.TB, url string, set func(*db.Config)) *db.DB {
	tb.Helper()
	cfg := db.DefaultConfig()
	cfg.URL, cfg.PoolMin = url, 1
	if set != nil {
		set(&cfg)
	}
	h, err := db.Open(context.Background(), cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { h.Close() })
	return h
}

// TestCheckMigrationStates: behind (pending listed, no error), current,
// ahead (typed error naming the newer version).
func TestCheckMigrationStates(t *testing.T) {
	ctx := context.Background()
	h := openHandle(t, suitedb.EmptyURL(t), nil)
	embedded, _ := migrations.Embedded()
	files, _ := embedded.Files()

	health, err := h.Check(ctx)
	if err != nil || len(health.Schema.Pending) != len(files) || health.Saturated {
		t.Fatalf("behind: %+v %v, want %d pending and no error", health, err, len(files))
	}
	if _, err := migrations.Apply(ctx, h.SQL, migrations.Options{}); err != nil {
		t.Fatal(err)
	}
	health, err = h.Check(ctx)
	if err != nil || len(health.Schema.Pending) != 0 || health.Schema.Current != files[len(files)-1].Version() {
		t.Fatalf("current: %+v %v", health.Schema, err)
	}
	const newer = "99990101000000"
	if _, err := h.SQL.Exec(`INSERT INTO atlas_schema_revisions.atlas_schema_revisions
		(version, description, type, applied, total, executed_at, execution_time, hash, operator_version)
		VALUES ($1, 'from a newer release', 2, 1, 1, now(), 0, '', 'test')`, newer); err != nil {
		t.Fatal(err)
	}
	health, err = h.Check(ctx)
	var ahead *migrations.AheadError
	if !errors.Is(err, migrations.ErrAhead) || !errors.As(err, &ahead) || !slices.Equal(ahead.Versions, []string{newer}) {
		t.Fatalf("ahead: %v, want an AheadError naming %s", err, newer)
	}
	if !slices.Equal(health.Schema.Ahead, []string{newer}) {
		t.Fatalf("ahead: health %+v", health.Schema)
	}
}

// TestCheckSaturatedAndUnavailable: with every connection held, Check
// reports saturation and, when no connection frees in time, unavailability;
// after Close, unavailability.
func TestCheckSaturatedAndUnavailable(t *testing.T) {
	for _, driver := range []string{db.DriverPgx, db.DriverPQ} {
		t.Run(driver, func(t *testing.T) {
			h := openHandle(t, suitedb.URL(t), func(c *db.Config) { c.Driver, c.PoolMax = driver, 2 })
			var held []*sql.Conn
			for range 2 {
				c, err := h.SQL.Conn(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				held = append(held, c)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()
			health, err := h.Check(ctx)
			if !errors.Is(err, db.ErrUnavailable) || !health.Saturated || health.Pool.InUse != 2 || health.Pool.Max != 2 {
				t.Fatalf("saturated: %+v %v", health, err)
			}
			for _, c := range held {
				c.Close()
			}
			if health, err := h.Check(context.Background()); err != nil || health.Saturated {
				t.Fatalf("after release: %+v %v", health, err)
			}
			h.Close()
			if _, err := h.Check(context.Background()); !errors.Is(err, db.ErrUnavailable) {
				t.Fatalf("closed: %v, want ErrUnavailable", err)
			}
		})
	}
}
