package dbconfig

import (
	"fmt"
	"strings"
)

// Var is one environment variable the module reads. Vars is the only list:
// dbctl's and datactl's help render it, and tests hold FromLookup, every
// os.Getenv in the module, the README's table and ConfigFromEnv's doc to it.
type Var struct {
	Name    string
	Default string // what an unset variable means
	Meaning string // one line, plain text
	ReadBy  Reader
}

// Reader says which code reads a variable.
type Reader string

const (
	ByConfig  Reader = "services, dbctl, datactl" // FromEnv (db.ConfigFromEnv)
	BySecrets Reader = "services, datactl"        // secrets.FromEnv
	ByDbctl   Reader = "dbctl"
	ByDatactl Reader = "datactl"
	ByTests   Reader = "tests"
)

// Vars lists every variable, in the order the help and the README show them.
var Vars = []Var{
	{"DATABASE_URL", LocalURL, "the primary, postgres://user:password@host:5432/db; several hosts with target_session_attrs=read-write find it after a failover", ByConfig},
	{"DATABASE_POOL_MIN", "2", "connections opened at start and kept open", ByConfig},
	{"DATABASE_POOL_MAX", "20", "most connections open (Ent client, SQL and pgxpool together)", ByConfig},
	{"DATABASE_SSL", "false", "true: TLS required (sslmode=require unless the URL asks for verify-ca or verify-full)", ByConfig},
	{"DATABASE_DRIVER", DriverPgx, "pgx (pgx v5) or postgres (lib/pq)", ByConfig},
	{"DATABASE_CONNECT_TIMEOUT", "10s", "limit for each new connection (TCP, TLS, startup, auth); 0: none; a URL's connect_timeout wins", ByConfig},
	{"DATABASE_STATEMENT_TIMEOUT", "the server's", "statement_timeout of every connection; dbctl migrate ignores it (--lock-timeout bounds it)", ByConfig},
	{"DATABASE_IDLE_TX_TIMEOUT", "the server's", "idle_in_transaction_session_timeout of every connection", ByConfig},
	{"DATABASE_APPLICATION_NAME", "the binary's name", "application_name of every connection (pg_stat_activity), at most 63 printable ASCII characters", ByConfig},
	{"DATABASE_TRACING", "false", "true: an OpenTelemetry span per statement (pgx driver)", ByConfig},
	{"DATABASE_METRICS", "false", "true: OpenTelemetry pool and statement-duration metrics (pgx driver)", ByConfig},
	{"DATABASE_LOG_QUERIES", "false", "true: every statement logged at Debug through log/slog, never its arguments", ByConfig},
	{"DATABASE_SLOW_QUERY_MS", "0 (off)", "statements at least this slow logged at Warn", ByConfig},
	{"DATABASE_POOLER", "empty (direct)", "pgbouncer: behind PgBouncer in transaction pooling mode (pgx driver; the timeouts go on the role; migrate directly)", ByConfig},
	{"DATABASE_READ_URL", "empty (the primary)", "standbys for reads under db.ReadOnlyContext (pgx driver; prefer-standby unless the URL sets target_session_attrs)", ByConfig},
	{"DATABASE_MAX_REPLICA_LAG", "5s", "a standby further behind is skipped and the read goes to the primary; 0: any lag", ByConfig},
	{"CREDENTIALS_KEYS", "none (sealing refused)", "id:base64key,... AES-256 keys of credential secrets; the first seals, the others open older rows until datactl credentials rotate", BySecrets},
	{"STUDIO_TOKEN", "random, printed at start", "the token datactl studio requires (exchanged once for a cookie)", ByDatactl},
	{"DATABASE_DEV_URL", "a throwaway database on the target server", "a clean database that migrate dev, diff, check, lint and review and schema push and erd may wipe", ByDbctl},
	{"TEST_DATABASE_URL", "DATABASE_URL, else the local server", "the server tests create their databases on (suitedb, dbtest)", ByTests},
	{"TEST_PGBOUNCER_URL", "unset (direct)", "tests reach their databases through this PgBouncer (scripts/pgbouncer.sh start)", ByTests},
	{"TEST_CITUS_URL", "unset", "a Citus coordinator: each test database is made on every node (scripts/citus.sh start)", ByTests},
	{"TEST_HA_URL", "unset (those tests skip)", "a pg_auto_failover formation for the failover and standby-read tests (scripts/ha.sh start)", ByTests},
	{"STUDIO_BROWSER", "unset (skip without Chromium)", "required: the studio's browser test fails instead of skipping (scripts/test.sh)", ByTests},
	{"STUDIO_SCREENSHOTS", "unset (none written)", "a directory where the studio's browser test writes its screenshots (docs/studio)", ByTests},
	{"STUDIO_SCALE_URL", "unset (a small skewed set)", "a scaleload database the studio's bounded-buffers test measures (docs/STUDIO.md)", ByTests},
	{"ATLAS_BIN", "unset (those tests skip)", "the official Atlas CLI the parity tests compare dbctl with (MIGRATIONS.md)", ByTests},
	{"ISOLATION_SEED", "the clock", "reproduces a run of the randomized isolation test (privacy)", ByTests},
	{"ISOLATION_STEPS", "3000", "steps of the randomized isolation test", ByTests},
	{"DOCKER_HOST", "/var/run/docker.sock", "the Docker engine of dbtest/containers (testcontainers), used when no server answers", ByTests},
}

// Help renders the variables read by the given readers for a command's -h.
func Help(readers ...Reader) string {
	var b strings.Builder
	b.WriteString("Environment:\n")
	for _, v := range Vars {
		for _, r := range readers {
			if v.ReadBy == r {
				fmt.Fprintf(&b, "  %s [default: %s]\n      %s\n", v.Name, v.Default, v.Meaning)
			}
		}
	}
	return b.String()
}

// Markdown renders every variable as the README's table.
func Markdown() string {
	var b strings.Builder
	b.WriteString("| variable | default | meaning | read by |\n|---|---|---|---|\n")
	for _, v := range Vars {
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", v.Name, v.Default, v.Meaning, v.ReadBy)
	}
	return b.String()
}
