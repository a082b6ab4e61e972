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
	"github.com/leadmetrics/db/internal/migrate/dev"
	"github.com/leadmetrics/db/internal/pgserver"
	"github.com/leadmetrics/db/migrations"
)

// migrateFlags are shared by the migrate subcommands; each registers the
// groups it reads.
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

// Flag groups a migrate command registers.
const (
	fDir    = 1 << iota // --dir
	fURL                // --url
	fDev                // --dev-url
	fApply              // apply's flags
	fBase               // --base, --latest
	fStatus             // status's flags
)

func (f *migrateFlags) register(fs *flag.FlagSet, groups int) {
	if groups&fDir != 0 {
		fs.StringVar(&f.dir, "dir", "migrations", "migration directory")
	}
	if groups&fURL != 0 {
		fs.StringVar(&f.url, "url", "", "target database URL (default DATABASE_URL, else the local server)")
	}
	if groups&fDev != 0 {
		fs.StringVar(&f.devURL, "dev-url", os.Getenv("DATABASE_DEV_URL"), "clean dev database (default: a throwaway database on the target server)")
	}
	if groups&fApply != 0 {
		fs.StringVar(&f.baseline, "baseline", "", "version the existing schema already matches")
		fs.DurationVar(&f.lockWait, "lock-wait", 2*time.Minute, "how long to wait for another applier")
		fs.DurationVar(&f.lockTimeout, "lock-timeout", migrations.DefaultLockTimeout, "how long a statement waits for a table lock before the file gives up (PostgreSQL lock_timeout; 0: the server's setting)")
	}
	if groups&fBase != 0 {
		fs.IntVar(&f.latest, "latest", 0, "analyze the newest N files (instead of --base)")
		fs.StringVar(&f.base, "base", "auto", "git revision whose migration files have landed (auto: see MIGRATIONS.md)")
	}
}

// migrateCommand builds a command's setup from its flag groups and runner.
func migrateCommand(groups int, fn func(ctx context.Context, f *migrateFlags, args []string, out io.Writer) error) func(*flag.FlagSet) func(context.Context, []string, io.Writer) error {
	return func(fs *flag.FlagSet) func(context.Context, []string, io.Writer) error {
		f := &migrateFlags{}
		f.register(fs, groups)
		return func(ctx context.Context, args []string, out io.Writer) error { return fn(ctx, f, args, out) }
	}
}

func migrateValidate(ctx context.Context, f *migrateFlags, _ []string, out io.Writer) error {
	dir, err := atlasmigrate.NewLocalDir(f.dir)
	if err != nil {
		return err
	}
	if err := migrations.Validate(dir); err != nil {
		return err
	}
	fmt.Fprintf(out, "%s: atlas.sum matches\n", f.dir)
	return nil
}

func migrateHash(ctx context.Context, f *migrateFlags, _ []string, out io.Writer) error {
	dir, err := atlasmigrate.NewLocalDir(f.dir)
	if err != nil {
		return err
	}
	sum, err := dir.Checksum()
	if err != nil {
		return err
	}
	return atlasmigrate.WriteSumFile(dir, sum)
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

func migrateDiff(ctx context.Context, f *migrateFlags, args []string, out io.Writer) error {
	name := args[0]
	dir, err := atlasmigrate.NewLocalDir(f.dir)
	if err != nil {
		return err
	}
	if err := migrations.Validate(dir); err != nil {
		return err
	}
	return f.withDevURL(ctx, func(devURL string) error {
		wrote, err := dev.Diff(ctx, devURL, dir, name)
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

func migrateCheck(ctx context.Context, f *migrateFlags, _ []string, out io.Writer) error {
	dir, err := atlasmigrate.NewLocalDir(f.dir)
	if err != nil {
		return err
	}
	if err := migrations.Validate(dir); err != nil {
		return err
	}
	return f.withDevURL(ctx, func(devURL string) error {
		if err := dev.Check(ctx, devURL, dir); err != nil {
			return err
		}
		fmt.Fprintln(out, "ent/schema and migrations/ are in sync")
		return nil
	})
}

func migrateApply(ctx context.Context, f *migrateFlags, _ []string, out io.Writer) error {
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

func migrateStatus(ctx context.Context, f *migrateFlags, _ []string, out io.Writer) error {
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
