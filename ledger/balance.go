package ledger

import (
	"context"
	"database/sql"
	"errors"

	"github.com/leadmetrics/db/retry"
)

// Balance returns the credits of the tenant in ctx: 0 before its first
// posting.
func (l *Ledger) Balance(ctx context.Context) (int64, error) {
	tenant, err := tenantOf(ctx)
	if err != nil {
		return 0, err
	}
	var b int64
	err = l.queryRowPoint(ctx, l.db, `SELECT balance FROM credit_balances WHERE tenant_id = $1`, tenant).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return b, err
}

// CanSpend reports whether the tenant in ctx has at least amount credits:
// one indexed read, to refuse new work before it incurs usage. It reserves
// nothing; the usage is recorded when it happens, whatever the balance.
func (l *Ledger) CanSpend(ctx context.Context, amount int64) (bool, error) {
	if amount < 0 {
		return false, invalid(ErrInvalidAmount, "negative spend %d", amount)
	}
	b, err := l.Balance(ctx)
	return err == nil && b >= amount, err
}

// EnsureBalance creates the balance row of the tenant in ctx if it does
// not exist yet; an inactive tenant gets privacy.ErrTenantInactive. Call
// it when creating a tenant; postings also create it on
// a tenant's first posting, so it is never required. Idempotent: rerun
// after a lost connection or a failover (retry.Do).
func (l *Ledger) EnsureBalance(ctx context.Context) error {
	tenant, err := tenantOf(ctx)
	if err != nil {
		return err
	}
	var ok bool
	_, err = retry.Do(ctx, func(ctx context.Context) (err error) {
		ok, err = l.ensureBalance(ctx, l.db, tenant, false)
		return err
	})
	if err == nil && !ok {
		err = inactive(tenant)
	}
	return err
}
