package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/leadmetrics/db/internal/cli"
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
		if f.format.JSON() {
			return cli.WriteJSON(out, historyJSON{Dir: f.dir, How: how, AppendOnly: true, Violations: []history.Violation{}})
		}
		fmt.Fprintf(out, "%s: no git base to compare with (%s)\n", f.dir, how)
		return nil
	}
	err = history.Check(ctx, f.dir, commit)
	if f.format.JSON() {
		doc := historyJSON{Dir: f.dir, Base: commit, How: how, AppendOnly: err == nil, Violations: []history.Violation{}}
		var he *history.Error
		if errors.As(err, &he) {
			doc.Violations = he.Violations
		} else if err != nil {
			return err
		}
		if jerr := cli.WriteJSON(out, doc); jerr != nil {
			return jerr
		}
		if err != nil {
			return cli.ExitError{Err: err, Code: 1}
		}
		return nil
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "%s: append-only since %.12s (%s)\n", f.dir, commit, how)
	return nil
}
