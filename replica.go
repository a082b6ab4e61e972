package db

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"

	"github.com/leadmetrics/db/internal/dbconfig"
	"github.com/leadmetrics/db/internal/runtime/readonly"
	"github.com/leadmetrics/db/retry"
)

// ErrReadOnly matches a write (an Ent mutation, WithTx without the
// ReadOnly option, a ledger posting) under a context marked by ReadOnlyContext.
var ErrReadOnly = readonly.ErrWrite

// ReadOnlyContext marks ctx for reads that may be slightly stale: the handle's
// Ent client and Reader serve them from DATABASE_READ_URL's standbys while
// one answers and its replay lag is at most DATABASE_MAX_REPLICA_LAG, and
// from the primary otherwise. Writes under it are refused (ErrReadOnly).
func ReadOnlyContext(ctx context.Context) context.Context { return readonly.With(ctx) }

// IsReadOnlyContext reports whether ctx was marked by ReadOnlyContext.
func IsReadOnlyContext(ctx context.Context) bool { return readonly.Is(ctx) }

// replicaCheckEvery bounds how often the standby's health and lag are
// measured; between checks the last answer stands.
const replicaCheckEvery = time.Second

// replica is the pool on DATABASE_READ_URL, opened on first use (a standby
// down when the service starts does not stop it), and its last check.
type replica struct {
	cfg Config

	mu      sync.Mutex
	db      *sql.DB
	driver  clientDriver
	checked time.Time
	usable  bool
	lag     time.Duration
	lastErr error
}

// readURL adds target_session_attrs=prefer-standby to a read URL that sets
// none, so a multi-host list picks a standby when one answers.
func readURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw // Validate reports it
	}
	q := u.Query()
	if q.Get("target_session_attrs") == "" {
		q.Set("target_session_attrs", "prefer-standby")
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// get returns the standby pool when it answers and is not too far behind,
// else nil (read from the primary).
func (r *replica) get(ctx context.Context) (*sql.DB, clientDriver) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if time.Since(r.checked) < replicaCheckEvery {
		if r.usable {
			return r.db, r.driver
		}
		return nil, nil
	}
	r.checked = time.Now()
	r.usable, r.lastErr = false, nil
	timeout := min(dbconfig.ConnectTimeout(r.cfg), 2*time.Second)
	if timeout <= 0 {
		timeout = 2 * time.Second
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	if r.db == nil {
		cfg := r.cfg
		cfg.URL, cfg.PoolMin = readURL(cfg.URL), 0
		sqlDB, _, err := openPool(cctx, cfg)
		if err != nil {
			r.lastErr = err
			return nil, nil
		}
		r.db, r.driver = sqlDB, newClientDriver(sqlDB)
	}
	// Lag: zero when everything received is replayed (an idle primary
	// sends nothing, so the last replay's age alone would grow forever).
	var lagSeconds float64
	err := r.db.QueryRowContext(cctx, `SELECT CASE
		WHEN NOT pg_is_in_recovery() OR pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
		ELSE coalesce(extract(epoch FROM now() - pg_last_xact_replay_timestamp()), 0) END`).Scan(&lagSeconds)
	if err != nil {
		r.lastErr = err
		return nil, nil
	}
	r.lag = time.Duration(lagSeconds * float64(time.Second))
	if r.cfg.MaxReplicaLag > 0 && r.lag > r.cfg.MaxReplicaLag {
		r.lastErr = fmt.Errorf("db: standby replay lag %v over DATABASE_MAX_REPLICA_LAG %v", r.lag, r.cfg.MaxReplicaLag)
		return nil, nil
	}
	r.usable = true
	return r.db, r.driver
}

func (r *replica) close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.db == nil {
		return nil
	}
	return r.db.Close()
}

// Reader returns the pool to read from under ctx: a standby's when ctx is
// ReadOnlyContext and one is usable, else the primary's (SQL). Raw SQL run on it
// is not checked for writes: a standby refuses them, the primary does not.
func (d *DB) Reader(ctx context.Context) *sql.DB {
	if d.replica != nil && IsReadOnlyContext(ctx) {
		if r, _ := d.replica.get(ctx); r != nil {
			return r
		}
	}
	return d.SQL
}

// routeDriver is the Ent driver of Open's client: under a ReadOnlyContext
// context, queries go to a usable standby (else the primary) and writes
// are refused; otherwise everything goes to the primary.
type routeDriver struct {
	clientDriver // the primary
	replica      *replica
}

// Exec outside a transaction is one autocommitted write: a lost
// connection leaves its outcome unknown (ErrOutcomeUnknown).
func (r routeDriver) Exec(ctx context.Context, query string, args, v any) error {
	if IsReadOnlyContext(ctx) {
		return ErrReadOnly
	}
	if err := r.clientDriver.Exec(ctx, query, args, v); err != nil {
		return retry.Unknown(verb(query), err)
	}
	return nil
}

func (r routeDriver) Query(ctx context.Context, query string, args, v any) error {
	if !IsReadOnlyContext(ctx) {
		err := r.clientDriver.Query(ctx, query, args, v)
		if err != nil && isWrite(query) {
			return retry.Unknown(verb(query), err)
		}
		return err
	}
	if isWrite(query) {
		return ErrReadOnly // Ent's INSERT ... RETURNING and UPDATE ... RETURNING are queries
	}
	if r.replica != nil {
		if _, drv := r.replica.get(ctx); drv != nil {
			return drv.Query(ctx, query, args, v)
		}
	}
	return r.clientDriver.Query(ctx, query, args, v)
}

// Close closes the primary's pool and the standby's.
func (r routeDriver) Close() error {
	err := r.clientDriver.Close()
	if r.replica != nil {
		if rerr := r.replica.close(); err == nil {
			err = rerr
		}
	}
	return err
}

func (r routeDriver) Tx(ctx context.Context) (dialect.Tx, error) { return r.BeginTx(ctx, nil) }

func (r routeDriver) BeginTx(ctx context.Context, opts *sql.TxOptions) (dialect.Tx, error) {
	if IsReadOnlyContext(ctx) && (opts == nil || !opts.ReadOnly) {
		return nil, ErrReadOnly
	}
	tx, err := r.clientDriver.BeginTx(ctx, opts)
	if err != nil {
		return nil, err
	}
	if t, ok := tx.(*entsql.Tx); ok {
		return commitTx{t}, nil
	}
	return tx, nil
}

// commitTx is an Ent transaction whose COMMIT, lost with its connection,
// is ErrOutcomeUnknown. It keeps *entsql.Tx's ExecContext and QueryContext,
// which the transactional client's raw SQL (tx.ExecContext) needs.
type commitTx struct{ *entsql.Tx }

func (t commitTx) Commit() error { return retry.Unknown("COMMIT", t.Tx.Commit()) }

// isWrite reports a statement that starts with a writing keyword: the
// statements Ent builds never hide a write in a CTE.
func isWrite(query string) bool {
	switch verb(query) {
	case "INSERT", "UPDATE", "DELETE", "MERGE", "COPY", "TRUNCATE":
		return true
	}
	return false
}

// verb is the statement's first keyword, upper case.
func verb(query string) string {
	word, _, _ := strings.Cut(strings.TrimSpace(query), " ")
	return strings.ToUpper(word)
}
