package migrations_test

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/leadmetrics/db/internal/testing/suitedb"
	"github.com/leadmetrics/db/migrations"
)

// TestCompareBehindAndCurrent: a new database has every embedded file
// pending; after Apply none.
func TestCompareBehindAndCurrent(t *testing.T) {
	ctx := context.Background()
	db := suitedb.Open(t, suitedb.EmptyURL(t))
	files := embeddedFiles(t)
	v, err := migrations.Compare(ctx, db, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Pending) != len(files) || v.Current != "" || len(v.Ahead) != 0 {
		t.Fatalf("new database: %+v, want all %d files pending", v, len(files))
	}
	if _, err := migrations.Apply(ctx, db, migrations.Options{}); err != nil {
		t.Fatal(err)
	}
	v, err = migrations.Compare(ctx, db, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Pending) != 0 || len(v.Ahead) != 0 || v.Current != files[len(files)-1].Version() {
		t.Fatalf("migrated database: %+v", v)
	}
}

// TestApplyRefusesADatabaseAhead: a newer release applied a file this
// binary does not embed; Apply names it (typed error) unless AllowAhead.
func TestApplyRefusesADatabaseAhead(t *testing.T) {
	ctx := context.Background()
	const newer = "99990101000000"
	dir, db := appendFile(t, newer+"_nickname.sql", `ALTER TABLE "users" ADD COLUMN "nickname" character varying(50) NULL;`+"\n")
	if _, err := migrations.Apply(ctx, db, migrations.Options{Dir: dir}); err != nil {
		t.Fatal(err)
	}
	_, err := migrations.Apply(ctx, db, migrations.Options{}) // the old binary's embedded files
	var ahead *migrations.AheadError
	if !errors.Is(err, migrations.ErrAhead) || !errors.As(err, &ahead) || !slices.Equal(ahead.Versions, []string{newer}) ||
		!strings.Contains(err.Error(), newer) {
		t.Fatalf("apply of older files: got %v, want an AheadError naming %s", err, newer)
	}
	v, err := migrations.Compare(ctx, db, nil)
	if err != nil || !slices.Equal(v.Ahead, []string{newer}) || len(v.Pending) != 0 {
		t.Fatalf("Compare: %+v %v", v, err)
	}
	res, err := migrations.Apply(ctx, db, migrations.Options{AllowAhead: true})
	if err != nil || len(res.Applied) != 0 || res.Current != newer {
		t.Fatalf("AllowAhead: %+v %v", res, err)
	}
}

// TestLockHolderIsNamed: while another session holds the migration lock,
// Holder names it, Apply logs whom it waits for and its ErrLocked names
// the holder.
func TestLockHolderIsNamed(t *testing.T) {
	ctx := context.Background()
	db := suitedb.Open(t, suitedb.EmptyURL(t))
	if h, err := migrations.Holder(ctx, db); err != nil || h != nil {
		t.Fatalf("free lock: holder %v, %v", h, err)
	}
	holder, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	var pid int
	if _, err := holder.ExecContext(ctx, `SET application_name = 'other-applier'`); err != nil {
		t.Fatal(err)
	}
	if err := holder.QueryRowContext(ctx, `SELECT pg_backend_pid()`).Scan(&pid); err != nil {
		t.Fatal(err)
	}
	if _, err := holder.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, lockKey()); err != nil {
		t.Fatal(err)
	}
	h, err := migrations.Holder(ctx, db)
	if err != nil || h == nil || h.PID != pid || h.ApplicationName != "other-applier" || h.Since.IsZero() {
		t.Fatalf("Holder = %+v, %v; want pid %d", h, err, pid)
	}
	var logged []string
	_, err = migrations.Apply(ctx, db, migrations.Options{LockWait: 100 * time.Millisecond,
		Log: func(f string, a ...any) { logged = append(logged, fmt.Sprintf(f, a...)) }})
	var le *migrations.LockedError
	if !errors.Is(err, migrations.ErrLocked) || !errors.As(err, &le) || le.Holder == nil || le.Holder.PID != pid {
		t.Fatalf("apply under the lock: %v, want a LockedError naming pid %d", err, pid)
	}
	want := fmt.Sprintf("waiting for lock held by pid %d (other-applier) since ", pid)
	if len(logged) == 0 || !strings.HasPrefix(logged[0], want) {
		t.Fatalf("log %q, want a line starting %q", logged, want)
	}
}

// lockKey is the key the official CLI takes: FNV-32 of LockName.
func lockKey() int64 {
	h := fnv.New32()
	h.Write([]byte(migrations.LockName))
	return int64(h.Sum32())
}
