// Package retry classifies PostgreSQL errors (failover, connection loss, serialization) and reruns idempotent work inside the caller's deadline.
package retry

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/lib/pq"
)

// Class says whether rerunning the work that failed with an error may
// succeed.
type Class int

const (
	// Permanent: rerunning fails the same way (bad input, a constraint, the
	// caller's own cancellation).
	Permanent Class = iota
	// Conflict: a serialization failure or deadlock (40001, 40P01); the
	// transaction was rolled back, nothing was written.
	Conflict
	// Failover: the connection was lost or the server is not (or no
	// longer) a writable primary: 08xxx, 57P01/57P02/57P03 (shutdown,
	// crash, starting up), 25006 (read-only transaction: a demoted
	// primary or a standby), a refused or reset connection. A write in
	// flight may or may not have committed.
	Failover
)

func (c Class) String() string {
	switch c {
	case Conflict:
		return "conflict"
	case Failover:
		return "failover"
	}
	return "permanent"
}

// ErrOutcomeUnknown matches the error of a write that is not idempotent
// whose connection was lost after it was sent: it may or may not have
// committed. It was not retried; the caller checks (reads the row back)
// before doing it again. Every such error is an *OutcomeUnknownError.
var ErrOutcomeUnknown = errors.New("db: outcome unknown: the connection was lost after the write was sent; check before retrying")

// OutcomeUnknownError is the error of a write that is not idempotent whose
// connection was lost after it was sent (errors.Is(err, ErrOutcomeUnknown)).
// Op names what was in flight; Err is the connection error (its Classify
// is Failover).
type OutcomeUnknownError struct {
	Op  string // "COMMIT", "INSERT", "COPY llm_call_logs", ...
	Err error
}

func (e *OutcomeUnknownError) Error() string {
	return fmt.Sprintf("db: outcome of %s unknown: the connection was lost after it was sent; check before retrying: %v", e.Op, e.Err)
}

func (e *OutcomeUnknownError) Unwrap() error { return e.Err }

// Is makes every OutcomeUnknownError match ErrOutcomeUnknown.
func (e *OutcomeUnknownError) Is(target error) bool { return target == ErrOutcomeUnknown }

// Classify sorts err, from either driver.
func Classify(err error) Class {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return Permanent
	}
	if code := sqlState(err); code != "" {
		switch {
		case code == "40001" || code == "40P01":
			return Conflict
		case len(code) == 5 && code[:2] == "08", code == "57P01", code == "57P02", code == "57P03", code == "25006":
			return Failover
		case code == "XX000" && strings.HasPrefix(sqlMessage(err), citusCommitFailed):
			// Citus: a transaction that wrote to one worker commits there
			// alone (one-phase), and when that COMMIT fails (its worker
			// backend died) the coordinator reports this, whether or not
			// the worker had committed: the outcome is unknown, as with a
			// connection lost during a COMMIT.
			return Failover
		}
		return Permanent
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	switch {
	case errors.As(err, &ce), errors.Is(err, pgconn.ErrConnClosed), errors.Is(err, driver.ErrBadConn),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.EPIPE),
		errors.As(err, &ne):
		return Failover
	}
	return Permanent
}

// citusCommitFailed starts the message of Citus's error for a failed
// commit on a shard's placement (placement_connection.c).
const citusCommitFailed = "could not commit transaction for shard "

func sqlMessage(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Message
	}
	var pqErr *pq.Error
	if errors.As(err, &pqErr) {
		return pqErr.Message
	}
	return ""
}

func sqlState(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code
	}
	var pqErr *pq.Error
	if errors.As(err, &pqErr) {
		return string(pqErr.Code)
	}
	return ""
}

// Retryable reports an error whose work may succeed when rerun (Conflict
// or Failover), if it is idempotent.
func Retryable(err error) bool { return Classify(err) != Permanent }

// Unknown returns err as an *OutcomeUnknownError for op when it is a
// Failover error of a write that may have reached the server (pgx knows
// when nothing was sent), for a write that is not retried; other errors
// are returned as they are. A server's own 57P01 counts: with synchronous
// replication a COMMIT can be applied locally and then cut off while it
// waits for the standby.
func Unknown(op string, err error) error {
	if Classify(err) != Failover || errors.Is(err, ErrOutcomeUnknown) || pgconn.SafeToRetry(err) {
		return err
	}
	return &OutcomeUnknownError{Op: op, Err: err}
}

// Budget bounds the retries of a context without a deadline: a
// pg_auto_failover failover takes about 10 s with scripts/ha.sh's settings
// (50 s with the extension's defaults), a managed service's 30-120 s: a
// call that must ride through one needs its own deadline.
const Budget = 30 * time.Second

// Backoff between attempts: doubling from Base to Max, with full jitter so
// workers that failed together do not return together.
const (
	Base = 50 * time.Millisecond
	Max  = time.Second
)

// Do runs fn, which must be idempotent (a rerun after a committed attempt
// changes nothing and reports what the first did), and reruns it after a
// Conflict or Failover error with backoff, until it succeeds, fails
// otherwise, or the caller's deadline (else Budget) would pass during the
// next wait. The last error is returned, except that a rerun cut short by
// the deadline (its error is the context's, and not an unknown outcome)
// returns the error that caused the rerun; attempts counts the runs.
func Do(ctx context.Context, fn func(ctx context.Context) error) (attempts int, err error) {
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(Budget)
	}
	wait := Base
	var cause error // the error that made the current attempt a rerun
	for {
		attempts++
		err = fn(ctx)
		if cause != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) && errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, ErrOutcomeUnknown) {
			// The deadline ended a rerun before it could tell anything:
			// the failure worth reporting is the one that caused it.
			return attempts, cause
		}
		if err == nil || !Retryable(err) || ctx.Err() != nil {
			return attempts, err
		}
		cause = err
		sleep := time.Duration(rand.Int64N(int64(wait))) + wait/2
		if time.Now().Add(sleep).After(deadline) {
			return attempts, err
		}
		t := time.NewTimer(sleep)
		select {
		case <-ctx.Done():
			t.Stop()
			return attempts, err
		case <-t.C:
		}
		wait = min(wait*2, Max)
	}
}
