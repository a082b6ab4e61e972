package ledger_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	db "github.com/leadmetrics/db"
	"github.com/leadmetrics/db/internal/testing/suitedb"
	"github.com/leadmetrics/db/ledger"
	"github.com/leadmetrics/db/privacy"
	"github.com/leadmetrics/db/retry"

	"github.com/leadmetrics/db/internal/testing/ledgertest"
)

// A posting whose backend is terminated while it waits for the balance
// lock never commits; the layer reruns it (an admin shutdown is a
// failover error) and applies it exactly once.
func TestPostingKilledMidFlightAppliesOnceOnRetry(t *testing.T) {
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

	killed := waitForPostings(t, env, 1)
	terminate(t, env, killed[0])
	// The rerun waits on the lock again, on a new connection.
	waitForPostings(t, env, 1, killed...)
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

// waitForPostings waits until n postings wait for a balance lock, none of
// except still among them, and returns the ids of their sessions: backend
// pids, or on Citus global pids (the lock is held on the worker that holds
// the tenant's shard, where the posting runs for a session of the
// coordinator: citus_stat_activity lists the worker's backends with the
// global pid of the coordinator's session that sent their statement).
func waitForPostings(t *testing.T, env *ledgertest.Env, n int, except ...int64) []int64 {
	t.Helper()
	q, waiting := suitedb.Open(t, suitedb.ServerURL(t)), `SELECT pid::bigint FROM pg_stat_activity
		WHERE wait_event_type = 'Lock' AND query LIKE 'WITH bal AS MATERIALIZED%' AND datname = $1`
	if suitedb.OnCitus() {
		// The coordinator delegates the posting (ledger_post) to the
		// worker: there the lock wait, with the coordinator's global pid.
		q, waiting = env.DB, `WITH a AS MATERIALIZED (SELECT global_pid, wait_event_type, query FROM citus_stat_activity WHERE datname = $1)
			SELECT DISTINCT w.global_pid FROM a w JOIN a s USING (global_pid)
			WHERE w.wait_event_type = 'Lock' AND s.query LIKE '%ledger_post(%'`
	}
	var dbName string
	if err := env.DB.QueryRow(`SELECT current_database()`).Scan(&dbName); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		rows, err := q.Query(waiting, dbName)
		if err != nil {
			t.Fatal(err)
		}
		var ids []int64
		stale := false
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				t.Fatal(err)
			}
			if slices.Contains(except, id) {
				stale = true
				continue
			}
			ids = append(ids, id)
		}
		rows.Close()
		if len(ids) >= n && !stale {
			return ids
		}
	}
	t.Fatalf("fewer than %d postings waited on the balance lock", n)
	return nil
}

// terminate ends the session of a waiting posting (waitForPostings): its
// backend, or on Citus the coordinator's session, whose end cancels the
// statement it sent to the worker.
func terminate(t *testing.T, env *ledgertest.Env, id int64) {
	t.Helper()
	q, stmt := suitedb.Open(t, suitedb.ServerURL(t)), `SELECT pg_terminate_backend($1::int)`
	if suitedb.OnCitus() {
		q, stmt = env.DB, `SELECT pg_terminate_backend($1::bigint)` // Citus's global pid variant
	}
	var ok bool
	if err := q.QueryRow(stmt, id).Scan(&ok); err != nil || !ok {
		t.Fatalf("terminate session %d: %v, %v", id, ok, err)
	}
}

// Two duplicates of a debit that empties the balance wait on the lock
// together: the first applies it; the second, whose snapshot predates the
// first's commit, must answer with the original entry, not with
// "insufficient credits" although the balance is now short. (On Citus the
// statement's CTEs run as separate queries on the worker, each with a new
// snapshot: the second reads the original in prior, not by the raced
// read; the answer must be the same.)
func TestRacingDuplicateDebitIsReplayedNotRefused(t *testing.T) {
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
	rawURL := suitedb.URL(t)
	px := suitedb.NewCutProxy(t, rawURL)
	proxied := suitedb.Open(t, px.URL)
	direct := suitedb.Open(t, rawURL)
	l := ledger.New(nil, proxied)
	directLedger := ledger.New(nil, direct)
	suitedb.Tenants(t, direct, "tenant-cut")
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
	env := ledgertest.New(t)
	_, ctx := env.Tenant(t, "")

	fired := suitedb.KillAtCommit(t, env.DB, "credit_balances", 1)
	if err := env.Ledger.EnsureBalance(ctx); err != nil || fired() != 2 {
		t.Fatalf("EnsureBalance: %v after %d runs, want a rerun that succeeds", err, fired())
	}
	fired = suitedb.KillAtCommit(t, env.DB, "credit_ledger_entries", 1)
	post(t, env, ctx, topup, 1000, "killed-topup")
	if fired() != 2 || env.Balance(t, ctx) != 1000 {
		t.Fatalf("Post: %d runs, balance %d; want a rerun applied once", fired(), env.Balance(t, ctx))
	}
	fired = suitedb.KillAtCommit(t, env.DB, "llm_call_logs", 2) // two attempts killed, the third commits
	_, e, err := env.Ledger.RecordLLMCall(ctx, ledger.LLMCall{RefID: "paid", Provider: "p", Model: "m", Cost: 30})
	if err != nil || e.Replayed || fired() != 3 {
		t.Fatalf("RecordLLMCall: %v, %d runs; want a rerun applied once", err, fired())
	}
	fired = suitedb.KillAtCommit(t, env.DB, "llm_call_logs", 1)
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
	env := ledgertest.New(t)
	_, ctx := env.Tenant(t, "")
	fired := suitedb.KillAtCommit(t, env.DB, "llm_call_logs", 1)
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

// A worker backend that dies while the coordinator commits: a transaction
// that wrote to one shard only is committed on its worker alone (one-phase)
// and Citus reports the failure as XX000 "could not commit transaction for
// shard N", whether or not the worker committed; one that also touched
// another node (a posting reads the reference table tenants) is prepared
// first and reports the worker's 57P01. Either way the layer reports an
// unknown outcome (on one server the kill is a lost connection), never the
// raw error, and an idempotent rerun writes once.
func TestTxKilledAtCommitIsOutcomeUnknown(t *testing.T) {
	h := suitedb.Handle(t, suitedb.URL(t))
	env := &ledgertest.Env{Client: h.Client, DB: h.SQL, Ledger: ledger.New(h.Client, h.SQL)}
	tenant, ctx := env.Tenant(t, "")
	post(t, env, ctx, topup, 1000, "t")
	p := ledger.Posting{Kind: usage, Amount: -100, IdempotencyKey: "tx-killed"}
	for _, c := range []struct {
		name, table string
		fn          func(ctx context.Context, tx *db.Tx) error
	}{
		{"one shard", "credit_balances", func(ctx context.Context, tx *db.Tx) error {
			_, err := tx.SQL.ExecContext(ctx, `UPDATE credit_balances SET updated_at = now() WHERE tenant_id = $1`, tenant)
			return err
		}},
		{"posting", "credit_ledger_entries", func(ctx context.Context, tx *db.Tx) error {
			_, err := env.Ledger.PostTx(ctx, tx.SQL, p)
			return err
		}},
	} {
		fired := suitedb.KillAtCommit(t, env.DB, c.table, 1)
		err := h.WithTx(ctx, c.fn)
		var ue *retry.OutcomeUnknownError
		if !errors.As(err, &ue) || ue.Op != "COMMIT" || fired() != 1 {
			t.Fatalf("%s: WithTx: %v after %d runs; want an OutcomeUnknownError of the COMMIT", c.name, err, fired())
		}
		t.Logf("%s: %v", c.name, ue.Err)
		if env.Balance(t, ctx) != 1000 {
			t.Fatalf("%s: the killed commit was applied", c.name)
		}
		fired = suitedb.KillAtCommit(t, env.DB, c.table, 1)
		if err := h.WithTx(ctx, c.fn, db.Idempotent(3)); err != nil || fired() != 2 {
			t.Fatalf("%s: idempotent WithTx: %v after %d runs; want a rerun", c.name, err, fired())
		}
	}
	if env.Balance(t, ctx) != 900 {
		t.Fatalf("balance %d, want 900", env.Balance(t, ctx))
	}
	env.MustReconcile(t, ctx)
}
