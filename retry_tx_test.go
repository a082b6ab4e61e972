package db_test

import (
	"context"
	"errors"
	"testing"

	"github.com/leadmetrics/db"
	"github.com/leadmetrics/db/internal/testing/suitedb"
	"github.com/leadmetrics/db/privacy"
	"github.com/leadmetrics/db/retry"
)

// A transaction whose connection is terminated (57P01, as in a failover)
// is rerun when declared idempotent and not otherwise; nothing of the
// failed attempt stays.
func TestWithTxRerunsIdempotentAfterFailover(t *testing.T) {
	h := openHandle(t, suitedb.URL(t), func(c *db.Config) { c.PoolMax = 4 })
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
	h := openHandle(t, suitedb.URL(t), nil)
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
	h := openHandle(t, suitedb.URL(t), nil)
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

// Writes that are not idempotent are sent once: when the backend dies
// while they commit (the COMMIT, or an autocommitted statement's implicit
// one, is in flight), the error is a *db.OutcomeUnknownError naming what
// was in flight, and nothing reran them. Here the server rolled back, so
// reading back finds nothing; on a failover it may find the write.
func TestNonIdempotentWriteKilledAtCommitIsOutcomeUnknown(t *testing.T) {
	h := openHandle(t, suitedb.URL(t), nil)
	suitedb.Tenants(t, h.SQL, "unk-a")
	ctx := privacy.WithTenant(context.Background(), "unk-a")
	for _, tc := range []struct {
		name, op string
		write    func(ref string) error
	}{
		{"WithTx without Idempotent", "COMMIT", func(ref string) error {
			return h.WithTx(ctx, func(ctx context.Context, tx *db.Tx) error {
				return tx.Campaign.Create().SetRefID(ref).SetName("x").Exec(ctx)
			})
		}},
		{"Ent create on the handle", "INSERT", func(ref string) error {
			return h.Campaign.Create().SetRefID(ref).SetName("x").Exec(ctx)
		}},
		{"Ent transaction on the handle", "COMMIT", func(ref string) error {
			tx, err := h.Tx(ctx)
			if err != nil {
				return err
			}
			if err := tx.Campaign.Create().SetRefID(ref).SetName("x").Exec(ctx); err != nil {
				tx.Rollback()
				return err
			}
			return tx.Commit()
		}},
		{"Ent create on db.NewClient", "INSERT", func(ref string) error {
			return db.NewClient(h.SQL).Campaign.Create().SetRefID(ref).SetName("x").Exec(ctx)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fired := suitedb.KillAtCommit(t, h.SQL, "campaigns", 1)
			err := tc.write(tc.name)
			var ue *db.OutcomeUnknownError
			if !errors.Is(err, db.ErrOutcomeUnknown) || !errors.As(err, &ue) || ue.Op != tc.op {
				t.Fatalf("%v; want an OutcomeUnknownError of %s", err, tc.op)
			}
			if retry.Classify(err) != retry.Failover {
				t.Fatalf("Classify = %s, want failover", retry.Classify(err))
			}
			if n := fired(); n != 1 {
				t.Fatalf("the write ran %d times, want once (not rerun)", n)
			}
			var rows int
			if err := h.SQL.QueryRow(`SELECT count(*) FROM campaigns WHERE ref_id = $1`, tc.name).Scan(&rows); err != nil || rows != 0 {
				t.Fatalf("%d rows (%v): the server rolled the transaction back", rows, err)
			}
		})
	}
}

// Raw SQL on a transaction of the handle's Ent client (FeatureExecQuery)
// runs in that transaction.
func TestEntTransactionRawSQL(t *testing.T) {
	h := openHandle(t, suitedb.URL(t), nil)
	ctx := context.Background()
	tx, err := h.Tx(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `SET LOCAL application_name = 'in-tx'`); err != nil {
		t.Fatalf("ExecContext: %v", err)
	}
	rows, err := tx.QueryContext(ctx, `SELECT current_setting('application_name')`)
	if err != nil {
		t.Fatalf("QueryContext: %v", err)
	}
	defer rows.Close()
	var name string
	if !rows.Next() || rows.Scan(&name) != nil || name != "in-tx" {
		t.Fatalf("application_name %q: the statements did not share the transaction", name)
	}
}
