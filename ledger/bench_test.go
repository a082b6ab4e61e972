package ledger_test

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/leadmetrics/db/cuid"
	"github.com/leadmetrics/db/internal/runtime/entpgx"
	"github.com/leadmetrics/db/internal/testing/paired"
	"github.com/leadmetrics/db/internal/testing/suitedb"
	"github.com/leadmetrics/db/ledger"
	"github.com/leadmetrics/db/privacy"
)

// Benchmarks report, they do not assert. scripts/bench-ledger.sh runs them
// beside pgbench and prints the ratios.

const benchWorkers = 8

// benchDB is a migrated database with n tenants' balance rows, reached
// through the module and through the pgx pool under it (the same
// connections and session settings).
func benchDB(b *testing.B, tenants int) (*ledger.Ledger, *pgxpool.Pool, []string) {
	b.Helper()
	return benchDBAt(b, suitedb.URL(b), tenants)
}

// benchDBAt is benchDB on the database of rawURL.
func benchDBAt(b *testing.B, rawURL string, tenants int) (*ledger.Ledger, *pgxpool.Pool, []string) {
	b.Helper()
	sqlDB := suitedb.Open(b, rawURL)
	p, ok := entpgx.Lookup(sqlDB)
	if !ok {
		b.Fatal("the layer's pool is not registered")
	}
	pool := p.Pool
	ids := make([]string, tenants)
	for i := range ids {
		ids[i] = cuid.New()
	}
	suitedb.Tenants(b, sqlDB, ids...) // the lifecycle gate posts only for live, active tenants
	if _, err := pool.Exec(context.Background(), `INSERT INTO credit_balances (id, ref_id, tenant_id, created_at, updated_at, balance, last_seq)
		SELECT 'b' || substr(t, 2), 'credit-balance', t, now(), now(), 0, 0 FROM unnest($1::text[]) t`, ids); err != nil {
		b.Fatal(err)
	}
	return ledger.New(nil, sqlDB), pool, ids
}

// runWorkers splits b.N operations over 8 goroutines and reports ops/s.
func runWorkers(b *testing.B, unit string, op func(worker, i int) error) {
	runN(b, benchWorkers, unit, op)
}

// runN splits b.N operations over workers goroutines and reports ops/s.
func runN(b *testing.B, workers int, unit string, op func(worker, i int) error) {
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= b.N {
					return
				}
				if err := op(w, i); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), unit)
}

// rawPostSQL is the minimal reference: the smallest correct
// single-statement usage posting (lock the balance, insert the entry unless
// its key exists, update the balance from what was inserted), with no
// validation, links, gate or replay around it.
const rawPostSQL = `WITH bal AS MATERIALIZED (
	SELECT balance, last_seq FROM credit_balances WHERE tenant_id = $1 FOR UPDATE
), ins AS (
	INSERT INTO credit_ledger_entries (id, ref_id, tenant_id, created_at, updated_at, kind, amount, balance_after, seq, idempotency_key)
	SELECT $3, $2, $1, now(), now(), 'usage', $4, bal.balance + $4, bal.last_seq + 1, $2 FROM bal
	ON CONFLICT (tenant_id, ref_id) DO NOTHING
	RETURNING id, balance_after, seq
), upd AS (
	UPDATE credit_balances b SET balance = ins.balance_after, last_seq = ins.seq, updated_at = now()
	FROM ins WHERE b.tenant_id = $1
)
SELECT id, balance_after FROM ins`

// BenchmarkPost: 8 workers post usage of 1,000 tenants, or of one hot
// tenant, three ways in 10 interleaved rounds on one pool (the layer's, so
// the session settings are the same): ledger.Post; the very statement Post
// sends, raw through pgx in the same mode (Point: a prepared statement),
// with the same arguments; and the minimal reference statement, also
// prepared. Reports medians of time, client CPU and allocations per posting
// and of the per-round ratios (paired); postings/s from the median time.
func BenchmarkPost(b *testing.B) {
	stmt, _ := ledger.PostStatements()
	for _, tenants := range []int{1000, 1} {
		b.Run(fmt.Sprintf("tenants=%d", tenants), func(b *testing.B) {
			l, pool, ids := benchDB(b, tenants)
			ctxs := make([]context.Context, len(ids))
			for i, id := range ids {
				ctxs[i] = privacy.WithTenant(context.Background(), id)
			}
			none := sql.NullString{}
			bg := context.Background()
			rs := paired.Run(b, benchWorkers, 10, []paired.Variant{
				{Name: "post", Op: func(_, i int) error {
					_, err := l.Post(ctxs[i%len(ctxs)], ledger.Posting{Kind: usage, Amount: -7, IdempotencyKey: fmt.Sprint("p", i)})
					return err
				}},
				{Name: "same", Op: func(_, i int) error {
					var (
						status                                                         string
						id, ref, tenant, kind, key, desc, actor, order, call, activity sql.NullString
						created, updated                                               sql.NullTime
						amount, after, seq                                             sql.NullInt64
						meta                                                           []byte
					)
					return pool.QueryRow(bg, stmt, pgx.QueryExecModeCacheStatement, ids[i%len(ids)], fmt.Sprint("s", i), cuid.New(),
						"usage", int64(-7), none, none, none, none, none, none).Scan(&status, &id, &ref, &tenant, &created, &updated,
						&kind, &amount, &after, &seq, &key, &desc, &actor, &meta, &order, &call, &activity)
				}},
				{Name: "min", Op: func(_, i int) error {
					var id string
					var after int64
					return pool.QueryRow(bg, rawPostSQL, pgx.QueryExecModeCacheStatement, ids[i%len(ids)], fmt.Sprint("m", i), cuid.New(), int64(-7)).Scan(&id, &after)
				}},
			})
			paired.Report(b, rs, 1)
			b.ReportMetric(1/rs[0].Ratio(rs[2], false), "post/min-throughput")
			b.ReportMetric(rs[0].Throughput(), "post-postings/s")
			b.ReportMetric(rs[1].Throughput(), "same-postings/s")
			b.ReportMetric(rs[2].Throughput(), "min-postings/s")
		})
	}
}

// BenchmarkPostBatch: 8 workers, each posting batches of 100 or 1,000
// (system viewer, usage of 1,000 tenants or of one hot tenant); postings/s
// and commits/s (a batch is one transaction).
func BenchmarkPostBatch(b *testing.B) {
	for _, size := range []int{100, 1000} {
		for _, tenants := range []int{1000, 1} {
			b.Run(fmt.Sprintf("size=%d/tenants=%d", size, tenants), func(b *testing.B) {
				l, _, ids := benchDB(b, tenants)
				sys := privacy.WithSystem(context.Background())
				var next atomic.Int64
				var wg sync.WaitGroup
				b.ResetTimer()
				start := time.Now()
				for range benchWorkers {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for {
							from := int(next.Add(int64(size))) - size
							if from >= b.N {
								return
							}
							ps := make([]ledger.Posting, 0, size)
							for i := from; i < min(from+size, b.N); i++ {
								ps = append(ps, ledger.Posting{TenantID: ids[i%len(ids)], Kind: usage, Amount: -7, IdempotencyKey: fmt.Sprint("k", i)})
							}
							res, err := l.PostBatch(sys, ps)
							if err == nil {
								for _, r := range res {
									if !r.Applied() {
										err = fmt.Errorf("not applied: %v", r.Err)
										break
									}
								}
							}
							if err != nil {
								b.Error(err)
								return
							}
						}
					}()
				}
				wg.Wait()
				secs := time.Since(start).Seconds()
				b.ReportMetric(float64(b.N)/secs, "postings/s")
				b.ReportMetric(float64((b.N+size-1)/size)/secs, "commits/s") // one transaction per batch
			})
		}
	}
}

// callers is how many goroutines call RecordLLMCall at once in
// BenchmarkRecordLLMCall: a service's concurrent requests, more than the
// pool's 8 connections.
const callers = 64

// BenchmarkRecordLLMCall: 64 concurrent callers record paid LLM calls of
// 1,000 tenants or of one hot tenant, through the Batcher (the default)
// and unbatched (each call its own transaction), on a pool of 8
// connections; calls/s.
func BenchmarkRecordLLMCall(b *testing.B) {
	for _, tenants := range []int{1000, 1} {
		for _, mode := range []string{"batched", "unbatched"} {
			b.Run(fmt.Sprintf("%s/tenants=%d", mode, tenants), func(b *testing.B) {
				l, _, ids := benchDB(b, tenants)
				ctxs := make([]context.Context, len(ids))
				for i, id := range ids {
					ctxs[i] = privacy.WithTenant(context.Background(), id)
					if mode == "unbatched" {
						ctxs[i] = ledger.Unbatched(ctxs[i])
					}
				}
				runN(b, callers, "calls/s", func(_, i int) error {
					c := call(fmt.Sprint("r", i), 7)
					_, e, err := l.RecordLLMCall(ctxs[i%len(ctxs)], c)
					if err == nil && e.Replayed {
						err = fmt.Errorf("call %d replayed", i)
					}
					return err
				})
				if batches, calls := l.Batcher().Stats(); batches > 0 {
					b.ReportMetric(float64(calls)/float64(batches), "calls/batch")
				}
			})
		}
	}
}

// BenchmarkPostGate measures what the tenant lifecycle gate costs a
// posting: the workers alternate the posting statement with and without
// the gate, on the same pool in the same run, so the machine's drift hits
// both alike; it reports each one's mean time and their ratio.
func BenchmarkPostGate(b *testing.B) {
	gated, ungated := ledger.PostStatements()
	if gated == ungated {
		b.Fatal("the gate was not found in the posting statement")
	}
	for _, tenants := range []int{1000, 1} {
		b.Run(fmt.Sprintf("tenants=%d", tenants), func(b *testing.B) {
			l, _, ids := benchDB(b, tenants)
			db := ledger.DB(l)
			var spent [2]atomic.Int64
			none := sql.NullString{}
			runWorkers(b, "postings/s", func(_, i int) error {
				stmt := [2]string{ungated, gated}[i%2]
				start := time.Now()
				// Consecutive operations post to different tenants (with one
				// tenant, all contend alike): a variant must not wait for the
				// other's balance lock more than for its own.
				_, err := db.ExecContext(context.Background(), stmt, ids[i%len(ids)], fmt.Sprint("k", i), cuid.New(),
					"usage", int64(-7), none, none, none, none, none, none)
				spent[i%2].Add(int64(time.Since(start)))
				return err
			})
			half := float64(b.N) / 2
			b.ReportMetric(float64(spent[0].Load())/half, "ungated-ns/op")
			b.ReportMetric(float64(spent[1].Load())/half, "gated-ns/op")
			b.ReportMetric(float64(spent[1].Load())/float64(spent[0].Load()), "gated/ungated")
		})
	}
}

const ingestBatch = 10_000

func BenchmarkIngestLLMCalls(b *testing.B) {
	mk := func(n int) []ledger.LLMCall {
		calls := make([]ledger.LLMCall, ingestBatch)
		for i := range calls {
			calls[i] = call(fmt.Sprintf("r%d-%d", n, i), int64(i%50))
			calls[i].ID = cuid.New()
			calls[i].RequestID = "req"
		}
		return calls
	}
	b.Run("ledger", func(b *testing.B) {
		l, _, ids := benchDB(b, 1)
		ctx := privacy.WithTenant(context.Background(), ids[0])
		batches := make([][]ledger.LLMCall, b.N)
		for n := range batches {
			batches[n] = mk(n)
		}
		b.ResetTimer()
		start := time.Now()
		for n := range b.N {
			if _, err := l.IngestLLMCalls(ctx, batches[n]); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N*ingestBatch)/time.Since(start).Seconds(), "rows/s")
	})
	b.Run("copyfrom", func(b *testing.B) {
		_, pool, ids := benchDB(b, 1)
		batches := make([][]ledger.LLMCall, b.N)
		for n := range batches {
			batches[n] = mk(n)
		}
		cols := []string{"id", "ref_id", "tenant_id", "created_at", "updated_at", "provider", "model",
			"prompt_tokens", "completion_tokens", "cost", "latency_ms", "status", "error", "request_id",
			"activity_id", "agent_config_id"}
		b.ResetTimer()
		start := time.Now()
		for n := range b.N {
			now := time.Now()
			rows := batches[n]
			_, err := pool.CopyFrom(context.Background(), pgx.Identifier{"llm_call_logs"}, cols,
				pgx.CopyFromSlice(len(rows), func(i int) ([]any, error) {
					c := &rows[i]
					return []any{c.ID, c.RefID, ids[0], now, now, c.Provider, c.Model, int64(c.PromptTokens),
						int64(c.CompletionTokens), c.Cost, int64(c.LatencyMs), "ok", nil, c.RequestID, nil, nil}, nil
				}))
			if err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N*ingestBatch)/time.Since(start).Seconds(), "rows/s")
	})
}
