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

// Reconcile checks the ledger of the tenant in ctx.
func (l *Ledger) Reconcile(ctx context.Context) (*Report, error) {
	tenant, err := tenantOf(ctx)
	if err != nil {
		return nil, err
	}
	return reconcile(ctx, l.db, sql.NullString{String: tenant, Valid: true})
}

// ReconcileAll checks every tenant's ledger; only the system viewer may.
func (l *Ledger) ReconcileAll(ctx context.Context) (*Report, error) {
	if err := privacy.RequireSystem(ctx); err != nil {
		return nil, fmt.Errorf("ledger: reconcile all tenants: %w", err)
	}
	return reconcile(ctx, l.db, sql.NullString{})
}

// reconcileSQL compares, per tenant ($1, or all when NULL), the balance
// row with the entries. Sums are numeric so that tampered rows cannot
// overflow the check itself.
const reconcileSQL = `
WITH b AS (
	SELECT tenant_id, balance, last_seq FROM credit_balances WHERE $1::varchar IS NULL OR tenant_id = $1
), w AS (
	SELECT tenant_id, seq, amount, balance_after,
		balance_after <> coalesce(lag(balance_after) OVER t, 0)::numeric + amount AS bad_link,
		seq <> coalesce(lag(seq) OVER t, 0) + 1 AS bad_seq,
		row_number() OVER (PARTITION BY tenant_id ORDER BY seq DESC) AS from_newest
	FROM credit_ledger_entries WHERE $1::varchar IS NULL OR tenant_id = $1
	WINDOW t AS (PARTITION BY tenant_id ORDER BY seq)
), e AS (
	SELECT tenant_id, sum(amount) AS total, count(*) AS n, max(seq) AS max_seq,
		max(balance_after) FILTER (WHERE from_newest = 1) AS newest,
		count(*) FILTER (WHERE bad_link) AS bad_links, min(seq) FILTER (WHERE bad_link) AS first_bad_link,
		count(*) FILTER (WHERE bad_seq) AS bad_seqs
	FROM w GROUP BY tenant_id
)
SELECT coalesce(b.tenant_id, e.tenant_id), b.balance IS NOT NULL, coalesce(b.balance, 0), coalesce(b.last_seq, 0),
	coalesce(e.total, 0)::text, coalesce(e.n, 0), coalesce(e.max_seq, 0), e.newest,
	coalesce(e.bad_links, 0), e.first_bad_link, coalesce(e.bad_seqs, 0)
FROM b FULL JOIN e ON e.tenant_id = b.tenant_id
ORDER BY 1`

func reconcile(ctx context.Context, q querier, tenant sql.NullString) (*Report, error) {
	rows, err := q.QueryContext(ctx, reconcileSQL, tenant)
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
