// Package ledger keeps each tenant's credits: an append-only ledger of signed entries and a balance row that always reconciles.
package ledger

import (
	"context"
	"database/sql"
	"fmt"
	"sync/atomic"

	"github.com/leadmetrics/db/ent"
	"github.com/leadmetrics/db/internal/runtime/entpgx"
	"github.com/leadmetrics/db/internal/runtime/plans"
	"github.com/leadmetrics/db/migrations"
	"github.com/leadmetrics/db/privacy"
)

// Ledger posts and reads credit entries. The tenant always comes from the
// viewer in the context, never from an argument.
type Ledger struct {
	client *ent.Client
	db     *sql.DB
	pool   entpgx.Pool  // the pgx pool behind db when the layer opened it (else nil)
	citus  atomic.Int32 // 0 not known yet, 1 plain PostgreSQL, 2 Citus, citusPathOnly
	// batcher gathers concurrent RecordLLMCall callers (batcher.go).
	batcher *Batcher
}

// New returns a ledger over the Ent client and the raw handle on the same
// database. The raw handle must come from the pgx driver (db.OpenDB) for
// the bulk COPY path.
func New(client *ent.Client, db *sql.DB) *Ledger {
	l := &Ledger{client: client, db: db}
	l.pool, _ = entpgx.Lookup(db)
	l.batcher = &Batcher{l: l, MaxInFlight: 2}
	return l
}

// citusPathOnly: plain PostgreSQL taking the Citus path (tests).
const citusPathOnly = 3

// onCitus reports whether the database is a Citus cluster (the citus
// extension is installed), asked once per Ledger.
func (l *Ledger) onCitus(ctx context.Context) (bool, error) {
	if v := l.citus.Load(); v != 0 {
		return v >= 2, nil
	}
	on, err := migrations.HasCitus(ctx, l.db)
	if err != nil {
		return false, err
	}
	l.citus.Store(map[bool]int32{false: 1, true: 2}[on])
	return on, nil
}

// querier is what a posting needs: *sql.DB, *sql.Tx and *sql.Conn all are.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// row is a one-row result of either driver.
type row interface{ Scan(dest ...any) error }

// queryRowPoint runs a statement of the plans.Point class (a posting, a
// read by key, an insert: its plan does not depend on the tenant's size)
// that returns one row: as a named prepared statement on a direct pgx
// connection, and straight on the pgx pool when q is the ledger's own
// handle (no database/sql connection wrapper per statement).
func (l *Ledger) queryRowPoint(ctx context.Context, q querier, query string, args ...any) row {
	if l.pool.Mode.Pgx && !l.pool.Mode.Pooled {
		args = plans.PointArgs(args)
	}
	if l.pool.Pool != nil && q == querier(l.db) {
		return l.pool.QueryRow(ctx, query, args...)
	}
	return q.QueryRowContext(ctx, query, args...)
}

// tenantOf returns the tenant viewer of ctx. The system viewer has no
// tenant and cannot hold credits, so it is refused too.
func tenantOf(ctx context.Context) (string, error) {
	v, ok := privacy.FromContext(ctx)
	if !ok || v.System || v.TenantID == "" {
		return "", fmt.Errorf("ledger: a tenant viewer is required: %w", privacy.ErrNoViewer)
	}
	return v.TenantID, nil
}

// tenantGate is the SQL condition, on the tenant id in parameter param,
// that the tenant may be written: it exists and is not soft-deleted and,
// for a tenant viewer, is active. The system viewer may still move a
// suspended or closed tenant's credits (a payment or refund of an order
// made before the suspension, an operator's adjustment). Folded into each
// writing statement, it costs no extra round trip.
func tenantGate(param string, system bool) string {
	cond := `EXISTS (SELECT 1 FROM tenants WHERE id = ` + param + ` AND tenant_id = ` + param + ` AND deleted_at IS NULL`
	if !system {
		cond += ` AND status = 'active'`
	}
	return cond + `)`
}

// inactive is the error of a write the tenant gate refused.
func inactive(tenant string) error {
	return fmt.Errorf("ledger: tenant %q: %w", tenant, privacy.ErrTenantInactive)
}

// actorOf renders the viewer's actor for the entry's actor column.
func actorOf(ctx context.Context) string {
	v, _ := privacy.FromContext(ctx)
	switch {
	case v.Actor.Type == "":
		return ""
	case v.Actor.ID == "":
		return string(v.Actor.Type)
	}
	return string(v.Actor.Type) + ":" + v.Actor.ID
}
