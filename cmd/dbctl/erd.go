package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/leadmetrics/db/internal/migrate/dev"
	"github.com/leadmetrics/db/internal/migrate/erd"
)

// erdCommand writes docs/schema.md from the schema the migration directory
// builds on a dev database, or with --check fails when it is stale.
func erdCommand(fs *flag.FlagSet) func(context.Context, []string, io.Writer) error {
	f := &migrateFlags{}
	f.register(fs, fDir|fURL|fDev)
	path := fs.String("out", filepath.Join("docs", "schema.md"), "document to write")
	check := fs.Bool("check", false, "do not write: fail when the document is stale")
	return func(ctx context.Context, _ []string, out io.Writer) error {
		return schemaERD(ctx, f, *path, *check, out)
	}
}

func schemaERD(ctx context.Context, f *migrateFlags, path string, check bool, out io.Writer) error {
	dir, err := f.validDir()
	if err != nil {
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
