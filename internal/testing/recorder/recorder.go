// Package recorder is an Ent driver for tests that keeps the queries a
// client sends, to EXPLAIN them or check their text.
package recorder

import (
	"context"
	"database/sql"
	"sync"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"
)

// Statement is one query the client sent, with its arguments.
type Statement struct {
	SQL  string
	Args []any
}

// Driver passes every call to the Ent driver it wraps and records queries.
type Driver struct {
	dialect.Driver
	mu    sync.Mutex
	stmts []Statement
}

// Open wraps an Ent PostgreSQL driver on sqlDB.
func Open(sqlDB *sql.DB) *Driver {
	return &Driver{Driver: entsql.OpenDB(dialect.Postgres, sqlDB)}
}

// Query records the query, then runs it.
func (d *Driver) Query(ctx context.Context, query string, args, v any) error {
	a, _ := args.([]any)
	d.mu.Lock()
	d.stmts = append(d.stmts, Statement{query, a})
	d.mu.Unlock()
	return d.Driver.Query(ctx, query, args, v)
}

// Take returns the queries recorded since the last Take and forgets them.
func (d *Driver) Take() []Statement {
	d.mu.Lock()
	defer d.mu.Unlock()
	s := d.stmts
	d.stmts = nil
	return s
}
