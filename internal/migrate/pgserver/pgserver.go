// Package pgserver creates and drops databases on a PostgreSQL server, for
// the operator command, throwaway dev databases and tests.
package pgserver

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver

	"github.com/leadmetrics/db/cuid"
)

// WithDatabase returns rawURL pointing at database name instead.
func WithDatabase(rawURL, name string) (string, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", errors.New("pgserver: unparsable database URL")
	}
	u.Path = "/" + name
	return u.String(), nil
}

// DatabaseName returns the database a URL names.
func DatabaseName(rawURL string) (string, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", errors.New("pgserver: unparsable database URL")
	}
	name := strings.TrimPrefix(u.Path, "/")
	if name == "" {
		return "", errors.New("pgserver: the database URL names no database")
	}
	return name, nil
}

// admin opens the server's maintenance database for rawURL.
func admin(rawURL string) (*sql.DB, error) {
	adminURL, err := WithDatabase(rawURL, "postgres")
	if err != nil {
		return nil, err
	}
	return sql.Open("pgx", adminURL)
}

// EnsureDatabase creates the database rawURL names when it does not exist
// and reports whether it did.
func EnsureDatabase(ctx context.Context, rawURL string) (bool, error) {
	name, err := DatabaseName(rawURL)
	if err != nil {
		return false, err
	}
	db, err := admin(rawURL)
	if err != nil {
		return false, err
	}
	defer db.Close()
	var exists bool
	if err := db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil {
		return false, fmt.Errorf("pgserver: %w", err)
	}
	if exists {
		return false, nil
	}
	_, err = db.ExecContext(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42P04" { // created concurrently
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("pgserver: create database %s: %w", name, err)
	}
	return true, nil
}

// Throwaway creates an empty database named after prefix on the server of
// rawURL and returns its URL and a function that drops it.
func Throwaway(ctx context.Context, rawURL, prefix string) (string, func(), error) {
	name := prefix + "_" + cuid.New()
	devURL, err := WithDatabase(rawURL, name)
	if err != nil {
		return "", nil, err
	}
	if _, err := EnsureDatabase(ctx, devURL); err != nil {
		return "", nil, err
	}
	drop := func() { _ = DropDatabase(context.WithoutCancel(ctx), devURL) }
	return devURL, drop, nil
}

// DropDatabase drops the database rawURL names, closing its sessions.
func DropDatabase(ctx context.Context, rawURL string) error {
	name, err := DatabaseName(rawURL)
	if err != nil {
		return err
	}
	db, err := admin(rawURL)
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = db.ExecContext(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
	return err
}

// CloneDatabase (re)creates the database dst on rawURL's server as a copy
// of the one rawURL names, which must have no other session, and returns
// its URL. The copy is of files (STRATEGY FILE_COPY): a checkpoint, little
// WAL, seconds per GB.
func CloneDatabase(ctx context.Context, rawURL, dst string) (string, error) {
	src, err := DatabaseName(rawURL)
	if err != nil {
		return "", err
	}
	dstURL, err := WithDatabase(rawURL, dst)
	if err != nil {
		return "", err
	}
	if err := DropDatabase(ctx, dstURL); err != nil {
		return "", err
	}
	db, err := admin(rawURL)
	if err != nil {
		return "", err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "CREATE DATABASE "+pgx.Identifier{dst}.Sanitize()+" TEMPLATE "+pgx.Identifier{src}.Sanitize()+" STRATEGY FILE_COPY"); err != nil {
		return "", fmt.Errorf("pgserver: copy %s to %s: %w", src, dst, err)
	}
	return dstURL, nil
}

// Tables lists the base tables of the public schema, sorted.
func Tables(ctx context.Context, db *sql.DB) ([]string, error) {
	return Strings(ctx, db, `SELECT table_name FROM information_schema.tables
		WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name`)
}

// Strings returns the first column of query's rows.
func Strings(ctx context.Context, db interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, query string, args ...any) ([]string, error) {
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
