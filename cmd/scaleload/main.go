// Command scaleload creates a scratch database migrated with the real migrations and loads the skewed scale data set into it.
//
//	go run ./cmd/scaleload -size 1%            # database leadmetrics_scale_1
//	go run ./cmd/scaleload -size 10% -tenants 10000 -bench
package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"

	_ "github.com/jackc/pgx/v5/stdlib"

	db "github.com/leadmetrics/db"
	"github.com/leadmetrics/db/internal/pgserver"
	"github.com/leadmetrics/db/internal/scaleload"
	"github.com/leadmetrics/db/migrations"
)

func main() {
	size := flag.String("size", "1%", "fraction of the full data set (1M activities, 10M LLM calls, ...)")
	tenants := flag.Int("tenants", 10000, "tenants, with a 1/rank skew")
	server := flag.String("url", db.LocalURL, "any database URL on the target server")
	name := flag.String("db", "", "database to (re)create; default leadmetrics_scale_<percent>")
	bench := flag.Bool("bench", false, "after loading (or with -skip-load), print the scale table")
	skip := flag.Bool("skip-load", false, "use the existing database as is")
	before := flag.Bool("before", false, "main's indexes and statements before issue 13 (database suffix _before)")
	flag.Parse()
	if err := run(*size, *tenants, *server, *name, *bench, *skip, *before); err != nil {
		fmt.Fprintln(os.Stderr, "scaleload:", err)
		os.Exit(1)
	}
}

func run(size string, tenants int, server, name string, bench, skip, before bool) error {
	ctx := context.Background()
	f, err := scaleload.ParseSize(size)
	if err != nil {
		return err
	}
	if name == "" {
		name = "leadmetrics_scale_" + strings.ReplaceAll(strconv.FormatFloat(f*100, 'f', -1, 64), ".", "_")
		if before {
			name += "_before"
		}
	}
	u, err := pgserver.WithDatabase(server, name)
	if err != nil {
		return err
	}
	if !skip {
		if err := pgserver.DropDatabase(ctx, u); err != nil {
			return err
		}
		if _, err := pgserver.EnsureDatabase(ctx, u); err != nil {
			return err
		}
	}
	sqlDB, err := sql.Open("pgx", u)
	if err != nil {
		return err
	}
	defer sqlDB.Close()
	if !skip {
		if _, err := migrations.Apply(ctx, sqlDB, migrations.Options{}); err != nil {
			return err
		}
		if before {
			if _, err := sqlDB.ExecContext(ctx, scaleload.BeforeSQL); err != nil {
				return err
			}
		}
		res, err := scaleload.Load(ctx, sqlDB, scaleload.Spec{Tenants: tenants, Fraction: f})
		if err != nil {
			return err
		}
		var total int64
		for _, t := range scaleload.Tables {
			total += res.Rows[t]
		}
		fmt.Printf("database %s: %d rows in %s (%.0f rows/s); largest tenant %s holds %.1f%%\n",
			name, total, res.Duration.Round(1e7), float64(total)/res.Duration.Seconds(),
			scaleload.TenantID(1), 100*scaleload.Share(tenants, 1))
	}
	if err := printSizes(ctx, sqlDB); err != nil {
		return err
	}
	if bench {
		return scaleload.Bench(ctx, u, before, tenants, os.Stdout)
	}
	return nil
}

// printSizes prints, per loaded table, its rows and heap and index bytes per row.
func printSizes(ctx context.Context, sqlDB *sql.DB) error {
	fmt.Printf("%-24s %10s %10s %10s %8s\n", "table", "rows", "heap B/row", "index B/row", "indexes")
	for _, t := range append(scaleload.Tables, "credit_balances") {
		var rows, heap, idx, n int64
		if err := sqlDB.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM `+t+`), pg_relation_size($1), pg_indexes_size($1),
			(SELECT count(*) FROM pg_index WHERE indrelid = $1::regclass)`, t).Scan(&rows, &heap, &idx, &n); err != nil {
			return err
		}
		fmt.Printf("%-24s %10d %10d %10d %8d\n", t, rows, heap/max(rows, 1), idx/max(rows, 1), n)
	}
	return nil
}
