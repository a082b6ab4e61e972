package ledger

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/leadmetrics/db/retry"
)

// BatchResult is the outcome of one posting of a batch: Entry when it was
// applied or replayed (Entry.Replayed), Err when it was refused (the same
// typed errors as Post).
type BatchResult struct {
	Entry *Entry
	Err   error
}

// Applied reports whether the posting wrote an entry now.
func (r BatchResult) Applied() bool { return r.Err == nil && r.Entry != nil && !r.Entry.Replayed }

// MaxBatch is the most postings PostBatch takes at once.
const MaxBatch = 1000

// ErrBatchTooLarge: more than MaxBatch postings.
var ErrBatchTooLarge = fmt.Errorf("ledger: more than %d postings in a batch", MaxBatch)

// PostBatch applies many postings, of one or many tenants, in one round
// trip and one commit, and returns one result per posting, in order. Each
// posting keeps its own idempotency key and is checked exactly as Post
// checks it: a refusal (bad input, insufficient credits, inactive tenant,
// a key reused with other content) is that posting's Err and does not stop
// the others. Postings of a tenant apply in their order in the batch.
//
// The returned error is for the batch as a whole (the connection failed,
// the commit failed): then nothing of the batch was written, and posting it
// again is safe (idempotency keys). When a posting hits a database error
// that aborts the transaction (a balance overflow, an LLM call that already
// has a usage entry), the batch is rolled back and its postings are applied
// one at a time, so that each still gets its own result.
//
// It needs the pgx driver (db.OpenDB). On PostgreSQL the batch costs a
// fixed number of statements whatever its size (batchset.go): its balance
// rows are locked in tenant order, Go decides each posting as Post would in
// batch order, and one statement of arrays writes the entries and each
// tenant's balance once. On Citus the postings are grouped by shard, one
// delegated call per shard (shardbatch.go), each shard's group committed on
// its own: there an error for the batch as a whole may leave some groups
// committed, and posting the batch again replays them.
//
// A batch whose connection is lost or whose primary fails over is rerun
// (retry.Do, inside ctx's deadline): postings an attempt had committed
// come back Replayed.
func (l *Ledger) PostBatch(ctx context.Context, ps []Posting) (res []BatchResult, err error) {
	_, err = retry.Do(ctx, func(ctx context.Context) error {
		res, err = l.postBatch(ctx, ps)
		return err
	})
	return res, err
}

func (l *Ledger) postBatch(ctx context.Context, ps []Posting) ([]BatchResult, error) {
	if len(ps) > MaxBatch {
		return nil, ErrBatchTooLarge
	}
	res := make([]BatchResult, len(ps))
	items := make([]setItem, 0, len(ps)) // postings that passed Go's checks, in batch order
	for i := range ps {
		pp, err := prepare(ctx, &ps[i])
		if err != nil {
			res[i].Err = err
			continue
		}
		items = append(items, setItem{pp: pp, p: &ps[i], at: i})
	}
	if len(items) == 0 {
		return res, nil
	}
	citus, err := l.onCitus(ctx)
	if err != nil {
		return nil, err
	}
	if citus {
		return l.postShards(ctx, items, res)
	}
	aborted, err := l.applySet(ctx, items, res)
	if err != nil {
		return nil, err
	}
	if aborted {
		batchFallbacks.Add(1)
		for _, it := range items {
			e, err := l.post(ctx, l.db, *it.p, nil)
			res[it.at] = BatchResult{Entry: e, Err: err}
		}
		return res, nil
	}
	for _, it := range items {
		observe(ctx, it.p.Kind, res[it.at].Entry, res[it.at].Err)
	}
	return res, nil
}

// postShards is postBatch on Citus (shardbatch.go).
func (l *Ledger) postShards(ctx context.Context, items []setItem, res []BatchResult) ([]BatchResult, error) {
	if err := l.applyShards(ctx, items, res); err != nil {
		return nil, err
	}
	for _, it := range items {
		observe(ctx, it.p.Kind, res[it.at].Entry, res[it.at].Err)
	}
	return res, nil
}

// batchFallbacks counts batches rolled back and rerun one posting at a
// time, and on Citus postings whose write was rolled back alone
// (ledger_post_batch); tests check the path is exercised.
var batchFallbacks atomic.Int64
