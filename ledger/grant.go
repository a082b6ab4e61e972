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
func GrantKey(planCode, period string) string { return KeyPrefixGrant + planCode + ":" + period }

// Period names the billing period of at for a plan interval: "2026-11"
// for month, "2026" for year, in UTC.
func Period(interval string, at time.Time) string {
	if interval == "year" {
		return at.UTC().Format("2006")
	}
	return at.UTC().Format("2006-01")
}

// GrantClockSkew is how far after this process's clock a grant's time may
// be: the job's clock and ours may disagree a little, never by a period.
const GrantClockSkew = 5 * time.Minute

// GrantPlan credits the included credits of tenantID's plan for the period
// containing at. Only the system viewer grants (privacy.ErrSystemOnly). It
// returns nil and no error when the tenant has no plan or the plan
// includes no credits. A tenant that changes plan within a period receives
// each plan's grant once. Refused, writing nothing: a time after now (more
// than GrantClockSkew ahead: ErrFuturePeriod), a plan soft-deleted or not
// active (ErrPlanInactive), a tenant unknown, deleted, suspended or closed
// (privacy.ErrTenantInactive).
func (l *Ledger) GrantPlan(ctx context.Context, tenantID string, at time.Time) (*Entry, error) {
	if err := privacy.RequireSystem(ctx); err != nil {
		return nil, fmt.Errorf("ledger: grant plan credits: %w", err)
	}
	if err := checkGrantTime(at); err != nil {
		return nil, err
	}
	var status string
	var tenantDeleted bool
	var code, interval sql.NullString
	var credits sql.NullInt64
	var planActive, planDeleted sql.NullBool
	err := l.db.QueryRowContext(ctx, `SELECT t.status, t.deleted_at IS NOT NULL,
			p.code, p.interval, p.included_credits, p.active, p.deleted_at IS NOT NULL
		FROM tenants t LEFT JOIN plans p ON p.id = t.plan_id
		WHERE t.id = $1 AND t.tenant_id = $1`, tenantID).Scan(&status, &tenantDeleted,
		&code, &interval, &credits, &planActive, &planDeleted)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, inactive(tenantID)
	case err != nil:
		return nil, err
	case tenantDeleted || status != "active":
		return nil, inactive(tenantID)
	case !code.Valid: // no plan
		return nil, nil
	case planDeleted.Bool || !planActive.Bool:
		return nil, invalid(ErrPlanInactive, "plan %q", code.String)
	case credits.Int64 == 0:
		return nil, nil
	}
	period := Period(interval.String, at)
	return l.Post(ctx, Posting{
		Kind: creditledgerentry.KindGrant, Amount: credits.Int64, IdempotencyKey: GrantKey(code.String, period),
		Description: fmt.Sprintf("%s plan credits for %s", code.String, period),
		Metadata:    map[string]any{"plan": code.String, "period": period}, TenantID: tenantID,
	})
}

// checkGrantTime refuses a zero time and one after now.
func checkGrantTime(at time.Time) error {
	switch {
	case at.IsZero():
		return invalid(ErrInvalidInput, "grant time is zero")
	case at.After(time.Now().Add(GrantClockSkew)):
		return invalid(ErrFuturePeriod, "%s is after now", at.UTC().Format(time.RFC3339))
	}
	return nil
}

// GrantAll runs GrantPlan for every active tenant with a plan, as the
// system viewer (the periodic job). It returns how many grants were new.
// Tenants whose plan is deleted or inactive (or that were suspended
// meanwhile) are skipped: their plan grants nothing.
func (l *Ledger) GrantAll(ctx context.Context, at time.Time) (granted int, err error) {
	if err := privacy.RequireSystem(ctx); err != nil {
		return 0, fmt.Errorf("ledger: grant all tenants: %w", err)
	}
	if err := checkGrantTime(at); err != nil {
		return 0, err
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
		e, err := l.GrantPlan(ctx, id, at)
		if errors.Is(err, ErrPlanInactive) || errors.Is(err, privacy.ErrTenantInactive) {
			continue
		}
		if err != nil {
			return granted, fmt.Errorf("tenant %s: %w", id, err)
		}
		if e != nil && !e.Replayed {
			granted++
		}
	}
	return granted, nil
}
