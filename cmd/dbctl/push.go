package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/leadmetrics/db/internal/dbconfig"
	"github.com/leadmetrics/db/internal/migrate/dev"
	"github.com/leadmetrics/db/internal/migrate/pgserver"
	"github.com/leadmetrics/db/migrations"
)

// errHasRevisions: schema push refuses a database the migrations manage.
var errHasRevisions = errors.New("the database has migration revisions: its schema belongs to migrations/")

// errHasTenants: migrate reset refuses a database holding tenants.
var errHasTenants = errors.New("the database holds tenants")

// pushCommand is "dbctl schema push": the current ent/schema applied
// straight to a development database, no migration file.
func pushCommand(fs *flag.FlagSet) func(context.Context, []string, io.Writer) error {
	f := &migrateFlags{}
	f.register(fs, fURL|fDev|fSchema)
	dryRun := fs.Bool("dry-run", false, "print the SQL and change nothing")
	force := fs.Bool("force", false, "push even to a database that has migration revisions")
	return func(ctx context.Context, _ []string, out io.Writer) error {
		tables, err := f.loadTables()
		if err != nil {
			return err
		}
		return f.withTarget(ctx, func(cfg dbconfig.Config, sqlDB *sql.DB) error {
			if has, err := migrations.HasRevisions(ctx, sqlDB); err != nil {
				return err
			} else if has && !*force {
				return fmt.Errorf("schema push: %w (%s): push is for prototyping on a development database; "+
					"write a migration with 'dbctl migrate diff NAME', or pass --force", errHasRevisions, cfg.Redacted())
			}
			var n int
			err := f.withDevURL(ctx, func(devURL string) (err error) {
				n, err = dev.Push(ctx, sqlDB, devURL, tables, *dryRun, func(stmt string) { fmt.Fprintf(out, "%s;\n", stmt) })
				return err
			})
			switch {
			case err != nil:
				return err
			case n == 0:
				fmt.Fprintf(out, "%s already matches %s\n", cfg.Redacted(), f.schema)
			case *dryRun:
				fmt.Fprintf(out, "-- dry run: %d statement(s) not applied to %s\n", n, cfg.Redacted())
			default:
				fmt.Fprintf(out, "-- applied %d statement(s) to %s\n", n, cfg.Redacted())
			}
			return nil
		})
	}
}

// migrateReset empties the target database (every non-system schema,
// the migration history included) and applies every migration, in one
// transaction: for development databases only. Dropping schemas rather
// than the database needs no CREATEDB privilege.
func migrateReset(ctx context.Context, f *migrateFlags, _ []string, out io.Writer) error {
	dir, err := f.validDir()
	if err != nil {
		return err
	}
	return f.withTarget(ctx, func(cfg dbconfig.Config, sqlDB *sql.DB) error {
		n, err := tenantCount(ctx, sqlDB)
		if err != nil {
			return err
		}
		if n > 0 && !f.force {
			return fmt.Errorf("migrate reset: %w (%d) in %s: reset is for development databases; pass --force to drop them", errHasTenants, n, cfg.Redacted())
		}
		if err := dropSchemas(ctx, sqlDB); err != nil {
			return err
		}
		fmt.Fprintf(out, "emptied %s\n", cfg.Redacted())
		res, err := migrations.Apply(ctx, sqlDB, migrations.Options{Dir: dir,
			Log: func(format string, args ...any) { fmt.Fprintf(out, format+"\n", args...) }})
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "applied %d migration(s); database at version %s\n", len(res.Applied), res.Current)
		return nil
	})
}

// dropSchemas drops every non-system schema and recreates an empty public.
func dropSchemas(ctx context.Context, sqlDB *sql.DB) error {
	_, err := sqlDB.ExecContext(ctx, `DO $$
DECLARE s text;
BEGIN
  FOR s IN SELECT nspname FROM pg_namespace
    WHERE nspname NOT LIKE 'pg\_%' AND nspname <> 'information_schema'
  LOOP
    EXECUTE format('DROP SCHEMA %I CASCADE', s);
  END LOOP;
  CREATE SCHEMA public;
END $$`)
	if err != nil {
		return fmt.Errorf("migrate reset: drop schemas: %w", err)
	}
	return nil
}

// withTarget runs fn on the target database, created when missing.
func (f *migrateFlags) withTarget(ctx context.Context, fn func(dbconfig.Config, *sql.DB) error) error {
	cfg, sqlDB, err := f.openTarget(ctx, true)
	if err != nil {
		return err
	}
	defer sqlDB.Close()
	return fn(cfg, sqlDB)
}

// openTarget opens the target database, creating it first with create.
func (f *migrateFlags) openTarget(ctx context.Context, create bool) (dbconfig.Config, *sql.DB, error) {
	cfg, err := f.targetConfig()
	if err != nil {
		return cfg, nil, err
	}
	if create {
		dsn, err := cfg.DSN()
		if err != nil {
			return cfg, nil, err
		}
		if _, err := pgserver.EnsureDatabase(ctx, dsn); err != nil {
			return cfg, nil, err
		}
	}
	sqlDB, err := dbconfig.Connect(ctx, cfg)
	return cfg, sqlDB, err
}

// tenantCount counts the tenants, deleted or not; 0 without the table.
func tenantCount(ctx context.Context, sqlDB *sql.DB) (int, error) {
	var exists bool
	if err := sqlDB.QueryRowContext(ctx, `SELECT to_regclass('public.tenants') IS NOT NULL`).Scan(&exists); err != nil || !exists {
		return 0, err
	}
	var n int
	err := sqlDB.QueryRowContext(ctx, `SELECT count(*) FROM public.tenants`).Scan(&n)
	return n, err
}
