package dbtest_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	db "github.com/leadmetrics/db"
	"github.com/leadmetrics/db/dbtest"
	"github.com/leadmetrics/db/ent/creditledgerentry"
	"github.com/leadmetrics/db/ledger"
)

// TestWithTxAndLedger: the database is a *db.DB, so a service's code that
// runs Ent and the ledger in one transaction runs as in production: both
// commit together, and roll back together (finding 6).
func TestWithTxAndLedger(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t)
	acme := d.NewTenant(t, "Acme")
	l := ledger.New(d.Client, d.SQL)
	post := func(ctx context.Context, tx *db.Tx, key string) error {
		if _, err := tx.Campaign.Create().SetTenantID(acme.ID).SetRefID(key).SetName("c " + key).Save(ctx); err != nil {
			return err
		}
		_, err := l.PostTx(ctx, tx.SQL, ledger.Posting{Kind: creditledgerentry.KindTopup, Amount: 500, IdempotencyKey: key, TenantID: acme.ID})
		return err
	}
	sys := dbtest.System(t) // topups are the platform's to post
	if err := d.WithTx(sys, func(ctx context.Context, tx *db.Tx) error { return post(ctx, tx, "first") }); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	err := d.WithTx(sys, func(ctx context.Context, tx *db.Tx) error {
		if err := post(ctx, tx, "second"); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("WithTx: %v", err)
	}
	if bal, err := l.Balance(acme.Ctx); err != nil || bal != 500 {
		t.Fatalf("balance %d (%v), want 500: the rolled-back posting counted", bal, err)
	}
	if n := d.Campaign.Query().CountX(acme.Ctx); n != 1 {
		t.Fatalf("%d campaigns, want 1", n)
	}
}

// recorder is a test as dbtest sees it, keeping what is logged.
type recorder struct {
	testing.TB
	logs []string
}

func (r *recorder) Log(args ...any) { r.logs = append(r.logs, fmt.Sprint(args...)) }
func (r *recorder) Logf(format string, args ...any) {
	r.logs = append(r.logs, fmt.Sprintf(format, args...))
}

// TestNeverLogsAPassword: what dbtest (and pgtestdb under it) logs names
// the database without the role's password.
func TestNeverLogsAPassword(t *testing.T) {
	rec := &recorder{TB: t}
	d := dbtest.New(rec)
	if len(rec.logs) == 0 {
		t.Fatal("nothing logged: the test cannot see what pgtestdb logs")
	}
	_, pw, _ := strings.Cut(strings.TrimPrefix(d.URL, "postgres://"), ":")
	pw, _, _ = strings.Cut(pw, "@")
	for _, line := range rec.logs {
		if pw == "" || strings.Contains(line, pw) {
			t.Fatalf("logged the password %q: %s", pw, line)
		}
		if !strings.Contains(line, "xxxxx") {
			t.Fatalf("logged line without a redacted URL: %s", line)
		}
	}
}

// TestConsumerModuleHasNoDocker: a service module that imports dbtest in
// its tests gets no testcontainers or Docker module in its go.mod.
func TestConsumerModuleHasNoDocker(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", "module example.com/service\n\ngo 1.26\n\nrequire github.com/leadmetrics/db v0.0.0\n\nreplace github.com/leadmetrics/db => "+root+"\n")
	write("service.go", "package service\n")
	write("service_test.go", `package service

import (
	"testing"

	"github.com/leadmetrics/db/dbtest"
)

func TestIt(t *testing.T) { dbtest.New(t) }
`)
	cmd := exec.Command("go", "mod", "tidy")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off", "GOSUMDB=off", "GOWORK=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go mod tidy: %v\n%s", err, out)
	}
	gomod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"testcontainers", "docker", "moby"} {
		if strings.Contains(string(gomod), m) {
			t.Errorf("the service's go.mod requires %s:\n%s", m, gomod)
		}
	}
}
