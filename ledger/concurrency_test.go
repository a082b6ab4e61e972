package ledger_test

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/leadmetrics/db/internal/testing/ledgertest"
	"github.com/leadmetrics/db/internal/testing/suitedb"
	"github.com/leadmetrics/db/ledger"
)

// contentOf derives a posting's kind and amount from its key, so that every
// duplicate of a key asks for the same thing. The mix has credits, usage,
// and debits that may exceed the balance.
func contentOf(key string) ledger.Posting {
	h := fnv.New64a()
	h.Write([]byte(key))
	v := h.Sum64()
	amount := int64(v>>8%1000) + 1
	p := ledger.Posting{IdempotencyKey: key}
	switch v % 10 {
	case 0, 1, 2, 3:
		p.Kind, p.Amount = topup, amount
	case 4, 5, 6:
		p.Kind, p.Amount = usage, -amount
	case 7:
		p.Kind, p.Amount = expiry, -2*amount
	case 8:
		p.Kind, p.Amount = reversal, -3*amount
	default:
		p.Kind, p.Amount = adjustment, amount-500
		if p.Amount == 0 {
			p.Amount = 1
		}
	}
	return p
}

// 16 workers x 500 postings over 10 tenants. Workers walk the keys in step
// with some jitter, so duplicates of a key race each other.
//
// On Citus (150 postings per worker: a posting there costs several round
// trips) the coordinator runs the statement's CTEs as separate queries on
// the worker, each with a new snapshot, in one transaction: a duplicate
// that waited for the balance lock reads the committed original in prior,
// so the raced read (a refusal checked again with a new snapshot) is not
// taken there. The run must then show duplicates in flight with their
// original, started before it was acknowledged, each answered with it.
func TestConcurrentPostings(t *testing.T) {
	const workers, tenants = 16, 10
	perWorker := 500
	if suitedb.OnCitus() {
		perWorker = 150
	}
	env := ledgertest.New(t)
	ctxs := make([]context.Context, tenants)
	for i := range ctxs {
		_, ctxs[i] = env.Tenant(t, "")
	}
	racedBefore := ledger.RacedReads()
	type outcome struct {
		applied, replayed, refused  int
		appliedAt, lastRefusalStart time.Time // a refusal must not start after the key was applied
		replayStarts                []time.Time
	}
	var mu sync.Mutex
	outcomes := map[string]*outcome{} // by tenant/key
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 42))
			for i := range perWorker {
				ti := rng.IntN(tenants)
				key := fmt.Sprintf("k%d", i+rng.IntN(6))
				started := time.Now()
				e, err := env.Post(ctxs[ti], contentOf(key))
				finished := time.Now()
				mu.Lock()
				o := outcomes[fmt.Sprint(ti, "/", key)]
				if o == nil {
					o = &outcome{}
					outcomes[fmt.Sprint(ti, "/", key)] = o
				}
				switch {
				case errors.Is(err, ledger.ErrInsufficientCredits):
					o.refused++
					if started.After(o.lastRefusalStart) {
						o.lastRefusalStart = started
					}
				case err != nil:
					mu.Unlock()
					errs <- fmt.Errorf("worker %d posting %d: %w", w, i, err)
					return
				case e.Replayed:
					o.replayed++
					o.replayStarts = append(o.replayStarts, started)
				default:
					o.applied++
					o.appliedAt = finished
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	var applied, replayed, refused, inFlight int
	for k, o := range outcomes {
		for _, s := range o.replayStarts {
			if o.applied == 1 && s.Before(o.appliedAt) {
				inFlight++ // replayed although it started before its original was acknowledged
			}
		}
		if o.applied > 1 {
			t.Errorf("key %s applied %d times", k, o.applied)
		}
		if o.applied == 1 && o.lastRefusalStart.After(o.appliedAt) {
			t.Errorf("key %s refused for insufficient credits after it had been applied", k)
		}
		applied += o.applied
		replayed += o.replayed
		refused += o.refused
	}
	raced := ledger.RacedReads() - racedBefore
	t.Logf("%d keys: %d applied, %d replayed duplicates (%d in flight with their original, %d raced its snapshot), %d refused for insufficient credits",
		len(outcomes), applied, replayed, inFlight, raced, refused)
	// On Citus duplicates do not take the raced read (see above).
	if replayed == 0 || refused == 0 || (raced == 0 && !suitedb.OnCitus()) || inFlight == 0 {
		t.Fatalf("the run did not exercise duplicates (%d), racing duplicates (%d raced, %d in flight) and refusals (%d)",
			replayed, raced, inFlight, refused)
	}
	var entries int
	if err := env.DB.QueryRow(`SELECT count(*) FROM credit_ledger_entries`).Scan(&entries); err != nil {
		t.Fatal(err)
	}
	if entries != applied {
		t.Fatalf("%d entries stored, %d postings applied", entries, applied)
	}
	// Per tenant: sum(amount) = balance = newest balance_after, entries
	// numbered without gaps, and no debit other than usage overdrew.
	rows, err := env.DB.Query(`SELECT b.tenant_id, b.balance, b.last_seq, coalesce(sum(e.amount), 0), count(e.id),
			coalesce((SELECT balance_after FROM credit_ledger_entries WHERE tenant_id = b.tenant_id ORDER BY seq DESC LIMIT 1), 0),
			count(*) FILTER (WHERE e.amount < 0 AND e.kind <> 'usage' AND e.balance_after < 0)
		FROM credit_balances b LEFT JOIN credit_ledger_entries e ON e.tenant_id = b.tenant_id GROUP BY b.tenant_id, b.balance, b.last_seq`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var id string
		var balance, lastSeq, sum, count, newest, overdrawn int64
		if err := rows.Scan(&id, &balance, &lastSeq, &sum, &count, &newest, &overdrawn); err != nil {
			t.Fatal(err)
		}
		n++
		if sum != balance || newest != balance || lastSeq != count || overdrawn != 0 {
			t.Errorf("tenant %s: balance %d sum %d newest %d last_seq %d entries %d overdrawn %d",
				id, balance, sum, newest, lastSeq, count, overdrawn)
		}
	}
	if n != tenants {
		t.Fatalf("%d balance rows, want %d", n, tenants)
	}
	for _, ctx := range ctxs {
		env.MustReconcile(t, ctx)
	}
}
