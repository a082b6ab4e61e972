package retention_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	entsql "entgo.io/ent/dialect/sql"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/leadmetrics/db/ent"
	"github.com/leadmetrics/db/ent/creditledgerentry"
	_ "github.com/leadmetrics/db/ent/runtime"
	"github.com/leadmetrics/db/internal/scaleload"
	"github.com/leadmetrics/db/internal/testing/ledgertest"
	"github.com/leadmetrics/db/internal/testing/suitedb"
	"github.com/leadmetrics/db/ledger"
	"github.com/leadmetrics/db/privacy"
	"github.com/leadmetrics/db/retention"
)

// Billed and unbilled calls, audit and dispatch logs older than the cutoff
// go; younger rows and every ledger entry stay, byte for byte; every
// ledger still reconciles; an interrupted run is finished by a rerun.
func TestPurgeKeepsTheLedgerAndIsResumable(t *testing.T) {
	sqlDB := suitedb.DB(t)
	ctx := context.Background()
	if _, err := scaleload.Load(ctx, sqlDB, scaleload.Spec{Tenants: 20, Fraction: 0.0005}); err != nil {
		t.Fatal(err)
	}
	// The loader bills about half of the calls (a usage entry names them).
	ledgerBefore := suitedb.Fingerprint(t, sqlDB, "credit_ledger_entries", "credit_balances")
	n := func(q string) int64 {
		var v int64
		if err := sqlDB.QueryRow(q).Scan(&v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	const age = `now() - interval '180 days'`
	oldCalls := n(`SELECT count(*) FROM llm_call_logs WHERE created_at < ` + age)
	billedOld := n(`SELECT count(*) FROM llm_call_logs l WHERE created_at < ` + age +
		` AND EXISTS (SELECT 1 FROM credit_ledger_entries e WHERE e.tenant_id = l.tenant_id AND e.llm_call_id = l.id)`)
	oldAudit := n(`SELECT count(*) FROM audit_logs WHERE created_at < ` + age)
	oldDispatch := n(`SELECT count(*) FROM dispatch_logs WHERE created_at < ` + age)
	youngCalls := n(`SELECT count(*) FROM llm_call_logs WHERE created_at >= ` + age)
	if billedOld == 0 || billedOld == oldCalls || oldAudit == 0 || oldDispatch == 0 {
		t.Fatalf("fixture: %d old calls (%d billed), %d old audit, %d old dispatch", oldCalls, billedOld, oldAudit, oldDispatch)
	}
	sys := privacy.WithSystem(ctx)
	pol := []retention.Policy{{Table: retention.LLMCalls, MaxAge: 180 * 24 * time.Hour},
		{Table: retention.AuditLogs, MaxAge: 180 * 24 * time.Hour}, {Table: retention.Dispatches, MaxAge: 180 * 24 * time.Hour}}

	dry, err := retention.Purge(sys, sqlDB, pol, retention.Options{DryRun: true})
	if err != nil || dry[retention.LLMCalls] != oldCalls || dry[retention.AuditLogs] != oldAudit {
		t.Fatalf("dry run: %v, %v", dry, err)
	}
	// Interrupted after the first batches: the rerun finishes the job.
	cctx, cancel := context.WithCancel(sys)
	cancel()
	if _, err := retention.Purge(cctx, sqlDB, pol, retention.Options{Batch: 7}); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled run: %v", err)
	}
	got, err := retention.Purge(sys, sqlDB, pol, retention.Options{Batch: 7})
	if err != nil {
		t.Fatal(err)
	}
	if got[retention.LLMCalls] != oldCalls || got[retention.AuditLogs] != oldAudit || got[retention.Dispatches] != oldDispatch {
		t.Fatalf("purged %v, want %d calls, %d audit, %d dispatch", got, oldCalls, oldAudit, oldDispatch)
	}
	if left := n(`SELECT count(*) FROM llm_call_logs WHERE created_at < ` + age); left != 0 {
		t.Fatalf("%d old calls left, want none (billed ones included)", left)
	}
	if young := n(`SELECT count(*) FROM llm_call_logs WHERE created_at >= ` + age); young != youngCalls {
		t.Fatalf("young calls: %d, want %d", young, youngCalls)
	}
	if after := suitedb.Fingerprint(t, sqlDB, "credit_ledger_entries", "credit_balances"); after != ledgerBefore {
		t.Fatal("retention rewrote the ledger")
	}
	l := ledger.New(ent.NewClient(ent.Driver(entsql.OpenDB("postgres", sqlDB))), sqlDB)
	if rep, err := l.ReconcileAll(sys); err != nil || !rep.OK() || rep.Tenants != 20 {
		t.Fatalf("reconcile after retention: %v, %v", rep, err)
	}
	if rep, err := l.Reconcile(privacy.WithTenant(ctx, scaleload.TenantID(1))); err != nil || !rep.OK() {
		t.Fatalf("reconcile the largest tenant after retention: %v, %v", rep, err)
	}
	// Nothing old is left to purge: a rerun is a no-op.
	if again, err := retention.Purge(sys, sqlDB, pol, retention.Options{}); err != nil || again[retention.LLMCalls]+again[retention.AuditLogs]+again[retention.Dispatches] != 0 {
		t.Fatalf("rerun: %v, %v", again, err)
	}
}

// A billed call whose log was purged is still billed exactly once: the
// ledger entry keeps the call's id and its idempotency key, so a
// re-delivered RecordLLMCall (even many at once) is a replay that writes
// nothing, and the unique (tenant_id, llm_call_id) index refuses a second
// entry naming the call.
func TestPurgedBilledCallStaysBilledOnce(t *testing.T) {
	env := ledgertest.New(t)
	call := func(ref string, cost int64) ledger.LLMCall {
		return ledger.LLMCall{RefID: ref, Provider: "openai", Model: "gpt-4o", PromptTokens: 100, CompletionTokens: 20, Cost: cost}
	}
	type billed struct {
		ctx                        context.Context
		tenant, ref, callID, entry string
		cost                       int64
	}
	var calls []billed
	var tenants []context.Context
	for range 2 {
		tenant, ctx := env.Tenant(t, "")
		tenants = append(tenants, ctx)
		if _, err := env.Post(ctx, ledger.Posting{Kind: creditledgerentry.KindTopup, Amount: 1000, IdempotencyKey: "topup"}); err != nil {
			t.Fatal(err)
		}
		for i := range 5 {
			ref := fmt.Sprintf("req-%d", i)
			cost := int64(10 + i)
			id, e, err := env.Ledger.RecordLLMCall(ctx, call(ref, cost))
			if err != nil {
				t.Fatal(err)
			}
			calls = append(calls, billed{ctx, tenant, ref, id, e.ID, cost})
			if _, _, err := env.Ledger.RecordLLMCall(ctx, call("free-"+ref, 0)); err != nil {
				t.Fatal(err)
			}
		}
	}
	ledgerBefore := suitedb.Fingerprint(t, env.DB, "credit_ledger_entries", "credit_balances")
	logs := func() (n int) {
		if err := env.DB.QueryRow(`SELECT count(*) FROM llm_call_logs`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	// Every call is a day older than the cutoff.
	got, err := retention.Purge(privacy.WithSystem(context.Background()), env.DB,
		[]retention.Policy{{Table: retention.LLMCalls, MaxAge: time.Hour}}, retention.Options{Now: time.Now().Add(25 * time.Hour)})
	if err != nil || got[retention.LLMCalls] != 20 || logs() != 0 {
		t.Fatalf("purge: %v, %v; %d logs left, want 20 purged and none left", got, err, logs())
	}
	if suitedb.Fingerprint(t, env.DB, "credit_ledger_entries", "credit_balances") != ledgerBefore {
		t.Fatal("purging billed calls rewrote the ledger")
	}
	for _, ctx := range tenants {
		env.MustReconcile(t, ctx)
	}
	if rep, err := env.Ledger.ReconcileAll(privacy.WithSystem(context.Background())); err != nil || !rep.OK() {
		t.Fatalf("reconcile all: %v, %v", rep, err)
	}

	// Re-delivered, four at a time per call: replays of the first entry.
	var wg sync.WaitGroup
	errs := make(chan error, 4*len(calls))
	for _, c := range calls {
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				id, e, err := env.Ledger.RecordLLMCall(c.ctx, call(c.ref, c.cost))
				switch {
				case err != nil:
					errs <- fmt.Errorf("%s %s: %w", c.tenant, c.ref, err)
				case !e.Replayed || e.ID != c.entry || id != c.callID:
					errs <- fmt.Errorf("%s %s: entry %s (replayed %v) call %s, want a replay of %s for call %s",
						c.tenant, c.ref, e.ID, e.Replayed, id, c.entry, c.callID)
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	// The same call with another cost is still a conflict, not a charge.
	if _, _, err := env.Ledger.RecordLLMCall(calls[0].ctx, call(calls[0].ref, 99)); !errors.Is(err, ledger.ErrIdempotencyConflict) {
		t.Errorf("purged call re-delivered with another cost: %v, want ErrIdempotencyConflict", err)
	}
	if suitedb.Fingerprint(t, env.DB, "credit_ledger_entries", "credit_balances") != ledgerBefore || logs() != 0 {
		t.Fatalf("re-delivered purged calls wrote something (%d logs)", logs())
	}
	// Below the layer, the database refuses a second entry for the call.
	tx, err := env.DB.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	_, err = tx.Exec(`INSERT INTO credit_ledger_entries (id, ref_id, tenant_id, created_at, updated_at, kind, amount,
		balance_after, seq, idempotency_key, llm_call_id)
		SELECT 'second', 'second', tenant_id, now(), now(), 'usage', -1, balance - 1, last_seq + 1, 'second', $2
		FROM credit_balances WHERE tenant_id = $1`, calls[0].tenant, calls[0].callID)
	// (Named in the message: on Citus the worker's error names the shard's
	// index, with a suffix, and carries no constraint field.)
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "23505" || !strings.Contains(pgErr.Message, `"credit_ledger_entries_tenant_id_llm_call_id_key`) {
		t.Fatalf("second entry for a purged call: %v, want 23505 on credit_ledger_entries_tenant_id_llm_call_id_key", err)
	}
}

func TestPurgeRefusesTenantsAndBadPolicies(t *testing.T) {
	sqlDB := suitedb.DB(t)
	ctx := context.Background()
	pol := []retention.Policy{{Table: retention.AuditLogs, MaxAge: time.Hour}}
	if _, err := retention.Purge(privacy.WithTenant(ctx, "t1"), sqlDB, pol, retention.Options{}); !errors.Is(err, privacy.ErrSystemOnly) {
		t.Errorf("tenant viewer: %v", err)
	}
	sys := privacy.WithSystem(ctx)
	for _, bad := range [][]retention.Policy{{{Table: "credit_ledger_entries", MaxAge: time.Hour}},
		{{Table: retention.AuditLogs, MaxAge: 0}}} {
		if _, err := retention.Purge(sys, sqlDB, bad, retention.Options{}); !errors.Is(err, retention.ErrPolicy) {
			t.Errorf("%v: %v, want ErrPolicy", bad, err)
		}
	}
}
