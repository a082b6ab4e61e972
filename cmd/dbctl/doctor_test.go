package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"strings"
	"testing"

	"github.com/leadmetrics/db/internal/testing/suitedb"
	"github.com/leadmetrics/db/migrations"
)

func doctor(t *testing.T, url string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	err := run(context.Background(), []string{"doctor", "--url", url}, &out)
	return out.String(), err
}

// TestDoctorStates: behind, up to date, locked (naming the holder's pid)
// and ahead (an error naming the newer version).
func TestDoctorStates(t *testing.T) {
	ctx := context.Background()
	url := suitedb.EmptyURL(t)
	out, err := doctor(t, url)
	if err != nil || !strings.Contains(out, "behind: database at (no migrations)") || !strings.Contains(out, "PostgreSQL 15") ||
		!strings.Contains(out, "synchronous_commit=") || !strings.Contains(out, "tls              off") ||
		!strings.Contains(out, "migration lock   free") {
		t.Fatalf("empty database: %v\n%s", err, out)
	}
	sqlDB := suitedb.Open(t, url)
	if _, err := migrations.Apply(ctx, sqlDB, migrations.Options{}); err != nil {
		t.Fatal(err)
	}
	if out, err = doctor(t, url); err != nil || !strings.Contains(out, "up to date at ") {
		t.Fatalf("migrated database: %v\n%s", err, out)
	}

	holder, err := sqlDB.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	var pid int
	h := fnv.New32()
	h.Write([]byte(migrations.LockName))
	if err := holder.QueryRowContext(ctx, `SELECT pg_backend_pid() FROM (SELECT pg_advisory_lock($1)) l`, int64(h.Sum32())).Scan(&pid); err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("waiting for lock held by pid %d (", pid)
	if out, err = doctor(t, url); err != nil || !strings.Contains(out, want) {
		t.Fatalf("locked: %v, want %q in\n%s", err, want, out)
	}
	holder.Close()

	if _, err := sqlDB.Exec(`INSERT INTO atlas_schema_revisions.atlas_schema_revisions
		(version, description, type, applied, total, executed_at, execution_time, hash, operator_version)
		VALUES ('99990101000000', 'newer', 2, 1, 1, now(), 0, '', 'test')`); err != nil {
		t.Fatal(err)
	}
	out, err = doctor(t, url)
	if !errors.Is(err, migrations.ErrAhead) || !strings.Contains(out, "AHEAD") || !strings.Contains(err.Error(), "99990101000000") {
		t.Fatalf("ahead: %v\n%s", err, out)
	}
}
