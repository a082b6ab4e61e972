package ledger_test

// The Batcher's promises, on a real database: concurrent RecordLLMCall
// callers share transactions yet each gets its own entry only once it is
// committed; a caller that gives up does not disturb the others; a batch
// that fails reaches every caller in it; a batch rolled back by one bad
// call still records the others. To make the batching deterministic, the
// tests hold the tenant's balance row so that the first batches wait for
// it while the other callers queue.

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/leadmetrics/db/internal/testing/ledgertest"
	"github.com/leadmetrics/db/internal/testing/suitedb"
	"github.com/leadmetrics/db/ledger"
	"github.com/leadmetrics/db/privacy"
)

// waitFor polls cond every 10 ms for up to 30 s (a bound on a hung test,
// not a timing assertion).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

// batchesWaiting counts set-based batches waiting for a balance lock (on
// Citus, delegated ledger_post_batch calls waiting on the worker).
func batchesWaiting(t *testing.T, env *ledgertest.Env) int {
	t.Helper()
	q := `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
		AND wait_event_type = 'Lock' AND query LIKE 'SELECT tenant_id, balance, last_seq FROM credit_balances%'`
	if suitedb.OnCitus() {
		q = `SELECT count(DISTINCT global_pid) FROM citus_stat_activity WHERE datname = current_database()
		AND wait_event_type = 'Lock' AND query LIKE '%ledger_post_batch(%'`
	}
	var n int
	if err := env.DB.QueryRow(q).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

type recorded struct {
	i      int
	callID string
	e      *ledger.Entry
	err    error
}

// recordConcurrently starts one RecordLLMCall per call, each in its own
// goroutine, and returns their results as they come.
func recordConcurrently(env *ledgertest.Env, ctxs []context.Context, calls []ledger.LLMCall) <-chan recorded {
	out := make(chan recorded, len(calls))
	for i := range calls {
		go func() {
			id, e, err := env.Ledger.RecordLLMCall(ctxs[i], calls[i])
			out <- recorded{i, id, e, err}
		}()
	}
	return out
}

// heldBatcher is a tenant with 1,000 credits whose balance row another
// session holds until release; its ledger writes one batch at a time.
// holdFirst starts the first call, which waits for the row in a batch of
// its own.
func heldBatcher(t *testing.T) (env *ledgertest.Env, ctx context.Context, release func(), holdFirst func(context.Context, ledger.LLMCall) <-chan recorded) {
	t.Helper()
	env = ledgertest.New(t)
	tenant, ctx := env.Tenant(t, "")
	post(t, env, ctx, topup, 1000, "t")
	env.Ledger.Batcher().MaxInFlight = 1
	release = holdBalance(t, env, tenant)
	return env, ctx, release, func(cctx context.Context, c ledger.LLMCall) <-chan recorded {
		t.Helper()
		ch := recordConcurrently(env, []context.Context{cctx}, []ledger.LLMCall{c})
		waitFor(t, "the first batch to wait for the row", func() bool { return batchesWaiting(t, env) == 1 })
		return ch
	}
}

func TestBatcherGathersConcurrentCalls(t *testing.T) {
	const n = 64
	env := ledgertest.New(t)
	tenant, ctx := env.Tenant(t, "")
	other, octx := env.Tenant(t, "")
	post(t, env, ctx, topup, 1000, "t") // creates the balance row to hold
	release := holdBalance(t, env, tenant)
	batches0, calls0 := env.Ledger.Batcher().Stats()

	ctxs := make([]context.Context, n)
	calls := make([]ledger.LLMCall, n)
	for i := range calls {
		ctxs[i] = ctx
		if i%4 == 3 {
			ctxs[i] = octx // a second tenant in the same batches
		}
		calls[i] = call(fmt.Sprint("req-", i), int64(i+1))
	}
	results := recordConcurrently(env, ctxs, calls)
	// The first batches wait for the held row; every other caller queues.
	waitFor(t, "the callers to queue behind the held balance row", func() bool {
		_, taken := env.Ledger.Batcher().Stats()
		return int(taken-calls0)+ledger.PendingCalls(env.Ledger) == n && batchesWaiting(t, env) > 0
	})
	release()
	seen := map[string]bool{}
	var sum [2]int64
	for range n {
		r := <-results
		c := calls[r.i]
		if r.err != nil {
			t.Fatalf("call %d: %v", r.i, r.err)
		}
		if r.e.Replayed || r.e.Amount != -c.Cost || r.e.IdempotencyKey != ledger.UsageKey(c.RefID) ||
			r.e.LlmCallID == nil || *r.e.LlmCallID != r.callID || seen[r.e.ID] {
			t.Fatalf("call %d got entry %+v (call id %s)", r.i, r.e.CreditLedgerEntry, r.callID)
		}
		seen[r.e.ID] = true
		sum[map[bool]int{true: 1, false: 0}[ctxs[r.i] == octx]] += c.Cost
		// Acknowledged means committed: the entry is there for anyone.
		var stored int
		if err := env.DB.QueryRow(`SELECT count(*) FROM credit_ledger_entries e JOIN llm_call_logs l
			ON l.tenant_id = e.tenant_id AND l.id = e.llm_call_id WHERE e.id = $1`, r.e.ID).Scan(&stored); err != nil || stored != 1 {
			t.Fatalf("call %d acknowledged but not committed (%d, %v)", r.i, stored, err)
		}
	}
	batches, taken := env.Ledger.Batcher().Stats()
	batches, taken = batches-batches0, taken-calls0
	if taken != n || batches >= n/2 {
		t.Fatalf("%d calls in %d batches: not gathered", taken, batches)
	}
	t.Logf("%d calls in %d batches", taken, batches)
	if b := env.Balance(t, ctx); b != 1000-sum[0] {
		t.Fatalf("balance %d, want %d", b, 1000-sum[0])
	}
	if b := env.Balance(t, octx); b != -sum[1] {
		t.Fatalf("second tenant's balance %d, want %d", b, -sum[1])
	}
	// The same calls again, concurrently: all replays, nothing written.
	before := env.Fingerprint(t)
	results = recordConcurrently(env, ctxs, calls)
	for range n {
		if r := <-results; r.err != nil || !r.e.Replayed {
			t.Fatalf("replay of call %d: %v %v", r.i, r.e, r.err)
		}
	}
	if env.Fingerprint(t) != before {
		t.Fatal("replayed calls wrote something")
	}
	env.MustReconcile(t, ctx)
	env.MustReconcile(t, privacy.WithTenant(context.Background(), other))
}

// A caller that stops waiting returns its context's error at once, and
// the others are recorded: one still queued writes nothing, one already in
// a batch may commit (a rerun then replays it).
func TestBatcherCancelledCallerDoesNotPoisonOthers(t *testing.T) {
	env, ctx, release, holdFirst := heldBatcher(t)
	inFlightCtx, cancelInFlight := context.WithCancel(ctx)
	queuedCtx, cancelQueued := context.WithCancel(ctx)
	calls := []ledger.LLMCall{call("in-flight", 10), call("kept-1", 20), call("queued", 40), call("kept-2", 80)}
	inFlightRes := holdFirst(inFlightCtx, calls[0])
	results := recordConcurrently(env, []context.Context{ctx, queuedCtx, ctx}, calls[1:])
	waitFor(t, "three queued callers", func() bool { return ledger.PendingCalls(env.Ledger) == 3 })
	cancelQueued()
	cancelInFlight()
	if r := <-inFlightRes; !errors.Is(r.err, context.Canceled) {
		t.Fatalf("cancelled in-flight caller: %v", r.err)
	}
	if r := <-results; r.i != 1 || !errors.Is(r.err, context.Canceled) {
		t.Fatalf("cancelled queued caller: %+v", r)
	}
	if n := ledger.PendingCalls(env.Ledger); n != 2 {
		t.Fatalf("%d callers queued after the cancellations, want 2", n)
	}
	release()
	for range 2 {
		if r := <-results; r.err != nil || r.e.Replayed {
			t.Fatalf("caller %d: %v %v", r.i, r.e, r.err)
		}
	}
	var queued, inFlight int
	if err := env.DB.QueryRow(`SELECT count(*) FILTER (WHERE ref_id = 'queued'), count(*) FILTER (WHERE ref_id = 'in-flight')
		FROM llm_call_logs`).Scan(&queued, &inFlight); err != nil || queued != 0 || inFlight != 1 {
		t.Fatalf("queued call stored %d times, in-flight %d times (%v)", queued, inFlight, err)
	}
	if _, e, err := env.Ledger.RecordLLMCall(ctx, calls[0]); err != nil || !e.Replayed {
		t.Fatalf("rerun of the abandoned in-flight call: %v %v", e, err)
	}
	if b := env.Balance(t, ctx); b != 1000-10-20-80 {
		t.Fatalf("balance %d", b)
	}
	env.MustReconcile(t, ctx)
}

// Every attempt of the batch loses its connection: each caller in it gets
// the batch's error and nothing is written; sent again, each call is
// recorded once.
func TestBatcherFailingBatchReachesAllCallers(t *testing.T) {
	suitedb.SkipOnCitus(t, "a kill trigger on a distributed table runs on the worker")
	const n = 8
	env, ctx, release, holdFirst := heldBatcher(t)
	fired := suitedb.KillInStatement(t, env.DB, "llm_call_logs", 1_000_000)
	before := env.Fingerprint(t)

	// The first call is held in a batch of its own; the others gather in
	// the next one, which starts when the first gives up (its deadline is
	// earlier, so the second batch still has time to try).
	firstCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	ctxs := make([]context.Context, n)
	calls := make([]ledger.LLMCall, n)
	for i := range calls {
		ctxs[i], calls[i] = firstCtx, call(fmt.Sprint("doomed-", i), 5)
	}
	results := holdFirst(ctxs[0], calls[0])
	restCtx, cancel := context.WithTimeout(ctx, 6*time.Second)
	defer cancel()
	for i := 1; i < n; i++ {
		ctxs[i] = restCtx
	}
	rest := recordConcurrently(env, ctxs[1:], calls[1:])
	waitFor(t, "the other callers to queue", func() bool { return ledger.PendingCalls(env.Ledger) == n-1 })
	release()
	for ch, k := range map[<-chan recorded]int{results: 1, rest: n - 1} {
		for range k {
			r := <-ch
			if r.err == nil || !strings.Contains(r.err.Error(), "batch of") || errors.Is(r.err, context.DeadlineExceeded) {
				t.Fatalf("caller %d: want the batch's error, got %v", r.i, r.err)
			}
		}
	}
	if fired() < 2 {
		t.Fatalf("the kill fired %d times: the batches were not retried", fired())
	}
	if _, err := env.DB.Exec(`DROP TRIGGER lm_kill_llm_call_logs ON llm_call_logs`); err != nil {
		t.Fatal(err)
	}
	if env.Fingerprint(t) != before {
		t.Fatal("a failed batch wrote something")
	}
	for i := range calls {
		ctxs[i] = ctx
	}
	results = recordConcurrently(env, ctxs, calls)
	for range n {
		if r := <-results; r.err != nil || r.e.Replayed {
			t.Fatalf("call %d sent again: %v %v", r.i, r.e, r.err)
		}
	}
	if b := env.Balance(t, ctx); b != 1000-5*n {
		t.Fatalf("balance %d", b)
	}
	env.MustReconcile(t, ctx)
}

// Two calls of one batch claim the same call id: the batch's write fails
// and rolls back; each call is then recorded alone, so the first gets
// recorded and only the second is refused (the id is taken).
func TestBatcherRolledBackBatchFallsBackPerCall(t *testing.T) {
	env, ctx, release, holdFirst := heldBatcher(t)
	results := holdFirst(ctx, call("holder", 1))
	a, b, c := call("a", 2), call("b", 3), call("c", 4)
	a.ID, b.ID = "cdupcallidxxxxxxxxxxxxxxx", "cdupcallidxxxxxxxxxxxxxxx"
	rest := recordConcurrently(env, []context.Context{ctx, ctx, ctx}, []ledger.LLMCall{a, b, c})
	waitFor(t, "three queued callers", func() bool { return ledger.PendingCalls(env.Ledger) == 3 })
	release()
	if r := <-results; r.err != nil {
		t.Fatal(r.err)
	}
	ok, taken := 0, 0
	for range 3 {
		r := <-rest
		switch {
		case r.err == nil:
			ok++
		case errors.Is(r.err, privacy.ErrCrossTenantRef) && r.i < 2:
			taken++
		default:
			t.Fatalf("call %d: %v", r.i, r.err)
		}
	}
	if ok != 2 || taken != 1 {
		t.Fatalf("%d recorded, %d refused for the taken id", ok, taken)
	}
	if b := env.Balance(t, ctx); b != 1000-1-4-2 && b != 1000-1-4-3 {
		t.Fatalf("balance %d", b)
	}
	env.MustReconcile(t, ctx)
}
