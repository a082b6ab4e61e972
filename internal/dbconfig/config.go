// Package dbconfig is the database connection configuration read from the
// environment, its typed errors and the redaction of secrets. It imports no
// Ent code, so tools (dbctl) build on it whatever the schema says; package db
// re-exports it as db.Config.
package dbconfig

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// LocalURL is the database used when DATABASE_URL is unset: the local
// development server with trust authentication.
const LocalURL = "postgres://postgres@127.0.0.1:5432/leadmetrics?sslmode=disable"

// Driver names accepted by DATABASE_DRIVER.
const (
	DriverPgx = "pgx"      // pgx v5 through database/sql (default)
	DriverPQ  = "postgres" // lib/pq
)

// PoolerPgBouncer is DATABASE_POOLER for PgBouncer in transaction pooling
// mode (and similar poolers that move a client between server sessions
// after each transaction).
const PoolerPgBouncer = "pgbouncer"

// Config says how to reach PostgreSQL and how large the pool is.
type Config struct {
	URL     string // postgres:// URL; its password is never printed
	PoolMin int    // connections kept open
	PoolMax int    // most connections open
	SSL     bool   // TLS required
	Driver  string // DriverPgx or DriverPQ
	Pooler  string // "" (direct) or PoolerPgBouncer

	// ReadURL lists standbys (one or more hosts) for reads under
	// ReadOnly(ctx); "" reads from the primary. Same credentials rules as URL.
	ReadURL string
	// MaxReplicaLag: a standby further behind than this (replay lag) is
	// skipped and the read goes to the primary; 0 accepts any lag.
	MaxReplicaLag time.Duration

	// ConnectTimeout bounds each new connection (TCP, TLS, startup and
	// authentication); a URL's own connect_timeout wins.
	ConnectTimeout time.Duration

	// Set on every connection at startup (0 or "": the server's default);
	// a URL's own parameter of the same name wins.
	StatementTimeout time.Duration // statement_timeout
	IdleTxTimeout    time.Duration // idle_in_transaction_session_timeout
	ApplicationName  string        // application_name, shown in pg_stat_activity

	// Observability, pgx driver only; everything off by default, and off
	// installs nothing on the statement path.
	Tracing        bool                 // a span per statement (OpenTelemetry), under the caller's span
	Metrics        bool                 // pool and statement-duration metrics (OpenTelemetry)
	TracerProvider trace.TracerProvider `json:"-"` // nil: the global one; setting it turns Tracing on
	MeterProvider  metric.MeterProvider `json:"-"` // nil: the global one; setting it turns Metrics on
	LogQueries     bool                 // every statement at Debug through Logger
	SlowQuery      time.Duration        // statements at least this slow at Warn; 0: off
	Logger         *slog.Logger         `json:"-"` // nil: slog.Default()
}

// ConfigError reports an invalid configuration value. It names the
// variable and never carries a password.
type ConfigError struct {
	Variable string
	Reason   string
}

func (e *ConfigError) Error() string { return e.Variable + ": " + e.Reason }

// ErrConfig matches every *ConfigError with errors.Is.
var ErrConfig = errors.New("invalid database configuration")

// Is lets errors.Is(err, ErrConfig) match.
func (e *ConfigError) Is(target error) bool { return target == ErrConfig }

// Default is the configuration with no environment set.
func Default() Config {
	return Config{URL: LocalURL, PoolMin: 2, PoolMax: 20, Driver: DriverPgx, ConnectTimeout: 10 * time.Second, MaxReplicaLag: 5 * time.Second,
		ApplicationName: filepath.Base(os.Args[0])}
}

// FromEnv reads the connection settings from the environment: DATABASE_URL,
// DATABASE_READ_URL, DATABASE_POOL_MIN, DATABASE_POOL_MAX, DATABASE_SSL,
// DATABASE_DRIVER, DATABASE_POOLER, DATABASE_CONNECT_TIMEOUT,
// DATABASE_STATEMENT_TIMEOUT, DATABASE_IDLE_TX_TIMEOUT,
// DATABASE_MAX_REPLICA_LAG, DATABASE_APPLICATION_NAME, DATABASE_TRACING,
// DATABASE_METRICS, DATABASE_LOG_QUERIES and DATABASE_SLOW_QUERY_MS.
// Unset or empty variables keep their defaults; a bad value is a
// *ConfigError naming the variable. Defaults and meanings: `dbctl -h` and
// the README's Environment table, both from the one list a test holds this
// comment to.
func FromEnv() (Config, error) {
	return FromLookup(os.LookupEnv)
}

// FromLookup is FromEnv with the variables read through lookup.
func FromLookup(lookup func(string) (string, bool)) (Config, error) {
	cfg := Default()
	if v, ok := lookup("DATABASE_URL"); ok && strings.TrimSpace(v) != "" {
		cfg.URL = strings.TrimSpace(v)
	}
	if v, ok := lookup("DATABASE_READ_URL"); ok && strings.TrimSpace(v) != "" {
		cfg.ReadURL = strings.TrimSpace(v)
	}
	var err error
	if cfg.PoolMin, err = intVar(lookup, "DATABASE_POOL_MIN", cfg.PoolMin); err != nil {
		return Config{}, err
	}
	if cfg.PoolMax, err = intVar(lookup, "DATABASE_POOL_MAX", cfg.PoolMax); err != nil {
		return Config{}, err
	}
	if cfg.SSL, err = boolVar(lookup, "DATABASE_SSL", cfg.SSL); err != nil {
		return Config{}, err
	}
	if v, ok := lookup("DATABASE_DRIVER"); ok && v != "" {
		cfg.Driver = strings.TrimSpace(v)
	}
	if v, ok := lookup("DATABASE_POOLER"); ok && v != "" {
		cfg.Pooler = strings.ToLower(strings.TrimSpace(v))
	}
	for _, d := range []struct {
		name string
		v    *time.Duration
	}{
		{"DATABASE_CONNECT_TIMEOUT", &cfg.ConnectTimeout},
		{"DATABASE_STATEMENT_TIMEOUT", &cfg.StatementTimeout},
		{"DATABASE_IDLE_TX_TIMEOUT", &cfg.IdleTxTimeout},
		{"DATABASE_MAX_REPLICA_LAG", &cfg.MaxReplicaLag},
	} {
		if *d.v, err = durationVar(lookup, d.name, *d.v); err != nil {
			return Config{}, err
		}
	}
	for _, b := range []struct {
		name string
		v    *bool
	}{
		{"DATABASE_TRACING", &cfg.Tracing}, {"DATABASE_METRICS", &cfg.Metrics}, {"DATABASE_LOG_QUERIES", &cfg.LogQueries},
	} {
		if *b.v, err = boolVar(lookup, b.name, *b.v); err != nil {
			return Config{}, err
		}
	}
	ms, err := intVar(lookup, "DATABASE_SLOW_QUERY_MS", 0)
	if err != nil {
		return Config{}, err
	}
	cfg.SlowQuery = time.Duration(ms) * time.Millisecond
	if v, ok := lookup("DATABASE_APPLICATION_NAME"); ok && strings.TrimSpace(v) != "" {
		cfg.ApplicationName = strings.TrimSpace(v)
	}
	return cfg, cfg.Validate()
}

func boolVar(lookup func(string) (string, bool), name string, def bool) (bool, error) {
	v, ok := lookup(name)
	if !ok || strings.TrimSpace(v) == "" {
		return def, nil
	}
	b, err := strconv.ParseBool(strings.TrimSpace(v))
	if err != nil {
		return false, &ConfigError{name, fmt.Sprintf("want true or false, got %q", v)}
	}
	return b, nil
}

// durationVar reads a Go duration ("10s", "1500ms"); a bare integer is
// seconds, as in libpq's connect_timeout.
func durationVar(lookup func(string) (string, bool), name string, def time.Duration) (time.Duration, error) {
	v, ok := lookup(name)
	v = strings.TrimSpace(v)
	if !ok || v == "" {
		return def, nil
	}
	if n, err := strconv.Atoi(v); err == nil {
		return time.Duration(n) * time.Second, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, &ConfigError{name, fmt.Sprintf("want a duration such as 10s or 1500ms, got %q", v)}
	}
	return d, nil
}

func intVar(lookup func(string) (string, bool), name string, def int) (int, error) {
	v, ok := lookup(name)
	if !ok || strings.TrimSpace(v) == "" {
		return def, nil
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		return 0, &ConfigError{name, fmt.Sprintf("want an integer, got %q", v)}
	}
	return n, nil
}

// Validate checks the configuration without touching the network.
func (c Config) Validate() error {
	_, err := ValidDSN(c)
	return err
}

// ValidDSN validates the configuration and returns the DSN it derives.
func ValidDSN(c Config) (string, error) {
	switch {
	case c.PoolMin < 0:
		return "", &ConfigError{"DATABASE_POOL_MIN", "must not be negative"}
	case c.PoolMax < 1:
		return "", &ConfigError{"DATABASE_POOL_MAX", "must be at least 1"}
	case c.PoolMin > c.PoolMax:
		return "", &ConfigError{"DATABASE_POOL_MIN", fmt.Sprintf("%d exceeds DATABASE_POOL_MAX %d", c.PoolMin, c.PoolMax)}
	case c.ConnectTimeout < 0:
		return "", &ConfigError{"DATABASE_CONNECT_TIMEOUT", "must not be negative"}
	case c.StatementTimeout < 0:
		return "", &ConfigError{"DATABASE_STATEMENT_TIMEOUT", "must not be negative"}
	case c.IdleTxTimeout < 0:
		return "", &ConfigError{"DATABASE_IDLE_TX_TIMEOUT", "must not be negative"}
	case c.Pooler != "" && c.Pooler != PoolerPgBouncer:
		return "", &ConfigError{"DATABASE_POOLER", fmt.Sprintf("want %q or empty, got %q", PoolerPgBouncer, c.Pooler)}
	case c.Pooler != "" && c.Driver != DriverPgx:
		return "", &ConfigError{"DATABASE_POOLER", "needs the pgx driver (lib/pq prepares in a separate round trip)"}
	case c.Pooler != "" && (c.StatementTimeout > 0 || c.IdleTxTimeout > 0):
		// PgBouncer refuses them as startup parameters, and a session SET
		// would leak to other clients: set them on the role instead.
		return "", &ConfigError{"DATABASE_STATEMENT_TIMEOUT", "not applied through a transaction pooler: " +
			"set statement_timeout and idle_in_transaction_session_timeout on the role (ALTER ROLE ... SET)"}
	case c.SlowQuery < 0:
		return "", &ConfigError{"DATABASE_SLOW_QUERY_MS", "must not be negative"}
	case c.Driver == DriverPQ && (TracingOn(c) || MetricsOn(c) || LogOn(c)):
		return "", &ConfigError{"DATABASE_DRIVER", "tracing, metrics and query logging need the pgx driver"}
	case len(c.ApplicationName) > 63 || strings.ContainsFunc(c.ApplicationName, func(r rune) bool { return r < 0x20 || r > 0x7e }):
		// PostgreSQL truncates longer names and replaces non-ASCII ones.
		return "", &ConfigError{"DATABASE_APPLICATION_NAME", "want at most 63 printable ASCII characters"}
	case c.Driver != DriverPgx && c.Driver != DriverPQ:
		return "", &ConfigError{"DATABASE_DRIVER", fmt.Sprintf("want %q or %q, got %q", DriverPgx, DriverPQ, c.Driver)}
	case c.MaxReplicaLag < 0:
		return "", &ConfigError{"DATABASE_MAX_REPLICA_LAG", "must not be negative"}
	case c.ReadURL != "" && c.Driver != DriverPgx:
		return "", &ConfigError{"DATABASE_READ_URL", "needs the pgx driver"}
	}
	if c.ReadURL != "" {
		r := c
		r.URL, r.ReadURL = c.ReadURL, ""
		if _, err := r.DSN(); err != nil {
			return "", &ConfigError{"DATABASE_READ_URL", "want postgres://user:password@host:port[,host:port...]/database"}
		}
	}
	return c.DSN()
}

// DSN returns the connection URL with the TLS mode DATABASE_SSL asks for.
func (c Config) DSN() (string, error) {
	u, err := url.Parse(c.URL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") || u.Host == "" {
		// url.Parse errors quote the input, password included: never wrap them.
		return "", &ConfigError{"DATABASE_URL", "want postgres://user:password@host:port/database"}
	}
	q := u.Query()
	mode := q.Get("sslmode")
	switch {
	case c.SSL && (mode == "" || mode == "disable" || mode == "allow" || mode == "prefer"):
		if mode == "disable" {
			return "", &ConfigError{"DATABASE_SSL", "true conflicts with sslmode=disable in DATABASE_URL"}
		}
		q.Set("sslmode", "require")
	case !c.SSL && mode == "":
		q.Set("sslmode", "disable")
	}
	setDefault := func(k, v string) {
		if q.Get(k) == "" && v != "" {
			q.Set(k, v)
		}
	}
	if c.ConnectTimeout > 0 {
		// libpq's unit is whole seconds: round up, so it never shrinks to 0 (no limit).
		setDefault("connect_timeout", strconv.Itoa(int((c.ConnectTimeout+time.Second-1)/time.Second)))
	}
	// Startup parameters: both drivers send unknown URL parameters to the
	// server, which applies them to the session before the first query.
	setDefault("application_name", c.ApplicationName)
	if c.StatementTimeout > 0 {
		setDefault("statement_timeout", millis(c.StatementTimeout))
	}
	if c.IdleTxTimeout > 0 {
		setDefault("idle_in_transaction_session_timeout", millis(c.IdleTxTimeout))
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// millis renders d in PostgreSQL's default unit for timeouts, rounded up so
// a positive duration never becomes 0 (no limit).
func millis(d time.Duration) string {
	return strconv.FormatInt(int64((d+time.Millisecond-1)/time.Millisecond), 10)
}

// TracingOn, MetricsOn and LogOn say whether the configuration asks for
// spans, metrics and query logs.
func TracingOn(c Config) bool { return c.Tracing || c.TracerProvider != nil }
func MetricsOn(c Config) bool { return c.Metrics || c.MeterProvider != nil }
func LogOn(c Config) bool     { return c.LogQueries || c.SlowQuery > 0 }

// Redacted returns the URL with its secrets replaced, for logs.
func (c Config) Redacted() string { return RedactURL(c.URL) }

// String prints the configuration with its URL redacted, so %v, %+v and %s
// never show a password.
func (c Config) String() string {
	return fmt.Sprintf("{URL:%s ReadURL:%s MaxReplicaLag:%s PoolMin:%d PoolMax:%d SSL:%t Driver:%s Pooler:%q ConnectTimeout:%s StatementTimeout:%s IdleTxTimeout:%s ApplicationName:%q}",
		c.Redacted(), RedactURL(c.ReadURL), c.MaxReplicaLag, c.PoolMin, c.PoolMax, c.SSL, c.Driver, c.Pooler, c.ConnectTimeout, c.StatementTimeout, c.IdleTxTimeout, c.ApplicationName)
}

// GoString is String for %#v.
func (c Config) GoString() string { return "db.Config" + c.String() }

// LogValue makes log/slog print the configuration redacted.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("url", c.Redacted()), slog.String("read_url", RedactURL(c.ReadURL)), slog.Duration("max_replica_lag", c.MaxReplicaLag), slog.Int("pool_min", c.PoolMin), slog.Int("pool_max", c.PoolMax),
		slog.Bool("ssl", c.SSL), slog.String("driver", c.Driver), slog.String("pooler", c.Pooler), slog.Duration("connect_timeout", c.ConnectTimeout),
		slog.Duration("statement_timeout", c.StatementTimeout), slog.Duration("idle_tx_timeout", c.IdleTxTimeout),
		slog.String("application_name", c.ApplicationName),
	)
}

// MarshalJSON encodes the configuration redacted, for JSON logs that do
// not go through slog.
func (c Config) MarshalJSON() ([]byte, error) {
	type plain Config // drops the methods, so no recursion
	p := plain(c)
	p.URL, p.ReadURL = c.Redacted(), RedactURL(c.ReadURL)
	return json.Marshal(p)
}
