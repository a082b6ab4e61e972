package main

import (
	"context"
	"io"

	"github.com/leadmetrics/db/internal/migrate/review"
)

// migrateReview prints the Markdown summary of the new files; findings do
// not fail it (lint does).
func migrateReview(ctx context.Context, f *migrateFlags, _ []string, out io.Writer) error {
	res, err := f.lintNew(ctx)
	if err != nil {
		return err
	}
	if f.format.JSON() {
		return writeLintJSON(out, f.dir, res, true)
	}
	_, err = out.Write(review.Markdown(res))
	return err
}
