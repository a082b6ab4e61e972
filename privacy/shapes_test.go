package privacy_test

import (
	"context"
	"slices"
	"testing"

	"github.com/leadmetrics/db/ent"
	"github.com/leadmetrics/db/ent/campaign"
	"github.com/leadmetrics/db/internal/runtime/scope"
	"github.com/leadmetrics/db/internal/testing/tenancytest"
	"github.com/leadmetrics/db/privacy"
)

// Every query of this package's tests that runs on a cached statement text
// (internal/runtime/scope/shape.go) is also built by Ent and compared: a cached
// text that is not Ent's own panics the test.
func init() { scope.VerifyShapes = true }

// TestStatementShapes: one query shape run by two tenants, the system, and
// with soft-deleted rows included, in every order, answers for its own
// viewer only; the cached text serves repeated shapes.
func TestStatementShapes(t *testing.T) {
	env := tenancytest.New(t, 2)
	c := env.Client
	ctxs := map[string]context.Context{}
	names := map[string][]string{}
	for i, tid := range env.Tenants {
		ctx := privacy.WithTenant(context.Background(), tid)
		ctxs[tid] = ctx
		for _, n := range []string{"one", "two", "gone"} {
			name := string(rune('A'+i)) + "-" + n
			cp := c.Campaign.Create().SetName(name).SaveX(ctx)
			if n == "gone" {
				c.Campaign.DeleteOne(cp).ExecX(ctx)
				continue
			}
			names[tid] = append(names[tid], name)
		}
	}
	list := func(ctx context.Context) []string {
		var out []string
		for _, cp := range c.Campaign.Query().Where(campaign.NameNEQ("none")).Order(ent.Asc(campaign.FieldName)).Limit(10).AllX(ctx) {
			out = append(out, cp.Name)
		}
		return out
	}
	before := scope.ShapeHits()
	for round := range 3 {
		for _, tid := range []string{env.Tenants[round%2], env.Tenants[(round+1)%2]} {
			if got := list(ctxs[tid]); !slices.Equal(got, names[tid]) {
				t.Fatalf("round %d, tenant %s lists %v, want %v", round, tid, got, names[tid])
			}
			if got := list(privacy.WithDeleted(ctxs[tid])); len(got) != 3 {
				t.Fatalf("round %d, tenant %s with deleted lists %v, want its 3", round, tid, got)
			}
		}
		if got := list(privacy.WithSystem(context.Background())); len(got) != 4 {
			t.Fatalf("round %d, system lists %v, want the 4 live campaigns", round, got)
		}
	}
	if hits := scope.ShapeHits() - before; hits < 10 {
		t.Fatalf("%d of 15 queries ran on a cached text", hits)
	}
}
