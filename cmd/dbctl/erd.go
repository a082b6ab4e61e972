package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	atlasmigrate "ariga.io/atlas/sql/migrate"

	"github.com/leadmetrics/db/internal/erd"
	"github.com/leadmetrics/db/internal/migrate/dev"
	"github.com/leadmetrics/db/migrations"
)

// schemaERD writes docs/schema.md from the schema the migration directory
// builds on a dev database, or with --check fails when it is stale.
func schemaERD(ctx context.Context, args []string, out io.Writer) error {
	f := &migrateFlags{}
	var path string
	var check bool
	fs := flag.NewFlagSet("dbctl schema erd", flag.ContinueOnError)
	fs.StringVar(&f.dir, "dir", "migrations", "migration directory")
	fs.StringVar(&f.url, "url", "", "server for the throwaway dev database (default DATABASE_URL, else the local server)")
	fs.StringVar(&f.devURL, "dev-url", os.Getenv("DATABASE_DEV_URL"), "clean dev database (default: a throwaway database)")
	fs.StringVar(&path, "out", filepath.Join("docs", "schema.md"), "document to write")
	fs.BoolVar(&check, "check", false, "do not write: fail when the document is stale")
	if err := fs.Parse(args); err != nil {
		return usageError{err.Error()}
	}
	dir, err := atlasmigrate.NewLocalDir(f.dir)
	if err != nil {
		return err
	}
	if err := migrations.Validate(dir); err != nil {
		return err
	}
	var doc []byte
	err = f.withDevURL(ctx, func(devURL string) error {
		realm, err := dev.Inspect(ctx, devURL, dir)
		if err != nil {
			return err
		}
		doc = erd.Render(realm)
		return nil
	})
	if err != nil {
		return err
	}
	if check {
		if err := erd.Check(path, doc); err != nil {
			return err
		}
		fmt.Fprintf(out, "%s is up to date\n", path)
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(path, doc, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(out, "wrote %s\n", path)
	return nil
}
