package ledger_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/leadmetrics/db/internal/testing/ledgertest"
	"github.com/leadmetrics/db/ledger"
	"github.com/leadmetrics/db/privacy"
)

func call(ref string, cost int64) ledger.LLMCall {
	return ledger.LLMCall{RefID: ref, Provider: "openai", Model: "gpt-4o", PromptTokens: 1000, CompletionTokens: 200,
		Cost: cost, LatencyMs: 900}
}

func countRows(t *testing.T, env *ledgertest.Env, table, tenant string) int {
	t.Helper()
	var n int
	if err := env.DB.QueryRow(`SELECT count(*) FROM `+table+` WHERE tenant_id = $1`, tenant).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// The call and its usage debit are written together; usage already
// incurred is recorded even past zero (the overdraft policy); a retry of
// the same call changes nothing.
func TestRecordLLMCallWithUsage(t *testing.T) {
	env := ledgertest.New(t)
	tenant, ctx := env.Tenant(t, "")
	post(t, env, ctx, topup, 500, "t")
	if ok, _ := env.Ledger.CanSpend(ctx, 400); !ok {
		t.Fatal("CanSpend(400) with 500")
	}
	callID, e, err := env.Ledger.RecordLLMCall(ctx, call("req-1", 400))
	if err != nil {
		t.Fatal(err)
	}
	if e.Kind != usage || e.Amount != -400 || e.LlmCallID == nil || *e.LlmCallID != callID || e.IdempotencyKey != ledger.UsageKey("req-1") {
		t.Fatalf("entry %+v for call %s", e.CreditLedgerEntry, callID)
	}
	if ok, _ := env.Ledger.CanSpend(ctx, 400); ok {
		t.Fatal("CanSpend(400) with 100: new work must be refusable up front")
	}
	// Already incurred: recorded although the balance is short.
	_, e, err = env.Ledger.RecordLLMCall(ctx, call("req-2", 300))
	if err != nil || e.BalanceAfter != -200 {
		t.Fatalf("usage past zero: %v, balance_after %v", err, e)
	}
	var cost int64
	if err := env.DB.QueryRow(`SELECT l.cost FROM llm_call_logs l JOIN credit_ledger_entries e ON e.tenant_id = l.tenant_id AND e.llm_call_id = l.id
		WHERE l.tenant_id = $1 AND l.ref_id = 'req-2'`, tenant).Scan(&cost); err != nil || cost != 300 {
		t.Fatalf("call log cost %d: %v", cost, err)
	}
	before := env.Fingerprint(t)
	againID, again, err := env.Ledger.RecordLLMCall(ctx, call("req-1", 400))
	if err != nil || !again.Replayed || againID != callID {
		t.Fatalf("retry: %v %+v", err, again)
	}
	if _, _, err := env.Ledger.RecordLLMCall(ctx, call("req-1", 401)); !errors.Is(err, ledger.ErrIdempotencyConflict) {
		t.Fatalf("same call, other cost: %v", err)
	}
	if env.Fingerprint(t) != before {
		t.Fatal("a retried or conflicting call wrote something")
	}
	// A free call is logged without an entry, once.
	for range 2 {
		id, e, err := env.Ledger.RecordLLMCall(ctx, call("free", 0))
		if err != nil || e != nil || id == "" {
			t.Fatalf("free call: %q %v %v", id, e, err)
		}
	}
	if n := countRows(t, env, "llm_call_logs", tenant); n != 3 {
		t.Fatalf("%d call logs, want 3", n)
	}
	env.MustReconcile(t, ctx)
}

func TestRecordLLMCallRefusalsWriteNothing(t *testing.T) {
	env := ledgertest.New(t)
	_, ctx := env.Tenant(t, "")
	other, _ := env.Tenant(t, "")
	post(t, env, ctx, topup, 500, "t")
	if _, err := env.DB.Exec(`INSERT INTO activities (id, ref_id, tenant_id, created_at, updated_at, type, title)
		VALUES ('act-other', 'a', $1, now(), now(), 't', 't')`, other); err != nil {
		t.Fatal(err)
	}
	// A call logged without a debit (bulk) cannot be charged under its ref.
	if _, err := env.Ledger.IngestLLMCalls(ctx, []ledger.LLMCall{call("bulk-1", 10)}); err != nil {
		t.Fatal(err)
	}
	if _, err := env.DB.Exec(`INSERT INTO agent_configs (id, ref_id, tenant_id, created_at, updated_at, agent_type, name, model)
		VALUES ('agent-other', 'a', $1, now(), now(), 't', 't', 'm')`, other); err != nil {
		t.Fatal(err)
	}
	// The usage key of a call already used by a plain posting.
	post(t, env, ctx, usage, -40, ledger.UsageKey("plain"))
	// A paid call, whose ref cannot come back as free.
	if _, _, err := env.Ledger.RecordLLMCall(ctx, call("paid", 7)); err != nil {
		t.Fatal(err)
	}
	before := env.Fingerprint(t)
	otherAct, foreign := call("x", 5), call("y", 5)
	otherAct.ActivityID = "act-other"
	foreign.TenantID = other
	otherAgent, otherAgentFree := call("z", 5), call("z0", 0)
	otherAgent.AgentConfigID, otherAgentFree.AgentConfigID = "agent-other", "agent-other"
	for name, c := range map[string]struct {
		c    ledger.LLMCall
		want error
	}{
		"negative cost":       {call("n", -1), ledger.ErrInvalidAmount},
		"no ref":              {call("", 5), ledger.ErrInvalidKey},
		"no model":            {ledger.LLMCall{RefID: "m", Provider: "p", Cost: 5}, ledger.ErrInvalidInput},
		"foreign activity":    {otherAct, privacy.ErrCrossTenantRef},
		"foreign tenant":      {foreign, privacy.ErrTenantMismatch},
		"logged, not billed":  {call("bulk-1", 10), ledger.ErrIdempotencyConflict},
		"key of a plain post": {call("plain", 40), ledger.ErrIdempotencyConflict},
		"paid, now free":      {call("paid", 0), ledger.ErrIdempotencyConflict},
		"foreign agent":       {otherAgent, privacy.ErrCrossTenantRef},
		"foreign agent, free": {otherAgentFree, privacy.ErrCrossTenantRef},
	} {
		if _, _, err := env.Ledger.RecordLLMCall(ctx, c.c); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", name, err, c.want)
		}
	}
	if env.Fingerprint(t) != before {
		t.Fatal("a refused call wrote something")
	}
}

// Concurrent deliveries of one call record it and charge it once.
func TestRecordLLMCallConcurrentDuplicates(t *testing.T) {
	env := ledgertest.New(t)
	tenant, ctx := env.Tenant(t, "")
	var wg sync.WaitGroup
	var mu sync.Mutex
	applied := 0
	for i := range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, e, err := env.Ledger.RecordLLMCall(ctx, call(fmt.Sprint("c", i%3), 7))
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			if !e.Replayed {
				applied++
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	if applied != 3 || env.Balance(t, ctx) != -21 || countRows(t, env, "llm_call_logs", tenant) != 3 {
		t.Fatalf("applied %d, balance %d", applied, env.Balance(t, ctx))
	}
	env.MustReconcile(t, ctx)
}

// The grant job credits each plan's included credits once per tenant and
// period, however many times (and however concurrently) it runs.
func TestPlanGrantOncePerPeriod(t *testing.T) {
	env := ledgertest.New(t)
	starter := env.Plan(t, "starter", 50_000)
	free := env.Plan(t, "free", 0)
	_, a := env.Tenant(t, starter)
	_, b := env.Tenant(t, starter)
	_, c := env.Tenant(t, free)
	_, d := env.Tenant(t, "")
	sys := privacy.WithSystem(context.Background())
	month := time.Date(2026, 10, 27, 12, 0, 0, 0, time.UTC) // and the next one: both before now
	var wg sync.WaitGroup
	var mu sync.Mutex
	total := 0
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n, err := env.Ledger.GrantAll(sys, month)
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			total += n
			mu.Unlock()
		}()
	}
	wg.Wait()
	if total != 2 {
		t.Fatalf("%d grants over 4 runs, want 2", total)
	}
	for ctx, want := range map[context.Context]int64{a: 50_000, b: 50_000, c: 0, d: 0} {
		if got := env.Balance(t, ctx); got != want {
			t.Errorf("balance %d, want %d", got, want)
		}
	}
	if e, err := env.Ledger.GrantPlan(sys, mustTenant(a), month.AddDate(0, 0, 3)); err != nil || !e.Replayed {
		t.Fatalf("same month again: %v %v", e, err)
	}
	if e, err := env.Ledger.GrantPlan(sys, mustTenant(a), month.AddDate(0, 1, 0)); err != nil || e.Replayed || e.BalanceAfter != 100_000 {
		t.Fatalf("next month: %v %v", e, err)
	}
	if _, err := env.Ledger.GrantAll(a, month); !errors.Is(err, privacy.ErrSystemOnly) {
		t.Fatalf("tenant running the job: %v", err)
	}
	env.MustReconcile(t, a)
}
