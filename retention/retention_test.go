package retention_test

import (
	"context"
	"errors"
	"testing"
	"time"

	entsql "entgo.io/ent/dialect/sql"

	"github.com/leadmetrics/db/ent"
	_ "github.com/leadmetrics/db/ent/runtime"
	"github.com/leadmetrics/db/internal/scaleload"
	"github.com/leadmetrics/db/internal/testdb"
	"github.com/leadmetrics/db/ledger"
	"github.com/leadmetrics/db/privacy"
	"github.com/leadmetrics/db/retention"
)

func TestPurgeKeepsTheLedgerAndIsResumable(t *testing.T) {
	sqlDB := testdb.DB(t)
	ctx := context.Background()
	if _, err := scaleload.Load(ctx, sqlDB, scaleload.Spec{Tenants: 20, Fraction: 0.0005}); err != nil {
		t.Fatal(err)
	}
	// The loader bills about half of the calls (a usage entry names them).
	ledgerBefore := testdb.Fingerprint(t, sqlDB, "credit_ledger_entries", "credit_balances")
	n := func(q string) int64 {
		var v int64
		if err := sqlDB.QueryRow(q).Scan(&v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	const age = `now() - interval '180 days'`
	oldCalls := n(`SELECT count(*) FROM llm_call_logs l WHERE created_at < ` + age +
		` AND NOT EXISTS (SELECT 1 FROM credit_ledger_entries e WHERE e.llm_call_id = l.id)`)
	billedOld := n(`SELECT count(*) FROM llm_call_logs l WHERE created_at < ` + age +
		` AND EXISTS (SELECT 1 FROM credit_ledger_entries e WHERE e.llm_call_id = l.id)`)
	oldAudit := n(`SELECT count(*) FROM audit_logs WHERE created_at < ` + age)
	oldDispatch := n(`SELECT count(*) FROM dispatch_logs WHERE created_at < ` + age)
	youngCalls := n(`SELECT count(*) FROM llm_call_logs WHERE created_at >= ` + age)
	if oldCalls == 0 || billedOld == 0 || oldAudit == 0 || oldDispatch == 0 {
		t.Fatalf("fixture: %d unbilled and %d billed old calls, %d old audit, %d old dispatch", oldCalls, billedOld, oldAudit, oldDispatch)
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
	if left := n(`SELECT count(*) FROM llm_call_logs WHERE created_at < ` + age); left != billedOld {
		t.Fatalf("%d old calls left, want the %d billed ones", left, billedOld)
	}
	if young := n(`SELECT count(*) FROM llm_call_logs WHERE created_at >= ` + age); young != youngCalls {
		t.Fatalf("young calls: %d, want %d", young, youngCalls)
	}
	if after := testdb.Fingerprint(t, sqlDB, "credit_ledger_entries", "credit_balances"); after != ledgerBefore {
		t.Fatal("retention rewrote the ledger")
	}
	l := ledger.New(ent.NewClient(ent.Driver(entsql.OpenDB("postgres", sqlDB))), sqlDB)
	if rep, err := l.ReconcileAll(sys); err != nil || !rep.OK() {
		t.Fatalf("reconcile after retention: %v, %v", rep, err)
	}
	// Nothing old is left to purge: a rerun is a no-op.
	if again, err := retention.Purge(sys, sqlDB, pol, retention.Options{}); err != nil || again[retention.LLMCalls]+again[retention.AuditLogs]+again[retention.Dispatches] != 0 {
		t.Fatalf("rerun: %v, %v", again, err)
	}
}

func TestPurgeRefusesTenantsAndBadPolicies(t *testing.T) {
	sqlDB := testdb.DB(t)
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
