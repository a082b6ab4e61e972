package billing

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/leadmetrics/db/cuid"
	"github.com/leadmetrics/db/ent/billingevent"
	"github.com/leadmetrics/db/ent/creditledgerentry"
	"github.com/leadmetrics/db/ent/topuporder"
	"github.com/leadmetrics/db/input"
	"github.com/leadmetrics/db/ledger"
	"github.com/leadmetrics/db/privacy"
	"github.com/leadmetrics/db/retry"
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
	// Amount and Currency are what the provider says was paid (or
	// refunded), in minor units of an ISO 4217 currency (any case).
	// Required for payment.succeeded and payment.refunded, and compared
	// with the order's price: a mismatch is stored as a failed event and
	// moves no credit (partial payments and refunds are not supported).
	Amount   int64
	Currency string
	Payload  map[string]any
}

// movesMoney reports whether an event type posts to the ledger, and so must
// carry the amount that was paid.
func movesMoney(typ string) bool { return typ == EventPaymentSucceeded || typ == EventPaymentRefunded }

func (e Event) validate() error {
	if err := input.Fields("billing.Event", input.F("Provider", e.Provider), input.F("EventID", e.EventID),
		input.F("Type", e.Type), input.F("ProviderOrderID", e.ProviderOrderID), input.F("Currency", e.Currency),
		input.F("Payload", e.Payload)); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidEvent, err)
	}
	switch {
	case e.Amount < 0:
		return invalid(ErrInvalidEvent, "negative amount %d", e.Amount)
	case e.Currency != "" && !input.IsCurrency(strings.ToUpper(e.Currency)): // providers send any case
		return invalid(ErrInvalidEvent, "currency %q", e.Currency)
	case e.Amount != 0 && e.Currency == "":
		return invalid(ErrInvalidEvent, "amount %d without a currency", e.Amount)
	case movesMoney(e.Type) && e.Currency == "":
		return invalid(ErrInvalidEvent, "%s without an amount and currency", e.Type)
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
func TopupKey(orderID string) string    { return ledger.KeyPrefixTopup + orderID }
func ReversalKey(orderID string) string { return ledger.KeyPrefixReversal + orderID }

// HandleEvent records a provider event and applies it to its order in one
// transaction. Deliveries of one event id are deduplicated: concurrent ones
// wait for the first and report Duplicate. A "payment succeeded" marks the
// order paid and credits it exactly once; out-of-order events the state
// machine refuses (a "failed" after "paid") are stored as ignored and
// change nothing.
//
// Only the system viewer (webhook intake, after authenticating the
// provider) handles events: a tenant viewer gets privacy.ErrSystemOnly and
// nothing is written. The order is found in any tenant (an unknown order
// is stored as failed under the platform tenant). A payment or refund
// whose amount or currency differs from the order's is stored as failed
// (ErrAmountMismatch) and moves nothing. The returned error is nil for
// ignored events; for a failed one the event is stored and the error says
// why.
func (b *Billing) HandleEvent(ctx context.Context, ev Event) (delivered *Outcome, deliveryErr error) {
	defer func() { observeEvent(ctx, ev, delivered, deliveryErr) }()
	if err := systemOnly(ctx, "handle a provider event"); err != nil {
		return nil, err
	}
	if err := ev.validate(); err != nil {
		return nil, err
	}
	payload, err := json.Marshal(ev.Payload)
	if err != nil {
		return nil, invalid(ErrInvalidEvent, "payload: %v", err)
	}
	// Idempotent on (provider, event id): rerun after a failover, a lost
	// connection or a serialization failure; a rerun whose first attempt
	// had committed reports Duplicate.
	var out *Outcome
	var failure error
	_, err = retry.Do(ctx, func(ctx context.Context) error {
		o, err := b.handle(ctx, ev, payload)
		if o != nil {
			out, failure = o, err // stored: err is the event's failure
			return nil
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, failure
}

// handle is one attempt of HandleEvent, in one transaction.
func (b *Billing) handle(ctx context.Context, ev Event, payload []byte) (*Outcome, error) {
	tx, err := b.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	o, err := lockOrder(ctx, tx, orderByProviderSQL, string(ev.Provider), ev.ProviderOrderID)
	switch {
	case errors.Is(err, ErrUnknownOrder):
		o = &order{TenantID: privacy.PlatformTenantID}
	case err != nil:
		return nil, err
	}
	out := &Outcome{EventID: cuid.New(), OrderID: o.ID, OrderStatus: o.Status}
	res, err := tx.ExecContext(ctx, `INSERT INTO billing_events (id, ref_id, tenant_id, created_at, updated_at,
			provider, provider_event_id, type, payload, status, topup_order_id, paid_amount, paid_currency)
		VALUES ($1, $1, $2, now(), now(), $3, $4, $5, $6, 'received', $7, $8, $9)
		ON CONFLICT (provider, provider_event_id) DO NOTHING`,
		out.EventID, o.TenantID, string(ev.Provider), ev.EventID, ev.Type, string(payload), nullable(o.ID),
		sql.NullInt64{Int64: ev.Amount, Valid: ev.Currency != ""}, nullable(strings.ToUpper(ev.Currency)))
	if err != nil {
		return nil, err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		tx.Rollback()
		out, err := b.duplicate(ctx, ev)
		if err != nil {
			return nil, err
		}
		return out, nil
	}
	to, known := eventTargets[ev.Type]
	var failure error
	switch {
	case o.ID == "":
		out.Status, out.Reason = billingevent.StatusFailed, "no order with provider order id "+ev.ProviderOrderID
	case !known:
		out.Status, out.Reason = billingevent.StatusIgnored, "event type not handled"
	case movesMoney(ev.Type) && (ev.Amount != o.PaidAmount || !strings.EqualFold(ev.Currency, o.PaidCurrency)):
		failure = fmt.Errorf("%w: event says %d %s, order %s costs %d %s", ErrAmountMismatch,
			ev.Amount, strings.ToUpper(ev.Currency), o.ID, o.PaidAmount, o.PaidCurrency)
		out.Status, out.Reason = billingevent.StatusFailed, failure.Error()
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
func (b *Billing) duplicate(ctx context.Context, ev Event) (*Outcome, error) {
	out := &Outcome{Duplicate: true}
	var orderID, orderStatus sql.NullString
	err := b.db.QueryRowContext(ctx, `SELECT e.id, e.status, coalesce(e.error, ''), o.id, o.status
		FROM billing_events e LEFT JOIN topup_orders o ON o.id = e.topup_order_id AND o.tenant_id = e.tenant_id
		WHERE e.provider = $1 AND e.provider_event_id = $2`,
		string(ev.Provider), ev.EventID).Scan(&out.EventID, &out.Status, &out.Reason, &orderID, &orderStatus)
	out.OrderID, out.OrderStatus = orderID.String, Status(orderStatus.String)
	return out, err
}

// Transition moves an order by hand (an operator, the manual provider):
// the same rules and ledger postings as events. Moving an order to the
// state it is in does nothing; an impossible move is a *TransitionError.
// Only the system viewer moves orders (privacy.ErrSystemOnly): paying
// credits the tenant.
//
// A move is not rerun after a lost connection (it is an operator's
// decision, and the order may have moved since): when the COMMIT was sent
// and its answer lost, the error is a *retry.OutcomeUnknownError
// (errors.Is(err, retry.ErrOutcomeUnknown)); read the order back.
func (b *Billing) Transition(ctx context.Context, orderID string, to Status) (*ledger.Entry, error) {
	tx, err := b.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	e, err := b.TransitionTx(ctx, tx, orderID, to)
	if err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, retry.Unknown("COMMIT", err)
	}
	return e, nil
}

// TransitionTx is Transition inside the caller's transaction (db.WithTx's
// tx.SQL), so the move, its ledger posting and the caller's other writes
// commit or roll back together. HandleEvent has no such variant: a
// provider event is its own unit of work, deduplicated as it commits.
func (b *Billing) TransitionTx(ctx context.Context, tx *sql.Tx, orderID string, to Status) (*ledger.Entry, error) {
	if err := systemOnly(ctx, "move an order"); err != nil {
		return nil, err
	}
	if err := input.Fields("billing.Transition", input.F("orderID", orderID), input.F("to", to)); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidOrder, err)
	}
	if topuporder.StatusValidator(to) != nil {
		return nil, invalid(ErrInvalidOrder, "status %q", to)
	}
	o, err := lockOrder(ctx, tx, orderByIDSQL, orderID)
	if err != nil {
		return nil, err
	}
	return b.apply(ctx, tx, o, to)
}

// order is the locked row an event or a transition works on.
type order struct {
	ID, TenantID string
	Status       Status
	Credits      int64
	PaidAmount   int64
	PaidCurrency string
}

// systemOnly refuses every viewer but the system: moving an order's money
// is the platform's decision, never a tenant's.
func systemOnly(ctx context.Context, what string) error {
	if err := privacy.RequireSystem(ctx); err != nil {
		return fmt.Errorf("billing: %s: %w", what, err)
	}
	return nil
}

// The order lookups. The row lock serializes concurrent events of one
// order.
const (
	orderCols          = `id, tenant_id, status, credits, paid_amount, paid_currency`
	orderByProviderSQL = `SELECT ` + orderCols + ` FROM topup_orders WHERE provider = $1 AND provider_order_id = $2 FOR UPDATE`
	orderByIDSQL       = `SELECT ` + orderCols + ` FROM topup_orders WHERE id = $1 FOR UPDATE`
)

// lockOrder runs one of the order lookups.
func lockOrder(ctx context.Context, tx *sql.Tx, query string, args ...any) (*order, error) {
	o := &order{}
	err := tx.QueryRowContext(ctx, query, args...).Scan(&o.ID, &o.TenantID, &o.Status, &o.Credits, &o.PaidAmount, &o.PaidCurrency)
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
	switch to {
	case topuporder.StatusPaid:
		entry, err = b.ledger.PostTx(ctx, tx, ledger.Posting{Kind: creditledgerentry.KindTopup, Amount: o.Credits,
			IdempotencyKey: TopupKey(o.ID), TopupOrderID: o.ID, Description: "topup order paid", TenantID: o.TenantID})
	case topuporder.StatusRefunded:
		entry, err = b.ledger.PostTx(ctx, tx, ledger.Posting{Kind: creditledgerentry.KindReversal, Amount: -o.Credits,
			IdempotencyKey: ReversalKey(o.ID), TopupOrderID: o.ID, Description: "topup order refunded", TenantID: o.TenantID})
	}
	if err == nil {
		// The time is a parameter: Citus refuses now() inside CASE
		// (non-IMMUTABLE functions in CASE/COALESCE, SQLSTATE 0A000).
		_, err = tx.ExecContext(ctx, `UPDATE topup_orders SET status = $3::varchar, updated_at = $4,
			paid_at = CASE WHEN $3::varchar = 'paid' THEN $4::timestamptz ELSE paid_at END
			WHERE id = $1 AND tenant_id = $2`, o.ID, o.TenantID, string(to), time.Now())
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
	for _, e := range []error{privacy.ErrTenantInactive, ledger.ErrInsufficientCredits, ledger.ErrInvalidAmount, ledger.ErrIdempotencyConflict,
		ledger.ErrInvalidLink, ledger.ErrInvalidInput} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

func nullable(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }
