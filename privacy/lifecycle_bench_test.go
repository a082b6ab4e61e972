package privacy_test

import (
	"context"
	"syscall"
	"testing"
	"time"

	db "github.com/leadmetrics/db"
	"github.com/leadmetrics/db/cuid"
	"github.com/leadmetrics/db/internal/testing/suitedb"
	"github.com/leadmetrics/db/privacy"
)

// BenchmarkTenantCreate is a tenant's Ent create on the warm path (its
// lifecycle state cached), alone and inside db.WithTx, with the client
// CPU of the whole process per operation (getrusage) beside wall time:
// the gate must add no round trip and little CPU to a write.
func BenchmarkTenantCreate(b *testing.B) {
	cfg := db.DefaultConfig()
	cfg.URL, cfg.PoolMin, cfg.PoolMax = suitedb.URL(b), 2, 4
	h, err := db.Open(context.Background(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { h.Close() })
	id := cuid.New()
	if err := h.Tenant.Create().SetID(id).SetTenantID(id).SetRefID("t").SetName("T").SetSlug("t-" + id).
		Exec(privacy.WithSystem(context.Background())); err != nil {
		b.Fatal(err)
	}
	ctx := privacy.WithTenant(context.Background(), id)
	for _, v := range []struct {
		name string
		run  func() error
	}{
		{"client", func() error { return h.Campaign.Create().SetName("c").Exec(ctx) }},
		{"withtx", func() error {
			return h.WithTx(ctx, func(ctx context.Context, tx *db.Tx) error { return tx.Campaign.Create().SetName("c").Exec(ctx) })
		}},
	} {
		b.Run(v.name, func(b *testing.B) {
			if err := v.run(); err != nil { // warms the gate's cache
				b.Fatal(err)
			}
			cpu := processCPU()
			for b.Loop() {
				if err := v.run(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64((processCPU()-cpu).Nanoseconds())/float64(b.N), "cpu-ns/op")
		})
	}
}

// processCPU is the user and system CPU time this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
