package scaleload

import (
	"context"
	"database/sql"
	"time"

	db "github.com/leadmetrics/db"
	"github.com/leadmetrics/db/internal/migrate/pgserver"
	"github.com/leadmetrics/db/ledger"
	"github.com/leadmetrics/db/privacy"
	"github.com/leadmetrics/db/retention"
)

// Purged is what PurgeOldest measured.
type Purged struct {
	Deleted int64
	// Rewritten counts the ledger entries whose llm_call_id the purge set
	// to NULL; Identical is true when every entry is byte-identical after
	// (a digest of all rows).
	Rewritten  int64
	Identical  bool
	Took       time.Duration
	Reconciled bool // ReconcileAll found no drift after the purge
}

// PurgeOldest deletes the oldest 10% of the LLM calls (by the loaded time
// span: older than the oldest call plus 36.5 days) and reports what it did
// to the ledger. before: plain batched deletes (5,000 rows per statement,
// tenant by tenant), under BeforeSQL's ON DELETE SET NULL key; after:
// retention.Purge (batches of 5,000). Destructive: run it on a copy.
func PurgeOldest(ctx context.Context, sqlDB *sql.DB, before bool) (*Purged, error) {
	var cutoff time.Time
	if err := sqlDB.QueryRowContext(ctx, `SELECT min(created_at) + interval '36.5 days' FROM llm_call_logs`).Scan(&cutoff); err != nil {
		return nil, err
	}
	// An order-independent digest of every entry: count, sum of row
	// hashes, entries without a call id.
	digest := func() (n int64, sum string, nulls int64, err error) {
		err = sqlDB.QueryRowContext(ctx, `SELECT count(*), coalesce(sum(('x' || left(md5(e::text), 15))::bit(60)::bigint), 0)::text,
			count(*) FILTER (WHERE llm_call_id IS NULL) FROM credit_ledger_entries e`).Scan(&n, &sum, &nulls)
		return
	}
	n0, sum0, nulls0, err := digest()
	if err != nil {
		return nil, err
	}
	res := &Purged{}
	start := time.Now()
	if before {
		ids, err := pgserver.Strings(ctx, sqlDB, `SELECT id FROM tenants ORDER BY id`)
		if err != nil {
			return nil, err
		}
		for _, id := range ids {
			for {
				r, err := sqlDB.ExecContext(ctx, `DELETE FROM llm_call_logs WHERE tenant_id = $1 AND id IN (SELECT id FROM llm_call_logs
					WHERE tenant_id = $1 AND created_at < $2 ORDER BY created_at LIMIT 5000)`, id, cutoff)
				if err != nil {
					return nil, err
				}
				k, _ := r.RowsAffected()
				res.Deleted += k
				if k < 5000 {
					break
				}
			}
		}
	} else {
		now := time.Now()
		got, err := retention.Purge(privacy.WithSystem(ctx), sqlDB,
			[]retention.Policy{{Table: retention.LLMCalls, MaxAge: now.Sub(cutoff)}}, retention.Options{Now: now})
		if err != nil {
			return nil, err
		}
		res.Deleted = got[retention.LLMCalls]
	}
	res.Took = time.Since(start)
	n1, sum1, nulls1, err := digest()
	if err != nil {
		return nil, err
	}
	res.Rewritten, res.Identical = nulls1-nulls0, n0 == n1 && sum0 == sum1
	rep, err := ledger.New(db.NewClient(sqlDB), sqlDB).ReconcileAll(privacy.WithSystem(ctx))
	if err != nil {
		return nil, err
	}
	res.Reconciled = rep.OK()
	return res, nil
}
