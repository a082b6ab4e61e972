package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"sync/atomic"

	"github.com/jackc/pgx/v5"

	"github.com/leadmetrics/db/cuid"
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
// tenant's balance once. On Citus it is one pipeline of posting statements.
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
	var aborted bool
	if citus {
		aborted, err = l.pipelineBatch(ctx, items, res)
	} else {
		aborted, err = l.applySet(ctx, items, res)
	}
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

// batchFallbacks counts batches rolled back and rerun one posting at a
// time; tests check the path is exercised.
var batchFallbacks atomic.Int64

// pipelineBatch is the batch as one pipeline of posting statements, one
// per posting, in one transaction: the path on Citus, where the set-based
// statements would be multi-shard (a lock, then writes, across shards),
// which this layer has not tested there. A fixed lock order (by tenant)
// keeps concurrent batches from deadlocking on each other's balance rows.
func (l *Ledger) pipelineBatch(ctx context.Context, items []setItem, res []BatchResult) (aborted bool, err error) {
	order := append([]setItem(nil), items...)
	sort.SliceStable(order, func(a, b int) bool { return order[a].pp.tenant < order[b].pp.tenant })
	var ids []string
	for i, it := range order {
		if i == 0 || it.pp.tenant != order[i-1].pp.tenant {
			ids = append(ids, it.pp.tenant)
		}
	}
	err = l.withPgx(ctx, func(c *pgx.Conn) (err error) {
		aborted, err = runBatch(ctx, c, order, ids, order[0].pp.system, res)
		return err
	})
	return aborted, err
}

// runBatch sends the batch's statements in one pipeline inside one
// transaction and fills res. aborted is true when a posting's database
// error rolled the transaction back (res is then meaningless).
func runBatch(ctx context.Context, c *pgx.Conn, order []setItem, tenants []string, system bool, res []BatchResult) (aborted bool, err error) {
	tx, err := c.Begin(ctx)
	if err != nil {
		return false, err
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	b := &pgx.Batch{}
	// Balance rows first, for the tenants' first postings (the gate
	// decides; an inactive tenant gets no row and its postings report so).
	rowIDs := make([]string, len(tenants))
	for i := range rowIDs {
		rowIDs[i] = cuid.New()
	}
	b.Queue(`INSERT INTO credit_balances (id, ref_id, tenant_id, created_at, updated_at, balance, last_seq)
		SELECT u.bid, 'credit-balance', u.tid, now(), now(), 0, 0
		FROM unnest($1::varchar[], $2::varchar[]) AS u(tid, bid) WHERE `+tenantGate("u.tid", system)+`
		ORDER BY u.tid ON CONFLICT DO NOTHING -- either unique index: the row exists`, tenants, rowIDs)
	for _, it := range order {
		b.Queue(postSQL[system], it.pp.args()...)
	}
	br := tx.SendBatch(ctx, b)
	if _, err := br.Exec(); err != nil {
		br.Close()
		return false, dbError(err)
	}
	type recheck struct {
		it   setItem
		stat string
		bal  int64
	}
	var again []recheck
	for _, it := range order {
		i := it.at
		stat, e, bal, err := scanEntry(br.QueryRow())
		if err != nil {
			br.Close()
			if errors.Is(dbError(err), ErrInvalidAmount) || errors.Is(dbError(err), ErrIdempotencyConflict) {
				return true, nil
			}
			return false, dbError(err)
		}
		switch stat {
		case stInserted:
			res[i].Entry = &Entry{CreditLedgerEntry: e}
		case stExisting:
			res[i].Entry, res[i].Err = replay(e, *it.p)
		case stInactive, stNoBalance:
			res[i].Err = inactive(it.pp.tenant)
		case stBadLink, stInsufficent, stRaced:
			again = append(again, recheck{it, stat, bal})
		default:
			res[i].Err = fmt.Errorf("ledger: unexpected posting status %q", stat)
		}
	}
	if err := br.Close(); err != nil {
		return false, dbError(err)
	}
	// As in Post: a refusal may hide a duplicate that committed while the
	// statement waited for the lock; read the key with a new snapshot. An
	// entry this batch wrote is not one: it came later in the batch (an
	// earlier one was in the statement's snapshot), after the refusal.
	wrote := make(map[string]bool, len(order))
	for _, it := range order {
		if e := res[it.at].Entry; e != nil && !e.Replayed {
			wrote[e.ID] = true
		}
	}
	for _, r := range again {
		i := r.it.at
		status, e, _, err := scanEntry(tx.QueryRow(ctx, entryByKeySQL, r.it.pp.tenant, r.it.pp.key))
		switch {
		case err == nil && status == stExisting && !wrote[e.ID]:
			racedReads.Add(1)
			res[i].Entry, res[i].Err = replay(e, *r.it.p)
		case err != nil && !errors.Is(err, pgx.ErrNoRows) && !errors.Is(err, sql.ErrNoRows):
			return false, dbError(err)
		case r.stat == stBadLink:
			res[i].Err = ErrInvalidLink
		case r.stat == stInsufficent:
			res[i].Err = &InsufficientError{Balance: r.bal, Amount: r.it.pp.amount}
		default:
			res[i].Err = errors.New("ledger: posting neither applied nor found")
		}
	}
	return false, tx.Commit(ctx)
}
