package migrations_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"hash/fnv"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	atlasmigrate "ariga.io/atlas/sql/migrate"

	"github.com/leadmetrics/db/internal/testing/clitest"
	"github.com/leadmetrics/db/internal/testing/suitedb"
	"github.com/leadmetrics/db/migrations"
)

func embeddedFiles(t *testing.T) []atlasmigrate.File {
	t.Helper()
	dir, err := migrations.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	files, err := dir.Files()
	if err != nil || len(files) == 0 {
		t.Fatalf("embedded migrations: %v (%d files)", err, len(files))
	}
	return files
}

func countRevisions(t *testing.T, db *sql.DB) (total, failed int) {
	t.Helper()
	err := db.QueryRow(`SELECT count(*), count(*) FILTER (WHERE error IS NOT NULL OR applied <> total)
		FROM atlas_schema_revisions.atlas_schema_revisions`).Scan(&total, &failed)
	if err != nil {
		t.Fatal(err)
	}
	return total, failed
}

func TestApplyFromEmptyThenNoop(t *testing.T) {
	ctx := context.Background()
	db := suitedb.Open(t, suitedb.EmptyURL(t))
	files := embeddedFiles(t)

	res, err := migrations.Apply(ctx, db, migrations.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Applied) != len(files) || res.Current != files[len(files)-1].Version() {
		t.Fatalf("first apply: %+v, want %d files up to %s", res, len(files), files[len(files)-1].Version())
	}
	if tables := len(suitedb.Tables(t, db)); tables != 19 {
		t.Fatalf("public tables = %d, want 19", tables)
	}

	res, err = migrations.Apply(ctx, db, migrations.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Applied) != 0 {
		t.Fatalf("second apply ran %v, want nothing", res.Applied)
	}
	if total, failed := countRevisions(t, db); total != len(files) || failed != 0 {
		t.Fatalf("revisions: %d rows, %d failed; want %d, 0", total, failed, len(files))
	}
}

// TestConcurrentApplyProcesses starts four dbctl processes on one empty
// database: the advisory lock lets one apply each file once, the others find
// nothing pending.
func TestConcurrentApplyProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("builds dbctl")
	}
	bin := clitest.BuildFor(t, "../cmd/dbctl")
	url := suitedb.EmptyURL(t)
	files := embeddedFiles(t)

	outs := make([]string, 4)
	errs := make([]error, 4)
	var wg sync.WaitGroup
	for i := range outs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.Command(bin, "migrate", "apply", "--url", url, "--dir", ".")
			var buf bytes.Buffer
			cmd.Stdout, cmd.Stderr = &buf, &buf
			errs[i] = cmd.Run()
			outs[i] = buf.String()
		}()
	}
	wg.Wait()
	appliers := 0
	for i := range outs {
		if errs[i] != nil {
			t.Fatalf("process %d: %v\n%s", i, errs[i], outs[i])
		}
		if strings.Contains(outs[i], "applied ") && !strings.Contains(outs[i], "no pending") {
			appliers++
		}
	}
	if appliers != 1 {
		t.Fatalf("%d processes applied migrations, want exactly 1:\n%s", appliers, strings.Join(outs, "\n---\n"))
	}
	db := suitedb.Open(t, url)
	if total, failed := countRevisions(t, db); total != len(files) || failed != 0 {
		t.Fatalf("revisions: %d rows, %d failed; want %d, 0", total, failed, len(files))
	}
}

func copyDir(t *testing.T) string {
	t.Helper()
	dst := t.TempDir()
	matches, _ := filepath.Glob("*.sql")
	for _, m := range append(matches, "atlas.sum") {
		b, err := os.ReadFile(m)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, m), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

func TestValidateCatchesEditedFile(t *testing.T) {
	path := copyDir(t)
	dir, err := atlasmigrate.NewLocalDir(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := migrations.Validate(dir); err != nil {
		t.Fatalf("pristine copy: %v", err)
	}
	files, _ := dir.Files()
	f := filepath.Join(path, files[0].Name())
	b, _ := os.ReadFile(f)
	if err := os.WriteFile(f, append(b, []byte("\nDROP TABLE users;\n")...), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := migrations.Validate(dir); !errors.Is(err, atlasmigrate.ErrChecksumMismatch) {
		t.Fatalf("edited file: got %v, want ErrChecksumMismatch", err)
	}
	// Apply refuses the same directory before touching the database.
	db := suitedb.Open(t, suitedb.EmptyURL(t))
	if _, err := migrations.Apply(context.Background(), db, migrations.Options{Dir: dir}); !errors.Is(err, atlasmigrate.ErrChecksumMismatch) {
		t.Fatalf("apply of edited dir: got %v, want ErrChecksumMismatch", err)
	}
}

// TestFailedFileRollsBackAndRecords appends a failing file: its transaction
// rolls back entirely, the revision table records the error, and a fixed
// file applies on retry.
func TestFailedFileRollsBackAndRecords(t *testing.T) {
	ctx := context.Background()
	path := copyDir(t)
	dir, _ := atlasmigrate.NewLocalDir(path)
	bad := "CREATE TABLE probe (id int);\nINSERT INTO no_such_table VALUES (1);\n"
	if err := dir.WriteFile("99990101000000_bad.sql", []byte(bad)); err != nil {
		t.Fatal(err)
	}
	rehash(t, dir)
	db := suitedb.Open(t, suitedb.EmptyURL(t))
	_, err := migrations.Apply(ctx, db, migrations.Options{Dir: dir})
	var fe *migrations.FileError
	if !errors.As(err, &fe) || fe.Version != "99990101000000" || !strings.Contains(fe.Stmt, "no_such_table") {
		t.Fatalf("got %v, want a FileError for the bad statement", err)
	}
	var probe sql.NullString
	if err := db.QueryRow(`SELECT to_regclass('public.probe')::text`).Scan(&probe); err != nil {
		t.Fatal(err)
	}
	if probe.Valid {
		t.Fatal("table of the failed file survived: the file was not one transaction")
	}
	st, err := migrations.Status(ctx, db, dir)
	if err != nil {
		t.Fatal(err)
	}
	if last := st[len(st)-1]; last.State != "failed" || !strings.Contains(last.Error, "no_such_table") {
		t.Fatalf("status of bad file = %+v", last)
	}
	if err := dir.WriteFile("99990101000000_bad.sql", []byte("CREATE TABLE probe (id int);\n")); err != nil {
		t.Fatal(err)
	}
	rehash(t, dir)
	res, err := migrations.Apply(ctx, db, migrations.Options{Dir: dir})
	if err != nil || len(res.Applied) != 1 {
		t.Fatalf("retry: %v %+v", err, res)
	}
	if _, failed := countRevisions(t, db); failed != 0 {
		t.Fatalf("%d failed revisions after the fix", failed)
	}
}

func TestBaselineSkipsExistingSchema(t *testing.T) {
	ctx := context.Background()
	files := embeddedFiles(t)
	db := suitedb.Open(t, suitedb.EmptyURL(t))
	// A database that already has the schema (say, from the official CLI's
	// schema apply) but no revision table.
	for _, f := range files {
		execFile(t, db, f)
	}
	if _, err := migrations.Apply(ctx, db, migrations.Options{}); err == nil {
		t.Fatal("apply on a non-empty database without baseline succeeded")
	}
	res, err := migrations.Apply(ctx, db, migrations.Options{BaselineVersion: files[len(files)-1].Version()})
	if err != nil || len(res.Applied) != 0 {
		t.Fatalf("baseline apply: %v %+v", err, res)
	}
	st, err := migrations.Status(ctx, db, nil)
	if err != nil || len(st) != len(files) {
		t.Fatalf("status: %v, %d files, want %d", err, len(st), len(files))
	}
	for _, s := range st {
		if s.State != "baseline" {
			t.Fatalf("after baseline at the newest version, %s is %s", s.Version, s.State)
		}
	}
}

// TestApplyHoldsOneConnection: the lock is session-level, so apply must do
// all its work on the session that holds it; a pool of one must not hang.
func TestApplyHoldsOneConnection(t *testing.T) {
	db := suitedb.Open(t, suitedb.EmptyURL(t))
	db.SetMaxOpenConns(1)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := migrations.Apply(ctx, db, migrations.Options{})
	if err != nil || len(res.Applied) != len(embeddedFiles(t)) {
		t.Fatalf("apply with one connection: %v %+v", err, res)
	}
}

// TestLockedByAnotherApplier holds the advisory lock under the key the
// Atlas driver derives (FNV-32 of LockName, as the official CLI takes it)
// from another session: apply waits LockWait, then reports ErrLocked.
func TestLockedByAnotherApplier(t *testing.T) {
	ctx := context.Background()
	db := suitedb.Open(t, suitedb.EmptyURL(t))
	h := fnv.New32()
	h.Write([]byte(migrations.LockName))
	holder, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	if _, err := holder.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, int64(h.Sum32())); err != nil {
		t.Fatal(err)
	}
	if _, err := migrations.Apply(ctx, db, migrations.Options{LockWait: 200 * time.Millisecond}); !errors.Is(err, migrations.ErrLocked) {
		t.Fatalf("apply under another holder's lock: got %v, want ErrLocked", err)
	}
	if _, err := holder.ExecContext(ctx, `SELECT pg_advisory_unlock($1)`, int64(h.Sum32())); err != nil {
		t.Fatal(err)
	}
	if _, err := migrations.Apply(ctx, db, migrations.Options{LockWait: 200 * time.Millisecond}); err != nil {
		t.Fatalf("apply after the lock was released: %v", err)
	}
}

// TestCLITargetIdentifierRowIsNotARevision: the official CLI keeps a row
// ".atlas_cloud_identifier" in the revision table. It is not an applied
// migration: a database holding the schema and only that row still needs a
// baseline, and the baseline is honoured.
func TestCLITargetIdentifierRowIsNotARevision(t *testing.T) {
	ctx := context.Background()
	db := suitedb.Open(t, suitedb.EmptyURL(t))
	files := embeddedFiles(t)
	for _, f := range files {
		execFile(t, db, f)
	}
	if _, err := db.ExecContext(ctx, `CREATE SCHEMA atlas_schema_revisions;
		CREATE TABLE atlas_schema_revisions.atlas_schema_revisions (version varchar PRIMARY KEY,
		  description varchar NOT NULL, type bigint NOT NULL DEFAULT 2, applied bigint NOT NULL DEFAULT 0,
		  total bigint NOT NULL DEFAULT 0, executed_at timestamptz NOT NULL, execution_time bigint NOT NULL,
		  error text, error_stmt text, hash varchar NOT NULL, partial_hashes jsonb, operator_version varchar NOT NULL);
		INSERT INTO atlas_schema_revisions.atlas_schema_revisions
		  (version, description, executed_at, execution_time, hash, operator_version)
		  VALUES ('.atlas_cloud_identifier', 'b2f0c6e0-0000-4000-8000-000000000000', now(), 0, '', 'Atlas CLI')`); err != nil {
		t.Fatal(err)
	}
	var notClean *atlasmigrate.NotCleanError
	if _, err := migrations.Apply(ctx, db, migrations.Options{}); !errors.As(err, &notClean) {
		t.Fatalf("apply on a populated database with only the CLI's row: got %v, want NotCleanError", err)
	}
	last := files[len(files)-1].Version()
	res, err := migrations.Apply(ctx, db, migrations.Options{BaselineVersion: last})
	if err != nil || len(res.Applied) != 0 || res.Current != last {
		t.Fatalf("baseline next to the CLI's row: %v %+v", err, res)
	}
}

func rehash(t *testing.T, dir *atlasmigrate.LocalDir) {
	t.Helper()
	sum, err := dir.Checksum()
	if err != nil {
		t.Fatal(err)
	}
	if err := atlasmigrate.WriteSumFile(dir, sum); err != nil {
		t.Fatal(err)
	}
}

// execFile runs f's statements one by one, as the official CLI's schema
// apply would (CONCURRENTLY refuses a multi-statement string).
func execFile(t *testing.T, db *sql.DB, f atlasmigrate.File) {
	t.Helper()
	stmts, err := f.Stmts()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range stmts {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("%s: %v", f.Name(), err)
		}
	}
}
