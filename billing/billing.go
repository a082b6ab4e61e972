// Package billing sells credits: topup orders, and the payment provider's webhook events that pay or refund them.
package billing

import (
	"database/sql"
	"errors"
	"fmt"

	"github.com/leadmetrics/db/ent"
	"github.com/leadmetrics/db/ledger"
)

// Billing records orders and provider events and posts their credits
// through the ledger.
type Billing struct {
	client *ent.Client
	db     *sql.DB
	ledger *ledger.Ledger
}

// New returns the billing service over the same database as l.
func New(client *ent.Client, db *sql.DB, l *ledger.Ledger) *Billing {
	return &Billing{client: client, db: db, ledger: l}
}

// Typed errors; test them with errors.Is.
var (
	// ErrInvalidOrder: an order request with a bad field; nothing written.
	ErrInvalidOrder = errors.New("billing: invalid order")
	// ErrOrderConflict: an order's ref id (per tenant) or, on the system's
	// paths, its provider order id is already used by a different order.
	ErrOrderConflict = errors.New("billing: order conflicts with an existing one")
	// ErrPackUnavailable: no active, live credit pack has the id asked for.
	ErrPackUnavailable = errors.New("billing: no such credit pack on sale")
	// ErrInvalidEvent: an event with a bad field; nothing written.
	ErrInvalidEvent = errors.New("billing: invalid event")
	// ErrUnknownOrder: no order has this id.
	ErrUnknownOrder = errors.New("billing: unknown order")
	// ErrInvalidTransition: the order's state machine refuses the move;
	// matched by every *TransitionError.
	ErrInvalidTransition = errors.New("billing: impossible order transition")
	// ErrAmountMismatch: a payment or refund event's amount or currency is
	// not the order's; the event is stored as failed, nothing is credited.
	ErrAmountMismatch = errors.New("billing: event amount does not match the order")
)

func invalid(sentinel error, format string, args ...any) error {
	return fmt.Errorf("%w: %s", sentinel, fmt.Sprintf(format, args...))
}
