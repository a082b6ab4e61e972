package privacy_test

import (
	"context"
	"errors"
	"testing"

	"entgo.io/ent"
	entsql "entgo.io/ent/dialect/sql"

	gen "github.com/leadmetrics/db/ent"
	"github.com/leadmetrics/db/ent/campaign"
	"github.com/leadmetrics/db/internal/testing/tenancytest"
	"github.com/leadmetrics/db/privacy"
)

// The seed's "soft delete": a deleted row is not returned by standard
// queries, yet stays in the table with deleted_at set.
func TestSoftDeleteHidesDeletedRows(t *testing.T) {
	env := tenancytest.New(t, 1)
	ctx := privacy.WithTenant(context.Background(), env.Tenants[0])
	c := env.Client
	keep := c.Campaign.Create().SetName("keep").SaveX(ctx)
	gone := c.Campaign.Create().SetName("gone").SaveX(ctx)

	if err := c.Campaign.DeleteOne(gone).Exec(ctx); err != nil {
		t.Fatal(err)
	}
	var deleted bool
	if err := env.DB.QueryRow(`SELECT deleted_at IS NOT NULL FROM campaigns WHERE id = $1`, gone.ID).Scan(&deleted); err != nil || !deleted {
		t.Fatalf("row should remain with deleted_at set: deleted=%v err=%v", deleted, err)
	}
	if ids := c.Campaign.Query().IDsX(ctx); len(ids) != 1 || ids[0] != keep.ID {
		t.Fatalf("query returns %v, want only %s", ids, keep.ID)
	}
	if _, err := c.Campaign.Get(ctx, gone.ID); !gen.IsNotFound(err) {
		t.Fatalf("Get deleted: %v", err)
	}
	if n := c.Campaign.Query().Where(campaign.Name("gone")).CountX(ctx); n != 0 {
		t.Fatalf("count deleted: %d", n)
	}
	// WithDeleted shows it, still only in the viewer's tenant.
	if n := c.Campaign.Query().CountX(privacy.WithDeleted(ctx)); n != 2 {
		t.Fatalf("WithDeleted count %d, want 2", n)
	}
	// Updates leave deleted rows alone; restore needs WithDeleted.
	if n := c.Campaign.Update().SetName("renamed").SaveX(ctx); n != 1 {
		t.Fatalf("update touched %d rows, want 1 (the live one)", n)
	}
	if err := c.Campaign.UpdateOneID(gone.ID).ClearDeletedAt().Exec(privacy.WithDeleted(ctx)); err != nil {
		t.Fatalf("restore: %v", err)
	}
	if n := c.Campaign.Query().CountX(ctx); n != 2 {
		t.Fatalf("after restore: %d", n)
	}
}

func TestSoftDeleteTwiceIsNotFound(t *testing.T) {
	env := tenancytest.New(t, 1)
	ctx := privacy.WithTenant(context.Background(), env.Tenants[0])
	c := env.Client
	x := c.Campaign.Create().SetName("x").SaveX(ctx)
	c.Campaign.DeleteOneID(x.ID).ExecX(ctx)
	if err := c.Campaign.DeleteOneID(x.ID).Exec(ctx); !gen.IsNotFound(err) {
		t.Fatalf("second delete: %v, want not found", err)
	}
	if n := c.Campaign.Delete().ExecX(ctx); n != 0 {
		t.Fatalf("bulk delete counted %d already-deleted rows", n)
	}
	y := c.Campaign.Create().SetName("y").SaveX(ctx)
	if n := c.Campaign.Delete().ExecX(ctx); n != 1 {
		t.Fatalf("bulk delete: %d, want 1", n)
	}
	_ = y
}

// The delete rewrite runs the hook chain once: a client hook sees exactly
// one mutation per delete, not a delete and then an update.
func TestSoftDeleteRunsHooksOnce(t *testing.T) {
	env := tenancytest.New(t, 1)
	ctx := privacy.WithTenant(context.Background(), env.Tenants[0])
	c := env.Client
	x := c.Campaign.Create().SetName("x").SaveX(ctx)
	var ops []ent.Op
	c.Campaign.Use(func(next ent.Mutator) ent.Mutator {
		return ent.MutateFunc(func(ctx context.Context, m ent.Mutation) (ent.Value, error) {
			ops = append(ops, m.Op())
			return next.Mutate(ctx, m)
		})
	})
	c.Campaign.DeleteOne(x).ExecX(ctx)
	if len(ops) != 1 || !ops[0].Is(ent.OpDeleteOne) {
		t.Fatalf("hook chain ran for %v, want one delete", ops)
	}
}

func TestHardDelete(t *testing.T) {
	env := tenancytest.New(t, 1)
	tenant := env.Tenants[0]
	ctx := privacy.WithTenant(context.Background(), tenant)
	c := env.Client
	x := c.Campaign.Create().SetName("x").SaveX(ctx)
	if err := c.Campaign.DeleteOneID(x.ID).Exec(privacy.WithHardDelete(ctx)); !errors.Is(err, privacy.ErrSystemOnly) {
		t.Fatalf("tenant hard delete: %v, want ErrSystemOnly", err)
	}
	sys := privacy.WithHardDelete(privacy.WithSystem(context.Background()))
	c.Campaign.DeleteOneID(x.ID).ExecX(ctx) // soft first: purge must reach deleted rows
	if err := c.Campaign.DeleteOneID(x.ID).Exec(sys); err != nil {
		t.Fatalf("system purge: %v", err)
	}
	var n int
	if err := env.DB.QueryRow(`SELECT count(*) FROM campaigns WHERE id = $1`, x.ID).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatal("purged row still in the table")
	}
}

// Ledger entries and audit logs refuse update and delete, for every viewer
// and with hard delete too.
func TestImmutableEntities(t *testing.T) {
	env := tenancytest.New(t, 1)
	tenant := env.Tenants[0]
	ctx := privacy.WithTenant(context.Background(), tenant)
	sys := privacy.WithSystem(context.Background())
	c := env.Client
	log := c.AuditLog.Create().SetActorType("user").SetAction("login").SetEntityType("user").SaveX(ctx)
	entry := c.CreditLedgerEntry.Create().SetTenantID(tenant).SetKind("grant").SetAmount(5).
		SetBalanceAfter(5).SetSeq(1).SetIdempotencyKey("k1").SaveX(sys)
	for name, v := range map[string]context.Context{"tenant": ctx, "system": sys, "system hard": privacy.WithHardDelete(sys)} {
		if err := c.AuditLog.UpdateOne(log).SetUpdatedAt(log.UpdatedAt).Exec(v); !errors.Is(err, privacy.ErrImmutable) {
			t.Errorf("%s: update audit log: %v", name, err)
		}
		if err := c.AuditLog.DeleteOne(log).Exec(v); !errors.Is(err, privacy.ErrImmutable) {
			t.Errorf("%s: delete audit log: %v", name, err)
		}
		if _, err := c.CreditLedgerEntry.Delete().Exec(v); !errors.Is(err, privacy.ErrImmutable) {
			t.Errorf("%s: delete ledger: %v", name, err)
		}
		if err := c.CreditLedgerEntry.UpdateOne(entry).SetUpdatedAt(entry.UpdatedAt).Exec(v); !errors.Is(err, privacy.ErrImmutable) {
			t.Errorf("%s: update ledger: %v", name, err)
		}
	}
	// Ent creates of ledger entries are the system's (the ledger package
	// posts with raw SQL).
	if _, err := c.CreditLedgerEntry.Create().SetKind("grant").SetAmount(1).SetBalanceAfter(6).
		SetSeq(2).SetIdempotencyKey("k2").Save(ctx); !errors.Is(err, privacy.ErrSystemOnly) {
		t.Errorf("tenant ledger create: %v", err)
	}
	stored := c.AuditLog.GetX(ctx, log.ID)
	// An upsert over an immutable row is an idempotent insert: it returns
	// the existing row unchanged, whatever its SET clause says.
	id, err := c.AuditLog.Create().SetRefID(log.RefID).SetActorType("user").SetAction("tampered").SetEntityType("user").
		OnConflictColumns("tenant_id", "ref_id").UpdateNewValues().ID(ctx)
	if err != nil || id != log.ID {
		t.Errorf("upsert over an audit log: %s %v", id, err)
	}
	if err := c.AuditLog.Create().SetRefID(log.RefID).SetActorType("user").SetAction("x").SetEntityType("user").
		OnConflict(entsql.ConflictColumns("tenant_id", "ref_id"), entsql.ResolveWith(func(u *entsql.UpdateSet) {
			u.Set("action", "tampered")
		})).Exec(ctx); err != nil {
		t.Errorf("raw SET upsert: %v", err)
	}
	if got := c.AuditLog.GetX(ctx, log.ID); got.Action != "login" || !got.UpdatedAt.Equal(stored.UpdatedAt) {
		t.Errorf("audit log changed to %q", got.Action)
	}
}
