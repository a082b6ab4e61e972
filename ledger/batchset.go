package ledger

// Set-based batches. Why: a pipeline of one posting statement per posting
// still costs the server one statement (plan, lock, CTEs) per posting. Here
// a batch costs a fixed number of statements whatever its size: one round
// trip locks the batch's balance rows (tenant order) and reads, with fresh
// snapshots taken after the locks, everything a posting's fate depends on
// (the tenants' state, the keys already used, the links, the LLM calls
// already recorded); Go then decides each posting exactly as Post would,
// one after the other in batch order (a refused posting never counts toward
// the next ones); one statement of arrays inserts the entries (and the
// Batcher's LLM calls) and updates each balance once; one commit.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/leadmetrics/db/cuid"
	"github.com/leadmetrics/db/ent"
	"github.com/leadmetrics/db/ent/creditledgerentry"
	"github.com/leadmetrics/db/retry"
)

// setItem is one posting of a set-based batch: prepared (validated and
// authorized with its caller's viewer), the result slot it fills, and the
// LLM call written with it (Batcher) or nil (PostBatch).
type setItem struct {
	pp   *prepared
	p    *Posting
	call *LLMCall
	at   int
}

// tenantState is what the batch read of one tenant, then its running
// balance while Go decides.
type tenantState struct {
	live, active, hasRow bool
	balance, seq         int64
}

type tenantKey struct{ tenant, key string }

// link is a row a posting links to: table is 'a' (activities), 'o'
// (topup_orders), 'l' (llm_call_logs) or 'g' (agent_configs).
type link struct {
	table      byte
	tenant, id string
}

// The reads, pipelined in one round trip after BEGIN. The lock comes
// first: in READ COMMITTED each later statement takes its snapshot after
// the locks are held, so a duplicate that committed while the batch waited
// is seen (Post needs a second read for that; here it is free).
const (
	setLockSQL = `SELECT tenant_id, balance, last_seq FROM credit_balances
	WHERE tenant_id = ANY($1::varchar[]) ORDER BY tenant_id FOR UPDATE`
	setTenantsSQL = `SELECT id, deleted_at IS NULL, deleted_at IS NULL AND status = 'active', now() FROM tenants
	WHERE id = ANY($1::varchar[]) AND tenant_id = id`
	setEntriesSQL = `SELECT 'existing', e.* FROM unnest($1::varchar[], $2::varchar[]) AS u(t, k)
	CROSS JOIN LATERAL (SELECT ` + entryCols + ` FROM credit_ledger_entries WHERE tenant_id = u.t AND ref_id = u.k) e`
	setLinksSQL = `SELECT 'a', l.tenant_id, l.id FROM unnest($1::varchar[], $2::varchar[]) AS u(t, i) JOIN activities l ON l.tenant_id = u.t AND l.id = u.i
	UNION ALL SELECT 'o', l.tenant_id, l.id FROM unnest($3::varchar[], $4::varchar[]) AS u(t, i) JOIN topup_orders l ON l.tenant_id = u.t AND l.id = u.i
	UNION ALL SELECT 'l', l.tenant_id, l.id FROM unnest($5::varchar[], $6::varchar[]) AS u(t, i) JOIN llm_call_logs l ON l.tenant_id = u.t AND l.id = u.i
	UNION ALL SELECT 'g', l.tenant_id, l.id FROM unnest($7::varchar[], $8::varchar[]) AS u(t, i) JOIN agent_configs l ON l.tenant_id = u.t AND l.id = u.i`
	setCallRefsSQL = `SELECT l.tenant_id, l.ref_id FROM unnest($1::varchar[], $2::varchar[]) AS u(t, r)
	JOIN llm_call_logs l ON l.tenant_id = u.t AND l.ref_id = u.r`
)

// The write: entries, balances (once per tenant) and, for the Batcher, the
// LLM calls, from arrays, in one statement. Every row was decided under
// the balance locks; a database error here (a caller-chosen id already
// used) aborts the batch, which then falls back to one posting at a time.
const (
	setEntriesCTE = `WITH e AS (
	INSERT INTO credit_ledger_entries (id, ref_id, tenant_id, created_at, updated_at, kind, amount, balance_after, seq,
		idempotency_key, description, actor, metadata, topup_order_id, llm_call_id, activity_id)
	SELECT u.id, u.k, u.t, now(), now(), u.kind, u.amount, u.after, u.seq, u.k, u.descr, u.actor, u.meta::jsonb, u.ord, u.call, u.act
	FROM unnest($1::varchar[], $2::varchar[], $3::varchar[], $4::varchar[], $5::bigint[], $6::bigint[], $7::bigint[],
		$8::varchar[], $9::varchar[], $10::text[], $11::varchar[], $12::varchar[], $13::varchar[])
		AS u(id, k, t, kind, amount, after, seq, descr, actor, meta, ord, call, act)
), b AS (
	UPDATE credit_balances b SET balance = u.balance, last_seq = u.seq, updated_at = now()
	FROM unnest($14::varchar[], $15::bigint[], $16::bigint[]) AS u(t, balance, seq) WHERE b.tenant_id = u.t
)`
	setWriteSQL     = setEntriesCTE + ` SELECT 1`
	setWriteCallSQL = setEntriesCTE + `, c AS (
	INSERT INTO llm_call_logs (id, ref_id, tenant_id, created_at, updated_at, provider, model,
		prompt_tokens, completion_tokens, cost, latency_ms, status, error, request_id, activity_id, agent_config_id)
	SELECT u.id, u.r, u.t, now(), now(), u.provider, u.model, u.pt, u.ct, u.cost, u.lat, u.status, u.err, u.req, u.act, u.cfg
	FROM unnest($17::varchar[], $18::varchar[], $19::varchar[], $20::varchar[], $21::varchar[], $22::bigint[], $23::bigint[],
		$24::bigint[], $25::bigint[], $26::varchar[], $27::text[], $28::varchar[], $29::varchar[], $30::varchar[])
		AS u(id, r, t, provider, model, pt, ct, cost, lat, status, err, req, act, cfg)
) SELECT 1`
)

// applySet runs items as one transaction on one connection of l.db and
// fills res[item.at] for each. aborted is true when the write hit a
// database error that rolled the transaction back: nothing was written
// and res is meaningless. err is for the batch as a whole (retry.Do reruns
// it after a failover; postings committed by a lost attempt replay).
func (l *Ledger) applySet(ctx context.Context, items []setItem, res []BatchResult) (aborted bool, err error) {
	err = l.withPgx(ctx, func(c *pgx.Conn) error {
		// A tenant's first posting finds no balance row: create the rows
		// (committed on their own, as Post does) and start again.
		for range 3 {
			missing, ab, err := applySetOnce(ctx, c, items, res)
			if err != nil || len(missing) == 0 {
				aborted = ab
				return err
			}
			if err := createBalances(ctx, c, missing); err != nil {
				return err
			}
		}
		return errors.New("ledger: balance rows still missing after creating them")
	})
	return aborted, err
}

// withPgx runs fn on one pgx connection of l.db: batches pipeline their
// statements, which database/sql cannot.
func (l *Ledger) withPgx(ctx context.Context, fn func(*pgx.Conn) error) error {
	conn, err := l.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		sc, ok := dc.(*stdlib.Conn)
		if !ok {
			return errors.New("ledger: batched postings need the pgx driver (db.OpenDB)")
		}
		return fn(sc.Conn())
	})
}

// createBalances inserts empty balance rows for tenants the gate let
// through, in tenant order; a row that exists is left alone.
func createBalances(ctx context.Context, c *pgx.Conn, tenants []string) error {
	ids := make([]string, len(tenants))
	for i := range ids {
		ids[i] = cuid.New()
	}
	_, err := c.Exec(ctx, `INSERT INTO credit_balances (id, ref_id, tenant_id, created_at, updated_at, balance, last_seq)
		SELECT u.bid, 'credit-balance', u.tid, now(), now(), 0, 0 FROM unnest($1::varchar[], $2::varchar[]) AS u(tid, bid)
		ORDER BY u.tid ON CONFLICT DO NOTHING -- either unique index: the row exists`, tenants, ids)
	return dbError(err)
}

// setReads is what the read round trip returned.
type setReads struct {
	tenants  map[string]*tenantState
	known    map[tenantKey]*ent.CreditLedgerEntry
	links    map[link]bool
	callRefs map[tenantKey]bool
	now      time.Time
}

func applySetOnce(ctx context.Context, c *pgx.Conn, items []setItem, res []BatchResult) (missing []string, aborted bool, err error) {
	tx, err := c.Begin(ctx)
	if err != nil {
		return nil, false, err
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	r, err := readSet(ctx, tx, items)
	if err != nil {
		return nil, false, err
	}
	applied, missing := decide(items, r, res)
	if len(missing) > 0 || len(applied) == 0 {
		return missing, false, nil // nothing to write: the rollback releases the locks
	}
	// The write and its COMMIT go out together: one round trip fewer while
	// the balance rows are locked. A failed write makes the server skip the
	// COMMIT (the pipeline's transaction is aborted; the deferred rollback
	// ends it).
	stmt, args := writeArgs(items, applied, res, r.tenants)
	b := &pgx.Batch{}
	b.Queue(stmt, args...)
	b.Queue("COMMIT")
	br := tx.SendBatch(ctx, b)
	defer br.Close()
	if _, err := br.Exec(); err != nil {
		var pgErr *pgconn.PgError
		if retry.Classify(err) == retry.Permanent && errors.As(err, &pgErr) {
			return nil, true, nil
		}
		return nil, false, dbError(err)
	}
	if _, err := br.Exec(); err != nil {
		return nil, false, err
	}
	return nil, false, br.Close()
}

// readSet sends the lock and the reads in one pipeline and collects them.
func readSet(ctx context.Context, tx pgx.Tx, items []setItem) (*setReads, error) {
	r := &setReads{tenants: map[string]*tenantState{}, known: map[tenantKey]*ent.CreditLedgerEntry{},
		links: map[link]bool{}, callRefs: map[tenantKey]bool{}}
	var tenants, keyT, keyK, refT, refR []string
	var linkArgs [8][]string // tenant and id arrays of activities, orders, LLM calls, agent configs
	seen := map[any]bool{}
	add := func(k any) bool {
		if seen[k] {
			return false
		}
		seen[k] = true
		return true
	}
	addLink := func(slot int, table byte, tenant string, id string) {
		if id != "" && add(link{table, tenant, id}) {
			linkArgs[2*slot], linkArgs[2*slot+1] = append(linkArgs[2*slot], tenant), append(linkArgs[2*slot+1], id)
		}
	}
	for _, it := range items {
		t := it.pp.tenant
		if add(t) {
			tenants = append(tenants, t)
		}
		if add(tenantKey{t, it.pp.key}) {
			keyT, keyK = append(keyT, t), append(keyK, it.pp.key)
		}
		addLink(0, 'a', t, it.pp.activity.String)
		addLink(1, 'o', t, it.pp.order.String)
		addLink(2, 'l', t, it.pp.llmCall.String)
		if it.call != nil {
			addLink(0, 'a', t, it.call.ActivityID)
			addLink(3, 'g', t, it.call.AgentConfigID)
			if add([2]string{t, it.call.RefID}) {
				refT, refR = append(refT, t), append(refR, it.call.RefID)
			}
		}
	}
	sort.Strings(tenants)
	b := &pgx.Batch{}
	b.Queue(setLockSQL, tenants)
	b.Queue(setTenantsSQL, tenants)
	b.Queue(setEntriesSQL, keyT, keyK)
	withLinks := false
	for _, a := range linkArgs {
		withLinks = withLinks || len(a) > 0
	}
	if withLinks {
		args := make([]any, len(linkArgs))
		for i, a := range linkArgs {
			args[i] = a
		}
		b.Queue(setLinksSQL, args...)
	}
	if len(refT) > 0 {
		b.Queue(setCallRefsSQL, refT, refR)
	}
	br := tx.SendBatch(ctx, b)
	defer br.Close()
	state := func(t string) *tenantState {
		s := r.tenants[t]
		if s == nil {
			s = &tenantState{}
			r.tenants[t] = s
		}
		return s
	}
	if err := eachRow(br, func(rows pgx.Rows) error {
		var t string
		var bal, seq int64
		if err := rows.Scan(&t, &bal, &seq); err != nil {
			return err
		}
		s := state(t)
		s.hasRow, s.balance, s.seq = true, bal, seq
		return nil
	}); err != nil {
		return nil, err
	}
	if err := eachRow(br, func(rows pgx.Rows) error {
		var t string
		var live, active bool
		if err := rows.Scan(&t, &live, &active, &r.now); err != nil {
			return err
		}
		s := state(t)
		s.live, s.active = live, active
		return nil
	}); err != nil {
		return nil, err
	}
	if err := eachRow(br, func(rows pgx.Rows) error {
		_, e, _, err := scanEntry(rows)
		if err == nil {
			r.known[tenantKey{e.TenantID, e.RefID}] = e
		}
		return err
	}); err != nil {
		return nil, err
	}
	if withLinks {
		if err := eachRow(br, func(rows pgx.Rows) error {
			var table, t, id string
			err := rows.Scan(&table, &t, &id)
			r.links[link{table[0], t, id}] = true
			return err
		}); err != nil {
			return nil, err
		}
	}
	if len(refT) > 0 {
		if err := eachRow(br, func(rows pgx.Rows) error {
			var k tenantKey
			err := rows.Scan(&k.tenant, &k.key)
			r.callRefs[k] = true
			return err
		}); err != nil {
			return nil, err
		}
	}
	return r, dbError(br.Close())
}

// eachRow reads the next result of the pipeline.
func eachRow(br pgx.BatchResults, fn func(pgx.Rows) error) error {
	rows, err := br.Query()
	if err != nil {
		return dbError(err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return dbError(rows.Err())
}

// decide applies the batch in Go, posting after posting in batch order,
// with Post's rules in Post's order: a key already applied (before or
// earlier in the batch) replays; then the tenant gate; then the links;
// then, with an LLM call, a call already recorded under another debit;
// then overflow and the overdraft rule against the tenant's running
// balance. It returns the applied items' indexes, or the tenants whose
// balance row must be created first.
func decide(items []setItem, r *setReads, res []BatchResult) (applied []int, missing []string) {
	for n, it := range items {
		pp := it.pp
		res[it.at] = BatchResult{}
		k := tenantKey{pp.tenant, pp.key}
		if e := r.known[k]; e != nil {
			cp := *e
			res[it.at].Entry, res[it.at].Err = replay(&cp, *it.p)
			continue
		}
		t := r.tenants[pp.tenant]
		switch {
		case t == nil || !t.live || (!pp.system && !t.active):
			res[it.at].Err = inactive(pp.tenant)
			continue
		case !t.hasRow:
			if len(missing) == 0 || missing[len(missing)-1] != pp.tenant {
				missing = append(missing, pp.tenant)
			}
			continue
		case !linked(it, r.links):
			res[it.at].Err = ErrInvalidLink
			continue
		case it.call != nil && r.callRefs[tenantKey{pp.tenant, it.call.RefID}]:
			res[it.at].Err = invalid(ErrIdempotencyConflict, "LLM call %q already recorded without this debit", it.call.RefID)
			continue
		}
		after := t.balance + pp.amount
		switch {
		case (pp.amount > 0 && after < t.balance) || (pp.amount < 0 && after > t.balance):
			res[it.at].Err = fmt.Errorf("%w: balance would overflow int64", ErrInvalidAmount)
			continue
		case pp.amount < 0 && pp.kind != string(creditledgerentry.KindUsage) && after < 0:
			res[it.at].Err = &InsufficientError{Balance: t.balance, Amount: pp.amount}
			continue
		}
		t.balance, t.seq = after, t.seq+1
		e, err := it.entry(r.now, after, t.seq)
		if err != nil {
			res[it.at].Err = err
			continue
		}
		r.known[k] = e
		if it.call != nil {
			r.callRefs[tenantKey{pp.tenant, it.call.RefID}] = true
		}
		res[it.at].Entry = &Entry{CreditLedgerEntry: e}
		applied = append(applied, n)
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		missing = compact(missing)
	}
	return applied, missing
}

func compact(s []string) []string {
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

// linked reports whether every row the item links to is its tenant's.
func linked(it setItem, links map[link]bool) bool {
	pp, t := it.pp, it.pp.tenant
	ok := func(table byte, id string) bool { return id == "" || links[link{table, t, id}] }
	if !ok('a', pp.activity.String) || !ok('o', pp.order.String) || !ok('l', pp.llmCall.String) {
		return false
	}
	return it.call == nil || (ok('a', it.call.ActivityID) && ok('g', it.call.AgentConfigID))
}

// entry is the row the write will insert for it, as Post would return it.
func (it setItem) entry(now time.Time, after, seq int64) (*ent.CreditLedgerEntry, error) {
	pp := it.pp
	e := &ent.CreditLedgerEntry{
		ID: pp.id, RefID: pp.key, TenantID: pp.tenant, CreatedAt: now, UpdatedAt: now,
		Kind: creditledgerentry.Kind(pp.kind), Amount: pp.amount, BalanceAfter: after, Seq: seq,
		IdempotencyKey: pp.key, Description: pp.desc.String, Actor: pp.actor.String,
		TopupOrderID: ptr(pp.order), LlmCallID: ptr(pp.llmCall), ActivityID: ptr(pp.activity),
	}
	if it.call != nil {
		id := it.call.ID
		e.LlmCallID = &id
	}
	if pp.meta.Valid {
		if err := json.Unmarshal([]byte(pp.meta.String), &e.Metadata); err != nil {
			return nil, invalid(ErrInvalidInput, "metadata: %v", err)
		}
	}
	return e, nil
}

// writeArgs builds the write statement's arrays from the applied items and
// the tenants' final balances.
func writeArgs(items []setItem, applied []int, res []BatchResult, tenants map[string]*tenantState) (string, []any) {
	n := len(applied)
	var (
		ids, keys, ts, kinds       = make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		amounts, afters, seqs      = make([]int64, n), make([]int64, n), make([]int64, n)
		descs, actors, metas, ords = make([]*string, n), make([]*string, n), make([]*string, n), make([]*string, n)
		callLinks, acts            = make([]*string, n), make([]*string, n)
		balT                       []string
		balB, balS                 []int64
		calls                      []*LLMCall
		callTenants                []string
	)
	done := map[string]bool{}
	for j, n := range applied {
		it := items[n]
		pp := it.pp
		ids[j], keys[j], ts[j], kinds[j], amounts[j] = pp.id, pp.key, pp.tenant, pp.kind, pp.amount
		afters[j], seqs[j] = res[it.at].Entry.BalanceAfter, res[it.at].Entry.Seq
		descs[j], actors[j], metas[j], ords[j], callLinks[j], acts[j] = ptr(pp.desc), ptr(pp.actor), ptr(pp.meta), ptr(pp.order), ptr(pp.llmCall), ptr(pp.activity)
		if it.call != nil {
			id := it.call.ID
			callLinks[j] = &id
			calls, callTenants = append(calls, it.call), append(callTenants, pp.tenant)
		}
		if !done[pp.tenant] {
			done[pp.tenant] = true
			t := tenants[pp.tenant]
			balT, balB, balS = append(balT, pp.tenant), append(balB, t.balance), append(balS, t.seq)
		}
	}
	args := []any{ids, keys, ts, kinds, amounts, afters, seqs, descs, actors, metas, ords, callLinks, acts, balT, balB, balS}
	if len(calls) == 0 {
		return setWriteSQL, args
	}
	return setWriteCallSQL, append(args, callArrays(calls, callTenants)...)
}

// callArrays are the LLM call columns of the write ($17..$30).
func callArrays(calls []*LLMCall, tenants []string) []any {
	n := len(calls)
	ids, refs, providers, models, statuses := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	pt, ct, cost, lat := make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n)
	errs, reqs, acts, cfgs := make([]*string, n), make([]*string, n), make([]*string, n), make([]*string, n)
	for i, c := range calls {
		ids[i], refs[i], providers[i], models[i], statuses[i] = c.ID, c.RefID, c.Provider, c.Model, string(c.Status)
		pt[i], ct[i], cost[i], lat[i] = int64(c.PromptTokens), int64(c.CompletionTokens), c.Cost, int64(c.LatencyMs)
		errs[i], reqs[i], acts[i], cfgs[i] = ptr(nullable(c.Error)), ptr(nullable(c.RequestID)), ptr(nullable(c.ActivityID)), ptr(nullable(c.AgentConfigID))
	}
	return []any{ids, refs, tenants, providers, models, pt, ct, cost, lat, statuses, errs, reqs, acts, cfgs}
}
