package ledger

import (
	"database/sql"
	"encoding/json"
	"strings"

	"github.com/leadmetrics/db/ent"
	"github.com/leadmetrics/db/ent/creditledgerentry"
)

// entryCols are the columns of an entry, in scanEntry's order.
const entryCols = `id, ref_id, tenant_id, created_at, updated_at, kind, amount, balance_after, seq,
	idempotency_key, description, actor, metadata, topup_order_id, llm_call_id, activity_id`

// The posting statement. Parameters: $1 tenant, $2 idempotency key (also
// the entry's ref_id), $3 entry id, $4 kind, $5 amount, $6 description,
// $7 actor, $8 metadata, $9 topup order, $10 LLM call, $11 activity; with
// an LLM call, $12.. are the call's columns (LLMCall.args).
//
// How it stays exact in one statement:
//
//   - bal locks the tenant's balance row (FOR UPDATE), so postings of one
//     tenant serialize; after waiting, it returns the newest balance.
//
//   - ins inserts when the links are the tenant's and a debit other than
//     usage does not overdraw; a key already used is skipped by ON CONFLICT
//     DO NOTHING (the unique index sees rows committed after the snapshot).
//
//   - upd updates the balance FROM ins: when ins inserted nothing, the
//     balance is not touched. This is the trap of data-modifying CTEs: a
//     sibling UPDATE that does not read ins would apply a skipped posting.
//
//   - prior, the entry of the key in this statement's snapshot, is read
//     only when nothing was inserted: it answers a replay in this round
//     trip. A duplicate that committed while this statement waited for the
//     lock is not in the snapshot: the statement then reports a refusal or
//     'raced', and Go reads the key again with a new snapshot.
//
//   - links and the overdraft rule are checked in ins's WHERE, not in a
//     separate CTE: measured, every extra CTE scan under the balance lock
//     costs throughput on a hot tenant.
//
//   - the tenant gate (tenantGate) is one more condition of ins (and of
//     call): an unknown, deleted or inactive tenant writes nothing and is
//     reported before a missing balance row, so that no balance row is
//     created for it either.
//
// Overflow of balance + amount raises 22003 and the statement writes
// nothing. Each statement comes in two versions, indexed by whether the
// system viewer posts (tenantGate).
var (
	postSQL     = map[bool]string{false: buildPostSQL(false, false), true: buildPostSQL(false, true)}
	postCallSQL = map[bool]string{false: buildPostSQL(true, false), true: buildPostSQL(true, true)}
)

// postFuncSQL is the posting on Citus: the function ledger_post (migration
// ledger_post_function), distributed by its tenant and co-located with the
// balances, so Citus delegates the whole call to the worker holding the
// tenant's shard (one remote round trip; the statement above runs there as
// several subplans through the coordinator). It returns the statement's row.
// Parameters: the statement's $1..$11, $12 whether the system posts, then
// the LLM call's columns (LLMCall.args) or NULLs.
const postFuncSQL = `SELECT * FROM ledger_post($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12,
	$13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24)`

// noCall are postFuncSQL's LLM call parameters of a posting without one.
var noCall = make([]any, 12)

const entryByKeySQL = `SELECT 'existing', ` + entryCols + `
	FROM credit_ledger_entries WHERE tenant_id = $1 AND ref_id = $2`

func buildPostSQL(withCall, system bool) string {
	gate := tenantGate("$1", system)
	links := `($9::varchar IS NULL OR EXISTS (SELECT 1 FROM topup_orders WHERE id = $9 AND tenant_id = $1))
		AND ($10::varchar IS NULL OR EXISTS (SELECT 1 FROM llm_call_logs WHERE id = $10 AND tenant_id = $1))
		AND ($11::varchar IS NULL OR EXISTS (SELECT 1 FROM activities WHERE id = $11 AND tenant_id = $1))`
	const mayOverdraw = `($5::bigint > 0 OR $4::varchar = 'usage')`
	llmCall, from := "$10", "bal"
	callCTE := ""
	if withCall {
		links += `
		AND ($22::varchar IS NULL OR EXISTS (SELECT 1 FROM activities WHERE id = $22 AND tenant_id = $1))
		AND ($23::varchar IS NULL OR EXISTS (SELECT 1 FROM agent_configs WHERE id = $23 AND tenant_id = $1))`
		llmCall, from = "call.id", "bal, call"
		// The call is inserted under the same conditions as the entry,
		// except overdraft: usage already incurred is always recorded. A
		// key already used (prior) writes no call: the statement is a
		// replay or a conflict, and must leave nothing behind.
		callCTE = `call AS (
	INSERT INTO llm_call_logs (id, ref_id, tenant_id, created_at, updated_at, provider, model,
		prompt_tokens, completion_tokens, cost, latency_ms, status, error, request_id, activity_id, agent_config_id)
	SELECT $12, $13, $1, now(), now(), $14, $15, $16, $17, -$5::bigint, $18, $19, $20, $21, $22, $23
	FROM bal WHERE NOT EXISTS (SELECT 1 FROM prior) AND ` + gate + ` AND ` + links + `
	ON CONFLICT (tenant_id, ref_id) DO NOTHING
	RETURNING id
), `
	}
	// The refusal row: the status, and the balance in balance_after's place.
	refusal := strings.Repeat("NULL, ", 7) + "bal.balance" + strings.Repeat(", NULL", 8)
	return `WITH bal AS MATERIALIZED (
	SELECT balance, last_seq FROM credit_balances WHERE tenant_id = $1 FOR UPDATE
), prior AS MATERIALIZED (
	SELECT ` + entryCols + ` FROM credit_ledger_entries WHERE tenant_id = $1 AND ref_id = $2
), ` + callCTE + `ins AS (
	INSERT INTO credit_ledger_entries (id, ref_id, tenant_id, created_at, updated_at, kind, amount, balance_after, seq,
		idempotency_key, description, actor, metadata, topup_order_id, llm_call_id, activity_id)
	SELECT $3, $2, $1, now(), now(), $4, $5, bal.balance + $5, bal.last_seq + 1, $2, $6, $7, $8::jsonb, $9, ` + llmCall + `, $11
	FROM ` + from + `
	WHERE ` + gate + ` AND ` + links + ` AND (` + mayOverdraw + ` OR bal.balance + $5 >= 0)
	ON CONFLICT (tenant_id, ref_id) DO NOTHING
	RETURNING ` + entryCols + `
), upd AS (
	UPDATE credit_balances b SET balance = ins.balance_after, last_seq = ins.seq, updated_at = now()
	FROM ins WHERE b.tenant_id = $1
)
SELECT '` + stInserted + `', ` + entryCols + ` FROM ins
UNION ALL
SELECT '` + stExisting + `', ` + entryCols + ` FROM prior WHERE NOT EXISTS (SELECT 1 FROM ins)
UNION ALL
SELECT CASE WHEN NOT ` + gate + ` THEN '` + stInactive + `'
		WHEN bal.balance IS NULL THEN '` + stNoBalance + `'
		WHEN NOT (` + links + `) THEN '` + stBadLink + `'
		WHEN NOT (` + mayOverdraw + ` OR bal.balance + $5 >= 0) THEN '` + stInsufficent + `'
		ELSE '` + stRaced + `' END,
	` + refusal + `
FROM (SELECT) one LEFT JOIN bal ON true
WHERE NOT EXISTS (SELECT 1 FROM ins) AND NOT EXISTS (SELECT 1 FROM prior)`
}

// scanEntry reads one row of the posting statement: the status, the entry
// when there is one, and the balance reported with a refusal.
func scanEntry(row interface{ Scan(...any) error }) (status string, e *ent.CreditLedgerEntry, balance int64, err error) {
	var (
		id, ref, tenant, kind, key, desc, actor, order, call, activity sql.NullString
		created, updated                                               sql.NullTime
		amount, after, seq                                             sql.NullInt64
		meta                                                           []byte
	)
	if err = row.Scan(&status, &id, &ref, &tenant, &created, &updated, &kind, &amount, &after, &seq,
		&key, &desc, &actor, &meta, &order, &call, &activity); err != nil {
		return "", nil, 0, err
	}
	if !id.Valid {
		return status, nil, after.Int64, nil
	}
	e = &ent.CreditLedgerEntry{
		ID: id.String, RefID: ref.String, TenantID: tenant.String,
		CreatedAt: created.Time, UpdatedAt: updated.Time,
		Kind: creditledgerentry.Kind(kind.String), Amount: amount.Int64, BalanceAfter: after.Int64, Seq: seq.Int64,
		IdempotencyKey: key.String, Description: desc.String, Actor: actor.String,
		TopupOrderID: ptr(order), LlmCallID: ptr(call), ActivityID: ptr(activity),
	}
	if len(meta) > 0 {
		if err := json.Unmarshal(meta, &e.Metadata); err != nil {
			return "", nil, 0, err
		}
	}
	return status, e, after.Int64, nil
}

func ptr(s sql.NullString) *string {
	if !s.Valid {
		return nil
	}
	return &s.String
}
