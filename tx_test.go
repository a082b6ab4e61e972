package db_test

import (
	"context"
	"database/sql"
	"errors"
	"testing"

	db "github.com/leadmetrics/db"
	"github.com/leadmetrics/db/billing"
	"github.com/leadmetrics/db/cuid"
	"github.com/leadmetrics/db/ent/creditledgerentry"
	"github.com/leadmetrics/db/ent/topuporder"
	"github.com/leadmetrics/db/ent/user"
	"github.com/leadmetrics/db/internal/testing/suitedb"
	"github.com/leadmetrics/db/ledger"
	"github.com/leadmetrics/db/privacy"
)

// txEnv is a handle on a fresh database, a tenant with credits and the
// ledger on the handle's pool.
type txEnv struct {
	h      *db.DB
	ledger *ledger.Ledger
	pack   string // a credit pack of the catalog
	tenant string
	ctx    context.Context // the tenant's viewer
	sys    context.Context // the system viewer: only it posts topups
}

func newTxEnv(t *testing.T) *txEnv {
	t.Helper()
	h := openHandle(t, suitedb.URL(t), func(c *db.Config) { c.PoolMax = 4 })
	id := cuid.New()
	if err := h.Tenant.Create().SetID(id).SetTenantID(id).SetRefID("tenant").SetName("T").SetSlug("t-" + id).
		Exec(privacy.WithSystem(context.Background())); err != nil {
		t.Fatal(err)
	}
	e := &txEnv{h: h, ledger: ledger.New(h.Client, h.SQL), tenant: id, ctx: privacy.WithTenant(context.Background(), id),
		sys: privacy.WithSystem(context.Background())}
	pack, err := h.CreditPack.Create().SetTenantID(privacy.PlatformTenantID).SetCode("ten").SetName("Ten").
		SetCredits(10).SetPriceAmount(100).SetPriceCurrency("USD").Save(e.sys)
	if err != nil {
		t.Fatal(err)
	}
	e.pack = pack.ID
	// The one place credits are seeded.
	if _, err := e.ledger.Post(e.sys, ledger.Posting{TenantID: id, Kind: creditledgerentry.KindTopup, Amount: 100, IdempotencyKey: "seed"}); err != nil {
		t.Fatal(err)
	}
	return e
}

// state is what the shared transaction writes: users with the e-mail, and
// the balance.
func (e *txEnv) state(t *testing.T, email string) (users int, balance int64) {
	t.Helper()
	var orders int
	if err := e.h.SQL.QueryRow(`SELECT (SELECT count(*) FROM users WHERE email = $1),
		(SELECT balance FROM credit_balances WHERE tenant_id = $2), (SELECT count(*) FROM topup_orders WHERE ref_id = $1)`,
		email, e.tenant).Scan(&users, &balance, &orders); err != nil {
		t.Fatal(err)
	}
	if orders != users && email != "" && email != "carol@example.com" {
		t.Fatalf("%d users but %d orders for %s: not one transaction", users, orders, email)
	}
	return users, balance
}

// writeAndDebit is an Ent write, a billing order and a ledger debit in
// one transaction.
func (e *txEnv) writeAndDebit(email, key string) func(ctx context.Context, tx *db.Tx) error {
	return func(ctx context.Context, tx *db.Tx) error {
		if err := tx.User.Create().SetTenantID(e.tenant).SetRefID(email).SetEmail(email).SetName("Ada").Exec(ctx); err != nil {
			return err
		}
		if _, err := billing.New(tx.Client, e.h.SQL, e.ledger).CreateOrder(ctx, billing.OrderRequest{RefID: email,
			Provider: topuporder.ProviderStripe, PackID: e.pack}); err != nil {
			return err
		}
		_, err := e.ledger.PostTx(ctx, tx.SQL, ledger.Posting{Kind: creditledgerentry.KindUsage, Amount: -30, IdempotencyKey: key})
		return err
	}
}

func TestWithTxCommitsEntAndLedgerTogether(t *testing.T) {
	e := newTxEnv(t)
	if err := e.h.WithTx(e.ctx, e.writeAndDebit("ada@example.com", "debit-1")); err != nil {
		t.Fatal(err)
	}
	if users, balance := e.state(t, "ada@example.com"); users != 1 || balance != 70 {
		t.Fatalf("after commit: %d users, balance %d; want 1 and 70", users, balance)
	}
	// Both are visible through the ordinary client too.
	if n, err := e.h.User.Query().Where(user.EmailEQ("ada@example.com")).Count(e.ctx); err != nil || n != 1 {
		t.Fatalf("Ent sees %d users (%v)", n, err)
	}
}

func TestWithTxRollsBackEntAndLedgerTogether(t *testing.T) {
	e := newTxEnv(t)
	boom := errors.New("boom")
	write := e.writeAndDebit("bob@example.com", "debit-2")
	err := e.h.WithTx(e.ctx, func(ctx context.Context, tx *db.Tx) error {
		if err := write(ctx, tx); err != nil {
			t.Fatal(err)
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("WithTx returned %v, want fn's error", err)
	}
	if users, balance := e.state(t, "bob@example.com"); users != 0 || balance != 100 {
		t.Fatalf("after an error: %d users, balance %d; want 0 and 100", users, balance)
	}
	// A panic rolls back too, and goes on.
	func() {
		defer func() {
			if recover() == nil {
				t.Fatal("the panic was swallowed")
			}
		}()
		e.h.WithTx(e.ctx, func(ctx context.Context, tx *db.Tx) error {
			if err := write(ctx, tx); err != nil {
				t.Fatal(err)
			}
			panic("boom")
		})
	}()
	if users, balance := e.state(t, "bob@example.com"); users != 0 || balance != 100 {
		t.Fatalf("after a panic: %d users, balance %d; want 0 and 100", users, balance)
	}
	// A refused debit (the ledger's typed error) undoes the Ent write.
	err = e.h.WithTx(e.ctx, func(ctx context.Context, tx *db.Tx) error {
		if err := tx.User.Create().SetTenantID(e.tenant).SetRefID("carol").SetEmail("carol@example.com").SetName("C").Exec(ctx); err != nil {
			return err
		}
		// The seed's key for a debit: an idempotency conflict.
		_, err := e.ledger.PostTx(ctx, tx.SQL, ledger.Posting{Kind: creditledgerentry.KindUsage, Amount: -5, IdempotencyKey: "seed"})
		return err
	})
	if !errors.Is(err, ledger.ErrIdempotencyConflict) {
		t.Fatalf("conflicting key: %v, want ErrIdempotencyConflict", err)
	}
	if users, balance := e.state(t, "carol@example.com"); users != 0 || balance != 100 {
		t.Fatalf("after a refused debit: %d users, balance %d; want 0 and 100", users, balance)
	}
}

// conflictOnce makes the first attempt of a REPEATABLE READ transaction
// fail with a serialization failure: after the transaction's snapshot, a
// concurrent transaction updates the user the attempt then updates.
func TestWithTxRetriesSerializationFailureWhenIdempotent(t *testing.T) {
	e := newTxEnv(t)
	u, err := e.h.User.Create().SetTenantID(e.tenant).SetRefID("dora").SetEmail("dora@example.com").SetName("v0").Save(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	run := func(opts ...db.TxOption) (attempts int, err error) {
		err = e.h.WithTx(e.ctx, func(ctx context.Context, tx *db.Tx) error {
			attempts++
			if _, err := tx.User.Get(ctx, u.ID); err != nil { // takes the snapshot
				return err
			}
			if attempts == 1 {
				if _, err := e.h.SQL.Exec(`UPDATE users SET name = 'concurrent' WHERE id = $1`, u.ID); err != nil {
					t.Fatal(err)
				}
			}
			if err := tx.User.UpdateOneID(u.ID).SetName("mine").Exec(ctx); err != nil {
				return err
			}
			_, err := e.ledger.PostTx(ctx, tx.SQL, ledger.Posting{Kind: creditledgerentry.KindUsage, Amount: -1, IdempotencyKey: "retry-" + u.ID})
			return err
		}, opts...)
		return attempts, err
	}
	// Not declared idempotent: no retry, a typed error, nothing written.
	attempts, err := run(db.Isolation(sql.LevelRepeatableRead))
	if !errors.Is(err, db.ErrTxConflict) || attempts != 1 {
		t.Fatalf("without Idempotent: %d attempts, %v; want 1 and ErrTxConflict", attempts, err)
	}
	if _, balance := e.state(t, ""); balance != 100 {
		t.Fatalf("balance %d after the failed attempt, want 100", balance)
	}
	// Declared idempotent: the second attempt commits, once.
	attempts, err = run(db.Isolation(sql.LevelRepeatableRead), db.Idempotent(3))
	if err != nil || attempts != 2 {
		t.Fatalf("with Idempotent: %d attempts, %v; want 2 and success", attempts, err)
	}
	got, err := e.h.User.Get(e.ctx, u.ID)
	if err != nil || got.Name != "mine" {
		t.Fatalf("user after the retry: %v, %v", got, err)
	}
	if _, balance := e.state(t, ""); balance != 99 {
		t.Fatalf("balance %d after the retried debit, want 99 (one debit)", balance)
	}
}

// An operator's manual payment (billing.TransitionTx) joins the shared
// transaction: the order's move, its credit and an Ent write commit or roll
// back together.
func TestWithTxJoinsAManualPayment(t *testing.T) {
	e := newTxEnv(t)
	b := billing.New(e.h.Client, e.h.SQL, e.ledger)
	o, err := b.CreateOrder(e.sys, billing.OrderRequest{RefID: "manual", Provider: topuporder.ProviderManual, TenantID: e.tenant,
		ProviderOrderID: "man-1", Credits: 40, PaidAmount: 100, PaidCurrency: "USD"})
	if err != nil {
		t.Fatal(err)
	}
	payAndNote := func(fail bool) func(ctx context.Context, tx *db.Tx) error {
		return func(ctx context.Context, tx *db.Tx) error {
			if _, err := b.TransitionTx(ctx, tx.SQL, o.ID, topuporder.StatusPaid); err != nil {
				return err
			}
			if err := tx.AuditLog.Create().SetTenantID(e.tenant).SetActorType("system").SetAction("order.paid").
				SetEntityType("topup_order").SetEntityID(o.ID).Exec(ctx); err != nil {
				return err
			}
			if fail {
				return errors.New("operator cancelled")
			}
			return nil
		}
	}
	state := func() (status string, balance int64, notes int) {
		t.Helper()
		if err := e.h.SQL.QueryRow(`SELECT (SELECT status FROM topup_orders WHERE id = $1),
			(SELECT balance FROM credit_balances WHERE tenant_id = $2),
			(SELECT count(*) FROM audit_logs WHERE entity_id = $1)`, o.ID, e.tenant).Scan(&status, &balance, &notes); err != nil {
			t.Fatal(err)
		}
		return
	}
	if err := e.h.WithTx(e.sys, payAndNote(true)); err == nil {
		t.Fatal("a failing transaction committed")
	}
	if status, balance, notes := state(); status == "paid" || balance != 100 || notes != 0 {
		t.Fatalf("after rollback: order %s, balance %d, %d notes; want unpaid, 100, 0", status, balance, notes)
	}
	if err := e.h.WithTx(e.sys, payAndNote(false)); err != nil {
		t.Fatal(err)
	}
	if status, balance, notes := state(); status != "paid" || balance != 140 || notes != 1 {
		t.Fatalf("after commit: order %s, balance %d, %d notes; want paid, 140, 1", status, balance, notes)
	}
	if _, err := b.TransitionTx(e.ctx, nil, o.ID, topuporder.StatusRefunded); !errors.Is(err, privacy.ErrSystemOnly) {
		t.Fatalf("a tenant moving its order: %v, want ErrSystemOnly", err)
	}
}
