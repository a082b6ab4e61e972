// Package retention purges old log rows (LLM calls, dispatches, audit logs) by age, in batches, without ever touching the credit ledger.
package retention

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/leadmetrics/db/internal/migrate/pgserver"
	"github.com/leadmetrics/db/privacy"
)

// Tables whose rows retention may purge.
const (
	LLMCalls   = "llm_call_logs"
	Dispatches = "dispatch_logs"
	AuditLogs  = "audit_logs"
)

// ErrPolicy matches an invalid policy (unknown table, age or batch).
var ErrPolicy = errors.New("retention: invalid policy")

// Policy keeps a table's rows for MaxAge (by created_at); older rows go.
type Policy struct {
	Table  string
	MaxAge time.Duration
}

// tables are the tables retention may purge. Each has a (tenant_id,
// created_at) index. No ledger entry is touched by a purge: a usage entry
// keeps the id of the LLM call it billed, with no foreign key to the log
// (internal/migrate/tenantkeys.Unenforced), so billed calls go like the others.
var tables = []string{LLMCalls, Dispatches, AuditLogs}

// Options of a run.
type Options struct {
	Batch int       // rows deleted per transaction (default 5000)
	Now   time.Time // default time.Now()
	// DryRun counts what would go and deletes nothing.
	DryRun bool
}

// Result counts the rows purged (or, in a dry run, purgeable) per table.
type Result map[string]int64

// Purge deletes, for each policy, the rows older than its MaxAge, tenant by
// tenant through the (tenant_id, created_at) index, each batch in its own
// transaction. Stopping at any point (error, cancelled context) keeps the
// batches already committed; a rerun continues where it stopped, because
// what remains is exactly what is still old. Only the system viewer may run
// it.
func Purge(ctx context.Context, db *sql.DB, policies []Policy, o Options) (Result, error) {
	if err := privacy.RequireSystem(ctx); err != nil {
		return nil, fmt.Errorf("retention: %w", err)
	}
	if o.Batch == 0 {
		o.Batch = 5000
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	if o.Batch < 1 || o.Batch > 100_000 {
		return nil, fmt.Errorf("%w: batch %d (want 1..100000)", ErrPolicy, o.Batch)
	}
	for _, p := range policies {
		if !slices.Contains(tables, p.Table) {
			return nil, fmt.Errorf("%w: table %q (want %s, %s or %s)", ErrPolicy, p.Table, LLMCalls, Dispatches, AuditLogs)
		}
		if p.MaxAge <= 0 {
			return nil, fmt.Errorf("%w: %s: max age %s must be positive", ErrPolicy, p.Table, p.MaxAge)
		}
	}
	res := Result{}
	for _, p := range policies {
		n, err := purgeTable(ctx, db, p, o)
		res[p.Table] += n
		if err != nil {
			return res, fmt.Errorf("retention: %s: %w", p.Table, err)
		}
	}
	return res, nil
}

func purgeTable(ctx context.Context, db *sql.DB, p Policy, o Options) (int64, error) {
	cutoff := o.Now.Add(-p.MaxAge)
	// Only tenants that have old rows: one index probe per tenant. A Citus
	// coordinator refuses that correlated probe of a reference table
	// (tenants): there every tenant is visited, its first delete being
	// the probe, routed to its shard.
	tenants, err := pgserver.Strings(ctx, db, `SELECT id FROM tenants t WHERE EXISTS
		(SELECT 1 FROM `+p.Table+` l WHERE l.tenant_id = t.id AND l.created_at < $1) ORDER BY id`, cutoff)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "0A000" {
		tenants, err = pgserver.Strings(ctx, db, `SELECT id FROM tenants ORDER BY id`)
	}
	if err != nil {
		return 0, err
	}
	cond := `t.tenant_id = $1 AND t.created_at < $2`
	if o.DryRun {
		var total int64
		for _, tenant := range tenants {
			var n int64
			if err := db.QueryRowContext(ctx, `SELECT count(*) FROM `+p.Table+` t WHERE `+cond, tenant, cutoff).Scan(&n); err != nil {
				return total, err
			}
			total += n
		}
		return total, nil
	}
	// Oldest first, so that an interrupted run leaves no hole in the
	// middle of a tenant's history. The outer tenant_id keeps the delete
	// on one tenant's key range (and one shard on Citus).
	del := `DELETE FROM ` + p.Table + ` WHERE tenant_id = $1 AND id IN (SELECT t.id FROM ` + p.Table + ` t WHERE ` + cond +
		` ORDER BY t.created_at LIMIT $3 FOR UPDATE SKIP LOCKED)`
	var total int64
	for _, tenant := range tenants {
		for {
			r, err := db.ExecContext(ctx, del, tenant, cutoff, o.Batch)
			if err != nil {
				return total, err
			}
			n, _ := r.RowsAffected()
			total += n
			if n < int64(o.Batch) {
				break
			}
		}
	}
	return total, nil
}
