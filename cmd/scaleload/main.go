// Command scaleload loads the skewed scale data set into two scratch databases (main's indexes and statements before issue 13, and this branch's) and prints the scale table with before and after side by side.
//
//	go run ./cmd/scaleload -size 1%                 # load leadmetrics_scale_1 and leadmetrics_scale_1_before
//	go run ./cmd/scaleload -size 10% -bench         # load both, then print the whole before/after table
//	go run ./cmd/scaleload -size 10% -skip-load -bench
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
	"github.com/leadmetrics/db/internal/migrate/pgserver"
	"github.com/leadmetrics/db/internal/scaleload"
	"github.com/leadmetrics/db/migrations"
)

type options struct {
	size, server, name string
	tenants            int
	bench, skip        bool
	load               scaleload.LoadOptions
}

func main() {
	var o options
	flag.StringVar(&o.size, "size", "1%", "fraction of the full data set (1M activities, 10M LLM calls, ...)")
	flag.IntVar(&o.tenants, "tenants", 10000, "tenants, with a 1/rank skew")
	flag.StringVar(&o.server, "url", db.LocalURL, "any database URL on the target server")
	flag.StringVar(&o.name, "db", "", "database of the after variant (the before one gets _before); default leadmetrics_scale_<percent>")
	flag.BoolVar(&o.bench, "bench", false, "print the before/after scale table (statements, index weight, reconcile under posting load, retention)")
	flag.BoolVar(&o.skip, "skip-load", false, "use the databases loaded by an earlier run as they are")
	flag.IntVar(&o.load.Workers, "workers", 8, "posting workers while reconciling")
	flag.DurationVar(&o.load.Duration, "load-time", 10*time.Second, "postings alone, then postings while reconciling (at least one pass)")
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "scaleload:", err)
		os.Exit(1)
	}
}

func run(o options) error {
	ctx := context.Background()
	f, err := scaleload.ParseSize(o.size)
	if err != nil {
		return err
	}
	o.load.Tenants = o.tenants
	if o.name == "" {
		o.name = "leadmetrics_scale_" + strings.ReplaceAll(strconv.FormatFloat(f*100, 'f', -1, 64), ".", "_")
	}
	urls := map[bool]string{}
	reports := map[bool]*scaleload.Report{}
	for _, before := range []bool{true, false} {
		name := o.name
		if before {
			name += "_before"
		}
		if urls[before], err = pgserver.WithDatabase(o.server, name); err != nil {
			return err
		}
		reports[before] = &scaleload.Report{}
		if o.skip {
			continue
		}
		res, err := load(ctx, urls[before], before, scaleload.Spec{Tenants: o.tenants, Fraction: f})
		if err != nil {
			return err
		}
		reports[before].Loaded = res
		var total int64
		for _, t := range scaleload.Tables {
			total += res.Rows[t]
		}
		fmt.Fprintf(os.Stderr, "database %s: %d rows in %s (%.0f rows/s)\n", name, total, res.Duration.Round(1e7), float64(total)/res.Duration.Seconds())
	}
	if !o.bench {
		return nil
	}
	for _, before := range []bool{true, false} {
		if err := measure(ctx, urls[before], before, o, reports[before]); err != nil {
			return err
		}
	}
	scaleload.Compare(os.Stdout, fmt.Sprintf("Scale table at %s: %d tenants, the largest (%s) holds %.1f%% of every table",
		o.size, o.tenants, scaleload.TenantID(1), 100*scaleload.Share(o.tenants, 1)), reports[true], reports[false])
	return nil
}

// load (re)creates the database at u, migrates it (with BeforeSQL for the
// before variant) and loads the data set.
func load(ctx context.Context, u string, before bool, spec scaleload.Spec) (*scaleload.Result, error) {
	if err := pgserver.DropDatabase(ctx, u); err != nil {
		return nil, err
	}
	if _, err := pgserver.EnsureDatabase(ctx, u); err != nil {
		return nil, err
	}
	sqlDB, err := sql.Open("pgx", u)
	if err != nil {
		return nil, err
	}
	defer sqlDB.Close()
	if _, err := migrations.Apply(ctx, sqlDB, migrations.Options{}); err != nil {
		return nil, err
	}
	if before {
		if _, err := sqlDB.ExecContext(ctx, scaleload.BeforeSQL); err != nil {
			return nil, err
		}
	}
	return scaleload.Load(ctx, sqlDB, spec)
}

// measure fills r for the database at u: sizes and statements there, then
// reconciliation under posting load and retention on a copy (both write),
// dropped after, so that a rerun with -skip-load measures the same data.
func measure(ctx context.Context, u string, before bool, o options, r *scaleload.Report) error {
	variant := map[bool]string{true: "before", false: "after"}[before]
	sqlDB, err := sql.Open("pgx", u)
	if err != nil {
		return err
	}
	r.Sizes, err = scaleload.Sizes(ctx, sqlDB)
	sqlDB.Close()
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "%s: statements\n", variant)
	if r.Stats, r.Inserts, err = scaleload.Bench(ctx, u, before, o.tenants); err != nil {
		return err
	}
	name, err := pgserver.DatabaseName(u)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "%s: copy\n", variant)
	work, err := pgserver.CloneDatabase(ctx, u, name+"_work")
	if err != nil {
		return err
	}
	defer pgserver.DropDatabase(context.WithoutCancel(ctx), work)
	fmt.Fprintf(os.Stderr, "%s: reconcile under posting load\n", variant)
	if r.Reconcile, err = scaleload.ReconcileUnderLoad(ctx, work, before, o.load); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "%s: retention\n", variant)
	workDB, err := sql.Open("pgx", work)
	if err != nil {
		return err
	}
	defer workDB.Close()
	r.Retention, err = scaleload.PurgeOldest(ctx, workDB, before)
	return err
}
