package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/leadmetrics/db/internal/cli"
	"github.com/leadmetrics/db/privacy"
	"github.com/leadmetrics/db/retention"
)

// retentionCommand is "datactl retention": purge old LLM call, dispatch and
// audit logs, per table, in batches, as the system viewer. A table whose
// age is empty is left alone.
func retentionCommand(fs *flag.FlagSet) func(context.Context, []string, io.Writer) error {
	ages := map[string]*string{
		retention.LLMCalls:   fs.String("llm-calls", "", "keep LLM call logs this long (e.g. 90d, 2160h), billed or not; ledger entries are never touched"),
		retention.Dispatches: fs.String("dispatches", "", "keep dispatch logs this long"),
		retention.AuditLogs:  fs.String("audit", "", "keep audit logs this long"),
	}
	batch := fs.Int("batch", 5000, "rows deleted per transaction")
	dry := fs.Bool("dry-run", false, "count what would be purged, delete nothing")
	url := fs.String("url", "", "database URL (default DATABASE_URL, else the local server)")
	return func(ctx context.Context, _ []string, out io.Writer) error {
		var pol []retention.Policy
		for _, t := range []string{retention.LLMCalls, retention.Dispatches, retention.AuditLogs} {
			if *ages[t] == "" {
				continue
			}
			d, err := parseAge(*ages[t])
			if err != nil {
				return cli.UsageError{Msg: fmt.Sprintf("%s: %v", t, err)}
			}
			pol = append(pol, retention.Policy{Table: t, MaxAge: d})
		}
		if len(pol) == 0 {
			return cli.UsageError{Msg: "retention: give at least one of -llm-calls, -dispatches, -audit"}
		}
		h, err := openTarget(ctx, *url)
		if err != nil {
			return err
		}
		defer h.Close()
		res, err := retention.Purge(privacy.WithSystem(ctx), h.SQL, pol, retention.Options{Batch: *batch, DryRun: *dry})
		verb := "purged"
		if *dry {
			verb = "would purge"
		}
		for _, p := range pol {
			fmt.Fprintf(out, "%s: %s %d row(s) older than %s\n", p.Table, verb, res[p.Table], p.MaxAge)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "retention stopped; batches deleted so far are committed, rerun to continue")
		}
		return err
	}
}

// parseAge reads a Go duration or a number of days ("90d").
func parseAge(s string) (time.Duration, error) {
	if d, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(d)
		if err != nil || n < 1 {
			return 0, fmt.Errorf("age %q: want a positive number of days or a duration", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("age %q: want a positive number of days or a duration", s)
	}
	return d, nil
}
