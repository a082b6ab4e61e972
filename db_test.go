package db_test

import (
	"context"
	"database/sql"
	"sync"
	"testing"
	"time"

	db "github.com/leadmetrics/db"
	"github.com/leadmetrics/db/cuid"
	"github.com/leadmetrics/db/internal/testing/suitedb"
	"github.com/leadmetrics/db/privacy"
)

// serverConns counts the server connections of one application_name.
func serverConns(t *testing.T, admin *sql.DB, app string) int {
	t.Helper()
	var n int
	if err := admin.QueryRow(`SELECT count(*) FROM pg_stat_activity WHERE application_name = $1`, app).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestOpenIsOnePool checks db.Open gives the Ent client and the *sql.DB on
// one pool, for both drivers: exactly DATABASE_POOL_MIN server connections
// after open, and never more than DATABASE_POOL_MAX while Ent and raw SQL
// both run under load.
func TestOpenIsOnePool(t *testing.T) {
	url := suitedb.URL(t)
	admin := suitedb.Open(t, suitedb.ServerURL(t))
	for _, driver := range []string{db.DriverPgx, db.DriverPQ} {
		t.Run(driver, func(t *testing.T) {
			app := "pooltest_" + driver + "_" + cuid.New()
			cfg := db.DefaultConfig()
			cfg.URL, cfg.Driver, cfg.PoolMin, cfg.PoolMax = url+"&application_name="+app, driver, 3, 5
			h, err := db.Open(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			if n := serverConns(t, admin, app); n != 3 {
				t.Fatalf("%d server connections after Open, want DATABASE_POOL_MIN=3", n)
			}
			ctx := privacy.WithTenant(context.Background(), cuid.New())
			var wg sync.WaitGroup
			errs := make(chan error, 40)
			for i := range 40 {
				wg.Go(func() {
					if i%2 == 0 {
						_, err := h.SQL.ExecContext(ctx, `SELECT pg_sleep(0.05)`)
						errs <- err
						return
					}
					_, err := h.User.Query().Count(ctx)
					errs <- err
				})
			}
			peak := 0
			stop := make(chan struct{})
			sampled := make(chan struct{})
			go func() {
				defer close(sampled)
				for {
					select {
					case <-stop:
						return
					default:
						peak = max(peak, serverConns(t, admin, app))
					}
				}
			}()
			wg.Wait()
			close(stop)
			<-sampled
			close(errs)
			for err := range errs {
				if err != nil {
					t.Fatal(err)
				}
			}
			if peak > 5 {
				t.Errorf("%d server connections under load, DATABASE_POOL_MAX=5", peak)
			}
			if st := h.Stats(); st.Waits == 0 || st.Max != 5 {
				t.Errorf("no caller ever waited for a connection: the load did not saturate the pool (%+v)", st)
			}
			if n := serverConns(t, admin, app); n > 5 || n < 3 {
				t.Errorf("%d server connections after the load, want 3..5", n)
			}
			h.Close()
			for i := 0; serverConns(t, admin, app) > 0; i++ {
				if i == 500 {
					t.Fatalf("%d server connections left after Close", serverConns(t, admin, app))
				}
				time.Sleep(10 * time.Millisecond)
			}
		})
	}
}
