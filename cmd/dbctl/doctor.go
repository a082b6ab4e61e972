package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	db "github.com/leadmetrics/db"
	"github.com/leadmetrics/db/migrations"
)

func doctorCommand(fs *flag.FlagSet) func(context.Context, []string, io.Writer) error {
	url := fs.String("url", "", "database URL (default DATABASE_URL, else the local server)")
	return func(ctx context.Context, _ []string, out io.Writer) error { return runDoctor(ctx, *url, out) }
}

// runDoctor prints what an operator checks first: reachability, server, the
// settings that matter, TLS, pool, migrations against this binary and the
// migration lock. It fails when the database does not answer or is ahead
// of this binary.
func runDoctor(ctx context.Context, url string, out io.Writer) error {
	cfg, err := db.ConfigFromEnv()
	if err != nil {
		return err
	}
	if url != "" {
		cfg.URL = url
	}
	servicePoolMax := cfg.PoolMax
	cfg.PoolMin, cfg.PoolMax = 1, 2
	line := func(k, format string, args ...any) { fmt.Fprintf(out, "%-16s %s\n", k, fmt.Sprintf(format, args...)) }
	line("database", "%s", cfg.Redacted())
	h, err := db.Open(ctx, cfg)
	if err != nil {
		line("connect", "FAILED")
		return err
	}
	defer h.Close()
	health, checkErr := h.Check(ctx)
	if checkErr != nil && health.Schema == nil {
		line("connect", "FAILED")
		return checkErr
	}
	line("connect", "ok (%s)", health.Latency.Round(100*time.Microsecond))

	var version, syncCommit, maxConns, used, ssl string
	err = h.SQL.QueryRowContext(ctx, `SELECT current_setting('server_version'), current_setting('synchronous_commit'),
		current_setting('max_connections'), (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')::text,
		coalesce((SELECT CASE WHEN ssl THEN 'on (' || version || ', ' || cipher || ')' ELSE 'off' END
		          FROM pg_stat_ssl WHERE pid = pg_backend_pid()), 'unknown')`).Scan(&version, &syncCommit, &maxConns, &used, &ssl)
	if err != nil {
		return err
	}
	line("server", "PostgreSQL %s", version)
	line("settings", "synchronous_commit=%s max_connections=%s (client connections now: %s)", syncCommit, maxConns, used)
	line("tls", "%s", ssl)
	line("pool", "%d/%d in use, %d idle, %d waits (this command's pool; DATABASE_POOL_MAX=%d for services)",
		health.Pool.InUse, health.Pool.Max, health.Pool.Idle, health.Pool.Waits, servicePoolMax)

	v := health.Schema
	switch {
	case len(v.Ahead) > 0:
		line("migrations", "AHEAD: database at %s, this binary knows up to %s; newer: %s", v.Current, v.Newest, strings.Join(v.Ahead, ", "))
	case len(v.Pending) > 0:
		line("migrations", "behind: database at %s, %d pending: %s", orNone(v.Current), len(v.Pending), strings.Join(v.Pending, ", "))
	default:
		line("migrations", "up to date at %s", v.Current)
	}
	holder, err := migrations.Holder(ctx, h.SQL)
	switch {
	case err != nil:
		return err
	case holder != nil:
		line("migration lock", "held: an apply now would be waiting for lock held by %s", holder)
		if holder.Query != "" {
			line("", "%s, last statement: %s", holder.State, oneLine(holder.Query))
		}
	default:
		line("migration lock", "free")
	}
	return checkErr
}

func orNone(s string) string {
	if s == "" {
		return "(no migrations)"
	}
	return s
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 120 {
		s = s[:117] + "..."
	}
	return s
}
