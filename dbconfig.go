package db

import (
	"github.com/leadmetrics/db/internal/dbconfig"
)

// The connection configuration, its errors and the redaction of secrets
// live in internal/dbconfig, which imports no Ent code: the migration tool
// (cmd/dbctl) builds on it, so a schema edit never stops it from building.

// LocalURL is the database used when DATABASE_URL is unset: the local
// development server with trust authentication.
const LocalURL = dbconfig.LocalURL

// Driver names accepted by DATABASE_DRIVER.
const (
	DriverPgx = dbconfig.DriverPgx // pgx v5 through database/sql (default)
	DriverPQ  = dbconfig.DriverPQ  // lib/pq
)

// PoolerPgBouncer is DATABASE_POOLER for PgBouncer in transaction pooling
// mode (and similar poolers that move a client between server sessions
// after each transaction).
const PoolerPgBouncer = dbconfig.PoolerPgBouncer

// Config says how to reach PostgreSQL and how large the pool is; its
// String, GoString, LogValue and MarshalJSON never show a password.
type Config = dbconfig.Config

// ConfigError reports an invalid configuration value. It names the
// variable and never carries a password.
type ConfigError = dbconfig.ConfigError

// ConnectError reports a server that could not be reached or did not
// answer. It names the host and carries no password.
type ConnectError = dbconfig.ConnectError

// ErrConfig matches every *ConfigError with errors.Is.
var ErrConfig = dbconfig.ErrConfig

// ErrConnectTimeout matches a *ConnectError whose server did not answer
// within the connect timeout.
var ErrConnectTimeout = dbconfig.ErrConnectTimeout

// DefaultConfig is the configuration with no environment set.
func DefaultConfig() Config { return dbconfig.Default() }

// ConfigFromEnv reads the connection settings from the environment: DATABASE_URL,
// DATABASE_READ_URL, DATABASE_POOL_MIN, DATABASE_POOL_MAX, DATABASE_SSL,
// DATABASE_DRIVER, DATABASE_POOLER, DATABASE_CONNECT_TIMEOUT,
// DATABASE_STATEMENT_TIMEOUT, DATABASE_IDLE_TX_TIMEOUT,
// DATABASE_MAX_REPLICA_LAG, DATABASE_APPLICATION_NAME, DATABASE_TRACING,
// DATABASE_METRICS, DATABASE_LOG_QUERIES and DATABASE_SLOW_QUERY_MS.
// Unset or empty variables keep their defaults; a bad value is a
// *ConfigError naming the variable. Defaults and meanings: `dbctl -h` and
// the README's Environment table, both from the one list a test holds this
// comment to.
func ConfigFromEnv() (Config, error) { return dbconfig.FromEnv() }

// configFrom is ConfigFromEnv reading through lookup (tests).
func configFrom(lookup func(string) (string, bool)) (Config, error) {
	return dbconfig.FromLookup(lookup)
}

// RedactURL hides every secret of a connection string for printing: the
// userinfo password and password=/sslpassword= parameters of a postgres://
// URL, or password= pairs of a key=value string. A URL that does not parse
// is hidden whole.
func RedactURL(raw string) string { return dbconfig.RedactURL(raw) }

// Scrub returns msg with every secret of the given connection strings
// replaced, for text that may quote them (driver and parser errors).
func Scrub(msg string, connStrings ...string) string { return dbconfig.Scrub(msg, connStrings...) }

// RedactError returns err with every secret of the given connection strings
// scrubbed from its text; nil stays nil.
func RedactError(err error, connStrings ...string) error {
	return dbconfig.RedactError(err, connStrings...)
}
