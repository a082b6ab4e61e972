//go:build !race

package bench

import (
	"context"
	"fmt"
	"testing"

	"github.com/leadmetrics/db/ledger"
	"github.com/leadmetrics/db/privacy"
)

// Allocation ceilings of the hot path, set from the counts measured when
// they were written (BENCHMARKS.md, "Hot path") with some room: allocation
// counts are deterministic, unlike time, so a change that makes every get
// allocate more fails here. The race detector allocates on its own, so
// this file is built without it; scripts/test.sh runs it so.
var allocCeilings = map[string]float64{
	"get":    80,  // measured 68-70 (raw pgx: 37)
	"list50": 560, // measured 527-529 (raw pgx: 498)
	"create": 85,  // measured 72 (raw pgx: 13)
	"upsert": 215, // measured 201-202 (raw pgx: 15)
	"post":   100, // measured 87-89 (the same statement raw: 71)
}

// TestAllocs holds a get by id, a list page of 50, a create, an upsert and
// a ledger posting, each under a tenant viewer, to their ceilings.
func TestAllocs(t *testing.T) {
	x := setupHot(t)
	ops := x.ops()
	l := ledger.New(x.h.Client, x.h.SQL)
	ctx := privacy.WithTenant(context.Background(), x.tenants[0])
	if err := l.EnsureBalance(ctx); err != nil {
		t.Fatal(err)
	}
	n := 0
	run := map[string]func() error{
		"post": func() error {
			n++
			_, err := l.Post(ctx, ledger.Posting{Kind: "usage", Amount: -1, IdempotencyKey: fmt.Sprint("alloc-", n)})
			return err
		},
	}
	for name, vs := range ops {
		i := 0
		run[name] = func() error { i++; return vs[0].Op(0, i) }
	}
	for name, ceiling := range allocCeilings {
		f := run[name]
		var err error
		got := testing.AllocsPerRun(200, func() {
			if e := f(); e != nil && err == nil {
				err = e
			}
		})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		t.Logf("%s: %.1f allocations (ceiling %.0f)", name, got, ceiling)
		if got > ceiling {
			t.Errorf("%s allocates %.1f times, over its ceiling of %.0f", name, got, ceiling)
		}
	}
}
