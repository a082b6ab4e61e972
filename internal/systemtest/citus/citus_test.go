package citus_test

import (
	"context"
	"database/sql"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	entsql "entgo.io/ent/dialect/sql"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/leadmetrics/db/cuid"
	"github.com/leadmetrics/db/ent"
	"github.com/leadmetrics/db/ent/activity"
	"github.com/leadmetrics/db/ent/campaign"
	"github.com/leadmetrics/db/ent/creditledgerentry"
	"github.com/leadmetrics/db/ent/migrate"
	"github.com/leadmetrics/db/internal/migrate/tenantkeys"
	"github.com/leadmetrics/db/internal/systemtest"
	"github.com/leadmetrics/db/internal/testing/suitedb"
	"github.com/leadmetrics/db/ledger"
	"github.com/leadmetrics/db/migrations"
	"github.com/leadmetrics/db/privacy"
)

// citusURL skips the test unless TEST_CITUS_URL names a Citus coordinator
// (scripts/citus.sh start), and returns it migrated.
func citusURL(t *testing.T) string {
	t.Helper()
	if os.Getenv("TEST_CITUS_URL") == "" {
		t.Skip("TEST_CITUS_URL not set (scripts/citus.sh start)")
	}
	return suitedb.URL(t)
}

// openTraced opens url through pgx with a tracer that records every
// statement sent, closed when the test ends.
func openTraced(t *testing.T, url string) (*sql.DB, *stmtRecorder) {
	t.Helper()
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	rec := &stmtRecorder{}
	cfg.Tracer = rec
	traced := stdlib.OpenDB(*cfg)
	t.Cleanup(func() { traced.Close() })
	return traced, rec
}

// TestCitusPlacement: after the migrations, every tenant-owned table of the
// Ent schema is distributed by tenant_id, all in one co-location group, and
// every other table is a reference table; none is left local.
func TestCitusPlacement(t *testing.T) {
	sqlDB := suitedb.Open(t, citusURL(t))
	dist, err := migrations.Distribution(context.Background(), sqlDB)
	if err != nil || dist == nil {
		t.Fatalf("distribution: %v %v", dist, err)
	}
	byTable := map[string]migrations.TableDistribution{}
	for _, d := range dist {
		byTable[d.Table] = d
	}
	colocation := -1
	for _, tb := range tenantkeys.Apply(migrate.Tables) {
		d, ok := byTable[tb.Name]
		switch {
		case !ok:
			t.Errorf("%s: missing on the cluster", tb.Name)
		case tenantkeys.Owned(tb) && tenantkeys.Distributed(tb.Name, true):
			if d.Type != "distributed" || d.Column != tenantkeys.Column {
				t.Errorf("%s: %s by %q, want distributed by tenant_id", tb.Name, d.Type, d.Column)
			}
			if colocation == -1 {
				colocation = d.ColocationID
			}
			if d.ColocationID != colocation {
				t.Errorf("%s: co-location group %d, want %d", tb.Name, d.ColocationID, colocation)
			}
		default:
			if d.Type != "reference" {
				t.Errorf("%s: %s, want a reference table", tb.Name, d.Type)
			}
		}
	}
	for _, d := range dist {
		if d.Type == "local" {
			t.Errorf("%s is local: Distribute did not place it", d.Table)
		}
	}
}

// stmtRecorder records every statement sent through its connections.
type stmtRecorder struct {
	mu    sync.Mutex
	stmts []recorded
}

type recorded struct {
	sql  string
	args []any
}

func (r *stmtRecorder) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	r.mu.Lock()
	r.stmts = append(r.stmts, recorded{d.SQL, d.Args})
	r.mu.Unlock()
	return ctx
}

func (r *stmtRecorder) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func (r *stmtRecorder) take() []recorded {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.stmts
	r.stmts = nil
	return out
}

var taskCount = regexp.MustCompile(`Task Count: (\d+)`)

// TestCitusTenantQueriesRouteToOneShard runs the frequent tenant queries
// (those of TestTenantQueriesUseTenantLeadingIndexes), Ent writes, O2M edge
// additions and removals (o2mEdgeWrites), a ledger posting and a
// reconciliation as a tenant viewer on the cluster, records
// every statement they send, and EXPLAINs each: a plan whose distributed
// part runs more than one task fans out to several shards and fails.
func TestCitusTenantQueriesRouteToOneShard(t *testing.T) {
	url := citusURL(t)
	traced, rec := openTraced(t, url)
	plain := suitedb.Open(t, url)
	client := ent.NewClient(ent.Driver(entsql.OpenDB("postgres", traced)))
	led := ledger.New(client, traced)

	tenant := cuid.New()
	suitedb.Tenants(t, plain, tenant)
	ctx := privacy.WithTenant(context.Background(), tenant)
	sys := privacy.WithSystem(context.Background())
	if _, err := led.Post(sys, ledger.Posting{Kind: creditledgerentry.KindTopup, Amount: 100, IdempotencyKey: "seed", TenantID: tenant}); err != nil {
		t.Fatal(err)
	}
	camp := client.Campaign.Create().SetName("c").SaveX(ctx)
	act := client.Activity.Create().SetType("write").SetTitle("T").SetCampaign(camp).SaveX(ctx)
	client.Deliverable.Create().SetKind("email").SetTitle("D").SetActivity(act).SaveX(ctx)
	loose := client.Activity.Create().SetType("write").SetTitle("L").SaveX(ctx)
	rec.take()

	// The index test's frequent queries, then the writes and the ledger.
	type op struct {
		name string
		run  func() error
	}
	var ops []op
	for _, q := range systemtest.FrequentTenantQueries(ctx, client, act.ID) {
		ops = append(ops, op{q.Table, q.Run})
	}
	ops = append(ops, []op{
		{"get by id", func() error { _, err := client.Activity.Get(ctx, act.ID); return err }},
		{"eager loading", func() error {
			_, err := client.Campaign.Query().WithActivities().All(ctx)
			return err
		}},
		{"edge predicate", func() error {
			_, err := client.Activity.Query().Where(activity.HasCampaignWith()).All(ctx)
			return err
		}},
		{"edge predicate on an O2M edge", func() error {
			_, err := client.Campaign.Query().Where(campaign.HasActivities(),
				campaign.HasActivitiesWith(activity.HasDeliverables())).All(ctx)
			return err
		}},
		{"create with an edge", func() error {
			_, err := client.Activity.Create().SetType("write").SetTitle("N").SetCampaign(camp).Save(ctx)
			return err
		}},
		{"update", func() error { return client.Activity.UpdateOneID(act.ID).SetTitle("U").Exec(ctx) }},
		{"upsert", func() error {
			return client.Activity.Create().SetRefID("up").SetType("write").SetTitle("X").
				OnConflictColumns(activity.FieldTenantID, activity.FieldRefID).UpdateTitle().Exec(ctx)
		}},
		{"ledger usage posting", func() error {
			_, err := led.Post(ctx, ledger.Posting{Kind: creditledgerentry.KindUsage, Amount: -3, IdempotencyKey: "use-" + cuid.New()})
			return err
		}},
		{"reconcile", func() error {
			r, err := led.Reconcile(ctx)
			if err == nil && len(r.Drifts) > 0 {
				t.Errorf("reconcile: %v", r)
			}
			return err
		}},
	}...)
	for _, w := range systemtest.O2MEdgeWrites(ctx, client, camp.ID, loose.ID) {
		ops = append(ops, op{w.Table, w.Run})
	}
	for _, op := range ops {
		t.Run(op.name, func(t *testing.T) {
			if err := op.run(); err != nil {
				t.Fatal(err)
			}
			stmts := rec.take()
			explained := 0
			for _, s := range stmts {
				if !explainable(s.sql) {
					continue
				}
				plan := explainText(t, plain, s)
				explained++
				for _, m := range taskCount.FindAllStringSubmatch(plan, -1) {
					if n, _ := strconv.Atoi(m[1]); n > 1 {
						t.Errorf("fans out to %d shards:\n%s\n%s", n, s.sql, plan)
					}
				}
			}
			if explained == 0 {
				t.Fatalf("no statement recorded")
			}
		})
	}
}

// explainable reports whether s is a query or a write (not BEGIN, SET...).
func explainable(s string) bool {
	w := strings.ToUpper(strings.Fields(strings.TrimSpace(s) + " x")[0])
	switch w {
	case "SELECT", "INSERT", "UPDATE", "DELETE", "WITH":
		return true
	}
	return false
}

func explainText(t *testing.T, sqlDB *sql.DB, s recorded) string {
	t.Helper()
	rows, err := sqlDB.Query("EXPLAIN "+s.sql, s.args...)
	if err != nil {
		t.Fatalf("explain %s: %v", s.sql, err)
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			t.Fatal(err)
		}
		b.WriteString(line + "\n")
	}
	return b.String()
}
