package ledger_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/leadmetrics/db/internal/testdb"
	"github.com/leadmetrics/db/ledger"
	"github.com/leadmetrics/db/privacy"
	"github.com/leadmetrics/db/retry"

	"github.com/leadmetrics/db/internal/ledgertest"
)

// A posting whose backend is terminated while it waits for the balance
// lock never commits; the layer reruns it (an admin shutdown is a
// failover error) and applies it exactly once.
func TestPostingKilledMidFlightAppliesOnceOnRetry(t *testing.T) {
	testdb.SkipOnCitus(t, "the balance lock is held on a worker; the probe reads the coordinator's lock waits")
	env := ledgertest.New(t)
	tenant, ctx := env.Tenant(t, "")
	post(t, env, ctx, topup, 1000, "before")

	release := holdBalance(t, env, tenant)
	p := ledger.Posting{Kind: usage, Amount: -300, IdempotencyKey: "killed"}
	type result struct {
		e   *ledger.Entry
		err error
	}
	done := make(chan result, 1)
	go func() { e, err := env.Post(ctx, p); done <- result{e, err} }()

	pids := waitForPostings(t, env, 1)
	admin := testdb.Open(t, testdb.ServerURL(t))
	pid := pids[0]
	if _, err := admin.Exec(`SELECT pg_terminate_backend($1)`, pid); err != nil {
		t.Fatal(err)
	}
	// The rerun waits on the lock again, on a new connection.
	waitForPostings(t, env, 1)
	release()

	r := <-done
	if r.err != nil {
		t.Fatalf("the killed posting was not rerun: %v", r.err)
	}
	if r.e.Replayed || r.e.BalanceAfter != 700 {
		t.Fatalf("rerun: replayed %v balance_after %d, want a first application to 700", r.e.Replayed, r.e.BalanceAfter)
	}
	if e, _ := env.Post(ctx, p); !e.Replayed || env.Balance(t, ctx) != 700 {
		t.Fatal("second retry applied again")
	}
	env.MustReconcile(t, ctx)
}

// holdBalance locks the tenant's balance row from another session until
// the returned function is called.
func holdBalance(t *testing.T, env *ledgertest.Env, tenant string) (release func()) {
	t.Helper()
	holder, err := env.DB.BeginTx(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { holder.Rollback() })
	if _, err := holder.Exec(`SELECT 1 FROM credit_balances WHERE tenant_id = $1 FOR UPDATE`, tenant); err != nil {
		t.Fatal(err)
	}
	return func() { holder.Rollback() }
}

// waitForPostings waits until n postings wait for a balance lock and
// returns their backend pids.
func waitForPostings(t *testing.T, env *ledgertest.Env, n int) []int {
	t.Helper()
	admin := testdb.Open(t, testdb.ServerURL(t))
	var dbName string
	if err := env.DB.QueryRow(`SELECT current_database()`).Scan(&dbName); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		rows, err := admin.Query(`SELECT pid FROM pg_stat_activity
			WHERE wait_event_type = 'Lock' AND query LIKE 'WITH bal AS MATERIALIZED%' AND datname = $1`, dbName)
		if err != nil {
			t.Fatal(err)
		}
		var pids []int
		for rows.Next() {
			var pid int
			rows.Scan(&pid)
			pids = append(pids, pid)
		}
		rows.Close()
		if len(pids) >= n {
			return pids
		}
	}
	t.Fatalf("fewer than %d postings waited on the balance lock", n)
	return nil
}

// Two duplicates of a debit that empties the balance wait on the lock
// together: the first applies it; the second, whose snapshot predates the
// first's commit, must answer with the original entry, not with
// "insufficient credits" although the balance is now short.
func TestRacingDuplicateDebitIsReplayedNotRefused(t *testing.T) {
	testdb.SkipOnCitus(t, "the balance lock is held on a worker; the probe reads the coordinator's lock waits")
	env := ledgertest.New(t)
	tenant, ctx := env.Tenant(t, "")
	post(t, env, ctx, topup, 500, "t")
	release := holdBalance(t, env, tenant)
	p := ledger.Posting{Kind: expiry, Amount: -500, IdempotencyKey: "expire-all"}
	type result struct {
		e   *ledger.Entry
		err error
	}
	results := make(chan result, 2)
	for range 2 {
		go func() { e, err := env.Post(ctx, p); results <- result{e, err} }()
	}
	waitForPostings(t, env, 2)
	release()
	applied := 0
	for range 2 {
		r := <-results
		if r.err != nil {
			t.Fatalf("duplicate of an applied debit: %v", r.err)
		}
		if !r.e.Replayed {
			applied++
		}
	}
	if applied != 1 || env.Balance(t, ctx) != 0 {
		t.Fatalf("applied %d times, balance %d", applied, env.Balance(t, ctx))
	}
}

// A posting that committed but whose answer was lost (the link is cut as
// the server replies) is rerun by the layer: the rerun replays it, nothing
// doubles.
func TestPostingAnswerLostAppliesOnceOnRetry(t *testing.T) {
	rawURL := testdb.URL(t)
	px := testdb.NewCutProxy(t, rawURL)
	proxied := testdb.Open(t, px.URL)
	direct := testdb.Open(t, rawURL)
	l := ledger.New(nil, proxied)
	directLedger := ledger.New(nil, direct)
	testdb.Tenants(t, direct, "tenant-cut")
	ctx := privacy.WithTenant(context.Background(), "tenant-cut")

	if _, err := directLedger.Post(privacy.WithSystem(ctx), ledger.Posting{Kind: topup, Amount: 1000, IdempotencyKey: "credit", TenantID: "tenant-cut"}); err != nil {
		t.Fatal(err)
	}
	// Warm the connection and its prepared statement through the proxy.
	if _, err := l.Post(ctx, ledger.Posting{Kind: usage, Amount: -50, IdempotencyKey: "warm"}); err != nil {
		t.Fatal(err)
	}
	p := ledger.Posting{Kind: usage, Amount: -250, IdempotencyKey: "answer-lost"}
	px.CutNextReply()
	// The layer reruns the posting on a new connection and reports the
	// replay: the first attempt had committed.
	e, err := l.Post(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if !e.Replayed || e.BalanceAfter != 700 {
		t.Fatalf("rerun: replayed %v balance_after %d, want the original entry", e.Replayed, e.BalanceAfter)
	}
	if b, _ := directLedger.Balance(ctx); b != 700 {
		t.Fatalf("balance %d after the retry, want 700", b)
	}
	r, err := directLedger.Reconcile(ctx)
	if err != nil || !r.OK() {
		t.Fatal(r, err)
	}
}

// The idempotent ledger writes are rerun when their backend dies while
// they commit (the server rolls the first attempt back): each is applied
// once, and reported as a first application.
func TestIdempotentWritesKilledAtCommitAreRerun(t *testing.T) {
	testdb.SkipOnCitus(t, "a kill trigger on a distributed table runs on the worker")
	env := ledgertest.New(t)
	_, ctx := env.Tenant(t, "")

	fired := testdb.KillAtCommit(t, env.DB, "credit_balances", 1)
	if err := env.Ledger.EnsureBalance(ctx); err != nil || fired() != 2 {
		t.Fatalf("EnsureBalance: %v after %d runs, want a rerun that succeeds", err, fired())
	}
	fired = testdb.KillAtCommit(t, env.DB, "credit_ledger_entries", 1)
	post(t, env, ctx, topup, 1000, "killed-topup")
	if fired() != 2 || env.Balance(t, ctx) != 1000 {
		t.Fatalf("Post: %d runs, balance %d; want a rerun applied once", fired(), env.Balance(t, ctx))
	}
	fired = testdb.KillAtCommit(t, env.DB, "llm_call_logs", 2) // two attempts killed, the third commits
	_, e, err := env.Ledger.RecordLLMCall(ctx, ledger.LLMCall{RefID: "paid", Provider: "p", Model: "m", Cost: 30})
	if err != nil || e.Replayed || fired() != 3 {
		t.Fatalf("RecordLLMCall: %v, %d runs; want a rerun applied once", err, fired())
	}
	fired = testdb.KillAtCommit(t, env.DB, "llm_call_logs", 1)
	if _, _, err := env.Ledger.RecordLLMCall(ctx, ledger.LLMCall{RefID: "free", Provider: "p", Model: "m"}); err != nil || fired() != 2 {
		t.Fatalf("RecordLLMCall (free): %v, %d runs", err, fired())
	}
	var calls int
	if err := env.DB.QueryRow(`SELECT count(*) FROM llm_call_logs`).Scan(&calls); err != nil || calls != 2 {
		t.Fatalf("%d LLM calls (%v), want 2", calls, err)
	}
	if b := env.Balance(t, ctx); b != 970 {
		t.Fatalf("balance %d, want 970", b)
	}
	env.MustReconcile(t, ctx)
}

// COPY ingestion is not idempotent (a rerun of a committed batch fails on
// its ref ids): a batch whose backend dies while it commits is not rerun,
// and its error says the outcome is unknown.
func TestIngestKilledAtCommitIsOutcomeUnknown(t *testing.T) {
	testdb.SkipOnCitus(t, "a kill trigger on a distributed table runs on the worker")
	env := ledgertest.New(t)
	_, ctx := env.Tenant(t, "")
	fired := testdb.KillAtCommit(t, env.DB, "llm_call_logs", 1)
	calls := []ledger.LLMCall{{RefID: "c1", Provider: "p", Model: "m"}, {RefID: "c2", Provider: "p", Model: "m"}}
	n, err := env.Ledger.IngestLLMCalls(ctx, calls)
	var ue *retry.OutcomeUnknownError
	if n != 0 || !errors.As(err, &ue) || ue.Op != "COPY llm_call_logs" || !errors.Is(err, retry.ErrOutcomeUnknown) {
		t.Fatalf("IngestLLMCalls: %d, %v; want an OutcomeUnknownError of the COPY", n, err)
	}
	if fired() != 1 {
		t.Fatalf("the trigger ran %d times: the batch was rerun", fired())
	}
	// The check the error asks for: here the server rolled it back.
	var stored int
	if err := env.DB.QueryRow(`SELECT count(*) FROM llm_call_logs WHERE ref_id IN ('c1', 'c2')`).Scan(&stored); err != nil || stored != 0 {
		t.Fatalf("%d calls stored (%v)", stored, err)
	}
	if n, err := env.Ledger.IngestLLMCalls(ctx, calls); n != 2 || err != nil {
		t.Fatalf("sending it again: %d, %v", n, err)
	}
}
