package bench

import (
	"context"
	"database/sql"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"ariga.io/atlas/sql/migrate"

	"github.com/leadmetrics/db/cuid"
	"github.com/leadmetrics/db/internal/testing/suitedb"
	"github.com/leadmetrics/db/migrations"
	"github.com/leadmetrics/db/privacy"
)

// keysVersion is the first migration of the tenant-leading keys (issue 9).
const keysVersion = "20261130134824"

// setupBefore seeds a database migrated up to, not including, the
// tenant-leading keys: primary keys (id), foreign keys (x_id) -> (id).
func setupBefore(b *testing.B) *fixture {
	b.Helper()
	all, err := migrations.Embedded()
	if err != nil {
		b.Fatal(err)
	}
	files, err := all.Files()
	if err != nil {
		b.Fatal(err)
	}
	dir := &migrate.MemDir{}
	for _, f := range files {
		if f.Version() < keysVersion {
			if err := dir.WriteFile(f.Name(), f.Bytes()); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := migrations.Rehash(dir); err != nil {
		b.Fatal(err)
	}
	url := suitedb.EmptyURL(b)
	sqlDB, err := sql.Open("pgx", url)
	if err != nil {
		b.Fatal(err)
	}
	defer sqlDB.Close()
	if _, err := migrations.Apply(context.Background(), sqlDB, migrations.Options{Dir: dir}); err != nil {
		b.Fatal(err)
	}
	return setupAt(b, url)
}

// withCampaigns gives every tenant of f one campaign, for the edge writes.
func (f *fixture) withCampaigns(b *testing.B) map[string]string {
	b.Helper()
	out := map[string]string{}
	for _, tid := range f.tenants {
		c, err := f.client.Campaign.Create().SetName("c").Save(privacy.WithTenant(context.Background(), tid))
		if err != nil {
			b.Fatal(err)
		}
		out[tid] = c.ID
	}
	return out
}

// keyOps are the Ent operations the key change can affect: get by id,
// create with an edge, update setting an edge.
func (f *fixture) keyOps(b *testing.B) []variant {
	campaigns := f.withCampaigns(b)
	return []variant{
		{"get", func(ctx context.Context, r *rand.Rand) error {
			tid, id := f.pick(r)
			_, err := f.client.Activity.Get(privacy.WithTenant(ctx, tid), id)
			return err
		}},
		{"create", func(ctx context.Context, r *rand.Rand) error {
			tid, _ := f.pick(r)
			_, err := f.client.Activity.Create().SetType("write_post").SetTitle("t").
				SetCampaignID(campaigns[tid]).Save(privacy.WithTenant(ctx, tid))
			return err
		}},
		{"update", func(ctx context.Context, r *rand.Rand) error {
			tid, id := f.pick(r)
			return f.client.Activity.UpdateOneID(id).SetTitle("u").SetCampaignID(campaigns[tid]).
				Exec(privacy.WithTenant(ctx, tid))
		}},
		{"system-get", func(ctx context.Context, r *rand.Rand) error {
			_, id := f.pick(r)
			_, err := f.client.Activity.Get(privacy.WithSystem(ctx), id)
			return err
		}},
	}
}

// BenchmarkTenantKeys runs each operation on a database before and one
// after the tenant-leading keys in turn, and reports after/before.
//
//	go test -run '^$' -bench BenchmarkTenantKeys -benchtime 2000x ./bench/
func BenchmarkTenantKeys(b *testing.B) {
	before, after := setupBefore(b).keyOps(b), setup(b).keyOps(b)
	ctx := context.Background()
	for i := range before {
		b.Run(before[i].name, func(b *testing.B) {
			var spent [2]time.Duration
			rs := [2]*rand.Rand{rand.New(rand.NewPCG(1, 2)), rand.New(rand.NewPCG(1, 2))}
			for b.Loop() {
				for j, v := range [2]variant{before[i], after[i]} {
					start := time.Now()
					if err := v.run(ctx, rs[j]); err != nil {
						b.Fatal(err)
					}
					spent[j] += time.Since(start)
				}
			}
			b.ReportMetric(float64(spent[0].Nanoseconds())/float64(b.N), "before-ns/op")
			b.ReportMetric(float64(spent[1].Nanoseconds())/float64(b.N), "after-ns/op")
			b.ReportMetric(float64(spent[1])/float64(spent[0]), "after/before")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// BenchmarkEdgeCheck measures what the per-edge ownership query costs a
// create and an update with one edge (raw pgx, in one transaction as Ent
// runs them): the query then the statement, against the statement alone,
// whose composite foreign key checks the same (id, tenant) pair.
//
//	go test -run '^$' -bench BenchmarkEdgeCheck -benchtime 2000x ./bench/
func BenchmarkEdgeCheck(b *testing.B) {
	f := setup(b)
	campaigns := f.withCampaigns(b)
	ctx := context.Background()
	const check = `SELECT count(*) FROM campaigns WHERE id IN ($1) AND tenant_id = $2`
	const insert = `INSERT INTO activities (id, ref_id, tenant_id, created_at, updated_at, type, title, status, priority, attempts, campaign_id)
 VALUES ($1, $2, $3, now(), now(), 'write_post', 't', 'pending', 0, 0, $4)`
	const update = `UPDATE activities SET title = 'u', campaign_id = $1, updated_at = now() WHERE id = $2 AND tenant_id = $3 AND deleted_at IS NULL`
	run := func(withCheck bool, op string, r *rand.Rand) error {
		tid, id := f.pick(r)
		tx, err := f.pool.Begin(ctx)
		if err != nil {
			return err
		}
		defer tx.Rollback(ctx)
		if withCheck {
			var n int
			if err := tx.QueryRow(ctx, check, campaigns[tid], tid).Scan(&n); err != nil {
				return err
			}
		}
		if op == "create" {
			_, err = tx.Exec(ctx, insert, cuid.New(), cuid.New(), tid, campaigns[tid])
		} else {
			_, err = tx.Exec(ctx, update, campaigns[tid], id, tid)
		}
		if err != nil {
			return err
		}
		return tx.Commit(ctx)
	}
	for _, op := range []string{"create", "update"} {
		b.Run(op, func(b *testing.B) {
			var spent [2]time.Duration
			rs := [2]*rand.Rand{rand.New(rand.NewPCG(1, 2)), rand.New(rand.NewPCG(1, 2))}
			for b.Loop() {
				for j, withCheck := range [2]bool{true, false} {
					start := time.Now()
					if err := run(withCheck, op, rs[j]); err != nil {
						b.Fatal(strings.TrimSpace(err.Error()))
					}
					spent[j] += time.Since(start)
				}
			}
			b.ReportMetric(float64(spent[0].Nanoseconds())/float64(b.N), "query+stmt-ns/op")
			b.ReportMetric(float64(spent[1].Nanoseconds())/float64(b.N), "fk-only-ns/op")
			b.ReportMetric(float64(spent[1])/float64(spent[0]), "fk-only/query+stmt")
			b.ReportMetric(0, "ns/op")
		})
	}
}
