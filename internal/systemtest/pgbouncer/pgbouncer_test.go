package pgbouncer_test

import (
	"context"
	"net/url"
	"os"
	"testing"
	"time"

	db "github.com/leadmetrics/db"
	"github.com/leadmetrics/db/cuid"
	"github.com/leadmetrics/db/ent/campaign"
	"github.com/leadmetrics/db/internal/testing/suitedb"
	"github.com/leadmetrics/db/privacy"
)

// directAndPooled returns a migrated test database reached without the pooler, and
// the same database through TEST_PGBOUNCER_URL ("" when unset).
func directAndPooled(t testing.TB) (direct, pooled string) {
	u := suitedb.URL(t)
	pooler := os.Getenv("TEST_PGBOUNCER_URL")
	if pooler == "" {
		return u, ""
	}
	p, _ := url.Parse(pooler)
	d, _ := url.Parse(u)
	s, _ := url.Parse(suitedb.ServerURL(t))
	pooledURL, directURL := *d, *d
	pooledURL.Host, directURL.Host = p.Host, s.Host
	return directURL.String(), pooledURL.String()
}

// BenchmarkPoolerModes compares the query modes that survive PgBouncer's
// transaction pooling (the layer's: unnamed statements, pgx's cache_describe;
// exec; the simple protocol, each set by default_query_exec_mode in the URL)
// with the direct default (a get by id is a named prepared statement), in
// turn inside one loop: get one user by id, and create one.
// Needs TEST_PGBOUNCER_URL (scripts/pgbouncer.sh start).
func BenchmarkPoolerModes(b *testing.B) {
	direct, pooled := directAndPooled(b)
	if pooled == "" {
		b.Skip("TEST_PGBOUNCER_URL not set")
	}
	type variant struct {
		name   string
		url    string
		pooler string
	}
	variants := []variant{
		{"default-direct", direct, ""},
		{"cachedescribe-direct", direct, db.PoolerPgBouncer},
		{"cachedescribe-pgbouncer", pooled, db.PoolerPgBouncer},
		{"exec-pgbouncer", pooled + "&default_query_exec_mode=exec", db.PoolerPgBouncer},
		{"simple-pgbouncer", pooled + "&default_query_exec_mode=simple_protocol", db.PoolerPgBouncer},
	}
	handles := make([]*db.DB, len(variants))
	for i, v := range variants {
		cfg := db.DefaultConfig()
		cfg.URL, cfg.PoolMin, cfg.PoolMax, cfg.Pooler = v.url, 1, 2, v.pooler
		h, err := db.Open(context.Background(), cfg)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { h.Close() })
		handles[i] = h
	}
	tenant := cuid.New()
	ctx := privacy.WithTenant(context.Background(), tenant)
	u, err := handles[0].User.Create().SetTenantID(tenant).SetRefID("bench").SetEmail("b@example.com").SetName("B").Save(ctx)
	if err != nil {
		b.Fatal(err)
	}
	for _, op := range []struct {
		name string
		run  func(h *db.DB) error
	}{
		{"get", func(h *db.DB) error { _, err := h.User.Get(ctx, u.ID); return err }},
		{"create", func(h *db.DB) error {
			id := cuid.New()
			return h.User.Create().SetTenantID(tenant).SetRefID(id).SetEmail(id + "@example.com").SetName("B").Exec(ctx)
		}},
	} {
		b.Run(op.name, func(b *testing.B) {
			spent := make([]time.Duration, len(handles))
			for b.Loop() {
				for i, h := range handles {
					start := time.Now()
					if err := op.run(h); err != nil {
						b.Fatalf("%s: %v", variants[i].name, err)
					}
					spent[i] += time.Since(start)
				}
			}
			for i, v := range variants {
				b.ReportMetric(float64(spent[i].Nanoseconds())/float64(b.N), v.name+"-ns/op")
				b.ReportMetric(float64(spent[i])/float64(spent[0]), v.name+"/default")
			}
			b.ReportMetric(0, "ns/op")
		})
	}
}

// TestPoolerModeSurvivesTransactionPooling: through PgBouncer in
// transaction mode, DATABASE_POOLER=pgbouncer runs Ent queries from many
// goroutines (each statement may land on another server session), while
// the default mode fails there: proof the pooler under test really moves
// sessions. Needs TEST_PGBOUNCER_URL (scripts/pgbouncer.sh start).
func TestPoolerModeSurvivesTransactionPooling(t *testing.T) {
	_, pooled := directAndPooled(t)
	if pooled == "" {
		t.Skip("TEST_PGBOUNCER_URL not set")
	}
	run := func(pooler string) error {
		cfg := db.DefaultConfig()
		cfg.URL, cfg.PoolMin, cfg.PoolMax, cfg.Pooler = pooled, 1, 8, pooler
		h, err := db.Open(context.Background(), cfg)
		if err != nil {
			return err
		}
		defer h.Close()
		ctx := privacy.WithTenant(context.Background(), cuid.New())
		errs := make(chan error, 64)
		for i := range 64 {
			go func() {
				var err error
				switch i % 4 { // different statements, so each connection prepares several
				case 0:
					_, err = h.User.Query().Count(ctx)
				case 1:
					_, err = h.Activity.Query().Limit(1).All(ctx)
				case 2:
					_, err = h.Campaign.Query().IDs(ctx)
				default: // by id: a named prepared statement on a direct connection
					_, err = h.Campaign.Query().Where(campaign.ID(cuid.New())).All(ctx)
				}
				errs <- err
			}()
		}
		var first error
		for range 64 {
			if err := <-errs; err != nil && first == nil {
				first = err
			}
		}
		return first
	}
	if err := run(db.PoolerPgBouncer); err != nil {
		t.Fatalf("DATABASE_POOLER=pgbouncer through PgBouncer: %v", err)
	}
	if err := run(""); err == nil {
		t.Fatal("the default query mode worked through the pooler: it does not pool by transaction, the pooled run proves nothing")
	}
}
