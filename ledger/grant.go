package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/leadmetrics/db/ent/creditledgerentry"
	"github.com/leadmetrics/db/privacy"
)

// GrantKey is the idempotency key of a plan's grant for one period: the
// same plan and period grant once, however often the job runs.
func GrantKey(planCode, period string) string { return "grant:" + planCode + ":" + period }

// Period names the billing period of at for a plan interval: "2026-11"
// for month, "2026" for year, in UTC.
func Period(interval string, at time.Time) string {
	if interval == "year" {
		return at.UTC().Format("2006")
	}
	return at.UTC().Format("2006-01")
}

// GrantPlan credits the included credits of the plan of the tenant in ctx
// for the period containing at. It returns nil and no error when the
// tenant has no plan or the plan includes no credits. A tenant that
// changes plan within a period receives each plan's grant once.
func (l *Ledger) GrantPlan(ctx context.Context, at time.Time) (*Entry, error) {
	tenant, err := tenantOf(ctx)
	if err != nil {
		return nil, err
	}
	var code, interval string
	var credits int64
	err = l.db.QueryRowContext(ctx, `SELECT p.code, p.interval, p.included_credits
		FROM tenants t JOIN plans p ON p.id = t.plan_id
		WHERE t.id = $1 AND t.tenant_id = $1 AND t.deleted_at IS NULL`, tenant).Scan(&code, &interval, &credits)
	if errors.Is(err, sql.ErrNoRows) || err == nil && credits == 0 {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	period := Period(interval, at)
	return l.Post(ctx, Posting{
		Kind: creditledgerentry.KindGrant, Amount: credits, IdempotencyKey: GrantKey(code, period),
		Description: fmt.Sprintf("%s plan credits for %s", code, period),
		Metadata:    map[string]any{"plan": code, "period": period},
	})
}

// GrantAll runs GrantPlan for every active tenant with a plan, as the
// system viewer (the periodic job). It returns how many grants were new.
func (l *Ledger) GrantAll(ctx context.Context, at time.Time) (granted int, err error) {
	if v, ok := privacy.FromContext(ctx); !ok || !v.System {
		return 0, fmt.Errorf("ledger: grant all tenants: %w", privacy.ErrSystemOnly)
	}
	rows, err := l.db.QueryContext(ctx, `SELECT id FROM tenants
		WHERE plan_id IS NOT NULL AND status = 'active' AND deleted_at IS NULL ORDER BY id`)
	if err != nil {
		return 0, err
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return 0, err
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	for _, id := range ids {
		e, err := l.GrantPlan(privacy.WithTenant(ctx, id), at)
		if err != nil {
			return granted, fmt.Errorf("tenant %s: %w", id, err)
		}
		if e != nil && !e.Replayed {
			granted++
		}
	}
	return granted, nil
}
