package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

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
// It needs the pgx driver (db.OpenDB): the postings go out as one pipeline.
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
	preps := make([]*prepared, len(ps))
	var order []int // postings that passed Go's checks, by tenant (lock order), stable
	tenants := map[string]bool{}
	system := false
	for i := range ps {
		pp, err := prepare(ctx, &ps[i])
		if err != nil {
			res[i].Err = err
			continue
		}
		preps[i], system = pp, pp.system
		tenants[pp.tenant] = true
		order = append(order, i)
	}
	if len(order) == 0 {
		return res, nil
	}
	// A fixed lock order (by tenant) keeps concurrent batches from
	// deadlocking on each other's balance rows.
	sort.SliceStable(order, func(a, b int) bool { return preps[order[a]].tenant < preps[order[b]].tenant })
	ids := make([]string, 0, len(tenants))
	for t := range tenants {
		ids = append(ids, t)
	}
	conn, err := l.db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	aborted := false
	err = conn.Raw(func(dc any) error {
		sc, ok := dc.(*stdlib.Conn)
		if !ok {
			return errors.New("ledger: batched postings need the pgx driver (db.OpenDB)")
		}
		var err error
		aborted, err = l.runBatch(ctx, sc.Conn(), ps, preps, order, ids, system, res)
		return err
	})
	if err != nil {
		return nil, err
	}
	if aborted {
		for _, i := range order {
			e, err := l.post(ctx, l.db, ps[i], nil)
			res[i] = BatchResult{Entry: e, Err: err}
		}
		return res, nil
	}
	for _, i := range order {
		observe(ctx, ps[i].Kind, res[i].Entry, res[i].Err)
	}
	return res, nil
}

// runBatch sends the batch's statements in one pipeline inside one
// transaction and fills res. aborted is true when a posting's database
// error rolled the transaction back (res is then meaningless).
func (l *Ledger) runBatch(ctx context.Context, c *pgx.Conn, ps []Posting, preps []*prepared, order []int,
	tenants []string, system bool, res []BatchResult) (aborted bool, err error) {
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
	for _, i := range order {
		b.Queue(postSQL[system], preps[i].args...)
	}
	br := tx.SendBatch(ctx, b)
	if _, err := br.Exec(); err != nil {
		br.Close()
		return false, dbError(err)
	}
	type recheck struct {
		i    int
		stat string
		bal  int64
	}
	var again []recheck
	for _, i := range order {
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
			res[i].Entry, res[i].Err = replay(e, ps[i])
		case stInactive, stNoBalance:
			res[i].Err = inactive(preps[i].tenant)
		case stBadLink, stInsufficent, stRaced:
			again = append(again, recheck{i, stat, bal})
		default:
			res[i].Err = fmt.Errorf("ledger: unexpected posting status %q", stat)
		}
	}
	if err := br.Close(); err != nil {
		return false, dbError(err)
	}
	// As in Post: a refusal may hide a duplicate that committed while the
	// statement waited for the lock; read the key with a new snapshot.
	for _, r := range again {
		status, e, _, err := scanEntry(tx.QueryRow(ctx, entryByKeySQL, preps[r.i].tenant, ps[r.i].IdempotencyKey))
		switch {
		case err == nil && status == stExisting:
			racedReads.Add(1)
			res[r.i].Entry, res[r.i].Err = replay(e, ps[r.i])
		case err != nil && !errors.Is(err, pgx.ErrNoRows) && !errors.Is(err, sql.ErrNoRows):
			return false, dbError(err)
		case r.stat == stBadLink:
			res[r.i].Err = ErrInvalidLink
		case r.stat == stInsufficent:
			res[r.i].Err = &InsufficientError{Balance: r.bal, Amount: ps[r.i].Amount}
		default:
			res[r.i].Err = errors.New("ledger: posting neither applied nor found")
		}
	}
	return false, tx.Commit(ctx)
}
