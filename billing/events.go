package billing

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/leadmetrics/db/cuid"
	"github.com/leadmetrics/db/ent/billingevent"
	"github.com/leadmetrics/db/ent/creditledgerentry"
	"github.com/leadmetrics/db/ent/topuporder"
	"github.com/leadmetrics/db/ledger"
	"github.com/leadmetrics/db/privacy"
)

// Event types the service acts on; any other type is stored and ignored.
const (
	EventPaymentPending   = "payment.pending"
	EventPaymentSucceeded = "payment.succeeded"
	EventPaymentFailed    = "payment.failed"
	EventPaymentRefunded  = "payment.refunded"
	EventOrderCancelled   = "order.cancelled"
)

// eventTargets maps an event type to the order state it asks for.
var eventTargets = map[string]Status{
	EventPaymentPending:   topuporder.StatusPending,
	EventPaymentSucceeded: topuporder.StatusPaid,
	EventPaymentFailed:    topuporder.StatusFailed,
	EventPaymentRefunded:  topuporder.StatusRefunded,
	EventOrderCancelled:   topuporder.StatusCancelled,
}

// Event is one webhook delivery, already authenticated by the caller.
type Event struct {
	Provider topuporder.Provider
	// EventID is the provider's id of the event: redeliveries share it.
	EventID         string
	Type            string
	ProviderOrderID string
	Payload         map[string]any
}

func (e Event) validate() error {
	switch {
	case topuporder.ProviderValidator(e.Provider) != nil:
		return invalid(ErrInvalidEvent, "provider %q", e.Provider)
	case e.EventID == "" || utf8.RuneCountInString(e.EventID) > 128:
		return invalid(ErrInvalidEvent, "event id must have 1 to 128 characters")
	case e.Type == "" || utf8.RuneCountInString(e.Type) > 100:
		return invalid(ErrInvalidEvent, "type must have 1 to 100 characters")
	case e.ProviderOrderID == "":
		return invalid(ErrInvalidEvent, "no provider order id")
	}
	return nil
}

// Outcome is what a delivery did.
type Outcome struct {
	EventID   string // the stored billing event
	Duplicate bool   // the event was delivered before: nothing done now
	// Status of the stored event: processed (the order moved), ignored
	// (nothing to do, or a transition the state machine refuses), failed
	// (the ledger refused, e.g. a refund of credits already spent).
	Status      billingevent.Status
	Reason      string // why ignored or failed
	OrderID     string
	OrderStatus Status        // the order's state after this delivery
	Entry       *ledger.Entry // the credit or reversal posted now
}

// TopupKey and ReversalKey are the ledger idempotency keys of an order's
// credit and of its refund: at most one of each per order, ever.
func TopupKey(orderID string) string    { return "topup:" + orderID }
func ReversalKey(orderID string) string { return "topup-reversal:" + orderID }

// HandleEvent records a provider event and applies it to its order in one
// transaction. Deliveries of one event id are deduplicated: concurrent ones
// wait for the first and report Duplicate. A "payment succeeded" marks the
// order paid and credits it exactly once; out-of-order events the state
// machine refuses (a "failed" after "paid") are stored as ignored and
// change nothing.
//
// Webhook intake runs as the system viewer, which finds the order in any
// tenant (an unknown order is stored as failed under the platform tenant);
// a tenant viewer only reaches its own orders (ErrUnknownOrder otherwise,
// nothing written). The returned error is nil for ignored events; for a
// failed one the event is stored and the error says why.
func (b *Billing) HandleEvent(ctx context.Context, ev Event) (delivered *Outcome, deliveryErr error) {
	defer func() { observeEvent(ctx, ev, delivered, deliveryErr) }()
	if err := ev.validate(); err != nil {
		return nil, err
	}
	scope, err := viewerScope(ctx)
	if err != nil {
		return nil, err
	}
	payload, err := json.Marshal(ev.Payload)
	if err != nil {
		return nil, invalid(ErrInvalidEvent, "payload: %v", err)
	}
	tx, err := b.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	o, err := lockOrder(ctx, tx, orderByProviderSQL, string(ev.Provider), ev.ProviderOrderID, scope)
	switch {
	case errors.Is(err, ErrUnknownOrder) && scope.Valid:
		return nil, err
	case errors.Is(err, ErrUnknownOrder):
		o = &order{TenantID: privacy.PlatformTenantID}
	case err != nil:
		return nil, err
	}
	out := &Outcome{EventID: cuid.New(), OrderID: o.ID, OrderStatus: o.Status}
	res, err := tx.ExecContext(ctx, `INSERT INTO billing_events (id, ref_id, tenant_id, created_at, updated_at,
			provider, provider_event_id, type, payload, status, topup_order_id)
		VALUES ($1, $1, $2, now(), now(), $3, $4, $5, $6, 'received', $7)
		ON CONFLICT (provider, provider_event_id) DO NOTHING`,
		out.EventID, o.TenantID, string(ev.Provider), ev.EventID, ev.Type, string(payload), nullable(o.ID))
	if err != nil {
		return nil, err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		tx.Rollback()
		return b.duplicate(ctx, ev, scope)
	}
	to, known := eventTargets[ev.Type]
	var failure error
	switch {
	case o.ID == "":
		out.Status, out.Reason = billingevent.StatusFailed, "no order with provider order id "+ev.ProviderOrderID
	case !known:
		out.Status, out.Reason = billingevent.StatusIgnored, "event type not handled"
	default:
		out.Entry, err = b.apply(ctx, tx, o, to)
		var te *TransitionError
		switch {
		case err == nil && o.Status != out.OrderStatus:
			out.Status = billingevent.StatusProcessed
		case err == nil:
			out.Status, out.Reason = billingevent.StatusIgnored, "order already "+string(o.Status)
		case errors.As(err, &te):
			out.Status, out.Reason = billingevent.StatusIgnored, err.Error()
		case isLedgerRefusal(err):
			out.Status, out.Reason, failure = billingevent.StatusFailed, err.Error(), err
		default:
			return nil, err
		}
	}
	out.OrderStatus = o.Status
	if _, err := tx.ExecContext(ctx, `UPDATE billing_events SET status = $3, error = $4, processed_at = now(), updated_at = now()
		WHERE id = $1 AND tenant_id = $2`, out.EventID, o.TenantID, string(out.Status), nullable(out.Reason)); err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, err
	}
	return out, failure
}

// duplicate reports the stored outcome of an event delivered before.
func (b *Billing) duplicate(ctx context.Context, ev Event, scope sql.NullString) (*Outcome, error) {
	out := &Outcome{Duplicate: true}
	var orderID, orderStatus sql.NullString
	err := b.db.QueryRowContext(ctx, `SELECT e.id, e.status, coalesce(e.error, ''), o.id, o.status
		FROM billing_events e LEFT JOIN topup_orders o ON o.id = e.topup_order_id AND o.tenant_id = e.tenant_id
		WHERE e.provider = $1 AND e.provider_event_id = $2 AND ($3::varchar IS NULL OR e.tenant_id = $3)`,
		string(ev.Provider), ev.EventID, scope).Scan(&out.EventID, &out.Status, &out.Reason, &orderID, &orderStatus)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, invalid(ErrInvalidEvent, "event id %q belongs to another tenant", ev.EventID)
	}
	out.OrderID, out.OrderStatus = orderID.String, Status(orderStatus.String)
	return out, err
}

// Transition moves an order by hand (an operator, the manual provider):
// the same rules and ledger postings as events. Moving an order to the
// state it is in does nothing; an impossible move is a *TransitionError.
func (b *Billing) Transition(ctx context.Context, orderID string, to Status) (*ledger.Entry, error) {
	if topuporder.StatusValidator(to) != nil {
		return nil, invalid(ErrInvalidOrder, "status %q", to)
	}
	scope, err := viewerScope(ctx)
	if err != nil {
		return nil, err
	}
	tx, err := b.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	o, err := lockOrder(ctx, tx, orderByIDSQL, orderID, scope)
	if err != nil {
		return nil, err
	}
	e, err := b.apply(ctx, tx, o, to)
	if err != nil {
		return nil, err
	}
	return e, tx.Commit()
}

// order is the locked row an event or a transition works on.
type order struct {
	ID, TenantID string
	Status       Status
	Credits      int64
}

// viewerScope is the tenant filter of the viewer: its tenant, or none for
// the system viewer.
func viewerScope(ctx context.Context) (sql.NullString, error) {
	v, ok := privacy.FromContext(ctx)
	if !ok {
		return sql.NullString{}, fmt.Errorf("billing: %w", privacy.ErrNoViewer)
	}
	return sql.NullString{String: v.TenantID, Valid: !v.System}, nil
}

// The order lookups, the last parameter being the viewer's scope. The row
// lock serializes concurrent events of one order.
const (
	orderByProviderSQL = `SELECT id, tenant_id, status, credits FROM topup_orders
		WHERE provider = $1 AND provider_order_id = $2 AND ($3::varchar IS NULL OR tenant_id = $3) FOR UPDATE`
	orderByIDSQL = `SELECT id, tenant_id, status, credits FROM topup_orders
		WHERE id = $1 AND ($2::varchar IS NULL OR tenant_id = $2) FOR UPDATE`
)

// lockOrder runs one of the order lookups.
func lockOrder(ctx context.Context, tx *sql.Tx, query string, args ...any) (*order, error) {
	o := &order{}
	err := tx.QueryRowContext(ctx, query, args...).Scan(&o.ID, &o.TenantID, &o.Status, &o.Credits)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrUnknownOrder
	}
	return o, err
}

// apply moves the locked order to `to`, posting its credit (paid) or
// reversal (refunded) in the same transaction; a ledger refusal leaves
// the order as it was. o.Status is updated.
func (b *Billing) apply(ctx context.Context, tx *sql.Tx, o *order, to Status) (*ledger.Entry, error) {
	if o.Status == to {
		return nil, nil
	}
	if !CanTransition(o.Status, to) {
		return nil, &TransitionError{OrderID: o.ID, From: o.Status, To: to}
	}
	// A savepoint, so that a posting that fails in SQL (overflow) leaves
	// the transaction usable to record the event as failed.
	if _, err := tx.ExecContext(ctx, `SAVEPOINT apply_order`); err != nil {
		return nil, err
	}
	var entry *ledger.Entry
	var err error
	tctx := privacy.WithTenant(ctx, o.TenantID)
	switch to {
	case topuporder.StatusPaid:
		entry, err = b.ledger.PostTx(tctx, tx, ledger.Posting{Kind: creditledgerentry.KindTopup, Amount: o.Credits,
			IdempotencyKey: TopupKey(o.ID), TopupOrderID: o.ID, Description: "topup order paid"})
	case topuporder.StatusRefunded:
		entry, err = b.ledger.PostTx(tctx, tx, ledger.Posting{Kind: creditledgerentry.KindReversal, Amount: -o.Credits,
			IdempotencyKey: ReversalKey(o.ID), TopupOrderID: o.ID, Description: "topup order refunded"})
	}
	if err == nil {
		_, err = tx.ExecContext(ctx, `UPDATE topup_orders SET status = $3::varchar, updated_at = now(),
			paid_at = CASE WHEN $3::varchar = 'paid' THEN now() ELSE paid_at END
			WHERE id = $1 AND tenant_id = $2`, o.ID, o.TenantID, string(to))
	}
	if err != nil {
		if _, rerr := tx.ExecContext(ctx, `ROLLBACK TO SAVEPOINT apply_order`); rerr != nil {
			return nil, rerr
		}
		return nil, err
	}
	o.Status = to
	return entry, nil
}

// isLedgerRefusal tells the ledger's typed refusals from infrastructure
// errors: the former are recorded on the event, the latter retried.
func isLedgerRefusal(err error) bool {
	for _, e := range []error{ledger.ErrInsufficientCredits, ledger.ErrInvalidAmount, ledger.ErrIdempotencyConflict,
		ledger.ErrInvalidLink, ledger.ErrInvalidInput} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

func nullable(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }
