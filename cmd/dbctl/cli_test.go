package main

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	neturl "net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	atlasmigrate "ariga.io/atlas/sql/migrate"
	"ariga.io/atlas/sql/postgres"
	"ariga.io/atlas/sql/schema"

	"github.com/leadmetrics/db/internal/migrate/dev"
	"github.com/leadmetrics/db/internal/testing/clitest"
	"github.com/leadmetrics/db/internal/testing/suitedb"
	"github.com/leadmetrics/db/migrations"
)

// dbctlBin is the dbctl binary built once for the CLI tests.
var dbctlBin string

// repoRoot is where the binary runs by default (migrations/ is there).
const repoRoot = "../.."

func TestMain(m *testing.M) {
	bin, cleanup, err := clitest.Build("dbctl")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	dbctlBin = bin
	code := m.Run()
	cleanup()
	os.Exit(code)
}

type result = clitest.Result

// dbctlIn runs the binary in dir with args.
func dbctlIn(t *testing.T, dir string, args ...string) result {
	t.Helper()
	return clitest.Run(t, dir, nil, dbctlBin, args...)
}

// dbctl runs the binary at the repository root.
func dbctl(t *testing.T, args ...string) result {
	t.Helper()
	return dbctlIn(t, repoRoot, args...)
}

// TestHelpOnEveryCommand: -h and --help print the command's own help to
// stdout and exit 0, for every command and group.
func TestHelpOnEveryCommand(t *testing.T) {
	for _, c := range program.Commands {
		for _, h := range []string{"-h", "--help"} {
			args := append(strings.Fields(c.Path), h)
			r := dbctl(t, args...)
			r.Want(t, 0, args...)
			if !strings.HasPrefix(r.Stdout, "Usage: dbctl "+c.Path) || r.Stderr != "" {
				t.Errorf("dbctl %q: stdout %q, stderr %q", args, r.Stdout, r.Stderr)
			}
		}
	}
	for _, args := range [][]string{{"--help"}, {"-h"}, {"migrate", "--help"}, {"schema", "-h"}} {
		r := dbctl(t, args...)
		r.Want(t, 0, args...)
		if !strings.Contains(r.Stdout, "Usage:\n") || r.Stderr != "" {
			t.Errorf("dbctl %q: stdout %q, stderr %q", args, r.Stdout, r.Stderr)
		}
	}
	if r := dbctl(t, "migrate", "--help"); !strings.Contains(r.Stdout, "dbctl migrate status") || strings.Contains(r.Stdout, "dbctl demo") {
		t.Errorf("migrate --help lists other groups or not its own:\n%s", r.Stdout)
	}
}

// TestStrayArguments: a positional argument a command does not take is a
// usage error (exit 2) naming it, before anything connects.
func TestStrayArguments(t *testing.T) {
	unreachable := "postgres://postgres@127.0.0.1:1/nothing"
	for _, args := range [][]string{
		{"migrate", "status", "x", "--url", unreachable},
		{"migrate", "validate", "extra"},
		{"migrate", "diff", "a", "b"},
		{"nope"},
		{"migrate"},
		{"migrate", "frobnicate"},
		{"migrate", "status", "--no-such-flag"},
	} {
		r := dbctl(t, args...)
		r.Want(t, 2, args...)
		if !strings.Contains(r.Stderr, "Usage") || r.Stdout != "" {
			t.Errorf("dbctl %q: stdout %q, stderr %q", args, r.Stdout, r.Stderr)
		}
	}
	if r := dbctl(t, "demo"); r.Code != 2 || !strings.Contains(r.Stderr, "go run ./cmd/datactl demo") {
		t.Errorf("dbctl demo: exit %d, stderr %s", r.Code, r.Stderr)
	}
	if r := dbctl(t, "migrate", "status", "x", "--url", unreachable); !strings.Contains(r.Stderr, `unexpected argument "x"`) {
		t.Errorf("stderr does not name the argument:\n%s", r.Stderr)
	}
}

// TestFlagsAfterPositional: flags after NAME are parsed, not taken as
// more positional arguments.
func TestFlagsAfterPositional(t *testing.T) {
	r := dbctl(t, "migrate", "validate", "--dir", "migrations")
	r.Want(t, 0)
	r = dbctl(t, "migrate", "diff", "x", "--dir", "/nonexistent/dir")
	if r.Code != 1 || !strings.Contains(r.Stderr, "/nonexistent/dir") {
		t.Fatalf("diff NAME --dir: exit %d, stderr %s", r.Code, r.Stderr)
	}
}

func TestVersion(t *testing.T) {
	dir, err := migrations.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	files, err := dir.Files()
	if err != nil {
		t.Fatal(err)
	}
	r := dbctlIn(t, t.TempDir(), "--version")
	r.Want(t, 0, "--version")
	want := fmt.Sprintf("migrations: version %s (%d files embedded)", files[len(files)-1].Version(), len(files))
	if !strings.HasPrefix(r.Stdout, "dbctl github.com/leadmetrics/db ") || !strings.Contains(r.Stdout, want) {
		t.Fatalf("--version:\n%s\nwant %q", r.Stdout, want)
	}
}

// TestInterruptExits130: SIGINT while apply waits for the migration lock
// cancels the context and exits 130.
func TestInterruptExits130(t *testing.T) {
	url := suitedb.EmptyURL(t)
	sqlDB := suitedb.Open(t, url)
	ctx := context.Background()
	holder, unlock := holdMigrationLock(t, sqlDB)
	defer unlock()
	cmd := exec.Command(dbctlBin, "migrate", "apply", "--url", url, "--lock-wait", "10m")
	cmd.Dir = repoRoot
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Wait until dbctl polls for the lock (then it is past signal setup).
	for {
		var n int
		if err := sqlDB.QueryRowContext(ctx, `SELECT count(*) FROM pg_stat_activity
WHERE datname = current_database() AND pid NOT IN (pg_backend_pid(), $1) AND query LIKE '%pg_try_advisory_lock%'`, holder).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != 130 || !strings.Contains(stderr.String(), "interrupted") {
		t.Fatalf("exit %d, stderr %s; want 130 and 'interrupted'", code, stderr.String())
	}
	if tables := suitedb.Tables(t, sqlDB); len(tables) != 0 {
		t.Fatalf("interrupted apply left tables %v", tables)
	}
}

// holdMigrationLock takes the appliers' advisory lock on its own
// connection (whose backend pid it returns) until unlock.
func holdMigrationLock(t *testing.T, sqlDB *sql.DB) (pid int, unlock func()) {
	t.Helper()
	ctx := context.Background()
	conn, err := sqlDB.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := conn.QueryRowContext(ctx, `SELECT pg_backend_pid()`).Scan(&pid); err != nil {
		t.Fatal(err)
	}
	drv, err := postgres.Open(conn)
	if err != nil {
		t.Fatal(err)
	}
	release, err := drv.(schema.Locker).Lock(ctx, migrations.LockName, 0)
	if err != nil {
		t.Fatal(err)
	}
	return pid, func() { release(); conn.Close() }
}

// copyMigrations copies the repository's migration files (and atlas.sum)
// into a temporary directory.
func copyMigrations(t *testing.T) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "migrations")
	if err := os.Mkdir(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(repoRoot, "migrations")
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if filepath.Ext(e.Name()) != ".sql" && e.Name() != "atlas.sum" {
			continue
		}
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

func listDir(t *testing.T, dir string) string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return strings.Join(names, " ")
}

// TestMigrationNames: names outside [a-z0-9_] are refused before anything
// is written; 'migrate new' writes an empty versioned file that sorts last
// and rehashes.
func TestMigrationNames(t *testing.T) {
	dir := copyMigrations(t)
	before := listDir(t, dir)
	for _, name := range []string{"../../evil", "with space", "a;b", "Upper", ""} {
		for _, sub := range []string{"diff", "new"} {
			r := dbctl(t, "migrate", sub, name, "--dir", dir)
			r.Want(t, 1, sub, name)
			if !strings.Contains(r.Stderr, "bad migration name") || !strings.Contains(r.Stderr, "lower-case letters, digits and underscores") {
				t.Errorf("migrate %s %q: %s", sub, name, r.Stderr)
			}
		}
	}
	if after := listDir(t, dir); after != before {
		t.Fatalf("refused names wrote files: %s -> %s", before, after)
	}
	r := dbctl(t, "migrate", "new", "backfill_budget", "--dir", dir)
	r.Want(t, 0)
	files, err := filepath.Glob(filepath.Join(dir, "*.sql"))
	if err != nil {
		t.Fatal(err)
	}
	newest := files[len(files)-1]
	if !strings.HasSuffix(newest, "_backfill_budget.sql") || r.Stdout != "wrote "+newest+" and atlas.sum\n" {
		t.Fatalf("new wrote %v, printed %q", files, r.Stdout)
	}
	dbctl(t, "migrate", "validate", "--dir", dir).Want(t, 0)
	// A second file in the same second still sorts after it.
	dbctl(t, "migrate", "new", "backfill_more", "--dir", dir).Want(t, 0)
	files, _ = filepath.Glob(filepath.Join(dir, "*.sql"))
	if !strings.HasSuffix(files[len(files)-1], "_backfill_more.sql") {
		t.Fatalf("second new file does not sort last: %v", files)
	}
	// The hand-written files apply (comments only: nothing to run).
	url := suitedb.EmptyURL(t)
	dbctl(t, "migrate", "apply", "--dir", dir, "--url", url).Want(t, 0)
}

// TestFilesWithoutVersion: a .sql file with no numeric version is refused
// by validate, history and status, even when atlas.sum covers it.
func TestFilesWithoutVersion(t *testing.T) {
	dir := copyMigrations(t)
	if err := os.WriteFile(filepath.Join(dir, "evil.sql"), []byte("DROP TABLE tenants;\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	local, err := atlasmigrate.NewLocalDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := migrations.Rehash(local); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"migrate", "validate", "--dir", dir},
		{"migrate", "history", "--dir", dir},
		{"migrate", "status", "--dir", dir, "--url", "postgres://postgres@127.0.0.1:1/x"},
		{"migrate", "hash", "--dir", dir},
	} {
		r := dbctl(t, args...)
		r.Want(t, 1, args...)
		if !strings.Contains(r.Stderr, `file "evil.sql" is not VERSION_name.sql`) {
			t.Errorf("dbctl %q: %s", args, r.Stderr)
		}
	}
}

// TestMissingDirectory: outside the repository root the commands say how
// to point at the migrations.
func TestMissingDirectory(t *testing.T) {
	for _, args := range [][]string{{"migrate", "validate"}, {"migrate", "status"}, {"migrate", "history"}} {
		r := dbctlIn(t, t.TempDir(), args...)
		r.Want(t, 1, args...)
		if !strings.Contains(r.Stderr, "migration directory not found") || !strings.Contains(r.Stderr, "--dir") {
			t.Errorf("dbctl %q: %s", args, r.Stderr)
		}
	}
	r := dbctlIn(t, t.TempDir(), "migrate", "check", "--dir", copyMigrations(t))
	r.Want(t, 1)
	if !strings.Contains(r.Stderr, "schema.sql not found") || !strings.Contains(r.Stderr, "--src") {
		t.Errorf("check outside the repository: %s", r.Stderr)
	}
}

// withPassword puts a password in rawURL (the server trusts local users,
// so it is ignored) to check that status redacts it.
func withPassword(t *testing.T, rawURL string) string {
	t.Helper()
	u, err := neturl.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	u.User = neturl.UserPassword(u.User.Username(), "s3cret")
	return u.String()
}

// TestStatus: target (redacted), current and next versions, applied-at
// times; exit 1 with a failed file, and with --check on pending ones.
func TestStatus(t *testing.T) {
	dir := copyMigrations(t)
	files, _ := filepath.Glob(filepath.Join(dir, "*.sql"))
	n := len(files)
	first, last := versionOf(files[0]), versionOf(files[n-1])
	url := withPassword(t, suitedb.EmptyURL(t))
	r := dbctl(t, "migrate", "status", "--dir", dir, "--url", url)
	r.Want(t, 0)
	for _, want := range []string{"target:  postgres://", ":xxxxx@127.0.0.1", "current: none\n", "next:    " + first + "\n",
		first + "  pending  -", fmt.Sprintf("%d file(s): 0 applied, %d pending, 0 failed", n, n)} {
		if !strings.Contains(r.Stdout, want) {
			t.Errorf("fresh status lacks %q:\n%s", want, r.Stdout)
		}
	}
	dbctl(t, "migrate", "status", "--check", "--dir", dir, "--url", url).Want(t, 1)

	dbctl(t, "migrate", "apply", "--dir", dir, "--url", url).Want(t, 0)
	r = dbctl(t, "migrate", "status", "--check", "--dir", dir, "--url", url)
	r.Want(t, 0)
	today := time.Now().UTC().Format("2006-01-02T")
	if !strings.Contains(r.Stdout, "current: "+last+"\n") || !strings.Contains(r.Stdout, last+"  applied  "+today) {
		t.Errorf("applied status:\n%s", r.Stdout)
	}

	bad := "20991231000000_broken.sql"
	if err := os.WriteFile(filepath.Join(dir, bad), []byte("CREATE TABLE broken (a int);\nSELECT no_such_function();\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	dbctl(t, "migrate", "hash", "--dir", dir).Want(t, 0)
	dbctl(t, "migrate", "apply", "--dir", dir, "--url", url).Want(t, 1)
	r = dbctl(t, "migrate", "status", "--dir", dir, "--url", url)
	r.Want(t, 1)
	for _, want := range []string{"current: " + last + "\n", "20991231000000  failed   " + today, "no_such_function", "at statement: SELECT no_such_function();", "0 pending, 1 failed", "s3cret"} {
		if want == "s3cret" {
			if strings.Contains(r.Stdout+r.Stderr, want) {
				t.Errorf("status prints the password:\n%s", r.Stdout)
			}
			continue
		}
		if !strings.Contains(r.Stdout, want) {
			t.Errorf("failed status lacks %q:\n%s", want, r.Stdout)
		}
	}
	if !strings.Contains(r.Stderr, "a migration failed") {
		t.Errorf("stderr: %s", r.Stderr)
	}
}

// TestApplyAmountAndVersion: 'apply N' and --to-version stop where asked;
// an unknown version is refused before anything runs.
func TestApplyAmountAndVersion(t *testing.T) {
	dir := copyMigrations(t)
	dbctl(t, "migrate", "new", "data_one", "--dir", dir).Want(t, 0)
	dbctl(t, "migrate", "new", "data_two", "--dir", dir).Want(t, 0)
	files, _ := filepath.Glob(filepath.Join(dir, "*.sql"))
	n := len(files)
	version := func(i int) string { return versionOf(files[i]) }
	url := suitedb.EmptyURL(t)
	current := func() string {
		r := dbctl(t, "migrate", "status", "--dir", dir, "--url", url)
		r.Want(t, 0)
		line, _, _ := strings.Cut(strings.SplitN(r.Stdout, "current: ", 2)[1], "\n")
		return line
	}
	dbctl(t, "migrate", "apply", "--to-version", "20990101000000", "--dir", dir, "--url", url).Want(t, 1)
	if got := current(); got != "none" {
		t.Fatalf("unknown --to-version applied up to %s", got)
	}
	r := dbctl(t, "migrate", "apply", "1", "--dir", dir, "--url", url)
	r.Want(t, 0)
	if got := current(); got != version(0) || !strings.Contains(r.Stdout, "applied 1 migration(s)") {
		t.Fatalf("apply 1: current %s\n%s", got, r.Stdout)
	}
	dbctl(t, "migrate", "apply", "--to-version", version(n-2), "--dir", dir, "--url", url).Want(t, 0)
	if got := current(); got != version(n-2) {
		t.Fatalf("--to-version %s: current %s", version(n-2), got)
	}
	dbctl(t, "migrate", "apply", "5", "--dir", dir, "--url", url).Want(t, 0)
	if got := current(); got != version(n-1) {
		t.Fatalf("apply 5: current %s", got)
	}
}

// TestApplyAllowDirty: a database with an unrelated table and no history
// is refused with a hint; --allow-dirty applies on top of it.
func TestApplyAllowDirty(t *testing.T) {
	url := suitedb.EmptyURL(t)
	if _, err := suitedb.Open(t, url).Exec(`CREATE TABLE unrelated (id int)`); err != nil {
		t.Fatal(err)
	}
	r := dbctl(t, "migrate", "apply", "--url", url)
	r.Want(t, 1)
	if !strings.Contains(r.Stderr, "no migration history") || !strings.Contains(r.Stderr, "--allow-dirty") || !strings.Contains(r.Stderr, "--baseline") {
		t.Fatalf("stderr: %s", r.Stderr)
	}
	dbctl(t, "migrate", "apply", "--allow-dirty", "--baseline", "20261127120701", "--url", url).Want(t, 2)
	dbctl(t, "migrate", "apply", "--allow-dirty", "--url", url).Want(t, 0)
	dbctl(t, "migrate", "status", "--check", "--url", url).Want(t, 0)
}

// editedSchema copies ent/schema into a package inside the module (the
// loader compiles it there), applies edit to campaign.go, and returns its
// path relative to the repository root.
func editedSchema(t *testing.T, edit func(string) string) string {
	t.Helper()
	if err := os.MkdirAll("testdata", 0o755); err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("testdata", "tmp-schema-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	src := filepath.Join(repoRoot, "ent", "schema")
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if e.Name() == "campaign.go" {
			b = []byte(edit(string(b)))
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return "./" + filepath.ToSlash(filepath.Join("cmd", "dbctl", dir))
}

// dropObjective removes the objective field from campaign.go.
func dropObjective(t *testing.T) func(string) string {
	return func(s string) string {
		const line = "\t\tfield.Text(\"objective\").Optional(),\n"
		if !strings.Contains(s, line) {
			t.Fatalf("campaign.go has no %q", line)
		}
		return strings.Replace(s, line, "", 1)
	}
}

// schemaFileWith writes a schema.sql for the schema package at schemaPath
// (its hash) whose body is the committed one with old replaced by new.
func schemaFileWith(t *testing.T, schemaPath, old, new string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, "schema.sql"))
	if err != nil {
		t.Fatal(err)
	}
	_, body, _ := strings.Cut(string(b), "\n\n")
	if !strings.Contains(body, old) {
		t.Fatalf("schema.sql has no %q", old)
	}
	hash, err := dev.SchemaHash(filepath.Join(repoRoot, schemaPath))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "schema.sql")
	if err := os.WriteFile(path, dev.SchemaFile(hash, []byte(strings.Replace(body, old, new, 1))), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestDiffRefusesStaleSchemaFile: with ent/schema edited and schema.sql not
// regenerated, diff and check refuse to work from it and say what to run
// (finding 3: the official CLI wrote a migration reverting the edit).
func TestDiffRefusesStaleSchemaFile(t *testing.T) {
	schemaPath := editedSchema(t, dropObjective(t))
	dir := copyMigrations(t)
	devURL := suitedb.EmptyURL(t)
	for _, args := range [][]string{
		{"migrate", "diff", "drop_objective", "--schema", schemaPath, "--dir", dir, "--dev-url", devURL},
		{"migrate", "check", "--schema", schemaPath, "--dir", dir, "--dev-url", devURL},
	} {
		r := dbctl(t, args...)
		r.Want(t, 1, args...)
		if !strings.Contains(r.Stderr, "schema.sql is older than ent/schema") || !strings.Contains(r.Stderr, "go generate ./...") {
			t.Fatalf("dbctl %q:\n%s", args, r.Stderr)
		}
	}
	if files, _ := filepath.Glob(filepath.Join(dir, "*_drop_objective.sql")); len(files) != 0 {
		t.Fatalf("a stale schema.sql produced %v", files)
	}
}

// TestDiffAsksAboutDrops: a dropped column with an added column of the
// same type is refused without a terminal, naming both flags; --rename
// writes a RENAME, --allow-drop a DROP, each under a warning header, and a
// flag naming nothing dropped is a usage error (finding 2).
func TestDiffAsksAboutDrops(t *testing.T) {
	schemaPath := "./ent/schema"
	src := schemaFileWith(t, schemaPath, `"objective" text NULL`, `"goal" text NULL`)
	devURL := suitedb.EmptyURL(t)
	common := []string{"--src", src, "--dev-url", devURL}

	dir := copyMigrations(t)
	r := dbctl(t, append([]string{"migrate", "diff", "objective_to_goal", "--dir", dir}, common...)...)
	r.Want(t, 1)
	if !strings.Contains(r.Stderr, "--rename campaigns.objective=goal or --allow-drop campaigns.objective") {
		t.Fatalf("no terminal, no flag:\n%s", r.Stderr)
	}
	if files, _ := filepath.Glob(filepath.Join(dir, "*_objective_to_goal.sql")); len(files) != 0 {
		t.Fatal("a refused diff wrote a file")
	}
	r = dbctl(t, append([]string{"migrate", "diff", "objective_to_goal", "--dir", dir, "--rename", "campaigns.objective=goal"}, common...)...)
	r.Want(t, 0)
	files, _ := filepath.Glob(filepath.Join(dir, "*_objective_to_goal.sql"))
	body, _ := os.ReadFile(files[0])
	if !strings.HasPrefix(string(body), "-- Warnings") || !strings.Contains(string(body), `RENAME COLUMN "objective" TO "goal"`) ||
		!strings.Contains(r.Stdout, "warning: it renames column") {
		t.Fatalf("rename: stdout %s\n%s", r.Stdout, body)
	}
	dbctl(t, "migrate", "validate", "--dir", dir).Want(t, 0)

	dir = copyMigrations(t)
	r = dbctl(t, append([]string{"migrate", "diff", "drop_objective", "--dir", dir, "--allow-drop", "campaigns.objective"}, common...)...)
	r.Want(t, 0)
	files, _ = filepath.Glob(filepath.Join(dir, "*_drop_objective.sql"))
	body, _ = os.ReadFile(files[0])
	if !strings.Contains(string(body), "drops column \"objective\" of table \"campaigns\"") || !strings.Contains(string(body), `DROP COLUMN "objective"`) {
		t.Fatalf("drop:\n%s", body)
	}
	r = dbctl(t, append([]string{"migrate", "diff", "x", "--dir", copyMigrations(t), "--allow-drop", "campaigns.objectiv", "--allow-drop", "campaigns.objective"}, common...)...)
	if r.Want(t, 2); !strings.Contains(r.Stderr, `"campaigns.objectiv" is neither a dropped column`) {
		t.Fatalf("a flag naming nothing:\n%s", r.Stderr)
	}
}

func tableCount(t *testing.T, url string) int {
	t.Helper()
	return len(suitedb.Tables(t, suitedb.Open(t, url)))
}

// TestSchemaPush: --dry-run shows the SQL and changes nothing; push
// creates the schema, a second push finds nothing, a schema edit is pushed;
// a migrated database is refused unless --force.
func TestSchemaPush(t *testing.T) {
	url, devURL := suitedb.EmptyURL(t), suitedb.EmptyURL(t)
	r := dbctl(t, "schema", "push", "--dev-url", devURL, "--url", url, "--dry-run")
	r.Want(t, 0)
	if !strings.Contains(r.Stdout, `CREATE TABLE "public"."tenants"`) || !strings.Contains(r.Stdout, "dry run") || tableCount(t, url) != 0 {
		t.Fatalf("dry run:\n%s", r.Stdout)
	}
	dbctl(t, "schema", "push", "--dev-url", devURL, "--url", url).Want(t, 0)
	if n, want := tableCount(t, url), tableCount(t, suitedb.URL(t)); n != want {
		t.Fatalf("push made %d tables, migrations %d", n, want)
	}
	if r := dbctl(t, "schema", "push", "--dev-url", devURL, "--url", url); !strings.Contains(r.Stdout, "already matches") {
		t.Fatalf("second push:\n%s", r.Stdout)
	}
	schemaPath := editedSchema(t, dropObjective(t))
	r = dbctl(t, "schema", "push", "--dev-url", devURL, "--url", url, "--schema", schemaPath)
	r.Want(t, 0)
	if !strings.Contains(r.Stdout, `DROP COLUMN "objective"`) || !strings.Contains(r.Stdout, "applied 1 statement(s)") {
		t.Fatalf("push of the edit:\n%s", r.Stdout)
	}

	migrated := suitedb.URL(t)
	r = dbctl(t, "schema", "push", "--dev-url", devURL, "--url", migrated)
	r.Want(t, 1)
	if !strings.Contains(r.Stderr, "migration revisions") || !strings.Contains(r.Stderr, "--force") {
		t.Fatalf("push to a migrated database:\n%s", r.Stderr)
	}
	if r := dbctl(t, "schema", "push", "--dev-url", devURL, "--url", migrated, "--force"); r.Code != 0 || !strings.Contains(r.Stdout, "already matches") {
		t.Fatalf("push --force to an up-to-date migrated database: %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
}

// TestMigrateReset: a database with tenants is refused unless --force;
// reset leaves a freshly migrated, empty database.
func TestMigrateReset(t *testing.T) {
	url := suitedb.URL(t)
	sqlDB := suitedb.Open(t, url)
	if _, err := sqlDB.Exec(`INSERT INTO tenants (id, tenant_id, ref_id, created_at, updated_at, name, slug, status)
VALUES ('t1', 't1', 'r1', now(), now(), 'T', 't', 'active')`); err != nil {
		t.Fatal(err)
	}
	r := dbctl(t, "migrate", "reset", "--url", url)
	r.Want(t, 1)
	if !strings.Contains(r.Stderr, "holds tenants (1)") || !strings.Contains(r.Stderr, "--force") {
		t.Fatalf("reset with tenants:\n%s", r.Stderr)
	}
	var n int
	if err := sqlDB.QueryRow(`SELECT count(*) FROM tenants`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("refused reset changed tenants: %d %v", n, err)
	}
	if _, err := sqlDB.Exec(`CREATE SCHEMA scratch; CREATE TABLE scratch.t (id int)`); err != nil {
		t.Fatal(err)
	}
	dbctl(t, "migrate", "reset", "--url", url, "--force").Want(t, 0)
	var scratch bool
	if err := sqlDB.QueryRow(`SELECT to_regnamespace('scratch') IS NOT NULL`).Scan(&scratch); err != nil || scratch {
		t.Fatalf("reset left schema scratch: %v", err)
	}
	if err := sqlDB.QueryRow(`SELECT count(*) FROM tenants`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("after reset: %d tenants, %v", n, err)
	}
	dbctl(t, "migrate", "status", "--check", "--url", url).Want(t, 0)
	dbctl(t, "migrate", "reset", "--url", url).Want(t, 0) // no tenants: no --force needed
}

// versionOf is the version of a migration file path.
func versionOf(path string) string { return strings.SplitN(filepath.Base(path), "_", 2)[0] }
