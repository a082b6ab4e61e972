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

// query is what a list needs of a generated query builder (Q), whose
// predicates (P) and order options (O) are the entity package's own
// func(*sql.Selector) types.
type query[Q, T any, P, O ~func(*sql.Selector)] interface {
	Where(...P) Q
	Order(...O) Q
	Limit(int) Q
	All(context.Context) ([]T, error)
}

// list pages q (its own predicates kept) through List.
func list[Q query[Q, T, P, O], T any, P, O ~func(*sql.Selector)](ctx context.Context, q Q, o Order, cursor string, limit int, key func(T) (time.Time, string)) (*Page[T], error) {
	return List(ctx, o, cursor, limit, key, func(w, order func(*sql.Selector), n int) ([]T, error) {
		return q.Where(P(w)).Order(O(order)).Limit(n).All(ctx)
	})
}

// LLMCalls lists the viewer's LLM calls.
func LLMCalls(ctx context.Context, c *ent.Client, cursor string, limit int) (*Page[*ent.LlmCallLog], error) {
	return list(ctx, c.LlmCallLog.Query(), Newest, cursor, limit, func(r *ent.LlmCallLog) (time.Time, string) { return r.CreatedAt, r.ID })
}

// AuditLogs lists the viewer's audit log.
func AuditLogs(ctx context.Context, c *ent.Client, cursor string, limit int) (*Page[*ent.AuditLog], error) {
	return list(ctx, c.AuditLog.Query(), Newest, cursor, limit, func(r *ent.AuditLog) (time.Time, string) { return r.CreatedAt, r.ID })
}

// Dispatches lists the viewer's dispatch logs.
func Dispatches(ctx context.Context, c *ent.Client, cursor string, limit int) (*Page[*ent.DispatchLog], error) {
	return list(ctx, c.DispatchLog.Query(), Newest, cursor, limit, dispatchKey)
}

// FailedDispatches lists the viewer's failed dispatches (partial index
// dispatchlog_failed).
func FailedDispatches(ctx context.Context, c *ent.Client, cursor string, limit int) (*Page[*ent.DispatchLog], error) {
	return list(ctx, c.DispatchLog.Query().Where(dispatchlog.StatusEQ(dispatchlog.StatusFailed)), Newest, cursor, limit, dispatchKey)
}

func dispatchKey(r *ent.DispatchLog) (time.Time, string) { return r.CreatedAt, r.ID }

// Activities lists the viewer's activities.
func Activities(ctx context.Context, c *ent.Client, cursor string, limit int) (*Page[*ent.Activity], error) {
	return list(ctx, c.Activity.Query(), Newest, cursor, limit, func(r *ent.Activity) (time.Time, string) { return r.CreatedAt, r.ID })
}

// Deliverables lists the viewer's deliverables.
func Deliverables(ctx context.Context, c *ent.Client, cursor string, limit int) (*Page[*ent.Deliverable], error) {
	return list(ctx, c.Deliverable.Query(), Newest, cursor, limit, func(r *ent.Deliverable) (time.Time, string) { return r.CreatedAt, r.ID })
}

// LedgerEntries lists the viewer's credit ledger entries.
func LedgerEntries(ctx context.Context, c *ent.Client, cursor string, limit int) (*Page[*ent.CreditLedgerEntry], error) {
	return list(ctx, c.CreditLedgerEntry.Query(), Newest, cursor, limit, func(r *ent.CreditLedgerEntry) (time.Time, string) { return r.CreatedAt, r.ID })
}

// Requested orders pending approvals oldest request first.
var Requested = Order{Column: "requested_at"}

// PendingApprovals lists the viewer's pending approvals, oldest request
// first (partial index hitlapproval_pending).
func PendingApprovals(ctx context.Context, c *ent.Client, cursor string, limit int) (*Page[*ent.HitlApproval], error) {
	return list(ctx, c.HitlApproval.Query().Where(hitlapproval.StatusEQ(hitlapproval.StatusPending)), Requested, cursor, limit,
		func(r *ent.HitlApproval) (time.Time, string) { return r.RequestedAt, r.ID })
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
