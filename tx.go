package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"

	"github.com/leadmetrics/db/ent"
	"github.com/leadmetrics/db/internal/runtime/entpgx"
	"github.com/leadmetrics/db/privacy"
	"github.com/leadmetrics/db/retry"
)

// Tx is one database transaction with both faces: an Ent client whose
// every query and mutation (hooks and policies included) runs in it, and
// the *sql.Tx for raw SQL and ledger.PostTx.
type Tx struct {
	*ent.Client
	SQL *sql.Tx
}

// ErrTxConflict matches a transaction that failed on a serialization
// failure (SQLSTATE 40001) or a deadlock (40P01) and was not retried
// (or failed on every attempt): rerunning it may succeed.
var ErrTxConflict = errors.New("db: transaction conflict (serialization failure or deadlock)")

// TxOption tunes WithTx.
type TxOption func(*txOptions)

type txOptions struct {
	sql.TxOptions
	attempts   int  // 1 unless the caller declared the function idempotent
	idempotent bool // rerun after a failover too
}

// Idempotent declares that fn may run more than once: everything it does
// goes through the transaction (no e-mails, no external calls, no state
// kept between attempts) and a rerun after a committed attempt changes
// nothing (keys, upserts by (tenant_id, ref_id)). A serialization failure
// or deadlock reruns it, up to attempts times in all (3 when attempts <=
// 1); a failover or lost connection reruns it with backoff inside the
// caller's deadline (retry.Do), whatever attempts says.
func Idempotent(attempts int) TxOption {
	return func(o *txOptions) {
		o.attempts = attempts
		if attempts <= 1 {
			o.attempts = 3
		}
		o.idempotent = true
	}
}

// Isolation sets the transaction's isolation level (default: the
// server's, READ COMMITTED).
func Isolation(level sql.IsolationLevel) TxOption {
	return func(o *txOptions) { o.Isolation = level }
}

// ReadOnly starts a READ ONLY transaction.
func ReadOnly() TxOption { return func(o *txOptions) { o.ReadOnly = true } }

// WithTx runs fn in one transaction on the handle's pool and commits when
// fn returns nil. An error or a panic in fn rolls everything back (the
// panic continues). Ent writes through tx.Client and ledger postings
// through ledger.PostTx(ctx, tx.SQL, ...) commit or roll back together.
//
// A serialization failure or deadlock is retried only when the caller
// passed Idempotent; otherwise, and after the last attempt, the error
// matches ErrTxConflict.
func (d *DB) WithTx(ctx context.Context, fn func(ctx context.Context, tx *Tx) error, opts ...TxOption) error {
	return runTx(ctx, d.SQL, fn, opts...)
}

func runTx(ctx context.Context, sqlDB *sql.DB, fn func(ctx context.Context, tx *Tx) error, opts ...TxOption) error {
	o := txOptions{attempts: 1}
	for _, opt := range opts {
		opt(&o)
	}
	if IsReadOnlyContext(ctx) && !o.ReadOnly {
		return ErrReadOnly
	}
	conflicts := 0
	var err error
	run := func(ctx context.Context) error {
		err = runTxOnce(ctx, sqlDB, fn, &o.TxOptions)
		switch retry.Classify(err) {
		case retry.Conflict:
			if conflicts++; conflicts >= o.attempts {
				return nil // stop: err is kept
			}
			return err
		case retry.Failover:
			if o.idempotent {
				return err
			}
		}
		return nil
	}
	if _, rerr := retry.Do(ctx, run); rerr != nil {
		err = rerr
	}
	if retry.Classify(err) == retry.Conflict {
		return fmt.Errorf("%w (attempt %d of %d): %w", ErrTxConflict, max(conflicts, 1), o.attempts, err)
	}
	return err
}

func runTxOnce(ctx context.Context, sqlDB *sql.DB, fn func(ctx context.Context, tx *Tx) error, opts *sql.TxOptions) (err error) {
	sqlTx, err := sqlDB.BeginTx(ctx, opts)
	if err != nil {
		return err
	}
	done := false
	defer func() {
		if !done {
			sqlTx.Rollback() // a panic in fn: undo, then let it continue
		}
	}()
	p, _ := entpgx.Lookup(sqlDB) // lib/pq: the zero mode, statements as they are
	drv := &txDriver{Conn: entpgx.TxConn(sqlTx, p.Mode)}
	tx := &Tx{Client: ent.NewClient(ent.Driver(drv)), SQL: sqlTx}
	if err := fn(ctx, tx); err != nil {
		done = true
		if rerr := sqlTx.Rollback(); rerr != nil && !errors.Is(rerr, sql.ErrTxDone) {
			return errors.Join(err, fmt.Errorf("db: rollback: %w", rerr))
		}
		return err
	}
	done = true
	err = sqlTx.Commit()
	drv.committed()
	if err != nil {
		// The COMMIT was sent: unless the server answered, it may have
		// been applied (an idempotent caller reruns and finds out).
		return retry.Unknown("COMMIT", err)
	}
	return nil
}

// txDriver is the Ent driver inside WithTx: statements go to the *sql.Tx,
// and the transactions Ent opens for multi-statement writes (edges,
// bulk) are no-ops inside it, as in Ent's own transactional client. It
// runs the functions hooks register with AfterCommit once the COMMIT is
// sent (the lifecycle gate drops its cache there: privacy.AfterCommitter).
type txDriver struct {
	entsql.Conn
	mu          sync.Mutex
	afterCommit []func()
}

var _ privacy.AfterCommitter = (*txDriver)(nil)

func (d *txDriver) Tx(context.Context) (dialect.Tx, error) { return dialect.NopTx(d), nil }
func (*txDriver) Close() error                             { return nil }
func (*txDriver) Dialect() string                          { return dialect.Postgres }

// AfterCommit runs fn once the transaction's COMMIT has been sent, whatever
// its answer (a COMMIT whose answer is lost may have been applied); never
// after a rollback.
func (d *txDriver) AfterCommit(fn func()) {
	d.mu.Lock()
	d.afterCommit = append(d.afterCommit, fn)
	d.mu.Unlock()
}

// committed runs the AfterCommit functions.
func (d *txDriver) committed() {
	d.mu.Lock()
	fns := d.afterCommit
	d.afterCommit = nil
	d.mu.Unlock()
	for _, fn := range fns {
		fn()
	}
}

// ErrOutcomeUnknown matches the error of a write whose connection was lost
// after it was sent (a COMMIT without an answer): it may have been
// applied. Writes not declared idempotent are not retried; check, then
// decide.
var ErrOutcomeUnknown = retry.ErrOutcomeUnknown

// OutcomeUnknownError is the type of every ErrOutcomeUnknown error
// (errors.As): what was in flight (Op) and the connection error.
type OutcomeUnknownError = retry.OutcomeUnknownError

// Retry runs fn, which must be idempotent (ledger postings, LLM call
// recordings, webhook handling, upserts by (tenant_id, ref_id)), and
// reruns it after a failover, a lost connection or a serialization
// failure, with backoff inside ctx's deadline (30 s without one).
func Retry(ctx context.Context, fn func(ctx context.Context) error) error {
	_, err := retry.Do(ctx, fn)
	return err
}
