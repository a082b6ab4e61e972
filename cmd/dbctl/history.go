package main

import (
	"context"
	"fmt"
	"io"

	"github.com/leadmetrics/db/internal/migrate/history"
	"github.com/leadmetrics/db/migrations"
)

// migrateHistory fails when the directory rewrites history relative to
// --base.
func migrateHistory(ctx context.Context, f *migrateFlags, _ []string, out io.Writer) error {
	dir, err := f.openDir()
	if err != nil {
		return err
	}
	if err := migrations.CheckFileNames(dir); err != nil {
		return err
	}
	commit, how, err := history.ResolveBase(ctx, f.dir, f.base)
	if err != nil {
		return err
	}
	if commit == "" {
		fmt.Fprintf(out, "%s: no git base to compare with (%s)\n", f.dir, how)
		return nil
	}
	if err := history.Check(ctx, f.dir, commit); err != nil {
		return err
	}
	fmt.Fprintf(out, "%s: append-only since %.12s (%s)\n", f.dir, commit, how)
	return nil
}
