package ledger

// Batches on Citus. Why: there the set-based statements (batchset.go) would
// be multi-shard, and a pipeline of posting statements costs several
// coordinator-worker round trips per posting. Here the batch's postings
// are grouped by the shard holding their tenant, and each group is one
// call of ledger_post_batch (migration ledger_post_function), which Citus
// delegates to the worker holding that shard: one remote round trip per
// shard, the group applied there set-based, one posting at a time only
// when a write fails.

import (
	"context"
	"database/sql"
	"fmt"
	"sort"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// shardOfSQL maps tenants to the shard of credit_balances holding their
// rows (every tenant-owned table is co-located with it); it runs on the
// coordinator alone.
const shardOfSQL = `SELECT t, get_shard_id_for_distribution_column('credit_balances', t)
	FROM unnest($1::varchar[]) AS t`

// postBatchFuncSQL calls ledger_post_batch: $1 a tenant of the group (the
// distribution argument), $2 whether the system posts, $3.. the postings'
// arrays, then the LLM calls' arrays (NULL without calls).
const postBatchFuncSQL = `SELECT * FROM ledger_post_batch($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13,
	$14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25)`

// applyShards applies items on Citus and fills res[item.at]. Each shard's
// group commits on its own (a delegated call is its worker's transaction):
// an error for the batch as a whole may leave earlier shards' postings
// committed, and a rerun replays them (idempotency keys).
func (l *Ledger) applyShards(ctx context.Context, items []setItem, res []BatchResult) error {
	groups, err := l.shardGroups(ctx, items)
	if err != nil {
		return err
	}
	for attempt := 0; len(groups) > 0; attempt++ {
		if attempt == 3 {
			return fmt.Errorf("ledger: balance rows still missing after creating them")
		}
		var again [][]int
		for _, g := range groups {
			m, err := l.applyGroup(ctx, items, g, res)
			if err != nil {
				return err
			}
			if len(m) == 0 {
				continue
			}
			// A tenant's first postings found no balance row (the gate let
			// them through, so none of them applied): create the rows, one
			// shard's in one statement, and apply those postings again, in
			// the same order.
			var missing []string
			for _, n := range m {
				missing = append(missing, items[n].pp.tenant)
			}
			sort.Strings(missing)
			if err := l.withPgx(ctx, func(c *pgx.Conn) error { return createBalances(ctx, c, compact(missing)) }); err != nil {
				return err
			}
			again = append(again, m)
		}
		groups = again
	}
	return nil
}

// shardGroups returns the items' indexes grouped by shard, the groups in
// shard order and, within one, by tenant (each shard's lock order), a
// tenant's postings in batch order.
func (l *Ledger) shardGroups(ctx context.Context, items []setItem) ([][]int, error) {
	var tenants []string
	seen := map[string]bool{}
	for _, it := range items {
		if !seen[it.pp.tenant] {
			seen[it.pp.tenant] = true
			tenants = append(tenants, it.pp.tenant)
		}
	}
	shard := make(map[string]int64, len(tenants))
	query := shardOfSQL
	if l.citus.Load() == citusPathOnly {
		query = `SELECT t, 0 FROM unnest($1::varchar[]) AS t` // one group
	}
	rows, err := l.db.QueryContext(ctx, query, tenants)
	if err != nil {
		return nil, dbError(err)
	}
	defer rows.Close()
	for rows.Next() {
		var t string
		var s int64
		if err := rows.Scan(&t, &s); err != nil {
			return nil, err
		}
		shard[t] = s
	}
	if err := rows.Err(); err != nil {
		return nil, dbError(err)
	}
	order := make([]int, len(items))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool {
		ta, tb := items[order[a]].pp.tenant, items[order[b]].pp.tenant
		if shard[ta] != shard[tb] {
			return shard[ta] < shard[tb]
		}
		return ta < tb
	})
	var groups [][]int
	for i, n := range order {
		if i == 0 || shard[items[n].pp.tenant] != shard[items[order[i-1]].pp.tenant] {
			groups = append(groups, nil)
		}
		groups[len(groups)-1] = append(groups[len(groups)-1], n)
	}
	return groups, nil
}

// applyGroup runs one shard's postings (indexes in items) and fills res.
// missing are the postings that found no balance row.
func (l *Ledger) applyGroup(ctx context.Context, items []setItem, group []int, res []BatchResult) (missing []int, err error) {
	n := len(group)
	var (
		ts, keys, ids, kinds              = make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		amounts                           = make([]int64, n)
		descs, actors, metas, ords, links = make([]*string, n), make([]*string, n), make([]*string, n), make([]*string, n), make([]*string, n)
		acts                              = make([]*string, n)
		calls                             []*LLMCall
	)
	system := items[group[0]].pp.system
	for j, i := range group {
		pp := items[i].pp
		ts[j], keys[j], ids[j], kinds[j], amounts[j] = pp.tenant, pp.key, pp.id, pp.kind, pp.amount
		descs[j], actors[j], metas[j], ords[j], links[j], acts[j] = ptr(pp.desc), ptr(pp.actor), ptr(pp.meta), ptr(pp.order), ptr(pp.llmCall), ptr(pp.activity)
		if items[i].call != nil {
			calls = append(calls, items[i].call)
		}
	}
	args := []any{ts[0], system, ts, keys, ids, kinds, amounts, descs, actors, metas, ords, links, acts}
	if len(calls) > 0 {
		// Every posting of a Batcher's batch carries its call.
		if len(calls) != n {
			return nil, fmt.Errorf("ledger: a batch mixes postings with and without LLM calls")
		}
		// callArrays' columns but the tenants (ts) and the cost (-amount).
		ca := callArrays(calls, ts)
		args = append(args, ca[0], ca[1], ca[3], ca[4], ca[5], ca[6], ca[8], ca[9], ca[10], ca[11], ca[12], ca[13])
	} else {
		args = append(args, make([]any, 12)...)
	}
	rows, err := l.db.QueryContext(ctx, postBatchFuncSQL, args...)
	if err != nil {
		return nil, dbError(err)
	}
	defer rows.Close()
	got := 0
	for rows.Next() {
		var ord int
		var code, table, constraint, message sql.NullString
		var scanned row = rowFunc(func(dest ...any) error {
			return rows.Scan(append(append([]any{&ord}, dest...), &code, &table, &constraint, &message)...)
		})
		stat, e, bal, err := scanEntry(scanned)
		if err != nil {
			return nil, dbError(err)
		}
		if ord < 0 || ord >= n {
			return nil, fmt.Errorf("ledger: ledger_post_batch returned posting %d of %d", ord, n)
		}
		got++
		it := items[group[ord]]
		r := &res[it.at]
		*r = BatchResult{}
		switch stat {
		case stInserted:
			r.Entry = &Entry{CreditLedgerEntry: e}
		case stExisting:
			r.Entry, r.Err = replay(e, *it.p)
		case stInactive:
			r.Err = inactive(it.pp.tenant)
		case stNoBalance:
			missing = append(missing, group[ord])
		case stBadLink:
			r.Err = ErrInvalidLink
		case stInsufficent:
			r.Err = &InsufficientError{Balance: bal, Amount: it.pp.amount}
		case stRaced:
			if it.call != nil {
				r.Err = invalid(ErrIdempotencyConflict, "LLM call %q already recorded without this debit", it.call.RefID)
			} else {
				r.Err = fmt.Errorf("ledger: posting %q neither applied nor found", it.pp.key)
			}
		case stError:
			// Its write raised this error and was rolled back alone: the
			// typed error Post returns for it.
			batchFallbacks.Add(1)
			r.Err = dbError(&pgconn.PgError{Severity: "ERROR", Code: code.String, TableName: table.String,
				ConstraintName: constraint.String, Message: message.String})
		default:
			r.Err = fmt.Errorf("ledger: unexpected posting status %q", stat)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, dbError(err)
	}
	if got != n {
		return nil, fmt.Errorf("ledger: ledger_post_batch answered %d of %d postings", got, n)
	}
	// Reapplied in batch order whatever the order of the answer's rows.
	sort.Ints(missing)
	return missing, nil
}

// rowFunc adapts a scan function to row.
type rowFunc func(dest ...any) error

func (f rowFunc) Scan(dest ...any) error { return f(dest...) }
