package db

import (
	"context"
	"database/sql"
	"time"

	entsql "entgo.io/ent/dialect/sql"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	_ "github.com/lib/pq" // registers the "postgres" driver

	"github.com/leadmetrics/db/ent"
	_ "github.com/leadmetrics/db/ent/runtime" // policies, hooks and defaults
)

// Open connects with cfg, checks the server answers, and returns a ready
// Ent client. Close the client to release the pool.
func Open(ctx context.Context, cfg Config) (*ent.Client, error) {
	sqlDB, err := OpenDB(ctx, cfg)
	if err != nil {
		return nil, err
	}
	drv := entsql.OpenDB("postgres", sqlDB)
	return ent.NewClient(ent.Driver(drv)), nil
}

// OpenDB returns the configured *sql.DB underneath the client, for raw SQL,
// migrations and COPY. It is connected and its minimum pool is open.
func OpenDB(ctx context.Context, cfg Config) (*sql.DB, error) {
	dsn, err := cfg.validDSN()
	if err != nil {
		return nil, err
	}
	var sqlDB *sql.DB
	switch cfg.Driver {
	case DriverPgx:
		pcfg, err := pgxpool.ParseConfig(dsn)
		if err != nil {
			return nil, &ConfigError{"DATABASE_URL", redactErr(err, cfg.URL)}
		}
		pcfg.ConnConfig.ConnectTimeout = cfg.effectiveConnectTimeout()
		pcfg.MinConns = int32(cfg.PoolMin)
		pcfg.MaxConns = int32(cfg.PoolMax)
		pool, err := pgxpool.NewWithConfig(ctx, pcfg)
		if err != nil {
			return nil, cfg.connectError(ctx, err)
		}
		sqlDB = stdlib.OpenDBFromPool(pool)
	case DriverPQ:
		if sqlDB, err = sql.Open(DriverPQ, dsn); err != nil {
			return nil, &ConfigError{"DATABASE_URL", redactErr(err, cfg.URL)}
		}
	}
	sqlDB.SetMaxOpenConns(cfg.PoolMax)
	sqlDB.SetMaxIdleConns(cfg.PoolMax)
	sqlDB.SetConnMaxIdleTime(0)
	if err := warm(ctx, sqlDB, cfg.PoolMin, cfg.effectiveConnectTimeout()); err != nil {
		sqlDB.Close()
		return nil, cfg.connectError(ctx, err)
	}
	return sqlDB, nil
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
