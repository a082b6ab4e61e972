package db

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	_ "github.com/lib/pq" // registers the "postgres" driver

	"github.com/leadmetrics/db/ent"
	_ "github.com/leadmetrics/db/ent/runtime" // policies, hooks and defaults
	"github.com/leadmetrics/db/internal/dbconfig"
	"github.com/leadmetrics/db/internal/runtime/entpgx"
	"github.com/leadmetrics/db/internal/runtime/plans"
	"github.com/leadmetrics/db/migrations"
)

// DB is one connection pool with both faces: the Ent client (embedded, so
// h.User.Query() works) and the *sql.DB under it, for raw SQL, migrations,
// COPY and the ledger. Both share the pool: DATABASE_POOL_MAX bounds them
// together. Close releases the pool.
type DB struct {
	*ent.Client
	SQL *sql.DB

	pool    *pgxpool.Pool // the pool under SQL with the pgx driver; nil with lib/pq
	replica *replica      // DATABASE_READ_URL's pool; nil without one
	cfg     Config
}

// Open connects with cfg, checks the server answers, and returns the Ent
// client and the *sql.DB on one pool.
func Open(ctx context.Context, cfg Config) (*DB, error) {
	sqlDB, pool, err := openPool(ctx, cfg)
	if err != nil {
		return nil, err
	}
	d := &DB{SQL: sqlDB, pool: pool, cfg: cfg}
	if cfg.ReadURL != "" {
		r := cfg
		r.URL, r.ReadURL = cfg.ReadURL, ""
		d.replica = &replica{cfg: r}
	}
	d.Client = ent.NewClient(ent.Driver(routeDriver{newClientDriver(sqlDB), d.replica}))
	return d, nil
}

// Pool is the pgx pool under the handle, for pgx's own API (CopyFrom,
// batches, statements without database/sql); nil with
// DATABASE_DRIVER=postgres. It is the one pool: SQL and the Ent client
// use it too. Its statements run unnamed and are planned for their values
// (a list's plan depends on the tenant's size); pass
// pgx.QueryExecModeCacheStatement as the first argument of a statement
// whose plan cannot (a lookup by unique key, an insert) to have it prepared
// once per connection.
func (d *DB) Pool() *pgxpool.Pool { return d.pool }

// NewClient returns an Ent client on an existing pool (from OpenDB), with
// the policies and hooks of ent/runtime registered, and Open's client's
// rules: a write whose connection is lost after it was sent is
// ErrOutcomeUnknown, writes under ReadOnlyContext are ErrReadOnly.
// Closing the client closes sqlDB.
func NewClient(sqlDB *sql.DB) *ent.Client {
	return ent.NewClient(ent.Driver(routeDriver{clientDriver: newClientDriver(sqlDB)}))
}

// clientDriver is what the client's driver must do: Ent's statements,
// transactions with options, and the client's raw SQL.
type clientDriver interface {
	dialect.Driver
	BeginTx(ctx context.Context, opts *sql.TxOptions) (dialect.Tx, error)
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// newClientDriver is Ent's driver on sqlDB: straight on its pgx pool when this
// package opened it (internal/runtime/entpgx), else through database/sql.
func newClientDriver(sqlDB *sql.DB) clientDriver {
	if d, ok := entpgx.ForDB(sqlDB); ok {
		return d
	}
	return entsql.OpenDB(dialect.Postgres, sqlDB)
}

// OpenDB returns the configured *sql.DB alone, for tools that need no Ent
// client (migrations, dbctl). It is connected and its minimum pool is open.
// Do not call it next to Open for the same service: that is two pools;
// use Open's SQL field.
func OpenDB(ctx context.Context, cfg Config) (*sql.DB, error) {
	sqlDB, _, err := openPool(ctx, cfg)
	return sqlDB, err
}

func openPool(ctx context.Context, cfg Config) (*sql.DB, *pgxpool.Pool, error) {
	dsn, err := dbconfig.ValidDSN(cfg)
	if err != nil {
		return nil, nil, err
	}
	var sqlDB *sql.DB
	switch cfg.Driver {
	case DriverPgx:
		pcfg, err := pgxpool.ParseConfig(dsn)
		if err != nil {
			return nil, nil, &ConfigError{Variable: "DATABASE_URL", Reason: redactErr(err, cfg.URL)}
		}
		pcfg.ConnConfig.ConnectTimeout = dbconfig.ConnectTimeout(cfg)
		pcfg.MinConns = int32(cfg.PoolMin)
		pcfg.MaxConns = int32(cfg.PoolMax)
		// After a failover (docs/OPERATIONS.md): pgx closes a connection
		// whose statement failed on the network, pings one idle for over
		// a second before lending it, and this sweep drops dead idle ones
		// and refills MinConns on the new primary.
		pcfg.HealthCheckPeriod = healthCheckPeriod
		instrument(cfg, pcfg)
		// Plans per statement class (internal/runtime/plans): unnamed statements,
		// planned for their values, unless the statement is a Point one.
		if !strings.Contains(dsn, "default_query_exec_mode=") {
			pcfg.ConnConfig.DefaultQueryExecMode = plans.Default
		}
		started := new(atomic.Int32) // connection attempts begun, for warmPool
		pcfg.BeforeConnect = func(context.Context, *pgx.ConnConfig) error { started.Add(1); return nil }
		pool, err := pgxpool.NewWithConfig(ctx, pcfg)
		if err != nil {
			return nil, nil, dbconfig.WrapConnectError(cfg, ctx, err)
		}
		// pgxpool is the only pool: database/sql keeps no connections of
		// its own (each would pin a pgxpool connection) and sets no limit
		// (callers wait in pgxpool, where the wait is measured), and
		// closing the *sql.DB closes the pgxpool.
		conn := &poolConnector{Connector: stdlib.GetPoolConnector(pool), pool: pool}
		sqlDB = sql.OpenDB(conn)
		conn.db = sqlDB
		sqlDB.SetMaxIdleConns(0)
		if err := warmPool(ctx, pool, started, cfg.PoolMin, pcfg.ConnConfig.ConnectTimeout); err != nil {
			go sqlDB.Close() // waits for attempts still hanging on a silent server
			return nil, nil, dbconfig.WrapConnectError(cfg, ctx, err)
		}
		// On Citus, statements pinned to a tenant run named too
		// (internal/runtime/plans): one question per pool, at open.
		citus, err := migrations.HasCitus(ctx, sqlDB)
		if err != nil {
			sqlDB.Close()
			return nil, nil, dbconfig.WrapConnectError(cfg, ctx, err)
		}
		entpgx.Register(sqlDB, pool, cfg.Pooler != "", citus)
		if err := recordPoolStats(cfg, pool); err != nil {
			sqlDB.Close()
			return nil, nil, fmt.Errorf("db: pool metrics: %w", err)
		}
		return sqlDB, pool, nil
	case DriverPQ:
		if sqlDB, err = sql.Open(DriverPQ, dsn); err != nil {
			return nil, nil, &ConfigError{Variable: "DATABASE_URL", Reason: redactErr(err, cfg.URL)}
		}
	}
	sqlDB.SetMaxOpenConns(cfg.PoolMax)
	sqlDB.SetMaxIdleConns(cfg.PoolMax)
	sqlDB.SetConnMaxIdleTime(0)
	if err := warm(ctx, sqlDB, cfg.PoolMin, dbconfig.ConnectTimeout(cfg)); err != nil {
		sqlDB.Close()
		return nil, nil, dbconfig.WrapConnectError(cfg, ctx, err)
	}
	return sqlDB, nil, nil
}

// healthCheckPeriod is how often pgxpool checks its idle connections
// (pgx's default is a minute).
const healthCheckPeriod = 5 * time.Second

// poolConnector is pgx's pool connector whose Close (called by
// sql.DB.Close) closes the pgxpool.
type poolConnector struct {
	driver.Connector
	pool *pgxpool.Pool
	db   *sql.DB
}

func (c *poolConnector) Close() error {
	entpgx.Unregister(c.db)
	c.pool.Close()
	return nil
}

// warmPool waits for pgxpool's own background connections to reach
// MinConns, so the first requests do not pay for the handshake, then pings
// one of them to prove the server answers. Opening them ourselves would
// race the pool and leave more than MinConns open.
func warmPool(ctx context.Context, pool *pgxpool.Pool, started *atomic.Int32, n int, timeout time.Duration) error {
	start := time.Now()
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for n > 0 {
		st := pool.Stat()
		if int(st.IdleConns()+st.AcquiredConns()) >= n {
			break
		}
		if int(started.Load()) >= n && st.ConstructingConns() == 0 {
			// The background attempts failed: a ping shows why, unless
			// they already used up the connect timeout.
			if timeout > 0 && time.Since(start) >= timeout {
				return fmt.Errorf("no answer: %w", context.DeadlineExceeded)
			}
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
	return pool.Ping(ctx)
}

// warm opens n connections, one after another, and returns them to the idle pool, so
// the first requests do not pay for the handshake; it also proves the
// server answers. Each connection gets the connect timeout, in case the
// driver's own limit does not cover a step.
func warm(parent context.Context, db *sql.DB, n int, timeout time.Duration) error {
	n = max(n, 1)
	conns := make([]*sql.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range n {
		ctx, cancel := parent, context.CancelFunc(func() {})
		if timeout > 0 {
			// A little slack, so the driver's own timeout fires first.
			ctx, cancel = context.WithTimeout(parent, timeout+timeout/4)
		}
		err := warmOne(ctx, db, &conns)
		cancel()
		if err != nil {
			return err
		}
	}
	return nil
}

func warmOne(ctx context.Context, db *sql.DB, conns *[]*sql.Conn) error {
	c, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	*conns = append(*conns, c)
	return c.PingContext(ctx)
}

// redactErr renders err with every secret of rawURL removed.
func redactErr(err error, rawURL string) string { return Scrub(err.Error(), rawURL) }
