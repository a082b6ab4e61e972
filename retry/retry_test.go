package retry_test

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/lib/pq"

	"github.com/leadmetrics/db/retry"
)

func TestClassify(t *testing.T) {
	pg := func(code string) error { return fmt.Errorf("wrapped: %w", &pgconn.PgError{Code: code}) }
	for _, tc := range []struct {
		name string
		err  error
		want retry.Class
	}{
		{"nil", nil, retry.Permanent},
		{"serialization", pg("40001"), retry.Conflict},
		{"deadlock", pg("40P01"), retry.Conflict},
		{"lib/pq serialization", &pq.Error{Code: "40001"}, retry.Conflict},
		{"admin shutdown", pg("57P01"), retry.Failover},
		{"crash shutdown", pg("57P02"), retry.Failover},
		{"cannot connect now", pg("57P03"), retry.Failover},
		{"read-only transaction", pg("25006"), retry.Failover},
		{"connection failure", pg("08006"), retry.Failover},
		{"lib/pq admin shutdown", &pq.Error{Code: "57P01"}, retry.Failover},
		{"unique violation", pg("23505"), retry.Permanent},
		{"check violation", pg("23514"), retry.Permanent},
		{"query canceled", pg("57014"), retry.Permanent},
		{"conn closed", fmt.Errorf("x: %w", pgconn.ErrConnClosed), retry.Failover},
		{"bad conn", driver.ErrBadConn, retry.Failover},
		{"unexpected EOF", fmt.Errorf("read: %w", io.ErrUnexpectedEOF), retry.Failover},
		{"reset", &net.OpError{Op: "read", Err: syscall.ECONNRESET}, retry.Failover},
		{"refused", fmt.Errorf("dial: %w", syscall.ECONNREFUSED), retry.Failover},
		{"connect error", &pgconn.ConnectError{}, retry.Failover},
		{"caller canceled", context.Canceled, retry.Permanent},
		{"caller deadline", fmt.Errorf("q: %w", context.DeadlineExceeded), retry.Permanent},
		{"domain error", errors.New("ledger: insufficient credits"), retry.Permanent},
	} {
		if got := retry.Classify(tc.err); got != tc.want {
			t.Errorf("%s: Classify = %s, want %s", tc.name, got, tc.want)
		}
	}
}

func TestUnknownWrapsFailoverOnly(t *testing.T) {
	lost := fmt.Errorf("commit: %w", io.ErrUnexpectedEOF)
	err := retry.Unknown("COMMIT", lost)
	if !errors.Is(err, retry.ErrOutcomeUnknown) || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("Unknown(connection lost) = %v, want ErrOutcomeUnknown wrapping the cause", err)
	}
	var ue *retry.OutcomeUnknownError
	if !errors.As(err, &ue) || ue.Op != "COMMIT" || !errors.Is(ue.Err, io.ErrUnexpectedEOF) {
		t.Fatalf("errors.As(%v, *OutcomeUnknownError) = %+v, want Op COMMIT and the cause", err, ue)
	}
	if retry.Classify(err) != retry.Failover {
		t.Fatalf("Classify(%v) = %s, want failover (an idempotent caller reruns it)", err, retry.Classify(err))
	}
	if again := retry.Unknown("INSERT", err); again != err {
		t.Fatalf("Unknown of an unknown outcome wrapped it again: %v", again)
	}
	refused := notSent{io.ErrUnexpectedEOF} // a failover error pgx marks as sent nothing
	for _, err := range []error{&pgconn.PgError{Code: "40001"}, &pgconn.PgError{Code: "23505"}, context.Canceled, refused} {
		if errors.Is(retry.Unknown("COMMIT", err), retry.ErrOutcomeUnknown) {
			t.Errorf("Unknown(%v) says outcome unknown: the server answered, nothing was written", err)
		}
	}
}

func TestDoRetriesOnlyRetryable(t *testing.T) {
	ctx := context.Background()
	n := 0
	attempts, err := retry.Do(ctx, func(context.Context) error {
		if n++; n < 3 {
			return &pgconn.PgError{Code: "57P01"}
		}
		return nil
	})
	if err != nil || attempts != 3 {
		t.Fatalf("Do after two failovers = %d attempts, %v; want 3, nil", attempts, err)
	}
	perm := &pgconn.PgError{Code: "23505"}
	attempts, err = retry.Do(ctx, func(context.Context) error { return perm })
	if attempts != 1 || !errors.Is(err, perm) {
		t.Fatalf("Do on a permanent error = %d attempts, %v; want 1 attempt and the error", attempts, err)
	}
}

func TestDoStopsAtTheDeadline(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	lost := fmt.Errorf("x: %w", pgconn.ErrConnClosed)
	attempts, err := retry.Do(ctx, func(context.Context) error { return lost })
	if !errors.Is(err, pgconn.ErrConnClosed) || attempts < 2 {
		t.Fatalf("Do under a deadline = %d attempts, %v; want several attempts then the last error", attempts, err)
	}
}

// TestDoReportsTheCauseOfACutRerun: when the deadline ends a rerun, the
// error returned is the failover that caused it, not the deadline; an
// unknown outcome in that rerun is still returned as it is.
func TestDoReportsTheCauseOfACutRerun(t *testing.T) {
	lost := fmt.Errorf("x: %w", pgconn.ErrConnClosed)
	for _, last := range []error{nil, &retry.OutcomeUnknownError{Op: "COMMIT", Err: context.DeadlineExceeded}} {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		n := 0
		_, err := retry.Do(ctx, func(ctx context.Context) error {
			if n++; n == 1 {
				return lost
			}
			<-ctx.Done() // the rerun outlives the deadline
			if last != nil {
				return last
			}
			return fmt.Errorf("prepare: %w", ctx.Err())
		})
		cancel()
		switch {
		case last == nil && (!errors.Is(err, pgconn.ErrConnClosed) || errors.Is(err, context.DeadlineExceeded)):
			t.Errorf("a rerun cut by the deadline returned %v, want the failover that caused it", err)
		case last != nil && !errors.Is(err, retry.ErrOutcomeUnknown):
			t.Errorf("an unknown outcome in the cut rerun became %v", err)
		}
	}
}

// notSent is a connection error pgx reports as safe to retry: it happened
// before anything was sent (pgconn.SafeToRetry).
type notSent struct{ error }

func (e notSent) Unwrap() error   { return e.error }
func (notSent) SafeToRetry() bool { return true }
