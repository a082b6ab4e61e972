package ledger

import (
	"errors"
	"fmt"

	"github.com/leadmetrics/db/privacy"
)

// Typed errors; test them with errors.Is. A posting that fails with any of
// them has written nothing.
var (
	// ErrInsufficientCredits: a debit other than usage would take the
	// balance below zero.
	ErrInsufficientCredits = errors.New("ledger: insufficient credits")
	// ErrInvalidAmount: zero, the wrong sign for the kind, or a balance
	// that would leave the int64 range.
	ErrInvalidAmount = errors.New("ledger: invalid amount")
	// ErrIdempotencyConflict: the key was already applied with another kind
	// or amount (or the LLM call was already recorded under another key).
	ErrIdempotencyConflict = errors.New("ledger: idempotency key reused with different content")
	// ErrInvalidKind: not one of the entry kinds.
	ErrInvalidKind = errors.New("ledger: invalid entry kind")
	// ErrInvalidKey: the idempotency key is empty or too long.
	ErrInvalidKey = errors.New("ledger: invalid idempotency key")
	// ErrInvalidLink: a linked order, LLM call, activity or agent config is
	// not a row of the viewer's tenant. It also matches
	// privacy.ErrCrossTenantRef.
	ErrInvalidLink = fmt.Errorf("ledger: linked row is not the tenant's: %w", privacy.ErrCrossTenantRef)
	// ErrInvalidInput: another field of the request is invalid. A NUL
	// byte or invalid UTF-8 in any string (or metadata value) is reported
	// as an *input.ValidationError that matches both this and
	// input.ErrInvalid.
	ErrInvalidInput = errors.New("ledger: invalid input")
	// ErrFuturePeriod: a plan grant for a time after now (beyond
	// GrantClockSkew).
	ErrFuturePeriod = errors.New("ledger: grant period is in the future")
	// ErrPlanInactive: the tenant's plan is soft-deleted or not active, and
	// grants nothing.
	ErrPlanInactive = errors.New("ledger: plan is deleted or inactive")
)

// InsufficientError says by how much a debit fell short.
type InsufficientError struct {
	Balance, Amount int64
}

func (e *InsufficientError) Error() string {
	return fmt.Sprintf("ledger: insufficient credits: balance %d, debit %d", e.Balance, -e.Amount)
}

// Is makes errors.Is(err, ErrInsufficientCredits) match.
func (e *InsufficientError) Is(target error) bool { return target == ErrInsufficientCredits }

func invalid(sentinel error, format string, args ...any) error {
	return fmt.Errorf("%w: %s", sentinel, fmt.Sprintf(format, args...))
}

// inputError makes a refusal of the input package match ErrInvalidInput too.
func inputError(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%w: %w", ErrInvalidInput, err)
}
