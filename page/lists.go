package page

import (
	"context"
	"fmt"
	"time"

	"entgo.io/ent/dialect/sql"

	"github.com/leadmetrics/db/ent"
	"github.com/leadmetrics/db/ent/activity"
	"github.com/leadmetrics/db/ent/dispatchlog"
	"github.com/leadmetrics/db/ent/hitlapproval"
)

// The lists the platform pages through, newest first unless said. Each is
// tenant-scoped by the client's privacy rules and bounded by limit.

// LLMCalls lists the viewer's LLM calls.
func LLMCalls(ctx context.Context, c *ent.Client, cursor string, limit int) (*Page[*ent.LlmCallLog], error) {
	return List(ctx, Newest, cursor, limit, func(r *ent.LlmCallLog) (time.Time, string) { return r.CreatedAt, r.ID },
		func(w, o func(*sql.Selector), n int) ([]*ent.LlmCallLog, error) {
			return c.LlmCallLog.Query().Where(w).Order(o).Limit(n).All(ctx)
		})
}

// AuditLogs lists the viewer's audit log.
func AuditLogs(ctx context.Context, c *ent.Client, cursor string, limit int) (*Page[*ent.AuditLog], error) {
	return List(ctx, Newest, cursor, limit, func(r *ent.AuditLog) (time.Time, string) { return r.CreatedAt, r.ID },
		func(w, o func(*sql.Selector), n int) ([]*ent.AuditLog, error) {
			return c.AuditLog.Query().Where(w).Order(o).Limit(n).All(ctx)
		})
}

// Dispatches lists the viewer's dispatch logs.
func Dispatches(ctx context.Context, c *ent.Client, cursor string, limit int) (*Page[*ent.DispatchLog], error) {
	return List(ctx, Newest, cursor, limit, func(r *ent.DispatchLog) (time.Time, string) { return r.CreatedAt, r.ID },
		func(w, o func(*sql.Selector), n int) ([]*ent.DispatchLog, error) {
			return c.DispatchLog.Query().Where(w).Order(o).Limit(n).All(ctx)
		})
}

// FailedDispatches lists the viewer's failed dispatches (partial index
// dispatchlog_failed).
func FailedDispatches(ctx context.Context, c *ent.Client, cursor string, limit int) (*Page[*ent.DispatchLog], error) {
	return List(ctx, Newest, cursor, limit, func(r *ent.DispatchLog) (time.Time, string) { return r.CreatedAt, r.ID },
		func(w, o func(*sql.Selector), n int) ([]*ent.DispatchLog, error) {
			return c.DispatchLog.Query().Where(dispatchlog.StatusEQ(dispatchlog.StatusFailed), w).Order(o).Limit(n).All(ctx)
		})
}

// Activities lists the viewer's activities.
func Activities(ctx context.Context, c *ent.Client, cursor string, limit int) (*Page[*ent.Activity], error) {
	return List(ctx, Newest, cursor, limit, func(r *ent.Activity) (time.Time, string) { return r.CreatedAt, r.ID },
		func(w, o func(*sql.Selector), n int) ([]*ent.Activity, error) {
			return c.Activity.Query().Where(w).Order(o).Limit(n).All(ctx)
		})
}

// Deliverables lists the viewer's deliverables.
func Deliverables(ctx context.Context, c *ent.Client, cursor string, limit int) (*Page[*ent.Deliverable], error) {
	return List(ctx, Newest, cursor, limit, func(r *ent.Deliverable) (time.Time, string) { return r.CreatedAt, r.ID },
		func(w, o func(*sql.Selector), n int) ([]*ent.Deliverable, error) {
			return c.Deliverable.Query().Where(w).Order(o).Limit(n).All(ctx)
		})
}

// LedgerEntries lists the viewer's credit ledger entries.
func LedgerEntries(ctx context.Context, c *ent.Client, cursor string, limit int) (*Page[*ent.CreditLedgerEntry], error) {
	return List(ctx, Newest, cursor, limit, func(r *ent.CreditLedgerEntry) (time.Time, string) { return r.CreatedAt, r.ID },
		func(w, o func(*sql.Selector), n int) ([]*ent.CreditLedgerEntry, error) {
			return c.CreditLedgerEntry.Query().Where(w).Order(o).Limit(n).All(ctx)
		})
}

// Requested orders pending approvals oldest request first.
var Requested = Order{Column: "requested_at"}

// PendingApprovals lists the viewer's pending approvals, oldest request
// first (partial index hitlapproval_pending).
func PendingApprovals(ctx context.Context, c *ent.Client, cursor string, limit int) (*Page[*ent.HitlApproval], error) {
	return List(ctx, Requested, cursor, limit, func(r *ent.HitlApproval) (time.Time, string) { return r.RequestedAt, r.ID },
		func(w, o func(*sql.Selector), n int) ([]*ent.HitlApproval, error) {
			return c.HitlApproval.Query().Where(hitlapproval.StatusEQ(hitlapproval.StatusPending), w).Order(o).Limit(n).All(ctx)
		})
}

// WorkQueue lists the viewer's activities due by now (pending or queued),
// earliest schedule first (partial index activity_work_queue). It is not
// paged: a worker takes the head of the queue.
func WorkQueue(ctx context.Context, c *ent.Client, now time.Time, limit int) ([]*ent.Activity, error) {
	if limit < 1 || limit > MaxLimit {
		return nil, fmt.Errorf("%w: %d (want 1..%d)", ErrLimit, limit, MaxLimit)
	}
	return c.Activity.Query().
		Where(activity.StatusIn(activity.StatusPending, activity.StatusQueued), activity.ScheduledAtLTE(now)).
		Order(activity.ByScheduledAt()).Limit(limit).All(ctx)
}
