package db_test

import (
	"context"
	"errors"
	"testing"

	"github.com/leadmetrics/db"
	"github.com/leadmetrics/db/internal/testdb"
	"github.com/leadmetrics/db/privacy"
	"github.com/leadmetrics/db/retry"
)

// A transaction whose connection is terminated (57P01, as in a failover)
// is rerun when declared idempotent and not otherwise; nothing of the
// failed attempt stays.
func TestWithTxRerunsIdempotentAfterFailover(t *testing.T) {
	h := openHandle(t, testdb.URL(t), func(c *db.Config) { c.PoolMax = 4 })
	ctx := context.Background()
	if _, err := h.SQL.Exec(`CREATE TABLE ha_marks (n int PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	attempts := 0
	killFirst := func(ctx context.Context, tx *db.Tx) error {
		attempts++
		if _, err := tx.SQL.ExecContext(ctx, `INSERT INTO ha_marks VALUES (1) ON CONFLICT DO NOTHING`); err != nil {
			return err
		}
		if attempts == 1 {
			_, err := tx.SQL.ExecContext(ctx, `SELECT pg_terminate_backend(pg_backend_pid())`)
			return err
		}
		return nil
	}
	if err := h.WithTx(ctx, killFirst, db.Idempotent(3)); err != nil || attempts != 2 {
		t.Fatalf("idempotent: %d attempts, %v; want a rerun that succeeds", attempts, err)
	}
	attempts = 0
	if _, err := h.SQL.Exec(`TRUNCATE ha_marks`); err != nil {
		t.Fatal(err)
	}
	err := h.WithTx(ctx, killFirst)
	if attempts != 1 || retry.Classify(err) != retry.Failover {
		t.Fatalf("not idempotent: %d attempts, %v; want one attempt and the failover error", attempts, err)
	}
	if errors.Is(err, db.ErrOutcomeUnknown) {
		t.Fatalf("a failure before COMMIT says the outcome is unknown: %v", err)
	}
	var n int
	if err := h.SQL.QueryRow(`SELECT count(*) FROM ha_marks`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("the killed attempt left %d rows (%v)", n, err)
	}
}

// Writes under db.ReadOnlyContext are refused, with or without a standby.
func TestReadOnlyContextRefusesWrites(t *testing.T) {
	h := openHandle(t, testdb.URL(t), nil)
	ro := db.ReadOnlyContext(privacy.WithSystem(context.Background()))
	if _, err := h.Tenant.Create().SetID("ro-t").SetName("x").SetSlug("ro-t").Save(ro); !errors.Is(err, db.ErrReadOnly) {
		t.Fatalf("Ent create: %v, want ErrReadOnly", err)
	}
	if err := h.WithTx(ro, func(context.Context, *db.Tx) error { return nil }); !errors.Is(err, db.ErrReadOnly) {
		t.Fatalf("WithTx: %v, want ErrReadOnly", err)
	}
	if err := h.WithTx(ro, func(context.Context, *db.Tx) error { return nil }, db.ReadOnly()); err != nil {
		t.Fatalf("WithTx(ReadOnly()) under a read-only context: %v", err)
	}
	if n, err := h.Tenant.Query().Count(ro); err != nil || n != 0 {
		t.Fatalf("read without a standby: %d, %v", n, err)
	}
	if h.Reader(ro) != h.SQL {
		t.Fatal("Reader without DATABASE_READ_URL is not the primary's pool")
	}
}

// An Ent write outside a transaction whose connection is lost while it
// runs is db.ErrOutcomeUnknown: it is not rerun, the caller checks.
func TestEntWriteLostIsOutcomeUnknown(t *testing.T) {
	h := openHandle(t, testdb.URL(t), nil)
	// The insert's own backend is terminated (57P01) while it runs.
	if _, err := h.SQL.Exec(`CREATE FUNCTION ha_cut() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN PERFORM pg_terminate_backend(pg_backend_pid()); PERFORM pg_sleep(1); RETURN NEW; END $$;
		CREATE TRIGGER ha_cut BEFORE INSERT ON tenants FOR EACH ROW EXECUTE FUNCTION ha_cut()`); err != nil {
		t.Fatal(err)
	}
	sys := privacy.WithSystem(context.Background())
	_, err := h.Tenant.Create().SetID("cut-t").SetName("x").SetSlug("cut-t").Save(sys)
	if !errors.Is(err, db.ErrOutcomeUnknown) {
		t.Fatalf("Ent create on a lost connection: %v, want ErrOutcomeUnknown", err)
	}
	if _, err := h.SQL.Exec(`DROP TRIGGER ha_cut ON tenants`); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Tenant.Create().SetID("ok-t").SetName("y").SetSlug("ok-t").Save(sys); err != nil {
		t.Fatalf("the pool did not recover: %v", err)
	}
}
