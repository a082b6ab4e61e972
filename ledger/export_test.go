package ledger

import (
	"database/sql"
	"strings"
)

// RacedReads exposes how many postings took the raced-duplicate path.
func RacedReads() int64 { return racedReads.Load() }

// BatchFallbacks exposes how many batches fell back to one posting at a time.
func BatchFallbacks() int64 { return batchFallbacks.Load() }

// PostStatements returns a tenant viewer's posting statement and the same
// statement without the lifecycle gate in its insert (the statement as it
// was before the gate), for the paired benchmark of the gate's cost.
func PostStatements() (gated, ungated string) {
	gated = postSQL[false]
	return gated, strings.Replace(gated, tenantGate("$1", false)+" AND ", "", 1)
}

// DB exposes the ledger's raw handle to the benchmarks.
func DB(l *Ledger) *sql.DB { return l.db }

// PendingCalls is how many RecordLLMCall callers wait for a batch to take them.
func PendingCalls(l *Ledger) int {
	b := l.Batcher()
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.pending)
}

// UseCitusPath makes l take the Citus path (the functions ledger_post and
// ledger_post_batch, every tenant in one shard group) on plain
// PostgreSQL, so that the path the cluster runs is tested here too.
func UseCitusPath(l *Ledger) { l.citus.Store(citusPathOnly) }
