package scaleload

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"time"
)

// Size is a loaded table's row count and bytes per row.
type Size struct {
	Table                string
	Rows, Heap, Index, N int64 // heap and index bytes per row; N indexes
}

// Sizes measures every loaded table and credit_balances.
func Sizes(ctx context.Context, sqlDB *sql.DB) ([]Size, error) {
	var out []Size
	for _, t := range append(Tables, "credit_balances") {
		var rows, heap, idx, n int64
		if err := sqlDB.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM `+t+`), pg_relation_size($1), pg_indexes_size($1),
			(SELECT count(*) FROM pg_index WHERE indrelid = $1::regclass)`, t).Scan(&rows, &heap, &idx, &n); err != nil {
			return nil, err
		}
		out = append(out, Size{t, rows, heap / max(rows, 1), idx / max(rows, 1), n})
	}
	return out, nil
}

// Report is one variant's column of the scale table.
type Report struct {
	Loaded    *Result // nil when the database was loaded by an earlier run
	Sizes     []Size
	Stats     []Stat
	Inserts   []Insert
	Reconcile *ReconcileLoad
	Retention *Purged
}

// Compare prints the scale table, before and after side by side, in
// Markdown.
func Compare(w io.Writer, title string, before, after *Report) {
	fmt.Fprintf(w, "## %s\n\n", title)
	if before.Loaded != nil && after.Loaded != nil {
		rate := func(r *Result) string {
			var n int64
			for _, t := range Tables {
				n += r.Rows[t]
			}
			return fmt.Sprintf("%d rows in %s (%.0f rows/s)", n, r.Duration.Round(time.Second), float64(n)/r.Duration.Seconds())
		}
		fmt.Fprintf(w, "Loaded: before %s; after %s.\n\n", rate(before.Loaded), rate(after.Loaded))
	}

	fmt.Fprintln(w, "| statement, 7th execution on one connection (before: a prepared statement; after: as the layer sends it) | before: buffers / exec ms / plan ms | after: buffers / exec ms / plan ms | before: plan | after: plan |")
	fmt.Fprintln(w, "|---|---|---|---|---|")
	stat := func(s Stat) string { return fmt.Sprintf("%d / %.2f / %.3f", s.Buffers, s.ExecMs, s.PlanMs) }
	plan := func(s Stat) string {
		p := s.Shape
		if s.Plans != "" {
			p += " (" + s.Plans + ")"
		}
		if s.Temp > 0 {
			p += fmt.Sprintf(", **%d temp blocks**", s.Temp)
		}
		return p
	}
	for i := range min(len(before.Stats), len(after.Stats)) {
		b, a := before.Stats[i], after.Stats[i]
		name := a.Name
		if b.Name != a.Name {
			name = b.Name + " / " + a.Name
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s |\n", name, stat(b), stat(a), plan(b), plan(a))
	}

	fmt.Fprintln(w, "\n| table | before: rows / heap B/row / index B/row / indexes | after: rows / heap B/row / index B/row / indexes |")
	fmt.Fprintln(w, "|---|---|---|")
	size := func(s Size) string { return fmt.Sprintf("%d / %d / %d / %d", s.Rows, s.Heap, s.Index, s.N) }
	for i := range min(len(before.Sizes), len(after.Sizes)) {
		fmt.Fprintf(w, "| %s | %s | %s |\n", after.Sizes[i].Table, size(before.Sizes[i]), size(after.Sizes[i]))
	}
	for i := range min(len(before.Inserts), len(after.Inserts)) {
		fmt.Fprintf(w, "| inserts/s into %s (20k rows, best of 3) | %.0f | %.0f |\n", after.Inserts[i].Table,
			before.Inserts[i].RowsPerSec, after.Inserts[i].RowsPerSec)
	}

	if before.Reconcile != nil && after.Reconcile != nil {
		b, a := before.Reconcile, after.Reconcile
		fmt.Fprintln(w, "\n| reconcile while postings run (through the layer) | before | after |")
		fmt.Fprintln(w, "|---|---|---|")
		timing := func(t Timing) string {
			return fmt.Sprintf("%s -> %s", ms(Median(t.Idle)), ms(Median(t.Load)))
		}
		row := func(name string, f func(*ReconcileLoad) string) {
			fmt.Fprintf(w, "| %s | %s | %s |\n", name, f(b), f(a))
		}
		row("reconcile all tenants, median: idle -> under load", func(r *ReconcileLoad) string { return timing(r.All) })
		row("reconcile the largest tenant "+TenantID(1), func(r *ReconcileLoad) string { return timing(r.Largest) })
		row("reconcile a small tenant", func(r *ReconcileLoad) string { return timing(r.Small) })
		row("postings/s: alone -> while reconciling", func(r *ReconcileLoad) string {
			return fmt.Sprintf("%.0f -> %.0f", r.Alone.PerSec(), r.During.PerSec())
		})
		row("posting latency p50 / p99 / max: alone", func(r *ReconcileLoad) string { return latency(r.Alone) })
		row("posting latency p50 / p99 / max: while reconciling", func(r *ReconcileLoad) string { return latency(r.During) })
		row("max posting latency, while reconciling / alone", func(r *ReconcileLoad) string {
			return fmt.Sprintf("%.2fx", float64(r.During.Max)/float64(max(r.Alone.Max, 1)))
		})
		row("postings waiting on a lock, sampled every 10 ms: any / held by a reconcile", func(r *ReconcileLoad) string {
			return fmt.Sprintf("%d / **%d** in %d samples", r.During.Waits, r.During.WaitsOnReconcile, r.During.Samples)
		})
	}

	if before.Retention != nil && after.Retention != nil {
		b, a := before.Retention, after.Retention
		fmt.Fprintln(w, "\n| retention: the oldest 10% of LLM calls | before: batched DELETE, key ON DELETE SET NULL | after: retention.Purge, no key |")
		fmt.Fprintln(w, "|---|---|---|")
		yes := func(v bool) string {
			if v {
				return "yes"
			}
			return "**no**"
		}
		fmt.Fprintf(w, "| rows deleted | %d | %d |\n", b.Deleted, a.Deleted)
		fmt.Fprintf(w, "| ledger entries rewritten | **%d** | **%d** |\n", b.Rewritten, a.Rewritten)
		fmt.Fprintf(w, "| every ledger entry byte-identical | %s | %s |\n", yes(b.Identical), yes(a.Identical))
		fmt.Fprintf(w, "| every ledger reconciles after | %s | %s |\n", yes(b.Reconciled), yes(a.Reconciled))
		fmt.Fprintf(w, "| time (rows/s) | %s (%.0f) | %s (%.0f) |\n", b.Took.Round(100*time.Millisecond), float64(b.Deleted)/b.Took.Seconds(),
			a.Took.Round(100*time.Millisecond), float64(a.Deleted)/a.Took.Seconds())
	}
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }

func latency(p Postings) string {
	return fmt.Sprintf("%s / %s / %s", ms(p.P50), ms(p.P99), ms(p.Max))
}
