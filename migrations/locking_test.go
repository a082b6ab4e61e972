package migrations_test

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"testing"
	"time"

	atlasmigrate "ariga.io/atlas/sql/migrate"

	"github.com/leadmetrics/db/internal/testing/suitedb"
	"github.com/leadmetrics/db/migrations"
)

// appendFile copies the real directory, applies it to a new database and
// then adds one more file (re-hashed), as a new release would.
func appendFile(t *testing.T, name, content string) (*atlasmigrate.LocalDir, *sql.DB) {
	t.Helper()
	dir, err := atlasmigrate.NewLocalDir(copyDir(t))
	if err != nil {
		t.Fatal(err)
	}
	db := suitedb.Open(t, suitedb.EmptyURL(t))
	if _, err := migrations.Apply(context.Background(), db, migrations.Options{Dir: dir}); err != nil {
		t.Fatal(err)
	}
	if err := dir.WriteFile(name, []byte(content)); err != nil {
		t.Fatal(err)
	}
	rehash(t, dir)
	return dir, db
}

// TestLockTimeoutGivesUpAndRetrySucceeds: another session holds an ACCESS
// EXCLUSIVE lock on users in an open transaction; the migration touching
// users waits lock_timeout, fails with ErrLockTimeout, the revision table
// records the failure, and the same apply succeeds once the lock is gone.
// Both the transactional and the "txmode none" path.
func TestLockTimeoutGivesUpAndRetrySucceeds(t *testing.T) {
	for name, header := range map[string]string{"tx": "", "txmode-none": "-- atlas:txmode none\n\n"} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			const version = "99990101000000"
			dir, db := appendFile(t, version+"_nickname.sql",
				header+`ALTER TABLE "users" ADD COLUMN "nickname" character varying(50) NULL;`+"\n")

			holder, err := db.BeginTx(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer holder.Rollback()
			if _, err := holder.ExecContext(ctx, `LOCK TABLE "users" IN ACCESS EXCLUSIVE MODE`); err != nil {
				t.Fatal(err)
			}

			const timeout = 300 * time.Millisecond
			_, err = migrations.Apply(ctx, db, migrations.Options{Dir: dir, StatementLockTimeout: timeout})
			if !errors.Is(err, migrations.ErrLockTimeout) {
				t.Fatalf("blocked apply: got %v, want ErrLockTimeout", err)
			}
			var fe *migrations.FileError
			if !errors.As(err, &fe) || fe.Version != version || fe.LockTimeout != timeout || !strings.Contains(fe.Stmt, "nickname") {
				t.Fatalf("error = %#v, want a FileError for %s naming the statement and the timeout", err, version)
			}
			if msg := err.Error(); !strings.Contains(msg, "gave up after waiting 300ms for a lock") {
				t.Fatalf("message does not say what happened: %s", msg)
			}
			st, err := migrations.Status(ctx, db, dir)
			if err != nil {
				t.Fatal(err)
			}
			if last := st[len(st)-1]; last.Version != version || last.State != "failed" || !strings.Contains(last.Error, "lock timeout") {
				t.Fatalf("status of the blocked file = %+v, want failed with the lock timeout", last)
			}
			if columnExists(t, db, "users", "nickname") {
				t.Fatal("the blocked statement took effect")
			}

			if err := holder.Rollback(); err != nil {
				t.Fatal(err)
			}
			res, err := migrations.Apply(ctx, db, migrations.Options{Dir: dir, StatementLockTimeout: timeout})
			if err != nil || len(res.Applied) != 1 || res.Current != version {
				t.Fatalf("retry after the lock was released: %v %+v", err, res)
			}
			if !columnExists(t, db, "users", "nickname") {
				t.Fatal("retry did not add the column")
			}
			if total, failed := countRevisions(t, db); failed != 0 || total != len(st) {
				t.Fatalf("revisions after retry: %d rows, %d failed; want %d, 0", total, failed, len(st))
			}
		})
	}
}

// TestTxModeNoneConcurrentIndex: CREATE INDEX CONCURRENTLY cannot run in a
// transaction; with "-- atlas:txmode none" apply runs it without one and
// the index ends up valid.
func TestTxModeNoneConcurrentIndex(t *testing.T) {
	ctx := context.Background()
	const stmt = `CREATE INDEX CONCURRENTLY "user_tenant_id_name" ON "users" ("tenant_id", "name");` + "\n"

	dir, db := appendFile(t, "99990101000000_user_name.sql", stmt)
	_, err := migrations.Apply(ctx, db, migrations.Options{Dir: dir})
	if err == nil || !strings.Contains(err.Error(), "cannot run inside a transaction block") {
		t.Fatalf("CONCURRENTLY in a transactional file: got %v, want PostgreSQL's refusal", err)
	}

	dir, db = appendFile(t, "99990101000000_user_name.sql", "-- atlas:txmode none\n\n"+stmt)
	res, err := migrations.Apply(ctx, db, migrations.Options{Dir: dir})
	if err != nil || len(res.Applied) != 1 {
		t.Fatalf("txmode none apply: %v %+v", err, res)
	}
	var valid bool
	if err := db.QueryRow(`SELECT indisvalid FROM pg_index WHERE indexrelid = 'user_tenant_id_name'::regclass`).Scan(&valid); err != nil || !valid {
		t.Fatalf("index valid = %v (%v), want a valid index", valid, err)
	}
	if _, failed := countRevisions(t, db); failed != 0 {
		t.Fatalf("%d failed revisions", failed)
	}
}

func columnExists(t *testing.T, db *sql.DB, table, column string) bool {
	t.Helper()
	var ok bool
	err := db.QueryRow(`SELECT EXISTS (SELECT 1 FROM information_schema.columns WHERE table_schema = 'public' AND table_name = $1 AND column_name = $2)`,
		table, column).Scan(&ok)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}
