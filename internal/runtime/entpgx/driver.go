// Package entpgx is Ent's dialect.Driver on a pgx pool, without database/sql between them.
//
// Through database/sql every statement outside a transaction borrows a
// connection wrapper, builds per-column conversion closures and arms a
// timer when it gives the wrapper back; here a statement is one pgxpool
// acquire and pgx's own scanning. Each statement gets the execution mode
// of its plan class (internal/runtime/plans). Transactions, and the client's raw
// ExecContext/QueryContext, go through database/sql on the same pool, so
// *sql.Tx and *sql.Rows stay what callers get from the client today.
package entpgx

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/leadmetrics/db/internal/runtime/plans"
)

// Driver runs Ent's statements on a pgx pool.
type Driver struct {
	pool *pgxpool.Pool
	db   *sql.DB // the same pool through database/sql
	mode plans.Mode
}

// Dialect is PostgreSQL.
func (*Driver) Dialect() string { return dialect.Postgres }

// Exec runs a statement that returns no rows; v is nil or *sql.Result.
func (d *Driver) Exec(ctx context.Context, query string, args, v any) error {
	argv, ok := args.([]any)
	if !ok {
		return fmt.Errorf("entpgx: invalid type %T, expect []any for args", args)
	}
	tag, err := d.pool.Exec(ctx, query, d.mode.Args(query, argv)...)
	if err != nil {
		return err
	}
	switch v := v.(type) {
	case nil:
	case *sql.Result:
		*v = result(tag)
	default:
		return fmt.Errorf("entpgx: invalid type %T, expect *sql.Result", v)
	}
	return nil
}

// Query runs a statement that returns rows into v (*entsql.Rows). Like
// database/sql on pgx, it reads up to the first row before returning, so
// a statement's error (a constraint, a lost connection) is Query's error.
func (d *Driver) Query(ctx context.Context, query string, args, v any) error {
	vr, ok := v.(*entsql.Rows)
	if !ok {
		return fmt.Errorf("entpgx: invalid type %T, expect *sql.Rows", v)
	}
	argv, ok := args.([]any)
	if !ok {
		return fmt.Errorf("entpgx: invalid type %T, expect []any for args", args)
	}
	rows, err := d.pool.Query(ctx, query, d.mode.Args(query, argv)...)
	if err != nil {
		return err
	}
	r := &Rows{rows: rows, preloaded: true}
	r.more = rows.Next()
	if err := rows.Err(); err != nil {
		rows.Close()
		return err
	}
	*vr = entsql.Rows{ColumnScanner: r}
	return nil
}

// Tx begins a transaction through database/sql.
func (d *Driver) Tx(ctx context.Context) (dialect.Tx, error) { return d.BeginTx(ctx, nil) }

// BeginTx begins a transaction through database/sql; its statements get
// their class's mode too.
func (d *Driver) BeginTx(ctx context.Context, opts *sql.TxOptions) (dialect.Tx, error) {
	tx, err := d.db.BeginTx(ctx, opts)
	if err != nil {
		return nil, err
	}
	return &entsql.Tx{Conn: TxConn(tx, d.mode), Tx: tx}, nil
}

// TxConn is the Ent connection of a database/sql transaction whose
// statements get the mode of their class.
func TxConn(tx *sql.Tx, mode plans.Mode) entsql.Conn {
	return entsql.Conn{ExecQuerier: plans.Classed{ExecQuerier: tx, Mode: mode}}
}

// ExecContext is database/sql's, for the client's raw SQL.
func (d *Driver) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return d.db.ExecContext(ctx, query, args...)
}

// QueryContext is database/sql's, for the client's raw SQL.
func (d *Driver) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return d.db.QueryContext(ctx, query, args...)
}

// Close closes the pool (through the *sql.DB, whose connector owns it).
func (d *Driver) Close() error { return d.db.Close() }

// result is an Exec's outcome as database/sql reports it.
type result pgconn.CommandTag

func (r result) RowsAffected() (int64, error) { return pgconn.CommandTag(r).RowsAffected(), nil }

func (result) LastInsertId() (int64, error) {
	return 0, errors.New("entpgx: LastInsertId is not supported by PostgreSQL (use RETURNING)")
}

var (
	_ dialect.Driver       = (*Driver)(nil)
	_ entsql.ColumnScanner = (*Rows)(nil)
)
