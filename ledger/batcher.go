package ledger

// Group commit for RecordLLMCall. Why: every paid LLM call is one posting,
// and agents make them concurrently; one transaction each pays a commit
// (a WAL flush) and a balance-row lock round per call. The Batcher gathers
// the calls that arrive while earlier batches are being written and writes
// them together with the set-based statement (batchset.go; on Citus one
// delegated call per shard, shardbatch.go): the calls, their
// usage debits and each tenant's balance, in one commit. No timer: a call
// arriving on an idle ledger starts a batch of one at once; under load the
// batches grow by themselves, as in PostgreSQL's own group commit.

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/leadmetrics/db/retry"
)

// Batcher gathers concurrent RecordLLMCall callers into shared
// transactions. Each caller returns only after the transaction holding its
// call has committed (nothing acknowledged is lost), with its own result;
// an error of the batch as a whole (the connection failed beyond retries)
// reaches every caller in it; a caller whose context ends stops waiting
// without affecting the others. Every Ledger has one (Ledger.Batcher).
type Batcher struct {
	l *Ledger
	// MaxInFlight is how many batches may be written at once (default 2:
	// one gathers while the other commits). Set it before the first call.
	MaxInFlight int

	mu       sync.Mutex
	pending  []*callReq
	inFlight int

	batches, calls atomic.Int64 // batches written and calls they carried
}

// callReq is one waiting RecordLLMCall.
type callReq struct {
	ctx  context.Context
	item setItem
	done chan struct{} // closed when res, err or fallback are set
	res  BatchResult
	err  error
	// fallback: the batch hit a database error that rolled it back; the
	// caller records its call alone (RecordLLMCall's unbatched path).
	fallback bool
	taken    bool // a batch holds it (under Batcher.mu)
}

type unbatchedKey struct{}

// Unbatched returns a context whose RecordLLMCall calls are written alone,
// in their own transaction, bypassing the Batcher: for a caller that wants
// its call's fate independent of any other call.
func Unbatched(ctx context.Context) context.Context {
	return context.WithValue(ctx, unbatchedKey{}, true)
}

func unbatched(ctx context.Context) bool { v, _ := ctx.Value(unbatchedKey{}).(bool); return v }

// Batcher returns the ledger's batcher, to tune it or read its counters.
func (l *Ledger) Batcher() *Batcher { return l.batcher }

// Stats returns how many batches the batcher wrote and how many calls
// they carried.
func (b *Batcher) Stats() (batches, calls int64) { return b.batches.Load(), b.calls.Load() }

// record queues one prepared call and waits for its batch.
func (b *Batcher) record(ctx context.Context, it setItem) (e *Entry, fallback bool, err error) {
	r := &callReq{ctx: ctx, item: it, done: make(chan struct{})}
	b.mu.Lock()
	b.pending = append(b.pending, r)
	if b.inFlight < max(b.MaxInFlight, 1) {
		b.inFlight++
		go b.run()
	}
	b.mu.Unlock()
	select {
	case <-r.done:
		return r.res.Entry, r.fallback, r.err
	case <-ctx.Done():
	}
	b.mu.Lock()
	if !r.taken {
		for i, p := range b.pending {
			if p == r {
				b.pending = append(b.pending[:i:i], b.pending[i+1:]...)
				break
			}
		}
	}
	taken := r.taken
	b.mu.Unlock()
	if taken {
		// Its batch is being written: the call may still commit, and a
		// rerun (same RefID) then replays it.
		return nil, false, fmt.Errorf("ledger: LLM call %q: stopped waiting for its batch: %w", it.call.RefID, context.Cause(ctx))
	}
	return nil, false, fmt.Errorf("ledger: LLM call %q: %w", it.call.RefID, context.Cause(ctx))
}

// run writes batches until nothing is pending.
func (b *Batcher) run() {
	for {
		b.mu.Lock()
		n := min(len(b.pending), MaxBatch)
		if n == 0 {
			b.inFlight--
			b.mu.Unlock()
			return
		}
		batch := b.pending[:n:n]
		b.pending = append([]*callReq(nil), b.pending[n:]...)
		for _, r := range batch {
			r.taken = true
		}
		b.mu.Unlock()
		b.flush(batch)
	}
}

// flush writes one batch and wakes its callers.
func (b *Batcher) flush(batch []*callReq) {
	defer func() {
		for _, r := range batch {
			close(r.done)
		}
	}()
	// No single caller's cancellation stops the batch (the others still
	// wait for it); it may run, retries included, until the latest
	// deadline among its callers (retry's budget when one has none).
	ctx := context.Background()
	var latest time.Time
	for _, r := range batch {
		d, ok := r.ctx.Deadline()
		if !ok {
			latest = time.Time{}
			break
		}
		if d.After(latest) {
			latest = d
		}
	}
	if !latest.IsZero() {
		// End a tenth early (at most 1 s): a batch that runs to the very
		// deadline races its callers' own expiry, and they would hear
		// "stopped waiting" instead of the batch's outcome.
		latest = latest.Add(-min(max(time.Until(latest)/10, 0), time.Second))
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, latest)
		defer cancel()
	}
	items := make([]setItem, len(batch))
	res := make([]BatchResult, len(batch))
	for i, r := range batch {
		items[i] = r.item
		items[i].at = i
	}
	b.batches.Add(1)
	b.calls.Add(int64(len(batch)))
	var aborted bool
	_, err := retry.Do(ctx, func(ctx context.Context) (err error) {
		citus, err := b.l.onCitus(ctx)
		if err != nil || !citus {
			aborted, err = b.l.applySet(ctx, items, res)
			return err
		}
		return b.l.applyShards(ctx, items, res)
	})
	for i, r := range batch {
		switch {
		case err != nil:
			r.err = fmt.Errorf("ledger: batch of %d LLM calls: %w", len(batch), err)
		case aborted:
			r.fallback = true
		default:
			r.res, r.err = res[i], res[i].Err
		}
	}
}

// recordBatched records a paid call through the Batcher; a batch rolled
// back by a database error leaves each of its calls to the unbatched path.
func (l *Ledger) recordBatched(ctx context.Context, p Posting, c *LLMCall) (*Entry, error) {
	pp, err := prepare(ctx, &p)
	if err != nil {
		observe(ctx, p.Kind, nil, err)
		return nil, err
	}
	e, fallback, err := l.batcher.record(ctx, setItem{pp: pp, p: &p, call: c})
	if fallback {
		return l.post(ctx, l.db, p, c)
	}
	observe(ctx, p.Kind, e, err)
	return e, err
}
