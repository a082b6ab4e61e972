package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/leadmetrics/db/secrets"
)

// credentialsCommand is "datactl credentials rotate": re-seal every
// credential secret with the current key of CREDENTIALS_KEYS, in batches,
// each in its own transaction, as the system viewer.
func credentialsCommand(fs *flag.FlagSet) func(context.Context, []string, io.Writer) error {
	batch := fs.Int("batch", 100, "rows re-sealed per transaction")
	url := fs.String("url", "", "database URL (default DATABASE_URL, else the local server)")
	return func(ctx context.Context, _ []string, out io.Writer) error {
		return rotateCredentials(ctx, *url, *batch, out)
	}
}

func rotateCredentials(ctx context.Context, url string, batch int, out io.Writer) error {
	keys, err := secrets.FromEnv()
	if err != nil {
		return err
	}
	h, err := openTarget(ctx, url)
	if err != nil {
		return err
	}
	defer h.Close()
	n, err := keys.Rotate(ctx, h.Client, batch)
	fmt.Fprintf(out, "re-sealed %d credential(s) with key %q\n", n, keys.Current())
	if err != nil {
		fmt.Fprintln(os.Stderr, "rotation stopped; rows re-sealed so far are committed, rerun to continue")
	}
	return err
}
