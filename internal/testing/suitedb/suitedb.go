// Package suitedb gives each test of this repository's suite its own
// PostgreSQL database, cloned from a template on which the real migration
// files were applied once, on the deployment the run targets (the local
// server, through PgBouncer, on Citus), with the fault injection the
// failure tests need. Services' tests use the public dbtest instead, which
// hands them an opened *db.DB.
package suitedb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/peterldowns/pgtestdb"

	db "github.com/leadmetrics/db"
	"github.com/leadmetrics/db/ent"
	"github.com/leadmetrics/db/internal/migrate/pgserver"
	"github.com/leadmetrics/db/migrations"
)

var (
	serverOnce sync.Once
	serverURL  string
	serverErr  error
)

// StartServer, when set, starts a PostgreSQL server when none of the URLs
// answers and returns its admin URL (dbtest/containers sets it: importing
// that package is how a module opts in to testcontainers and Docker).
var StartServer func() (string, error)

// ServerURL returns the admin URL of the PostgreSQL server the tests use:
// TEST_DATABASE_URL, else DATABASE_URL, else the local default; when none
// answers, StartServer's.
func ServerURL(t testing.TB) string {
	t.Helper()
	serverOnce.Do(func() { serverURL, serverErr = findServer() })
	if serverErr != nil {
		t.Fatalf("suitedb: %v", serverErr)
	}
	return serverURL
}

// findServer tries each candidate's server through its maintenance
// database: the tests create their own databases there.
func findServer() (string, error) {
	var tried []string
	candidates := [][2]string{{"TEST_DATABASE_URL", os.Getenv("TEST_DATABASE_URL")},
		{"DATABASE_URL", os.Getenv("DATABASE_URL")}, {"local default", db.LocalURL}}
	for _, c := range candidates {
		if c[1] == "" {
			continue
		}
		admin, err := pgserver.WithDatabase(c[1], "postgres")
		if err == nil {
			if err = ping(admin); err == nil {
				return admin, nil
			}
		}
		tried = append(tried, fmt.Sprintf("%s (%s): %v", c[0], db.RedactURL(c[1]), err))
	}
	if StartServer != nil {
		u, err := StartServer()
		if err == nil {
			return u, nil
		}
		tried = append(tried, fmt.Sprintf("started server: %v", err))
	}
	return "", errors.New("no PostgreSQL server for the tests. Set TEST_DATABASE_URL or DATABASE_URL, " +
		"start the local server (postgres@127.0.0.1:5432), or import github.com/leadmetrics/db/dbtest/containers " +
		"in a test file to start one with testcontainers (needs Docker).\n  " + strings.Join(tried, "\n  "))
}

func ping(rawURL string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	admin, err := sql.Open("pgx", rawURL)
	if err != nil {
		return err
	}
	defer admin.Close()
	return admin.PingContext(ctx)
}

// pgConfig turns the server URL into pgtestdb's configuration.
func pgConfig(t testing.TB) pgtestdb.Config {
	u, err := url.Parse(ServerURL(t))
	if err != nil {
		t.Fatalf("suitedb: unparsable server URL")
	}
	pw, _ := u.User.Password()
	q := u.Query()
	if q.Get("sslmode") == "" {
		q.Set("sslmode", "disable")
	}
	return pgtestdb.Config{
		DriverName: "pgx", Host: u.Hostname(), Port: u.Port(), User: u.User.Username(), Password: pw,
		Database: strings.TrimPrefix(u.Path, "/"), Options: q.Encode(),
		ForceTerminateConnections: true,
	}
}

// redacting is the test as pgtestdb sees it: what pgtestdb logs (the new
// database's URL, on every call) and fails with carries no password.
type redacting struct{ testing.TB }

func (r redacting) Logf(format string, args ...any) {
	r.TB.Helper()
	r.TB.Log(redact(fmt.Sprintf(format, args...)))
}

func (r redacting) Fatalf(format string, args ...any) {
	r.TB.Helper()
	r.TB.Fatal(redact(fmt.Sprintf(format, args...)))
}

// passwordInURL is the password of a URL's userinfo in a message.
var passwordInURL = regexp.MustCompile(`(://[^:/@\s]*:)[^@/\s]+@`)

func redact(msg string) string { return passwordInURL.ReplaceAllString(msg, "${1}xxxxx@") }

// migrator applies the embedded migration files, exactly as production.
type migrator struct{}

func (migrator) Hash() (string, error) {
	dir, err := migrations.Embedded()
	if err != nil {
		return "", err
	}
	sum, err := dir.Checksum()
	if err != nil {
		return "", err
	}
	return strings.NewReplacer("h1:", "", "/", "_", "+", "-", "=", "").Replace(sum.Sum())[:20], nil
}

func (migrator) Migrate(ctx context.Context, sqlDB *sql.DB, _ pgtestdb.Config) error {
	_, err := migrations.Apply(ctx, sqlDB, migrations.Options{})
	return err
}

// URL returns the URL of a new migrated database, dropped after the test.
// With TEST_PGBOUNCER_URL set it reaches the database through that
// PgBouncer (transaction pooling); the template and the cloning stay direct.
// With TEST_CITUS_URL set (a Citus coordinator) the database is created on
// every node of that cluster instead, with the extension and the nodes
// registered, then migrated (which distributes the tables).
func URL(t testing.TB) string {
	t.Helper()
	if os.Getenv("TEST_CITUS_URL") != "" {
		return CitusURL(t)
	}
	return LocalURL(t)
}

// LocalURL is URL on the single server (ServerURL) even when TEST_CITUS_URL
// is set: the one-node side of the cluster benchmarks.
func LocalURL(t testing.TB) string {
	t.Helper()
	return viaPooler(t, pgtestdb.Custom(redacting{t}, pgConfig(t), migrator{}).URL())
}

// CitusURL returns the URL of a new migrated database on the Citus cluster
// of TEST_CITUS_URL, dropped on every node after the test; "" when it is not
// set. A cluster database needs the extension on each node, so no template
// copies: about a second per test.
func CitusURL(t testing.TB) string {
	t.Helper()
	coord := os.Getenv("TEST_CITUS_URL")
	if coord == "" {
		return ""
	}
	ctx := context.Background()
	u, err := url.Parse(coord)
	if err != nil {
		t.Fatalf("suitedb: TEST_CITUS_URL: %v", err)
	}
	main, err := sql.Open("pgx", coord)
	if err != nil {
		t.Fatalf("suitedb: %v", err)
	}
	defer main.Close()
	type node struct {
		host string
		port int
	}
	var workers []node
	rows, err := main.QueryContext(ctx, `SELECT nodename, nodeport FROM pg_dist_node WHERE noderole = 'primary' AND groupid <> 0 ORDER BY nodeport`)
	if err != nil {
		t.Fatalf("suitedb: list the Citus nodes of TEST_CITUS_URL: %v", err)
	}
	for rows.Next() {
		var n node
		if err := rows.Scan(&n.host, &n.port); err != nil {
			t.Fatal(err)
		}
		workers = append(workers, n)
	}
	rows.Close()
	name := "lmtest_" + strings.ToLower(strings.ReplaceAll(cuidish(), "-", ""))
	nodeURL := func(host string, port int, dbname string) string {
		v := *u
		v.Host, v.Path = fmt.Sprintf("%s:%d", host, port), "/"+dbname
		return v.String()
	}
	coordPort := 5432
	if p := u.Port(); p != "" {
		fmt.Sscan(p, &coordPort)
	}
	all := append([]node{{u.Hostname(), coordPort}}, workers...)
	for _, n := range all {
		exec(t, nodeURL(n.host, n.port, "postgres"), `CREATE DATABASE `+name)
		t.Cleanup(func() {
			execQuiet(nodeURL(n.host, n.port, "postgres"), `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`)
		})
		exec(t, nodeURL(n.host, n.port, name), `CREATE EXTENSION citus`)
	}
	dbURL := nodeURL(u.Hostname(), coordPort, name)
	admin := nodeURL(u.Hostname(), coordPort, "postgres")
	exec(t, admin, fmt.Sprintf(`ALTER DATABASE %s SET citus.shard_count = %d`, name, citusShards))
	exec(t, admin, fmt.Sprintf(`ALTER DATABASE %s SET citus.max_adaptive_executor_pool_size = 1`, name))
	// Adding a node propagates the roles to it (ALTER ROLE, a cluster-wide
	// catalog): two test processes adding nodes at once fail there with
	// "tuple concurrently updated" (CI). One at a time, across processes.
	lock, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatalf("suitedb: %v", err)
	}
	defer lock.Close(context.WithoutCancel(ctx))
	if _, err := lock.Exec(ctx, `SELECT pg_advisory_lock(hashtext('leadmetrics suitedb: add the Citus nodes'))`); err != nil {
		t.Fatalf("suitedb: %v", err)
	}
	exec(t, dbURL, fmt.Sprintf(`SELECT citus_set_coordinator_host('%s', %d)`, u.Hostname(), coordPort))
	for _, w := range workers {
		exec(t, dbURL, fmt.Sprintf(`SELECT citus_add_node('%s', %d)`, w.host, w.port))
	}
	lock.Close(ctx) // the session's end releases the lock, before the migrations
	sqlDB, err := sql.Open("pgx", dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer sqlDB.Close()
	if _, err := migrations.Apply(ctx, sqlDB, migrations.Options{}); err != nil {
		t.Fatalf("suitedb: migrate the Citus database: %v", err)
	}
	return dbURL
}

// citusShards is the shard count of a test database on Citus (32 by
// default): a query that fans out still runs one task per shard, so the
// routing test tells one shard from several as well, and every fan-out
// query of a test (fingerprints, the system viewer's reads) and the
// distribution of each new database cost several times less. Test
// databases also run fan-out queries on one connection per worker
// (citus.max_adaptive_executor_pool_size = 1): by default a multi-shard
// query in a transaction opens more worker connections, closed again at
// its end, which made TestHostileSelectors (13,000 short transactions
// with a fan-out digest each) 4 times slower (docs/SCALE.md).
const citusShards = 4

// citusNodeURL is the URL of q's database on the node host:port of its
// cluster, as TEST_CITUS_URL's user.
func citusNodeURL(t testing.TB, q *sql.DB, host string, port int) string {
	t.Helper()
	u, err := url.Parse(os.Getenv("TEST_CITUS_URL"))
	if err != nil {
		t.Fatalf("suitedb: TEST_CITUS_URL: %v", err)
	}
	var name string
	if err := q.QueryRow(`SELECT current_database()`).Scan(&name); err != nil {
		t.Fatal(err)
	}
	u.Host, u.Path = fmt.Sprintf("%s:%d", host, port), "/"+name
	return u.String()
}

func exec(t testing.TB, rawURL, stmt string) {
	t.Helper()
	c, err := pgx.Connect(context.Background(), rawURL)
	if err != nil {
		t.Fatalf("suitedb: %v", err)
	}
	defer c.Close(context.Background())
	if _, err := c.Exec(context.Background(), stmt); err != nil {
		t.Fatalf("suitedb: %s: %v", stmt, err)
	}
}

func execQuiet(rawURL, stmt string) {
	if c, err := pgx.Connect(context.Background(), rawURL); err == nil {
		c.Exec(context.Background(), stmt)
		c.Close(context.Background())
	}
}

// cuidish is a unique lower-case name part.
func cuidish() string { return fmt.Sprintf("%d_%d", os.Getpid(), time.Now().UnixNano()) }

// viaPooler points rawURL at TEST_PGBOUNCER_URL's host and port when set.
func viaPooler(t testing.TB, rawURL string) string {
	pooler := os.Getenv("TEST_PGBOUNCER_URL")
	if pooler == "" {
		return rawURL
	}
	p, err := url.Parse(pooler)
	u, err2 := url.Parse(rawURL)
	if err != nil || err2 != nil {
		t.Fatalf("suitedb: unparsable TEST_PGBOUNCER_URL or database URL")
	}
	u.Host = p.Host
	return u.String()
}

// EmptyURL returns the URL of a new database with no schema at all.
func EmptyURL(t testing.TB) string {
	t.Helper()
	SkipOnCitus(t, "needs an empty database")
	return pgtestdb.Custom(redacting{t}, pgConfig(t), pgtestdb.NoopMigrator{}).URL()
}

// DB returns a *sql.DB on a new migrated database.
func DB(t testing.TB) *sql.DB {
	t.Helper()
	return Open(t, URL(t))
}

// Open connects to rawURL through the module's own Open path and closes the
// pool when the test ends.
func Open(t testing.TB, rawURL string) *sql.DB {
	t.Helper()
	sqlDB, err := db.OpenDB(context.Background(), Config(rawURL))
	if err != nil {
		t.Fatalf("suitedb: %v", err)
	}
	t.Cleanup(func() { sqlDB.Close() })
	return sqlDB
}

// Config is the configuration of the tests' handles on rawURL: a minimal
// pool, and the pooler's query mode in a pooler run (every handle uses it:
// some reach PgBouncer through a test's own proxy).
func Config(rawURL string) db.Config {
	cfg := db.DefaultConfig()
	cfg.URL, cfg.PoolMin = rawURL, 1
	if os.Getenv("TEST_PGBOUNCER_URL") != "" {
		cfg.Pooler = db.PoolerPgBouncer
	}
	return cfg
}

// Handle opens a *db.DB (Ent client and pool) on rawURL, closed when the
// test ends.
func Handle(t testing.TB, rawURL string) *db.DB {
	t.Helper()
	h, err := db.Open(context.Background(), Config(rawURL))
	if err != nil {
		t.Fatalf("suitedb: %v", err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

// Client returns an Ent client on a new migrated database (db.NewClient,
// as services build it) and the *sql.DB under it, for assertions in raw
// SQL.
func Client(t testing.TB) (*ent.Client, *sql.DB) {
	t.Helper()
	sqlDB := DB(t)
	return db.NewClient(sqlDB), sqlDB
}

// Tables lists the base tables of the public schema, sorted.
func Tables(t testing.TB, sqlDB *sql.DB) []string {
	t.Helper()
	tables, err := pgserver.Tables(context.Background(), sqlDB)
	if err != nil {
		t.Fatal(err)
	}
	return tables
}

// Tenants inserts an active tenant row for each id, with raw SQL (for
// fixtures that pick their tenant ids or work below the Ent client): the
// lifecycle gate refuses writes for a tenant that has no row.
func Tenants(t testing.TB, q interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
}, ids ...string) {
	t.Helper()
	if _, err := q.ExecContext(context.Background(), `INSERT INTO tenants
		(id, ref_id, tenant_id, created_at, updated_at, name, slug, status)
		SELECT id, 'tenant', id, now(), now(), 'Tenant ' || id, 't-' || lower(regexp_replace(id, '[^a-zA-Z0-9]+', '-', 'g')), 'active'
		FROM unnest($1::text[]) id`, ids); err != nil {
		t.Fatalf("suitedb: create tenants: %v", err)
	}
}

// Fingerprint digests the rows of tables (every table when none is given):
// per table, its row count and an md5 of its rows in id order. Equal
// fingerprints before and after a refused call prove it wrote nothing.
func Fingerprint(t testing.TB, sqlDB *sql.DB, tables ...string) string {
	t.Helper()
	if len(tables) == 0 {
		tables = Tables(t, sqlDB)
	}
	parts := make([]string, 0, len(tables))
	for _, table := range tables {
		var sum string
		q := `SELECT count(*)::text || ':' || coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '') FROM ` +
			pgx.Identifier{table}.Sanitize() + ` t`
		if err := sqlDB.QueryRow(q).Scan(&sum); err != nil {
			t.Fatalf("suitedb: fingerprint %s: %v", table, err)
		}
		parts = append(parts, table+"="+sum)
	}
	return strings.Join(parts, " ")
}

// OnCitus reports whether the tests run on the Citus cluster
// (TEST_CITUS_URL).
func OnCitus() bool { return os.Getenv("TEST_CITUS_URL") != "" }

// SkipOnCitus skips a test that cannot run on the Citus cluster, saying
// why (TEST_CITUS_URL runs).
func SkipOnCitus(t testing.TB, why string) {
	t.Helper()
	if OnCitus() {
		t.Skip("on Citus: " + why)
	}
}

// ModuleRoot is the directory of go.mod above the test's package: the
// repository's scripts run from there, whatever package the test is in.
func ModuleRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test")
		}
		dir = parent
	}
}
