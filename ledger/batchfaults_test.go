package ledger_test

// Batches under concurrency and faults: the set-based path shares tenants
// with Post and with the Batcher, and loses its connection in the write, at
// COMMIT, or after COMMIT; every key is applied exactly once and every
// ledger reconciles.

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/leadmetrics/db/internal/testing/ledgertest"
	"github.com/leadmetrics/db/internal/testing/suitedb"
	"github.com/leadmetrics/db/ledger"
	"github.com/leadmetrics/db/privacy"
)

// Batches, single postings and batched LLM calls race over the same five
// tenants, with keys that collide between batches and single postings.
func TestBatchesPostsAndCallsConcurrently(t *testing.T) {
	const tenants, batchWorkers, postWorkers, callWorkers = 5, 4, 4, 8
	rounds := 20
	if suitedb.OnCitus() { // a twentieth of the throughput; the same collisions
		rounds = 8
	}
	env := ledgertest.New(t)
	ids := make([]string, tenants)
	ctxs := make([]context.Context, tenants)
	for i := range ids {
		ids[i], ctxs[i] = env.Tenant(t, "")
	}
	sys := privacy.WithSystem(context.Background())
	var mu sync.Mutex
	applied := map[string]int{} // tenant/key -> times applied
	calls := 0                  // LLM calls applied (not replayed)
	count := func(tenant, key string, e *ledger.Entry, err error) error {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case errors.Is(err, ledger.ErrInsufficientCredits):
		case err != nil:
			return err
		case !e.Replayed:
			applied[tenant+"/"+key]++
		}
		return nil
	}
	var wg sync.WaitGroup
	errs := make(chan error, batchWorkers+postWorkers+callWorkers)
	for w := range batchWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 99))
			for n := range rounds {
				ps := make([]ledger.Posting, 1+rng.IntN(50))
				for i := range ps {
					ps[i] = contentOf(fmt.Sprintf("k%d", n*5+rng.IntN(20)))
					ps[i].TenantID = ids[rng.IntN(tenants)]
				}
				res, err := env.Ledger.PostBatch(sys, ps)
				if err != nil {
					errs <- err
					return
				}
				for i, r := range res {
					if err := count(ps[i].TenantID, ps[i].IdempotencyKey, r.Entry, r.Err); err != nil {
						errs <- fmt.Errorf("batch worker %d: %w", w, err)
						return
					}
				}
			}
		}()
	}
	for w := range postWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			for n := range rounds * 10 {
				ti := rng.IntN(tenants)
				p := contentOf(fmt.Sprintf("k%d", n/2+rng.IntN(20)))
				e, err := env.Post(ctxs[ti], p)
				if err := count(ids[ti], p.IdempotencyKey, e, err); err != nil {
					errs <- fmt.Errorf("post worker %d: %w", w, err)
					return
				}
			}
		}()
	}
	for w := range callWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range rounds * 5 {
				ti := (w/2 + n) % tenants
				// Two workers send each call: one applies, one replays.
				_, e, err := env.Ledger.RecordLLMCall(ctxs[ti], call(fmt.Sprintf("c%d-%d", w/2, n), int64(1+n%9)))
				if err != nil {
					errs <- fmt.Errorf("call worker %d: %w", w, err)
					return
				}
				if !e.Replayed {
					mu.Lock()
					calls++
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	total := calls
	for k, n := range applied {
		if n > 1 {
			t.Errorf("key %s applied %d times", k, n)
		}
		total += n
	}
	if calls != callWorkers/2*rounds*5 {
		t.Errorf("%d LLM calls applied, want %d", calls, callWorkers/2*rounds*5)
	}
	var entries, overdrawn int
	if err := env.DB.QueryRow(`SELECT count(*), count(*) FILTER (WHERE amount < 0 AND kind <> 'usage' AND balance_after < 0)
		FROM credit_ledger_entries`).Scan(&entries, &overdrawn); err != nil || entries != total || overdrawn != 0 {
		t.Fatalf("%d entries stored, %d applied, %d overdrawn (%v)", entries, total, overdrawn, err)
	}
	if rep, err := env.Ledger.ReconcileAll(sys); err != nil || !rep.OK() || rep.Tenants != tenants {
		t.Fatalf("reconcile: %v %v", rep, err)
	}
	t.Logf("%d entries: %d LLM calls, %d postings", entries, calls, entries-calls)
}

// faultBatch is a batch over two tenants with fresh keys.
func faultBatch(a, b, tag string) []ledger.Posting {
	return []ledger.Posting{
		{TenantID: a, Kind: usage, Amount: -100, IdempotencyKey: tag + "-1"},
		{TenantID: b, Kind: topup, Amount: 50, IdempotencyKey: tag + "-2"},
		{TenantID: a, Kind: expiry, Amount: -200, IdempotencyKey: tag + "-3"},
	}
}

// A batch whose backend dies in its write or while it commits was rolled
// back by the server: the layer reruns it and applies each posting once,
// reported as a first application; sent again, it replays.
func TestPostBatchKilledIsRerunOnce(t *testing.T) {
	suitedb.SkipOnCitus(t, "a kill trigger on a distributed table runs on the worker")
	env := ledgertest.New(t)
	a, actx := env.Tenant(t, "")
	b, bctx := env.Tenant(t, "")
	post(t, env, actx, topup, 1000, "t")
	sys := privacy.WithSystem(context.Background())
	for _, fault := range []struct {
		name string
		arm  func() func() int
	}{
		{"in the write", func() func() int { return suitedb.KillInStatement(t, env.DB, "credit_ledger_entries", 1) }},
		{"at commit", func() func() int { return suitedb.KillAtCommit(t, env.DB, "credit_ledger_entries", 1) }},
	} {
		ps := faultBatch(a, b, fault.name)
		fired := fault.arm()
		res, err := env.Ledger.PostBatch(sys, ps)
		if err != nil {
			t.Fatalf("%s: %v", fault.name, err)
		}
		for i, r := range res {
			if !r.Applied() {
				t.Fatalf("%s: posting %d: %+v %v", fault.name, i, r.Entry, r.Err)
			}
		}
		if fired() != 1+len(ps) {
			t.Fatalf("%s: the trigger ran %d times, want one killed attempt and one rerun", fault.name, fired())
		}
		if _, err := env.DB.Exec(`DROP FUNCTION lm_kill_credit_ledger_entries() CASCADE`); err != nil {
			t.Fatal(err)
		}
		before := env.Fingerprint(t)
		res, err = env.Ledger.PostBatch(sys, ps)
		for i, r := range res {
			if err != nil || r.Err != nil || !r.Entry.Replayed {
				t.Fatalf("%s: again, posting %d: %v %v", fault.name, i, r, err)
			}
		}
		if env.Fingerprint(t) != before {
			t.Fatalf("%s: the replayed batch wrote", fault.name)
		}
	}
	if env.Balance(t, actx) != 1000-2*300 || env.Balance(t, bctx) != 2*50 {
		t.Fatalf("balances %d, %d", env.Balance(t, actx), env.Balance(t, bctx))
	}
	env.MustReconcile(t, actx)
	env.MustReconcile(t, bctx)
}

// A batch that committed but whose COMMIT answer was lost is rerun by the
// layer: every posting comes back as a replay of what the first attempt
// committed, and nothing doubles.
func TestPostBatchAnswerLostAppliesOnce(t *testing.T) {
	rawURL := suitedb.URL(t)
	px := suitedb.NewCutProxy(t, rawURL)
	l := ledger.New(nil, suitedb.Open(t, px.URL))
	direct := suitedb.Open(t, rawURL)
	directLedger := ledger.New(nil, direct)
	suitedb.Tenants(t, direct, "tenant-a", "tenant-b")
	sys := privacy.WithSystem(context.Background())
	if _, err := directLedger.Post(sys, ledger.Posting{TenantID: "tenant-a", Kind: topup, Amount: 1000, IdempotencyKey: "t"}); err != nil {
		t.Fatal(err)
	}
	// Warm the connection and the statements through the proxy.
	if _, err := l.PostBatch(sys, faultBatch("tenant-a", "tenant-b", "warm")); err != nil {
		t.Fatal(err)
	}
	ps := faultBatch("tenant-a", "tenant-b", "cut")
	// The write and its COMMIT go out in one pipeline, whose only message
	// with a description is the write: the server runs both, then the
	// proxy cuts its answer. On Citus each shard's postings are one
	// autocommitted call (shardbatch.go): the cut is the answer to the call
	// of tenant-a's shard, committed on its worker; tenant-b's call may
	// have gone before it (then committed too) or not at all.
	ps[0].Description = "cut-marker"
	px.CutReplyTo("cut-marker")
	res, err := l.PostBatch(sys, ps)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		mayBeFirst := suitedb.OnCitus() && ps[i].TenantID == "tenant-b"
		if r.Err != nil || !(r.Entry.Replayed || mayBeFirst) {
			t.Fatalf("posting %d: %+v %v, want the replay of the committed attempt", i, r.Entry, r.Err)
		}
	}
	var entries int
	if err := direct.QueryRow(`SELECT count(*) FROM credit_ledger_entries WHERE ref_id LIKE 'cut-%'`).Scan(&entries); err != nil || entries != len(ps) {
		t.Fatalf("%d entries (%v), want %d", entries, err, len(ps))
	}
	for _, tenant := range []string{"tenant-a", "tenant-b"} {
		r, err := directLedger.Reconcile(privacy.WithTenant(context.Background(), tenant))
		if err != nil || !r.OK() {
			t.Fatal(r, err)
		}
	}
	if b, _ := directLedger.Balance(privacy.WithTenant(context.Background(), "tenant-a")); b != 1000-2*300 {
		t.Fatalf("balance %d", b)
	}
}
