package db

import "github.com/jackc/pgx/v5"

// SetPoolerExecMode swaps the query mode used behind a pooler, for the
// benchmark that compares the candidates; it returns the restore func.
func SetPoolerExecMode(m pgx.QueryExecMode) func() {
	old := poolerExecMode
	poolerExecMode = m
	return func() { poolerExecMode = old }
}
