package main

import (
	"context"
	"fmt"
	"io"
	"os"

	atlasmigrate "ariga.io/atlas/sql/migrate"

	"github.com/leadmetrics/db/internal/migrate/history"
	"github.com/leadmetrics/db/internal/migrate/lint"
)

// migrateLint analyzes the new files and fails on error findings.
func migrateLint(ctx context.Context, f *migrateFlags, _ []string, out io.Writer) error {
	res, err := f.lintNew(ctx)
	if err != nil {
		return err
	}
	if f.format.JSON() {
		if err := writeLintJSON(out, f.dir, res, false); err != nil {
			return err
		}
	} else {
		lint.WriteText(out, f.dir, res)
	}
	return res.Err()
}

// lintNew validates the directory, splits it into landed and new files and
// lints the new ones on a dev database.
func (f *migrateFlags) lintNew(ctx context.Context) (*lint.Result, error) {
	dir, err := f.validDir()
	if err != nil {
		return nil, err
	}
	base, added, err := f.splitNew(ctx, dir)
	if err != nil {
		return nil, err
	}
	var res *lint.Result
	err = f.withDevURL(ctx, func(devURL string) error {
		res, err = lint.Run(ctx, devURL, base, added)
		return err
	})
	return res, err
}

// splitNew picks the new files: the newest --latest N, else those missing
// at --base; with no base to compare with, the newest file.
func (f *migrateFlags) splitNew(ctx context.Context, dir *atlasmigrate.LocalDir) (base, added []atlasmigrate.File, err error) {
	files, err := dir.Files()
	if err != nil {
		return nil, nil, err
	}
	if f.latest > 0 {
		base, added = lint.Latest(files, f.latest)
		return base, added, nil
	}
	commit, how, err := history.ResolveBase(ctx, f.dir, f.base)
	if err != nil {
		return nil, nil, err
	}
	if commit == "" {
		fmt.Fprintf(os.Stderr, "dbctl: no git base to compare with (%s): taking the newest file as new\n", how)
		base, added = lint.Latest(files, 1)
		return base, added, nil
	}
	landed, err := history.Landed(ctx, f.dir, commit)
	if err != nil {
		return nil, nil, err
	}
	names := make(map[string]bool, len(landed))
	for name := range landed {
		names[name] = true
	}
	base, added = lint.Since(files, names)
	fmt.Fprintf(os.Stderr, "dbctl: %d new file(s) since %.12s (%s)\n", len(added), commit, how)
	return base, added, nil
}
