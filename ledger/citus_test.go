package ledger_test

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"testing"

	"github.com/leadmetrics/db/internal/testing/suitedb"
	"github.com/leadmetrics/db/ledger"
	"github.com/leadmetrics/db/privacy"
)

// On Citus every statement of the batch paths stays on one shard: a
// PostBatch over tenants of many shards (their first postings, so the
// balance rows are created too) and concurrent RecordLLMCall callers
// (the Batcher) run no multi-shard execution on the coordinator, and one
// execution per shard group. Citus's own counters (citus_stat_counters)
// count them. The routing test (internal/systemtest/citus) covers Post and
// the reads.
func TestCitusBatchesStaySingleShard(t *testing.T) {
	if !suitedb.OnCitus() {
		t.Skip("needs TEST_CITUS_URL")
	}
	rawURL := suitedb.URL(t)
	counted := suitedb.Open(t, rawURL+"&citus.enable_stat_counters=on")
	l := ledger.New(nil, counted)
	tenants := make([]string, 40)
	for i := range tenants {
		tenants[i] = fmt.Sprintf("tenant-%02d", i)
	}
	suitedb.Tenants(t, counted, tenants...)
	counters := func() (single, multi int64) { return citusExecutions(t, counted) }
	var shards int
	if err := counted.QueryRow(`SELECT count(DISTINCT get_shard_id_for_distribution_column('credit_balances', t))
		FROM unnest($1::varchar[]) t`, tenants).Scan(&shards); err != nil {
		t.Fatal(err)
	}
	single0, multi0 := counters()
	var ps []ledger.Posting
	for i, tenant := range tenants {
		ps = append(ps, ledger.Posting{TenantID: tenant, Kind: topup, Amount: 100, IdempotencyKey: fmt.Sprint("t", i)},
			ledger.Posting{TenantID: tenant, Kind: usage, Amount: -30, IdempotencyKey: fmt.Sprint("u", i)})
	}
	res, err := l.PostBatch(privacy.WithSystem(context.Background()), ps)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		if !r.Applied() {
			t.Fatalf("posting %d: %v", i, r.Err)
		}
	}
	single, multi := counters()
	// Per shard group: the call finding no balance rows, their insert,
	// the call again.
	if multi != multi0 || single-single0 != int64(3*shards) {
		t.Fatalf("PostBatch over %d shards: %d single-shard and %d multi-shard executions, want %d and 0",
			shards, single-single0, multi-multi0, 3*shards)
	}
	var wg sync.WaitGroup
	errs := make(chan error, len(tenants))
	for i, tenant := range tenants {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, err := l.RecordLLMCall(privacy.WithTenant(context.Background(), tenant),
				ledger.LLMCall{RefID: fmt.Sprint("c", i), Provider: "p", Model: "m", Cost: 5})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if _, m := counters(); m != multi0 {
		t.Fatalf("the Batcher ran %d multi-shard executions", m-multi0)
	}
	var bad int
	if err := counted.QueryRow(`SELECT count(*) FROM credit_balances WHERE balance <> 65`).Scan(&bad); err != nil || bad != 0 {
		t.Fatalf("%d balances are not 65 (%v)", bad, err)
	}
}

// citusExecutions reads the coordinator's counts of single- and
// multi-shard executions in q's database (Citus counts them in sessions
// with citus.enable_stat_counters on).
func citusExecutions(t testing.TB, q *sql.DB) (single, multi int64) {
	t.Helper()
	if err := q.QueryRow(`SELECT query_execution_single_shard, query_execution_multi_shard
		FROM citus_stat_counters WHERE name = current_database()`).Scan(&single, &multi); err != nil {
		t.Fatal(err)
	}
	return single, multi
}
