package bench

import (
	"context"
	"database/sql"
	"fmt"
	"testing"
	"time"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	db "github.com/leadmetrics/db"
	"github.com/leadmetrics/db/cuid"
	"github.com/leadmetrics/db/ent"
	"github.com/leadmetrics/db/ent/activity"
	"github.com/leadmetrics/db/internal/runtime/plans"
	"github.com/leadmetrics/db/internal/testing/paired"
	"github.com/leadmetrics/db/internal/testing/suitedb"
	"github.com/leadmetrics/db/privacy"
)

// hot is the fixture of the hot-path benchmarks: the layer as services get
// it (db.Open) and raw pgx on that same handle's pool, so both sides have
// the same session settings by construction.
type hot struct {
	*fixture
	h *db.DB
}

func setupHot(b testing.TB) *hot {
	url := suitedb.URL(b)
	f := setupAt(b, url)
	cfg := db.DefaultConfig()
	cfg.URL, cfg.PoolMin, cfg.PoolMax = url, 4, 4
	h, err := db.Open(context.Background(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { h.Close() })
	return &hot{f, h}
}

// The raw side runs each statement in the mode the layer picks for its
// class (internal/runtime/plans): a lookup by key and an insert as a named
// prepared statement, a list unnamed and planned for its values.
var (
	pointMode  = pgx.QueryExecModeCacheStatement
	customMode = pgx.QueryExecModeCacheDescribe
)

func (x *hot) ops() map[string][2]paired.Variant {
	ctxs := make([]context.Context, len(x.tenants))
	for i, t := range x.tenants {
		ctxs[i] = privacy.WithTenant(context.Background(), t)
	}
	pool := x.h.Pool()
	pick := func(i int) (context.Context, string, string) {
		t := (i * 7919) % len(x.tenants)
		ids := x.ids[x.tenants[t]]
		return ctxs[t], x.tenants[t], ids[(i*104729)%len(ids)]
	}
	bg := context.Background()
	return map[string][2]paired.Variant{
		"get": {
			{Name: "layer", Op: func(_, i int) error {
				ctx, _, id := pick(i)
				_, err := x.h.Activity.Get(ctx, id)
				return err
			}},
			{Name: "pgx", Op: func(_, i int) error {
				_, tid, id := pick(i)
				var a activityRow
				return pool.QueryRow(bg, getSQL, pointMode, id, tid).Scan(a.dest()...)
			}},
		},
		"list50": {
			{Name: "layer", Op: func(_, i int) error {
				ctx, _, _ := pick(i)
				list, err := x.h.Activity.Query().Where(activity.StatusEQ(activity.StatusPending)).
					Order(ent.Asc(activity.FieldScheduledAt)).Limit(50).All(ctx)
				return want(len(list), 50, err)
			}},
			{Name: "pgx", Op: func(_, i int) error {
				_, tid, _ := pick(i)
				rows, err := pool.Query(bg, listSQL, customMode, tid)
				if err != nil {
					return err
				}
				defer rows.Close()
				list, err := scanActivities(rows)
				return want(len(list), 50, err)
			}},
		},
		// Each side creates in its own tenant, so neither waits on the
		// other's index pages.
		"create": {
			{Name: "layer", Op: func(_, _ int) error {
				return x.h.Activity.Create().SetTenantID(x.tenants[0]).SetType("write_post").SetTitle("New post").Exec(ctxs[0])
			}},
			{Name: "pgx", Op: func(_, _ int) error {
				now := time.Now()
				_, err := pool.Exec(bg, createSQL, pointMode, cuid.New(), cuid.New(), x.tenants[1], now, now, "write_post", "New post")
				return err
			}},
		},
		"upsert": {
			{Name: "layer", Op: func(_, _ int) error {
				return x.h.Activity.Create().SetTenantID(x.tenants[0]).SetRefID("upsert-me").SetType("write_post").SetTitle("Upserted").
					OnConflictColumns(activity.FieldTenantID, activity.FieldRefID).
					Update(func(u *ent.ActivityUpsert) { u.UpdateTitle().UpdateUpdatedAt() }).Exec(ctxs[0])
			}},
			{Name: "pgx", Op: func(_, _ int) error {
				now := time.Now()
				var id string
				return pool.QueryRow(bg, upsertSQL, pointMode, cuid.New(), "upsert-me", x.tenants[1], now, now, "write_post", "Upserted").Scan(&id)
			}},
		},
	}
}

func want(n, w int, err error) error {
	if err == nil && n != w {
		err = fmt.Errorf("listed %d rows, want %d", n, w)
	}
	return err
}

// BenchmarkHotPath: the layer against raw pgx on the same pool, one caller
// (sequential) and 8 callers sharing the 4-connection pool, in 10
// interleaved rounds; medians of wall time, client CPU and allocations per
// operation, and of the per-round ratios layer/pgx. BENCHMARKS.md, "Hot path".
func BenchmarkHotPath(b *testing.B) {
	x := setupHot(b)
	ops := x.ops()
	for _, c := range []struct {
		op      string
		workers int
	}{{"get", 1}, {"list50", 1}, {"create", 1}, {"upsert", 1}, {"get", 8}, {"list50", 8}} {
		b.Run(fmt.Sprintf("%s/callers=%d", c.op, c.workers), func(b *testing.B) {
			vs := ops[c.op]
			rs := paired.Run(b, c.workers, 10, vs[:])
			paired.Report(b, rs, 1)
			if c.workers > 1 {
				b.ReportMetric(1/rs[0].Ratio(rs[1], false), "layer/pgx-throughput")
			}
		})
	}
}

// overSQL is an Ent client over database/sql whose statements get the
// plan class's mode as the layer's do (only the driver differs).
func overSQL(db *sql.DB) *ent.Client {
	mode := plans.Mode{Pgx: true}
	return ent.NewClient(ent.Driver(entsql.NewDriver(dialect.Postgres, entsql.Conn{ExecQuerier: plans.Classed{ExecQuerier: db, Mode: mode}})))
}

// BenchmarkEntDriver: the same Ent get and list 50 (tenant viewer, the
// layer's hooks and policies) through three drivers on the same pgx pool,
// in interleaved rounds: the layer's (straight on pgxpool), Ent's own over
// database/sql keeping no idle connection (the layer's driver before: a
// connection wrapper per statement), and over database/sql keeping two
// idle. Backs the driver choice in BENCHMARKS.md ("Hot path") with client
// CPU and allocations per operation.
func BenchmarkEntDriver(b *testing.B) {
	x := setupHot(b)
	none := stdlib.OpenDBFromPool(x.h.Pool())
	none.SetMaxIdleConns(0)
	idle := stdlib.OpenDBFromPool(x.h.Pool())
	idle.SetMaxIdleConns(2)
	b.Cleanup(func() { none.Close(); idle.Close() })
	clients := []struct {
		name string
		c    *ent.Client
	}{
		{"pgxpool", x.h.Client},
		{"sql-noidle", overSQL(none)},
		{"sql-idle2", overSQL(idle)},
	}
	ctxs := make([]context.Context, len(x.tenants))
	for i, t := range x.tenants {
		ctxs[i] = privacy.WithTenant(context.Background(), t)
	}
	for _, op := range []string{"get", "list50"} {
		b.Run(op, func(b *testing.B) {
			var vs []paired.Variant
			for _, c := range clients {
				vs = append(vs, paired.Variant{Name: c.name, Op: func(_, i int) error {
					t := (i * 7919) % len(x.tenants)
					if op == "get" {
						ids := x.ids[x.tenants[t]]
						_, err := c.c.Activity.Get(ctxs[t], ids[(i*104729)%len(ids)])
						return err
					}
					list, err := c.c.Activity.Query().Where(activity.StatusEQ(activity.StatusPending)).
						Order(ent.Asc(activity.FieldScheduledAt)).Limit(50).All(ctxs[t])
					return want(len(list), 50, err)
				}})
			}
			paired.Report(b, paired.Run(b, 1, 10, vs), 0)
		})
	}
}
