package db

import (
	"context"
	"database/sql"
	"fmt"
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
		pcfg.MinConns = int32(cfg.PoolMin)
		pcfg.MaxConns = int32(cfg.PoolMax)
		pool, err := pgxpool.NewWithConfig(ctx, pcfg)
		if err != nil {
			return nil, fmt.Errorf("db: connect to %s: %s", cfg.Redacted(), redactErr(err, cfg.URL))
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
	if err := warm(ctx, sqlDB, cfg.PoolMin); err != nil {
		sqlDB.Close()
		return nil, fmt.Errorf("db: connect to %s: %s", cfg.Redacted(), redactErr(err, cfg.URL))
	}
	return sqlDB, nil
}

// warm opens n connections, one after another, and returns them to the idle pool, so
// the first requests do not pay for the handshake; it also proves the
// server answers.
func warm(ctx context.Context, db *sql.DB, n int) error {
	n = max(n, 1)
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	conns := make([]*sql.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range n {
		c, err := db.Conn(ctx)
		if err != nil {
			return err
		}
		conns = append(conns, c)
		if err := c.PingContext(ctx); err != nil {
			return err
		}
	}
	return nil
}

// redactErr renders err with every secret of rawURL removed.
func redactErr(err error, rawURL string) string { return Scrub(err.Error(), rawURL) }
