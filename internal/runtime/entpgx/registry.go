package entpgx

import (
	"database/sql"
	"sync"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/leadmetrics/db/internal/runtime/plans"
)

// pools maps each *sql.DB the layer opened on pgx to its pgxpool, so code
// that is handed the *sql.DB (ledger.New, db.NewClient) can run its hot
// statements on the pool directly.
var pools sync.Map // *sql.DB -> Pool

// Pool is a pgx pool behind a *sql.DB, with the mode its statements get.
type Pool struct {
	*pgxpool.Pool
	Mode plans.Mode
}

// Register records that db runs on pool: behind a transaction pooler
// (pooled), and on a Citus coordinator (citus).
func Register(db *sql.DB, pool *pgxpool.Pool, pooled, citus bool) {
	pools.Store(db, Pool{pool, plans.Mode{Pgx: true, Pooled: pooled, Citus: citus}})
}

// Unregister forgets db (it is closed).
func Unregister(db *sql.DB) { pools.Delete(db) }

// Lookup returns the pool behind db, if the layer opened db on pgx.
func Lookup(db *sql.DB) (Pool, bool) {
	p, ok := pools.Load(db)
	if !ok {
		return Pool{}, false
	}
	return p.(Pool), true
}

// ForDB returns Ent's driver on db's pgx pool; false when the layer did
// not open db on pgx (then Ent uses database/sql's driver).
func ForDB(db *sql.DB) (*Driver, bool) {
	p, ok := Lookup(db)
	if !ok {
		return nil, false
	}
	return &Driver{pool: p.Pool, db: db, mode: p.Mode}, true
}
