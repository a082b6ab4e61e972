package bench

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	_ "github.com/lib/pq"

	db "github.com/leadmetrics/db"
	"github.com/leadmetrics/db/cuid"
	"github.com/leadmetrics/db/ent"
	"github.com/leadmetrics/db/ent/activity"
	"github.com/leadmetrics/db/internal/testing/suitedb"
	"github.com/leadmetrics/db/privacy"
)

const (
	tenants       = 20
	rowsPerTenant = 500
)

// fixture is one seeded database reached four ways.
type fixture struct {
	client  *ent.Client   // the layer's Ent client (db.NewClient: on the pgx pool, plans per statement class)
	pool    *pgxpool.Pool // raw pgx
	stdPgx  *sql.DB       // raw database/sql on pgx stdlib (the driver under Ent)
	pq      *sql.DB       // raw lib/pq
	tenants []string
	ids     map[string][]string // activity ids per tenant
}

// setup seeds the fixture.
func setup(b *testing.B) *fixture { return setupAt(b, suitedb.URL(b)) }

// setupAt seeds the migrated database at url.
func setupAt(b testing.TB, url string) *fixture {
	b.Helper()
	ctx := context.Background()
	cfg := db.DefaultConfig()
	cfg.URL, cfg.PoolMin, cfg.PoolMax = url, 2, 4
	stdPgx, err := db.OpenDB(ctx, cfg)
	if err != nil {
		b.Fatal(err)
	}
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		b.Fatal(err)
	}
	pq, err := sql.Open("postgres", url)
	if err != nil {
		b.Fatal(err)
	}
	f := &fixture{
		client: db.NewClient(stdPgx),
		pool:   pool, stdPgx: stdPgx, pq: pq, ids: map[string][]string{},
	}
	b.Cleanup(func() { f.client.Close(); pool.Close(); pq.Close() })
	var rows [][]any
	start := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	statuses := []string{"pending", "queued", "completed"}
	for range tenants {
		tid := cuid.New()
		f.tenants = append(f.tenants, tid)
		for i := range rowsPerTenant {
			id := cuid.New()
			f.ids[tid] = append(f.ids[tid], id)
			rows = append(rows, []any{id, cuid.New(), tid, start, start, "write_post", fmt.Sprintf("Post %d", i),
				statuses[i%3], i % 5, start.Add(time.Duration(i) * time.Minute), 0})
		}
	}
	_, err = pool.CopyFrom(ctx, pgx.Identifier{"activities"},
		[]string{"id", "ref_id", "tenant_id", "created_at", "updated_at", "type", "title", "status", "priority", "scheduled_at", "attempts"},
		pgx.CopyFromRows(rows))
	if err != nil {
		b.Fatal(err)
	}
	suitedb.Tenants(b, stdPgx, f.tenants...) // the lifecycle gate writes only for live, active tenants
	if _, err := pool.Exec(ctx, "ANALYZE activities"); err != nil {
		b.Fatal(err)
	}
	return f
}

func (f *fixture) pick(r *rand.Rand) (tenant, id string) {
	tenant = f.tenants[r.IntN(len(f.tenants))]
	ids := f.ids[tenant]
	return tenant, ids[r.IntN(len(ids))]
}

// activityRow is what the raw drivers scan: the same columns Ent selects.
type activityRow struct {
	ID, RefID, TenantID, Type, Title, Status       string
	CreatedAt, UpdatedAt                           time.Time
	DeletedAt, ScheduledAt, StartedAt, CompletedAt *time.Time
	Priority, Attempts                             int
	Input, Output                                  []byte
	Error, CampaignID, AgentConfigID, AssigneeID   *string
}

const activityColumns = `id, ref_id, tenant_id, created_at, updated_at, deleted_at, type, title, status, priority,
 scheduled_at, started_at, completed_at, input, output, error, attempts, campaign_id, agent_config_id, assignee_id`

func (a *activityRow) dest() []any {
	return []any{&a.ID, &a.RefID, &a.TenantID, &a.CreatedAt, &a.UpdatedAt, &a.DeletedAt, &a.Type, &a.Title, &a.Status,
		&a.Priority, &a.ScheduledAt, &a.StartedAt, &a.CompletedAt, &a.Input, &a.Output, &a.Error, &a.Attempts,
		&a.CampaignID, &a.AgentConfigID, &a.AssigneeID}
}

// scanActivities reads a result set of pgx or database/sql alike.
func scanActivities(rows interface {
	Next() bool
	Scan(...any) error
	Err() error
}) ([]*activityRow, error) {
	list := make([]*activityRow, 0, 50)
	for rows.Next() {
		a := &activityRow{}
		if err := rows.Scan(a.dest()...); err != nil {
			return nil, err
		}
		list = append(list, a)
	}
	return list, rows.Err()
}

// The raw statements carry the same tenant and soft-delete predicates the
// data layer adds, so every variant does the same work in PostgreSQL.
const (
	getSQL  = `SELECT ` + activityColumns + ` FROM activities WHERE id = $1 AND tenant_id = $2 AND deleted_at IS NULL`
	listSQL = `SELECT ` + activityColumns + ` FROM activities WHERE tenant_id = $1 AND status = 'pending' AND deleted_at IS NULL
 ORDER BY scheduled_at LIMIT 50`
	createSQL = `INSERT INTO activities (id, ref_id, tenant_id, created_at, updated_at, type, title, status, priority, attempts)
 VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', 0, 0)`
	upsertSQL = `INSERT INTO activities (id, ref_id, tenant_id, created_at, updated_at, type, title, status, priority, attempts)
 VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', 0, 0)
 ON CONFLICT (tenant_id, ref_id) DO UPDATE SET title = EXCLUDED.title, updated_at = EXCLUDED.updated_at RETURNING id`
)

// sqlQuerier is what the two database/sql variants share.
type sqlQuerier interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
	ExecContext(context.Context, string, ...any) (sql.Result, error)
}

// variant is one way to run an operation, with its own random source so
// every variant visits the same rows in the same order.
type variant struct {
	name string
	run  func(ctx context.Context, r *rand.Rand) error
}

func (f *fixture) getVariants() []variant {
	raw := func(q sqlQuerier) func(context.Context, *rand.Rand) error {
		return func(ctx context.Context, r *rand.Rand) error {
			tid, id := f.pick(r)
			var a activityRow
			return q.QueryRowContext(ctx, getSQL, id, tid).Scan(a.dest()...)
		}
	}
	return []variant{
		{"ent", func(ctx context.Context, r *rand.Rand) error {
			tid, id := f.pick(r)
			_, err := f.client.Activity.Get(privacy.WithTenant(ctx, tid), id)
			return err
		}},
		{"pgx", func(ctx context.Context, r *rand.Rand) error {
			tid, id := f.pick(r)
			var a activityRow
			return f.pool.QueryRow(ctx, getSQL, id, tid).Scan(a.dest()...)
		}},
		{"sql-pgx", raw(f.stdPgx)},
		{"pq", raw(f.pq)},
	}
}

func (f *fixture) listVariants() []variant {
	want50 := func(n int, err error) error {
		if err == nil && n != 50 {
			err = fmt.Errorf("listed %d rows, want 50", n)
		}
		return err
	}
	raw := func(q sqlQuerier) func(context.Context, *rand.Rand) error {
		return func(ctx context.Context, r *rand.Rand) error {
			tid, _ := f.pick(r)
			rows, err := q.QueryContext(ctx, listSQL, tid)
			if err != nil {
				return err
			}
			defer rows.Close()
			list, err := scanActivities(rows)
			return want50(len(list), err)
		}
	}
	return []variant{
		{"ent", func(ctx context.Context, r *rand.Rand) error {
			tid, _ := f.pick(r)
			list, err := f.client.Activity.Query().
				Where(activity.StatusEQ(activity.StatusPending)).
				Order(ent.Asc(activity.FieldScheduledAt)).Limit(50).All(privacy.WithTenant(ctx, tid))
			return want50(len(list), err)
		}},
		{"pgx", func(ctx context.Context, r *rand.Rand) error {
			tid, _ := f.pick(r)
			rows, err := f.pool.Query(ctx, listSQL, tid)
			if err != nil {
				return err
			}
			defer rows.Close()
			list, err := scanActivities(rows)
			return want50(len(list), err)
		}},
		{"sql-pgx", raw(f.stdPgx)},
		{"pq", raw(f.pq)},
	}
}

// createVariants insert one activity each: each variant writes to its
// own tenant so none waits on another's index pages.
func (f *fixture) createVariants() []variant {
	raw := func(q sqlQuerier, tid string) func(context.Context, *rand.Rand) error {
		return func(ctx context.Context, _ *rand.Rand) error {
			now := time.Now()
			_, err := q.ExecContext(ctx, createSQL, cuid.New(), cuid.New(), tid, now, now, "write_post", "New post")
			return err
		}
	}
	return []variant{
		{"ent", func(ctx context.Context, _ *rand.Rand) error {
			tid := f.tenants[0]
			_, err := f.client.Activity.Create().SetTenantID(tid).SetType("write_post").SetTitle("New post").Save(privacy.WithTenant(ctx, tid))
			return err
		}},
		{"pgx", func(ctx context.Context, _ *rand.Rand) error {
			now := time.Now()
			_, err := f.pool.Exec(ctx, createSQL, cuid.New(), cuid.New(), f.tenants[1], now, now, "write_post", "New post")
			return err
		}},
		{"sql-pgx", raw(f.stdPgx, f.tenants[2])},
		{"pq", raw(f.pq, f.tenants[3])},
	}
}

// upsertVariants update one existing row through (tenant_id, ref_id) each
// time: the seed's conflict-handling path.
func (f *fixture) upsertVariants() []variant {
	raw := func(q sqlQuerier, tid string) func(context.Context, *rand.Rand) error {
		return func(ctx context.Context, _ *rand.Rand) error {
			now := time.Now()
			var id string
			return q.QueryRowContext(ctx, upsertSQL, cuid.New(), "upsert-me", tid, now, now, "write_post", "Upserted").Scan(&id)
		}
	}
	return []variant{
		{"ent", func(ctx context.Context, _ *rand.Rand) error {
			_, err := f.client.Activity.Create().SetTenantID(f.tenants[0]).SetRefID("upsert-me").SetType("write_post").SetTitle("Upserted").
				OnConflictColumns(activity.FieldTenantID, activity.FieldRefID).
				Update(func(u *ent.ActivityUpsert) { u.UpdateTitle().UpdateUpdatedAt() }).
				ID(privacy.WithTenant(ctx, f.tenants[0]))
			return err
		}},
		{"pgx", func(ctx context.Context, _ *rand.Rand) error {
			now := time.Now()
			var id string
			return f.pool.QueryRow(ctx, upsertSQL, cuid.New(), "upsert-me", f.tenants[1], now, now, "write_post", "Upserted").Scan(&id)
		}},
		{"sql-pgx", raw(f.stdPgx, f.tenants[2])},
		{"pq", raw(f.pq, f.tenants[3])},
	}
}

// runVariants benchmarks each variant on its own, for benchstat.
func runVariants(b *testing.B, vs []variant) {
	ctx := context.Background()
	for _, v := range vs {
		b.Run(v.name, func(b *testing.B) {
			r := rand.New(rand.NewPCG(1, 2))
			for b.Loop() {
				if err := v.run(ctx, r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkGetByID(b *testing.B)        { runVariants(b, setup(b).getVariants()) }
func BenchmarkList50ByTenant(b *testing.B) { runVariants(b, setup(b).listVariants()) }
func BenchmarkCreate(b *testing.B)         { runVariants(b, setup(b).createVariants()) }
func BenchmarkUpsert(b *testing.B)         { runVariants(b, setup(b).upsertVariants()) }

// BenchmarkPaired runs the variants of each operation in turn inside one
// loop, so the drift of a shared, noisy machine hits them alike, and
// reports each variant's time per operation and its ratio to raw pgx.
func BenchmarkPaired(b *testing.B) {
	f := setup(b)
	ctx := context.Background()
	for _, op := range []struct {
		name string
		vs   []variant
	}{{"get", f.getVariants()}, {"list50", f.listVariants()}, {"create", f.createVariants()}, {"upsert", f.upsertVariants()}} {
		b.Run(op.name, func(b *testing.B) {
			spent := make([]time.Duration, len(op.vs))
			rs := make([]*rand.Rand, len(op.vs))
			for i := range rs {
				rs[i] = rand.New(rand.NewPCG(1, 2))
			}
			for b.Loop() {
				for i, v := range op.vs {
					start := time.Now()
					if err := v.run(ctx, rs[i]); err != nil {
						b.Fatal(err)
					}
					spent[i] += time.Since(start)
				}
			}
			pgx := float64(spent[1])
			for i, v := range op.vs {
				b.ReportMetric(float64(spent[i].Nanoseconds())/float64(b.N), v.name+"-ns/op")
				b.ReportMetric(float64(spent[i])/pgx, v.name+"/pgx")
			}
			b.ReportMetric(0, "ns/op")
		})
	}
}
