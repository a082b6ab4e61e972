package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/leadmetrics/db/internal/cli"
	"github.com/leadmetrics/db/internal/dbconfig"
	"github.com/leadmetrics/db/migrations"
)

func doctorCommand(fs *flag.FlagSet) func(context.Context, []string, io.Writer) error {
	url := fs.String("url", "", "database URL (default DATABASE_URL, else the local server)")
	format := cli.FormatFlag(fs)
	return func(ctx context.Context, _ []string, out io.Writer) error { return runDoctor(ctx, *url, format, out) }
}

// doctorReport is what doctor found; --format json prints it as is.
type doctorReport struct {
	Database    string                 `json:"database"`
	Connected   bool                   `json:"connected"`
	LatencyMS   float64                `json:"latency_ms,omitempty"`
	Server      string                 `json:"server,omitempty"`
	SyncCommit  string                 `json:"synchronous_commit,omitempty"`
	MaxConns    string                 `json:"max_connections,omitempty"`
	ClientConns string                 `json:"client_connections,omitempty"`
	TLS         string                 `json:"tls,omitempty"`
	PoolMax     int                    `json:"service_pool_max"`
	Migrations  string                 `json:"migrations,omitempty"` // up to date, behind, ahead
	Current     string                 `json:"current,omitempty"`
	Newest      string                 `json:"newest_embedded,omitempty"`
	Pending     []string               `json:"pending,omitempty"`
	Ahead       []string               `json:"ahead,omitempty"`
	LockHolder  *migrations.LockHolder `json:"lock_holder,omitempty"`
	Error       string                 `json:"error,omitempty"`
}

// runDoctor prints what an operator checks first: reachability, server, the
// settings that matter, TLS, migrations against this binary and the
// migration lock. It fails when the database does not answer or is ahead
// of this binary.
func runDoctor(ctx context.Context, url string, format *cli.Format, out io.Writer) error {
	cfg, err := dbconfig.FromEnv()
	if err != nil {
		return err
	}
	if url != "" {
		cfg.URL = url
	}
	rep := &doctorReport{Database: cfg.Redacted(), PoolMax: cfg.PoolMax}
	err = diagnose(ctx, cfg, rep)
	if err != nil {
		rep.Error = dbconfig.Scrub(err.Error(), cfg.URL)
	}
	if format.JSON() {
		if jerr := cli.WriteJSON(out, rep); jerr != nil {
			return jerr
		}
		if err != nil {
			return cli.ExitError{Err: err, Code: 1}
		}
		return nil
	}
	writeDoctor(out, rep)
	return err
}

// diagnose fills rep; its error is what makes doctor fail.
func diagnose(ctx context.Context, cfg dbconfig.Config, rep *doctorReport) error {
	cfg.PoolMin, cfg.PoolMax = 1, 2
	start := time.Now()
	sqlDB, err := dbconfig.Connect(ctx, cfg)
	if err != nil {
		return err
	}
	defer sqlDB.Close()
	conn, err := sqlDB.Conn(ctx)
	if err != nil {
		return dbconfig.RedactError(err, cfg.URL)
	}
	defer conn.Close()
	rep.Connected, rep.LatencyMS = true, float64(time.Since(start).Microseconds())/1000
	err = conn.QueryRowContext(ctx, `SELECT current_setting('server_version'), current_setting('synchronous_commit'),
		current_setting('max_connections'), (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')::text,
		coalesce((SELECT CASE WHEN ssl THEN 'on (' || version || ', ' || cipher || ')' ELSE 'off' END
		          FROM pg_stat_ssl WHERE pid = pg_backend_pid()), 'unknown')`).Scan(&rep.Server, &rep.SyncCommit, &rep.MaxConns, &rep.ClientConns, &rep.TLS)
	if err != nil {
		return err
	}
	v, err := migrations.Compare(ctx, conn, nil)
	if err != nil {
		return err
	}
	rep.Current, rep.Newest, rep.Pending, rep.Ahead = v.Current, v.Newest, v.Pending, v.Ahead
	switch {
	case len(v.Ahead) > 0:
		rep.Migrations = "ahead"
	case len(v.Pending) > 0:
		rep.Migrations = "behind"
	default:
		rep.Migrations = "up to date"
	}
	if rep.LockHolder, err = migrations.Holder(ctx, conn); err != nil {
		return err
	}
	return v.AheadErr()
}

func writeDoctor(out io.Writer, rep *doctorReport) {
	line := func(k, format string, args ...any) { fmt.Fprintf(out, "%-16s %s\n", k, fmt.Sprintf(format, args...)) }
	line("database", "%s", rep.Database)
	if !rep.Connected {
		line("connect", "FAILED")
		return
	}
	line("connect", "ok (%s)", time.Duration(rep.LatencyMS*float64(time.Millisecond)).Round(100*time.Microsecond))
	if rep.Server == "" {
		return
	}
	line("server", "PostgreSQL %s", rep.Server)
	line("settings", "synchronous_commit=%s max_connections=%s (client connections now: %s)", rep.SyncCommit, rep.MaxConns, rep.ClientConns)
	line("tls", "%s", rep.TLS)
	line("pool", "DATABASE_POOL_MAX=%d for services", rep.PoolMax)
	switch rep.Migrations {
	case "ahead":
		line("migrations", "AHEAD: database at %s, this binary knows up to %s; newer: %s", rep.Current, rep.Newest, strings.Join(rep.Ahead, ", "))
	case "behind":
		line("migrations", "behind: database at %s, %d pending: %s", orNone(rep.Current), len(rep.Pending), strings.Join(rep.Pending, ", "))
	case "up to date":
		line("migrations", "up to date at %s", rep.Current)
	default:
		return
	}
	switch h := rep.LockHolder; {
	case h != nil:
		line("migration lock", "held: an apply now would be waiting for lock held by %s", h)
		if h.Query != "" {
			line("", "%s, last statement: %s", h.State, oneLine(h.Query))
		}
	default:
		line("migration lock", "free")
	}
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
