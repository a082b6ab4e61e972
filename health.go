package db

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/leadmetrics/db/migrations"
)

// PoolStats describes the handle's one pool.
type PoolStats struct {
	Max, Open, InUse, Idle int
	Waits                  int64         // acquisitions that had to wait for a connection
	WaitTime               time.Duration // total time spent waiting
}

// Stats reads the pool's counters (pgxpool with the pgx driver, else
// database/sql's).
func (d *DB) Stats() PoolStats {
	if d.pool != nil {
		st := d.pool.Stat()
		return PoolStats{Max: int(st.MaxConns()), Open: int(st.TotalConns()), InUse: int(st.AcquiredConns()),
			Idle: int(st.IdleConns()), Waits: st.EmptyAcquireCount(), WaitTime: st.EmptyAcquireWaitTime()}
	}
	st := d.SQL.Stats()
	return PoolStats{Max: st.MaxOpenConnections, Open: st.OpenConnections, InUse: st.InUse, Idle: st.Idle,
		Waits: st.WaitCount, WaitTime: st.WaitDuration}
}

// Health is what Check found.
type Health struct {
	Pool      PoolStats
	Saturated bool                 // every connection is in use: new requests wait
	Latency   time.Duration        // of the probe query
	Schema    *migrations.Versions // the database's migrations against this binary's
}

// ErrUnavailable matches a Check whose database did not answer.
var ErrUnavailable = errors.New("db: database unavailable")

// Check is a readiness probe: it runs one query, reads the pool's
// saturation and compares the database's migrations with the embedded
// files. A database behind (Schema.Pending) is reported, not an error; a
// database ahead of this binary returns a *migrations.AheadError naming
// the newer versions (errors.Is(err, migrations.ErrAhead)); a database
// that does not answer returns ErrUnavailable.
func (d *DB) Check(ctx context.Context) (*Health, error) {
	h := &Health{Pool: d.Stats()}
	h.Saturated = h.Pool.InUse >= h.Pool.Max
	start := time.Now()
	conn, err := d.SQL.Conn(ctx)
	if err == nil {
		defer conn.Close()
		err = conn.PingContext(ctx)
	}
	if err != nil {
		return h, fmt.Errorf("%w: %w", ErrUnavailable, RedactError(err, d.cfg.URL))
	}
	if h.Schema, err = migrations.Compare(ctx, conn, nil); err != nil {
		return h, fmt.Errorf("%w: %w", ErrUnavailable, RedactError(err, d.cfg.URL))
	}
	h.Latency = time.Since(start)
	return h, h.Schema.AheadErr()
}
