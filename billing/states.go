package billing

import (
	"fmt"

	"github.com/leadmetrics/db/ent/topuporder"
)

// Status is a topup order's state.
type Status = topuporder.Status

// transitions is the order state machine. Paid is left only by a refund,
// so a late "failed" cannot undo a payment; refunded and cancelled are
// final. A failed payment may still be retried and succeed.
var transitions = map[Status][]Status{
	topuporder.StatusCreated:   {topuporder.StatusPending, topuporder.StatusPaid, topuporder.StatusFailed, topuporder.StatusCancelled},
	topuporder.StatusPending:   {topuporder.StatusPaid, topuporder.StatusFailed, topuporder.StatusCancelled},
	topuporder.StatusFailed:    {topuporder.StatusPending, topuporder.StatusPaid, topuporder.StatusCancelled},
	topuporder.StatusPaid:      {topuporder.StatusRefunded},
	topuporder.StatusRefunded:  nil,
	topuporder.StatusCancelled: nil,
}

// CanTransition reports whether an order may move from one state to another.
func CanTransition(from, to Status) bool {
	for _, s := range transitions[from] {
		if s == to {
			return true
		}
	}
	return false
}

// TransitionError is a move the state machine refuses.
type TransitionError struct {
	OrderID  string
	From, To Status
}

func (e *TransitionError) Error() string {
	return fmt.Sprintf("billing: order %s cannot go from %s to %s", e.OrderID, e.From, e.To)
}

// Is makes errors.Is(err, ErrInvalidTransition) match.
func (e *TransitionError) Is(target error) bool { return target == ErrInvalidTransition }
