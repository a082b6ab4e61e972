package db_test

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/lib/pq"

	db "github.com/leadmetrics/db"
	"github.com/leadmetrics/db/internal/testing/suitedb"
)

// TestSessionSettingsOnEveryPooledConnection holds every connection of the
// pool at once and reads the settings on each: the timeouts and the
// application name are applied per connection, not once.
func TestSessionSettingsOnEveryPooledConnection(t *testing.T) {
	url := suitedb.URL(t)
	for _, driver := range []string{db.DriverPgx, db.DriverPQ} {
		t.Run(driver, func(t *testing.T) {
			var cfg db.Config
			h := openHandle(t, url, func(c *db.Config) {
				c.Driver, c.PoolMax = driver, 4
				c.StatementTimeout, c.IdleTxTimeout, c.ApplicationName = 1500*time.Millisecond, 3*time.Second, "settings-"+driver
				cfg = *c
			})
			ctx := context.Background()
			var conns []*sql.Conn
			for range cfg.PoolMax {
				c, err := h.SQL.Conn(ctx)
				if err != nil {
					t.Fatal(err)
				}
				conns = append(conns, c)
			}
			pids := map[int]bool{}
			for _, c := range conns {
				var pid int
				var st, idle, app string
				if err := c.QueryRowContext(ctx, `SELECT pg_backend_pid(), current_setting('statement_timeout'),
					current_setting('idle_in_transaction_session_timeout'), current_setting('application_name')`).Scan(&pid, &st, &idle, &app); err != nil {
					t.Fatal(err)
				}
				pids[pid] = true
				if st != "1500ms" || idle != "3s" || app != cfg.ApplicationName {
					t.Errorf("connection %d: statement_timeout %s, idle_in_transaction_session_timeout %s, application_name %s", pid, st, idle, app)
				}
			}
			if len(pids) != cfg.PoolMax {
				t.Fatalf("%d distinct connections, want %d", len(pids), cfg.PoolMax)
			}
			for _, c := range conns {
				c.Close()
			}
			// The timeout is in force, not just shown.
			_, err := h.SQL.ExecContext(ctx, `SELECT pg_sleep(30)`)
			var pgErr *pgconn.PgError
			var pqErr *pq.Error
			if !(errors.As(err, &pgErr) && pgErr.Code == "57014") && !(errors.As(err, &pqErr) && pqErr.Code == "57014") {
				t.Fatalf("pg_sleep(30) under statement_timeout: %v, want SQLSTATE 57014", err)
			}
		})
	}
}

// TestSessionSettingsDefaults: no timeout beyond the server's, and the
// binary's name as application_name.
func TestSessionSettingsDefaults(t *testing.T) {
	h := openHandle(t, suitedb.URL(t), nil)
	var st, app string
	if err := h.SQL.QueryRow(`SELECT current_setting('statement_timeout'), current_setting('application_name')`).Scan(&st, &app); err != nil {
		t.Fatal(err)
	}
	if want := filepath.Base(os.Args[0]); st != "0" || app != want {
		t.Fatalf("statement_timeout %s, application_name %q; want 0 and %q", st, app, want)
	}
}
