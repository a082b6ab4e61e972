package ledger

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"

	"github.com/leadmetrics/db/privacy"
)

// DriftKind names one way a tenant's ledger and balance disagree.
type DriftKind string

// Drift kinds.
const (
	// DriftSum: balance <> sum of the entries' amounts.
	DriftSum DriftKind = "balance_vs_sum"
	// DriftNewest: balance <> balance_after of the newest entry.
	DriftNewest DriftKind = "balance_vs_newest_entry"
	// DriftChain: an entry's balance_after is not the previous one plus its
	// amount (an entry was edited).
	DriftChain DriftKind = "entry_chain"
	// DriftSequence: entries are not numbered 1..last_seq (one was deleted
	// or inserted around the ledger).
	DriftSequence DriftKind = "sequence"
	// DriftMissingBalance: entries exist but the balance row does not.
	DriftMissingBalance DriftKind = "missing_balance_row"
)

// Drift is one disagreement found for a tenant.
type Drift struct {
	TenantID string
	Kind     DriftKind
	Detail   string
}

// Report is what reconciliation found. It is never corrected silently:
// every drift is listed.
type Report struct {
	Tenants int // tenants checked (with a balance row or entries)
	Drifts  []Drift
}

// OK is true when no drift was found.
func (r *Report) OK() bool { return len(r.Drifts) == 0 }

// String is the report's one-line verdict, then one line per drift.
func (r *Report) String() string {
	if r.OK() {
		return fmt.Sprintf("reconciled: %d tenant(s), no drift", r.Tenants)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "DRIFT: %d finding(s) over %d tenant(s)", len(r.Drifts), r.Tenants)
	for _, d := range r.Drifts {
		fmt.Fprintf(&b, "\n  %s %s: %s", d.TenantID, d.Kind, d.Detail)
	}
	return b.String()
}

// Reconcile checks the ledger of the tenant in ctx: one index range scan
// of its entries in seq order, whatever the other tenants hold.
func (l *Ledger) Reconcile(ctx context.Context) (*Report, error) {
	tenant, err := tenantOf(ctx)
	if err != nil {
		return nil, err
	}
	return reconcile(ctx, l.db, reconcileOneSQL, tenant)
}

// ReconcileAll checks every tenant's ledger; only the system viewer may.
// It reads all entries once, in (tenant_id, seq) index order, in one
// statement (one snapshot): the window and the per-tenant totals need no
// sort, so nothing spills whatever the table's size, and it takes no lock
// a posting waits for. On Citus the statement runs on every shard (the
// window and the grouping are by the distribution column), each in index
// order too.
func (l *Ledger) ReconcileAll(ctx context.Context) (*Report, error) {
	if err := privacy.RequireSystem(ctx); err != nil {
		return nil, fmt.Errorf("ledger: reconcile all tenants: %w", err)
	}
	tx, err := l.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	for _, set := range ReconcileAllSettings {
		if _, err := tx.ExecContext(ctx, set); err != nil {
			return nil, err
		}
	}
	r, err := reconcile(ctx, tx, reconcileAllSQL)
	if err != nil {
		return nil, err
	}
	return r, tx.Commit()
}

// ReconcileAllSettings are set in ReconcileAll's transaction before its
// statement. PostgreSQL has no plan hints: on a large ledger whose rows
// interleave tenants (as they are written) its costs favour a sequential
// scan and a sort of every entry, which spills to disk (hundreds of MB at
// 5M entries). Without sequential and bitmap scans, the (tenant_id, seq)
// index is the cheapest way in and gives the order for free. The first
// setting makes a Citus coordinator pass the others on to the workers
// (elsewhere it is an unused placeholder).
var ReconcileAllSettings = []string{`SET LOCAL citus.propagate_set_commands = 'local'`,
	`SET LOCAL enable_seqscan = off`, `SET LOCAL enable_bitmapscan = off`}

// The reconcile statements compare, per tenant, the balance row with the
// entries. One tenant and all tenants are separate statements, so that
// neither plan depends on a parameter that switches its shape.
var (
	reconcileOneSQL = buildReconcileSQL(`ids(id) AS (SELECT $1::varchar)`)
	// Every tenant with a balance row or an entry: one pass over the
	// entries in (tenant_id, seq) order, the window partitioned and the
	// totals grouped by tenant in that order (no sort), then a full join
	// with the balance rows (a hash of one row per tenant).
	reconcileAllSQL = `SELECT coalesce(b.tenant_id, e.tenant_id), b.balance IS NOT NULL, coalesce(b.balance, 0), coalesce(b.last_seq, 0),
	coalesce(e.total, 0)::text, coalesce(e.n, 0), coalesce(e.max_seq, 0), e.newest,
	coalesce(e.bad_links, 0), e.first_bad_link, coalesce(e.bad_seqs, 0)
FROM credit_balances b FULL JOIN (
	SELECT tenant_id, ` + entryTotals + `
	FROM (
		SELECT tenant_id, ` + entryChecks + `
		FROM credit_ledger_entries
		WINDOW t AS (PARTITION BY tenant_id ORDER BY seq)
	) w
	GROUP BY tenant_id
) e ON e.tenant_id = b.tenant_id
ORDER BY 1`
)

// entryChecks are the per-entry checks of a tenant's ledger, over the
// window t of its entries in seq order; entryTotals sum them per tenant.
const (
	entryChecks = `seq, amount, balance_after,
			balance_after <> coalesce(lag(balance_after) OVER t, 0)::numeric + amount AS bad_link,
			seq <> coalesce(lag(seq) OVER t, 0) + 1 AS bad_seq,
			lead(seq) OVER t IS NULL AS is_last`
	entryTotals = `sum(amount) AS total, count(*) AS n, max(seq) AS max_seq,
		max(balance_after) FILTER (WHERE is_last) AS newest,
		count(*) FILTER (WHERE bad_link) AS bad_links, min(seq) FILTER (WHERE bad_link) AS first_bad_link,
		count(*) FILTER (WHERE bad_seq) AS bad_seqs`
)

// buildReconcileSQL returns the check of the tenants ids lists, each
// tenant's entries read in (tenant_id, seq) index order: the window needs
// no sort. Sums are numeric so that tampered rows cannot overflow the
// check itself.
func buildReconcileSQL(ids string) string {
	return `WITH ` + ids + `
SELECT ids.id, b.balance IS NOT NULL, coalesce(b.balance, 0), coalesce(b.last_seq, 0),
	coalesce(e.total, 0)::text, e.n, coalesce(e.max_seq, 0), e.newest,
	e.bad_links, e.first_bad_link, e.bad_seqs
FROM ids LEFT JOIN credit_balances b ON b.tenant_id = ids.id
CROSS JOIN LATERAL (
	SELECT ` + entryTotals + `
	FROM (
		SELECT ` + entryChecks + `
		FROM credit_ledger_entries WHERE tenant_id = ids.id
		WINDOW t AS (ORDER BY seq)
	) w
) e
WHERE b.tenant_id IS NOT NULL OR e.n > 0
ORDER BY 1`
}

func reconcile(ctx context.Context, q querier, query string, args ...any) (*Report, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	r := &Report{}
	for rows.Next() {
		var (
			id                                    string
			hasRow                                bool
			balance, lastSeq, n, maxSeq, badLinks int64
			badSeqs                               int64
			total                                 string
			newest, firstBad                      sql.NullInt64
		)
		if err := rows.Scan(&id, &hasRow, &balance, &lastSeq, &total, &n, &maxSeq, &newest,
			&badLinks, &firstBad, &badSeqs); err != nil {
			return nil, err
		}
		r.Tenants++
		add := func(k DriftKind, format string, args ...any) {
			r.Drifts = append(r.Drifts, Drift{TenantID: id, Kind: k, Detail: fmt.Sprintf(format, args...)})
		}
		if !hasRow {
			add(DriftMissingBalance, "%d entries, sum %s, no balance row", n, total)
			continue
		}
		if total != strconv.FormatInt(balance, 10) {
			add(DriftSum, "balance %d, sum of %d entries %s", balance, n, total)
		}
		if want := newest.Int64; newest.Valid && want != balance || !newest.Valid && balance != 0 {
			add(DriftNewest, "balance %d, newest entry's balance_after %d", balance, want)
		}
		if badLinks > 0 {
			add(DriftChain, "%d entries whose balance_after is not the previous plus amount, first at seq %d",
				badLinks, firstBad.Int64)
		}
		if badSeqs > 0 || maxSeq != n || lastSeq != maxSeq {
			add(DriftSequence, "last_seq %d, %d entries, highest seq %d", lastSeq, n, maxSeq)
		}
	}
	return r, rows.Err()
}

// ReconcileSQL returns the statement Reconcile (all false, one parameter:
// the tenant) or ReconcileAll (after ReconcileAllSettings) sends, for
// EXPLAIN in scale benchmarks.
func ReconcileSQL(all bool) string {
	if all {
		return reconcileAllSQL
	}
	return reconcileOneSQL
}
