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
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	db "github.com/leadmetrics/db"
	"github.com/leadmetrics/db/internal/pgserver"
	"github.com/leadmetrics/db/internal/scaleload"
	"github.com/leadmetrics/db/migrations"
	"github.com/leadmetrics/db/privacy"
	"github.com/leadmetrics/db/retention"
)

func main() {
	size := flag.String("size", "1%", "fraction of the full data set (1M activities, 10M LLM calls, ...)")
	tenants := flag.Int("tenants", 10000, "tenants, with a 1/rank skew")
	server := flag.String("url", db.LocalURL, "any database URL on the target server")
	name := flag.String("db", "", "database to (re)create; default leadmetrics_scale_<percent>")
	bench := flag.Bool("bench", false, "after loading (or with -skip-load), print the scale table")
	skip := flag.Bool("skip-load", false, "use the existing database as is")
	purge := flag.Bool("retention", false, "purge the oldest 10% of LLM calls (destructive) and report time, WAL and ledger rows rewritten")
	before := flag.Bool("before", false, "main's indexes and statements before issue 13 (database suffix _before)")
	flag.Parse()
	if err := run(*size, *tenants, *server, *name, *bench, *skip, *before, *purge); err != nil {
		fmt.Fprintln(os.Stderr, "scaleload:", err)
		os.Exit(1)
	}
}

func run(size string, tenants int, server, name string, bench, skip, before, purge bool) error {
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
		if err := scaleload.Bench(ctx, u, before, tenants, os.Stdout); err != nil {
			return err
		}
	}
	if purge {
		return purgeOldest(ctx, sqlDB, before)
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

// purgeOldest deletes the LLM calls older than 90% of the loaded year:
// before, as plain batched deletes (the foreign key's ON DELETE SET NULL
// rewrites the ledger entries of billed calls); after, with retention.Purge.
func purgeOldest(ctx context.Context, sqlDB *sql.DB, before bool) error {
	age := time.Duration(0.9 * 365 * 24 * float64(time.Hour))
	var lsn0 string
	if err := sqlDB.QueryRowContext(ctx, `SELECT pg_current_wal_lsn()::text`).Scan(&lsn0); err != nil {
		return err
	}
	start := time.Now()
	var n int64
	if before {
		rows, err := sqlDB.QueryContext(ctx, `SELECT id FROM tenants ORDER BY id`)
		if err != nil {
			return err
		}
		var ids []string
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				return err
			}
			ids = append(ids, id)
		}
		rows.Close()
		for _, id := range ids {
			for {
				r, err := sqlDB.ExecContext(ctx, `DELETE FROM llm_call_logs WHERE id IN (SELECT id FROM llm_call_logs
					WHERE tenant_id = $1 AND created_at < $2 ORDER BY created_at LIMIT 5000)`, id, time.Now().Add(-age))
				if err != nil {
					return err
				}
				k, _ := r.RowsAffected()
				n += k
				if k < 5000 {
					break
				}
			}
		}
	} else {
		res, err := retention.Purge(privacy.WithSystem(ctx), sqlDB,
			[]retention.Policy{{Table: retention.LLMCalls, MaxAge: age}}, retention.Options{})
		if err != nil {
			return err
		}
		n = res[retention.LLMCalls]
	}
	took := time.Since(start)
	var wal, rewritten int64
	if err := sqlDB.QueryRowContext(ctx, `SELECT pg_current_wal_lsn() - $1::pg_lsn,
		(SELECT count(*) FROM credit_ledger_entries WHERE kind = 'usage' AND llm_call_id IS NULL)`, lsn0).Scan(&wal, &rewritten); err != nil {
		return err
	}
	fmt.Printf("retention of LLM calls older than %s: %d rows deleted in %s, %d WAL bytes (%d per row), %d ledger entries rewritten\n",
		age.Round(time.Hour), n, took.Round(time.Millisecond), wal, wal/max(n, 1), rewritten)
	return nil
}
