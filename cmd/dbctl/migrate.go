package main

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	atlasmigrate "ariga.io/atlas/sql/migrate"

	db "github.com/leadmetrics/db"
	"github.com/leadmetrics/db/internal/migratedev"
	"github.com/leadmetrics/db/internal/pgserver"
	"github.com/leadmetrics/db/migrations"
)

// migrateFlags are shared by the migrate subcommands.
type migrateFlags struct {
	dir         string
	url         string
	devURL      string
	baseline    string
	lockWait    time.Duration
	lockTimeout time.Duration
	latest      int
	base        string
}

func parseMigrateFlags(name string, args []string) (*migrateFlags, []string, error) {
	f := &migrateFlags{}
	fs := flag.NewFlagSet("dbctl migrate "+name, flag.ContinueOnError)
	fs.StringVar(&f.dir, "dir", "migrations", "migration directory")
	fs.StringVar(&f.url, "url", "", "target database URL (default DATABASE_URL, else the local server)")
	fs.StringVar(&f.devURL, "dev-url", os.Getenv("DATABASE_DEV_URL"), "clean dev database for diff and check (default: a throwaway database)")
	fs.StringVar(&f.baseline, "baseline", "", "apply: version the existing schema already matches")
	fs.DurationVar(&f.lockWait, "lock-wait", 2*time.Minute, "apply: how long to wait for another applier")
	fs.DurationVar(&f.lockTimeout, "lock-timeout", migrations.DefaultLockTimeout, "apply: how long a statement waits for a table lock before the file gives up (PostgreSQL lock_timeout; 0: the server's setting)")
	fs.IntVar(&f.latest, "latest", 0, "lint, review: analyze the newest N files (instead of --base)")
	fs.StringVar(&f.base, "base", "auto", "lint, review, history: git revision whose migration files have landed (auto: see MIGRATIONS.md)")
	if err := fs.Parse(args); err != nil {
		return nil, nil, usageError{err.Error()}
	}
	return f, fs.Args(), nil
}

func runMigrate(ctx context.Context, sub string, args []string, out io.Writer) error {
	f, rest, err := parseMigrateFlags(sub, args)
	if err != nil {
		return err
	}
	switch sub {
	case "diff":
		if len(rest) != 1 {
			return usageError{"migrate diff needs exactly one NAME"}
		}
		return migrateDiff(ctx, f, rest[0], out)
	case "check":
		return migrateCheck(ctx, f, out)
	case "validate":
		dir, err := atlasmigrate.NewLocalDir(f.dir)
		if err != nil {
			return err
		}
		if err := migrations.Validate(dir); err != nil {
			return err
		}
		fmt.Fprintf(out, "%s: atlas.sum matches\n", f.dir)
		return nil
	case "hash":
		dir, err := atlasmigrate.NewLocalDir(f.dir)
		if err != nil {
			return err
		}
		sum, err := dir.Checksum()
		if err != nil {
			return err
		}
		return atlasmigrate.WriteSumFile(dir, sum)
	case "apply":
		return migrateApply(ctx, f, out)
	case "status":
		return migrateStatus(ctx, f, out)
	case "lint":
		return migrateLint(ctx, f, out)
	case "review":
		return migrateReview(ctx, f, out)
	case "history":
		return migrateHistory(ctx, f, out)
	}
	return usageError{fmt.Sprintf("unknown migrate subcommand %q", sub)}
}

// targetConfig is the configuration from the environment, with --url.
func (f *migrateFlags) targetConfig() (db.Config, error) {
	cfg, err := db.ConfigFromEnv()
	if err != nil {
		return cfg, err
	}
	if f.url != "" {
		cfg.URL = f.url
	}
	cfg.PoolMin = 1
	// A migration is bounded by --lock-timeout, not by the services'
	// DATABASE_STATEMENT_TIMEOUT: a long index build must not be cut off.
	cfg.StatementTimeout = 0
	return cfg, cfg.Validate()
}

// withDevURL runs fn with a clean dev database: --dev-url, or a throwaway
// one on the target server, dropped afterwards.
func (f *migrateFlags) withDevURL(ctx context.Context, fn func(devURL string) error) error {
	if f.devURL != "" {
		return fn(f.devURL)
	}
	cfg, err := f.targetConfig()
	if err != nil {
		return err
	}
	dsn, err := cfg.DSN()
	if err != nil {
		return err
	}
	devURL, drop, err := pgserver.Throwaway(ctx, dsn, "dbctl_dev")
	if err != nil {
		return fmt.Errorf("create a dev database on %s (or set DATABASE_DEV_URL): %w", cfg.Redacted(), err)
	}
	defer drop()
	return fn(devURL)
}

func migrateDiff(ctx context.Context, f *migrateFlags, name string, out io.Writer) error {
	dir, err := atlasmigrate.NewLocalDir(f.dir)
	if err != nil {
		return err
	}
	if err := migrations.Validate(dir); err != nil {
		return err
	}
	return f.withDevURL(ctx, func(devURL string) error {
		wrote, err := migratedev.Diff(ctx, devURL, dir, name)
		if err != nil {
			return err
		}
		if !wrote {
			fmt.Fprintln(out, "no changes")
			return nil
		}
		files, err := dir.Files()
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "wrote %s/%s and atlas.sum\n", f.dir, files[len(files)-1].Name())
		return nil
	})
}

func migrateCheck(ctx context.Context, f *migrateFlags, out io.Writer) error {
	dir, err := atlasmigrate.NewLocalDir(f.dir)
	if err != nil {
		return err
	}
	if err := migrations.Validate(dir); err != nil {
		return err
	}
	return f.withDevURL(ctx, func(devURL string) error {
		if err := migratedev.Check(ctx, devURL, dir); err != nil {
			return err
		}
		fmt.Fprintln(out, "ent/schema and migrations/ are in sync")
		return nil
	})
}

func migrateApply(ctx context.Context, f *migrateFlags, out io.Writer) error {
	dir, err := atlasmigrate.NewLocalDir(f.dir)
	if err != nil {
		return err
	}
	cfg, err := f.targetConfig()
	if err != nil {
		return err
	}
	sqlDB, err := db.OpenDB(ctx, cfg)
	if err != nil {
		return err
	}
	defer sqlDB.Close()
	res, err := migrations.Apply(ctx, sqlDB, migrations.Options{
		Dir: dir, LockWait: f.lockWait, StatementLockTimeout: cmp.Or(f.lockTimeout, -1), BaselineVersion: f.baseline,
		Log: func(format string, args ...any) { fmt.Fprintf(out, format+"\n", args...) },
	})
	if err != nil {
		return err
	}
	if len(res.Applied) == 0 {
		fmt.Fprintf(out, "no pending migrations; database at version %s\n", res.Current)
		return nil
	}
	fmt.Fprintf(out, "applied %d migration(s); database at version %s\n", len(res.Applied), res.Current)
	return nil
}

func migrateStatus(ctx context.Context, f *migrateFlags, out io.Writer) error {
	dir, err := atlasmigrate.NewLocalDir(f.dir)
	if err != nil {
		return err
	}
	cfg, err := f.targetConfig()
	if err != nil {
		return err
	}
	sqlDB, err := db.OpenDB(ctx, cfg)
	if err != nil {
		return err
	}
	defer sqlDB.Close()
	st, err := migrations.Status(ctx, sqlDB, dir)
	if err != nil {
		return err
	}
	pending := 0
	for _, s := range st {
		line := fmt.Sprintf("%-16s %-9s %s", s.Version, s.State, s.Description)
		if s.Error != "" {
			line += "  error: " + s.Error
		}
		fmt.Fprintln(out, line)
		if s.State != "applied" && s.State != "baseline" {
			pending++
		}
	}
	fmt.Fprintf(out, "%d file(s), %d not applied\n", len(st), pending)
	return nil
}
