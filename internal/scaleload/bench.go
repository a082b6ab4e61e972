package scaleload

import (
	"context"
	"database/sql"
	"io"
)

// Bench prints the scale table (placeholder until the queries are defined).
func Bench(ctx context.Context, db *sql.DB, w io.Writer) error { return nil }
