package bench

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	entsql "entgo.io/ent/dialect/sql"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	_ "github.com/lib/pq"

	db "github.com/leadmetrics/db"
	"github.com/leadmetrics/db/cuid"
	"github.com/leadmetrics/db/ent"
	"github.com/leadmetrics/db/ent/activity"
	"github.com/leadmetrics/db/internal/testdb"
	"github.com/leadmetrics/db/privacy"
)

const (
	tenants       = 20
	rowsPerTenant = 500
)

// fixture is one seeded database reached four ways.
type fixture struct {
	client  *ent.Client   // Ent on pgx stdlib, as db.Open builds it
	pool    *pgxpool.Pool // raw pgx
	stdPgx  *sql.DB       // raw database/sql on pgx stdlib (the driver under Ent)
	pq      *sql.DB       // raw lib/pq
	tenants []string
	ids     map[string][]string // activity ids per tenant
}

func setup(b *testing.B) *fixture {
	b.Helper()
	url := testdb.URL(b)
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
		client: ent.NewClient(ent.Driver(entsql.OpenDB("postgres", stdPgx))),
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

func BenchmarkGetByID(b *testing.B) {
	f := setup(b)
	ctx := context.Background()
	b.Run("ent", func(b *testing.B) {
		r := rand.New(rand.NewPCG(1, 2))
		for b.Loop() {
			tid, id := f.pick(r)
			if _, err := f.client.Activity.Get(privacy.WithTenant(ctx, tid), id); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("pgx", func(b *testing.B) {
		r := rand.New(rand.NewPCG(1, 2))
		for b.Loop() {
			tid, id := f.pick(r)
			var a activityRow
			if err := f.pool.QueryRow(ctx, getSQL, id, tid).Scan(a.dest()...); err != nil {
				b.Fatal(err)
			}
		}
	})
	for name, q := range map[string]sqlQuerier{"sql-pgx": f.stdPgx, "pq": f.pq} {
		b.Run(name, func(b *testing.B) {
			r := rand.New(rand.NewPCG(1, 2))
			for b.Loop() {
				tid, id := f.pick(r)
				var a activityRow
				if err := q.QueryRowContext(ctx, getSQL, id, tid).Scan(a.dest()...); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkList50ByTenant(b *testing.B) {
	f := setup(b)
	ctx := context.Background()
	check := func(b *testing.B, n int) {
		if n != 50 {
			b.Fatalf("listed %d rows, want 50", n)
		}
	}
	b.Run("ent", func(b *testing.B) {
		r := rand.New(rand.NewPCG(1, 2))
		for b.Loop() {
			tid, _ := f.pick(r)
			list, err := f.client.Activity.Query().
				Where(activity.TenantID(tid), activity.StatusEQ(activity.StatusPending), activity.DeletedAtIsNil()).
				Order(ent.Asc(activity.FieldScheduledAt)).Limit(50).All(privacy.WithTenant(ctx, tid))
			if err != nil {
				b.Fatal(err)
			}
			check(b, len(list))
		}
	})
	b.Run("pgx", func(b *testing.B) {
		r := rand.New(rand.NewPCG(1, 2))
		for b.Loop() {
			tid, _ := f.pick(r)
			rows, err := f.pool.Query(ctx, listSQL, tid)
			if err != nil {
				b.Fatal(err)
			}
			list, err := scanActivities(rows)
			rows.Close()
			if err != nil {
				b.Fatal(err)
			}
			check(b, len(list))
		}
	})
	for name, q := range map[string]sqlQuerier{"sql-pgx": f.stdPgx, "pq": f.pq} {
		b.Run(name, func(b *testing.B) {
			r := rand.New(rand.NewPCG(1, 2))
			for b.Loop() {
				tid, _ := f.pick(r)
				rows, err := q.QueryContext(ctx, listSQL, tid)
				if err != nil {
					b.Fatal(err)
				}
				list, err := scanActivities(rows)
				rows.Close()
				if err != nil {
					b.Fatal(err)
				}
				check(b, len(list))
			}
		})
	}
}

func BenchmarkCreate(b *testing.B) {
	f := setup(b)
	ctx := context.Background()
	b.Run("ent", func(b *testing.B) {
		tid := f.tenants[0]
		vctx := privacy.WithTenant(ctx, tid)
		for b.Loop() {
			if _, err := f.client.Activity.Create().SetTenantID(tid).SetType("write_post").SetTitle("New post").Save(vctx); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("pgx", func(b *testing.B) {
		tid := f.tenants[1]
		for b.Loop() {
			now := time.Now()
			if _, err := f.pool.Exec(ctx, createSQL, cuid.New(), cuid.New(), tid, now, now, "write_post", "New post"); err != nil {
				b.Fatal(err)
			}
		}
	})
	for i, q := range []sqlQuerier{f.stdPgx, f.pq} {
		b.Run([]string{"sql-pgx", "pq"}[i], func(b *testing.B) {
			tid := f.tenants[2+i]
			for b.Loop() {
				now := time.Now()
				if _, err := q.ExecContext(ctx, createSQL, cuid.New(), cuid.New(), tid, now, now, "write_post", "New post"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkUpsert updates an existing row through (tenant_id, ref_id) each
// time: the seed's conflict-handling path.
func BenchmarkUpsert(b *testing.B) {
	f := setup(b)
	ctx := context.Background()
	b.Run("ent", func(b *testing.B) {
		tid := f.tenants[0]
		vctx := privacy.WithTenant(ctx, tid)
		for b.Loop() {
			_, err := f.client.Activity.Create().SetTenantID(tid).SetRefID("upsert-me").SetType("write_post").SetTitle("Upserted").
				OnConflictColumns(activity.FieldTenantID, activity.FieldRefID).
				Update(func(u *ent.ActivityUpsert) { u.UpdateTitle().UpdateUpdatedAt() }).ID(vctx)
			if err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("pgx", func(b *testing.B) {
		tid := f.tenants[1]
		for b.Loop() {
			now := time.Now()
			var id string
			if err := f.pool.QueryRow(ctx, upsertSQL, cuid.New(), "upsert-me", tid, now, now, "write_post", "Upserted").Scan(&id); err != nil {
				b.Fatal(err)
			}
		}
	})
	for i, q := range []sqlQuerier{f.stdPgx, f.pq} {
		b.Run([]string{"sql-pgx", "pq"}[i], func(b *testing.B) {
			tid := f.tenants[2+i]
			for b.Loop() {
				now := time.Now()
				var id string
				if err := q.QueryRowContext(ctx, upsertSQL, cuid.New(), "upsert-me", tid, now, now, "write_post", "Upserted").Scan(&id); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
