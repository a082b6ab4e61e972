package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"

	db "github.com/leadmetrics/db"
	"github.com/leadmetrics/db/secrets"
)

// runCredentials handles "dbctl credentials rotate": re-seal every
// credential secret with the current key of CREDENTIALS_KEYS, in batches,
// each in its own transaction, as the system viewer.
func runCredentials(ctx context.Context, args []string, out io.Writer) error {
	if len(args) == 0 || args[0] != "rotate" {
		return usageError{"credentials needs a subcommand: rotate"}
	}
	fs := flag.NewFlagSet("dbctl credentials rotate", flag.ContinueOnError)
	fs.SetOutput(out)
	batch := fs.Int("batch", 100, "rows re-sealed per transaction")
	url := fs.String("url", "", "database URL (default DATABASE_URL, else the local server)")
	if err := fs.Parse(args[1:]); err != nil {
		return usageError{err.Error()}
	}
	keys, err := secrets.FromEnv()
	if err != nil {
		return err
	}
	cfg, err := db.ConfigFromEnv()
	if err != nil {
		return err
	}
	if *url != "" {
		cfg.URL = *url
	}
	cfg.PoolMin = 1
	h, err := db.Open(ctx, cfg)
	if err != nil {
		return err
	}
	defer h.Close()
	n, err := keys.Rotate(ctx, h.Client, *batch)
	fmt.Fprintf(out, "re-sealed %d credential(s) with key %q\n", n, keys.Current())
	if err != nil {
		fmt.Fprintln(os.Stderr, "rotation stopped; rows re-sealed so far are committed, rerun to continue")
	}
	return err
}
